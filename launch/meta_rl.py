r"""Trains the meta-RL agent on a bandit distribution with N actor processes and one learner.

  python -m launch.meta_rl                      # the defaults: 2 workers, independent arms
  python -m launch.meta_rl -w 4 -e BanditTwoArmedDependentEasy-v0 -l runs/easy -m -n 100

Flags mirror the original train.py (-w workers, -e env id, -l log dir, -m meta, -n trials per
episode) plus a step budget. The program (Reverb queue, learner, N actors, evaluator, step
limiter) runs until --num_steps environment steps, checkpointing into --logdir; running the
same command again resumes it. At the end the latest checkpoint plays --eval_episodes frozen-weight
episodes and the expected regret is printed beside the reference algorithms.
"""

import sys

from absl import app
from absl import flags

import environments
from agents.core import cli
from agents.core import run_dir
from agents.meta_rl import config as config_lib

_DEFAULTS = config_lib.MetaRLConfig()

FLAGS = flags.FLAGS
flags.DEFINE_integer('num_workers', 2, 'Actor processes.', short_name='w')
flags.DEFINE_string('env_id', 'BanditTwoArmedIndependentUniform-v0',
                    'Bandit id (environments.ids(), or an alias such as "easy").', short_name='e')
flags.DEFINE_string('logdir', 'runs/meta_rl', 'Run directory: checkpoints, TensorBoard, logs.',
                    short_name='l')
flags.DEFINE_bool('meta', True, 'Draw a new bandit every episode (--nometa: one per env).',
                  short_name='m')
flags.DEFINE_integer('num_trials', 100, 'Trials per episode.', short_name='n')
flags.DEFINE_integer('num_steps', 1_200_000,
                     'Environment steps of training, all actors (the default ends within 15 '
                     'minutes on 2 cores).')
flags.DEFINE_integer('envs_per_worker', 16, 'Bandits each actor steps with one network call.')
flags.DEFINE_integer('seed', 0, 'Base seed of environments and action sampling.')
flags.DEFINE_enum('launch_type', 'local_mp', cli.LAUNCH_TYPES, 'How to launch the nodes.')
flags.DEFINE_bool('loopback_only', True, 'Bind every server of the run to loopback.')
flags.DEFINE_integer('checkpoint_period_steps', 100,
                     'Learner steps between checkpoints (there is one every minute as well).')
flags.DEFINE_integer('eval_episodes', 5000, 'Episodes of the final frozen-weight evaluation.')
flags.DEFINE_float('eval_share', 0.1, 'Periodic evaluation: at most this share of the training '
                   'environment steps (0 < share <= 1).')
flags.DEFINE_list('eval_env_ids', [], 'Bandit ids of the final evaluation (default: --env_id).')
flags.DEFINE_float('learning_rate', _DEFAULTS.learning_rate, 'Adam learning rate.')
flags.DEFINE_float('discount', _DEFAULTS.discount, 'Discount gamma of the returns.')
flags.DEFINE_float('entropy_cost', _DEFAULTS.entropy_cost_start,
                   'Entropy cost at the start, annealed linearly to 0 over --num_steps.')
flags.DEFINE_integer('unroll_length', _DEFAULTS.unroll_length,
                     'Steps per learner sequence (truncated BPTT); must divide --num_trials.')
flags.DEFINE_integer('batch_size', _DEFAULTS.batch_size, 'Sequences per learner step.')
flags.DEFINE_bool('vtrace', _DEFAULTS.off_policy_correction,
                  'Correct for policy lag with V-trace (--novtrace: on-policy A2C returns).')


def _configs():
  """Validated agent and program configs from the flags; exits with status 2 on bad values."""
  cli.check_flags({
      'num_workers': (1, None), 'num_trials': (1, None), 'num_steps': (1, None),
      'envs_per_worker': (1, None), 'eval_episodes': (1, None), 'unroll_length': (1, None),
      'batch_size': (1, None), 'checkpoint_period_steps': (1, None),
      'learning_rate': (0, None, {'min_inclusive': False}),
      'discount': (0, 1), 'entropy_cost': (0, None),
      'eval_share': (0, 1, {'min_inclusive': False})})
  try:
    env_id = environments.canonical_id(FLAGS.env_id)
    eval_ids = [environments.canonical_id(e) for e in FLAGS.eval_env_ids] or [env_id]
    num_arms = environments.make(env_id).action_spec().num_values
    agent_config = config_lib.MetaRLConfig(
        num_arms=num_arms, num_trials=FLAGS.num_trials, discount=FLAGS.discount,
        learning_rate=FLAGS.learning_rate, entropy_cost_start=FLAGS.entropy_cost,
        anneal_steps=FLAGS.num_steps, unroll_length=FLAGS.unroll_length,
        batch_size=FLAGS.batch_size, off_policy_correction=FLAGS.vtrace)
    agent_config.validate()
    from agents.core import distributed  # pylint: disable=g-import-not-at-top
    program_config = distributed.DistributedConfig(
        run_dir=FLAGS.logdir, num_actors=FLAGS.num_workers,
        envs_per_actor=FLAGS.envs_per_worker, max_actor_steps=FLAGS.num_steps,
        seed=FLAGS.seed, checkpoint_period_steps=FLAGS.checkpoint_period_steps,
        evaluation_share=FLAGS.eval_share)
    program_config.validate()
    run_dir.check_usable(FLAGS.logdir)
  except ValueError as error:  # Includes UnknownEnvironmentError.
    cli.exit_with_usage_error(str(error))
  return env_id, eval_ids, agent_config, program_config


def main(argv):
  del argv
  env_id, eval_ids, agent_config, program_config = _configs()
  # Imported only once the flags are known to be good, so that bad input is refused at once.
  # pylint: disable=g-import-not-at-top
  from agents.core import launching
  from agents.meta_rl import experiment
  # pylint: enable=g-import-not-at-top
  launching.prepare_launcher(FLAGS.launch_type, FLAGS.loopback_only)
  try:
    experiment.train(env_id, agent_config, program_config, FLAGS.meta,
                         FLAGS.launch_type, FLAGS.loopback_only)
  except ValueError as error:  # The run directory holds another run; nothing was touched.
    cli.exit_with_usage_error(str(error))
  except launching.NodeFailedError as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  except launching.ProgramInterrupted as error:
    launching.exit_interrupted(error, FLAGS.logdir, 'the final evaluation',
                               f'python -m launch.meta_rl_evaluate -l {FLAGS.logdir}')
  for eval_id in eval_ids:
    experiment.evaluate_run(FLAGS.logdir, eval_id, FLAGS.eval_episodes)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
