r"""Trains the Reconstructive Memory Agent with Temporal Value Transport on a pycolab task.

  python -m launch.tvt                                      # RMA + TVT on key_to_door, forever
  python -m launch.tvt --num_episodes=2000 --logdir=runs/ktd_tvt
  python -m launch.tvt --nodo_tvt --logdir=runs/ktd_no_tvt  # the control at gamma 0.92
  python -m launch.tvt --pycolab_game=active_visual_match --logdir=runs/avm
  python -m launch.tvt --distributed --num_actors=4 --logdir=runs/ktd_a3c --num_episodes=500
  python -m launch.tvt --env_backend=pycolab               # step pycolab games (the reference)

  # The paper's shape: 384 environment streams (24 actors x 16 environments, weight caches).
  python -m launch.tvt --distributed --num_actors=24 --envs_per_actor=16 --logdir=runs/ktd_384

Default: the release's batched synchronous A2C, with every flag of its main.py and the same
defaults; `--num_episodes` counts learner iterations (batches of --batch_size episodes), as the
release does. `--distributed` runs the same agent as a Launchpad program instead (the paper's
many-actor setting): N actor processes push whole episodes with their memory reads and values
through a Reverb queue; the learner computes the TVT rewards and trains. With --logdir the run
is checkpointed there and the same command resumes it; TensorBoard scalars go to
<logdir>/tensorboard (against episodes and against environment steps), progress to
<logdir>/progress.jsonl, and the learning curve to <logdir>/learning_curve.png; a distributed
learner logs the policy lag of what it learns from (learner steps since the acting weights).
Above 16 actors, weight caches serve the actors (one per 16; --actors_per_cache). The actors
step their environments vectorised in numpy (environments/pycolab/vectorised.py: the pycolab
tasks' episodes, seed for seed, many times faster); `--env_backend=pycolab` steps pycolab games.
"""

import os

# oneDNN kernels make the RMA's updates about a third faster on CPU (benchmarks/
# tvt_throughput.py); TensorFlow reads this once, at import, so before any import below.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')

# pylint: disable=g-import-not-at-top,wrong-import-position
import signal
import sys

from absl import app
from absl import flags

from agents.core import cli
from agents.core import distributed
from agents.core import launching
from agents.core import run_dir as run_dir_lib
from agents.tvt import agent as agent_lib
from agents.tvt import builder as builder_lib
from agents.tvt import config as config_lib
from agents.tvt import experiment
from agents.tvt import summaries
from environments.pycolab import objects

_DEFAULTS = config_lib.TVTConfig()

FLAGS = flags.FLAGS
# The release's flags (tvt/main.py), same names and defaults.
flags.DEFINE_integer('logging_frequency', 1, 'Log every this many learner iterations.')
flags.DEFINE_string('logdir', None, 'Run directory: TensorBoard, checkpoints, progress, plot. '
                    'Unset: console only (required with --distributed).')
flags.DEFINE_boolean('with_memory', _DEFAULTS.with_memory, 'Use the external memory.')
flags.DEFINE_boolean('with_reconstruction', _DEFAULTS.with_reconstruction,
                     'Use the reconstruction decoders and loss.')
flags.DEFINE_float('gamma', _DEFAULTS.gamma, 'Discount (also lambda, and TVT\'s period).')
flags.DEFINE_float('entropy_cost', _DEFAULTS.entropy_cost, 'Weight of the entropy loss.')
flags.DEFINE_float('image_cost_weight', _DEFAULTS.image_cost_weight,
                   'Image reconstruction weight (divided by the pixel channels).')
flags.DEFINE_float('read_strength_cost', _DEFAULTS.read_strength_cost,
                   'Cost of read strengths above the tolerance.')
flags.DEFINE_float('read_strength_tolerance', _DEFAULTS.read_strength_tolerance,
                   'Read strengths up to this are free.')
flags.DEFINE_boolean('do_tvt', _DEFAULTS.do_tvt, 'Add the TVT rewards.')
flags.DEFINE_enum('pycolab_game', 'key_to_door', experiment.GAMES, 'The pycolab task.')
flags.DEFINE_integer('num_episodes', None, 'Learner iterations (batches of --batch_size '
                     'episodes) to train for; unset: forever.')
flags.DEFINE_integer('batch_size', _DEFAULTS.batch_size, 'Episodes per learner iteration.')
flags.DEFINE_float('learning_rate', _DEFAULTS.learning_rate, 'Adam learning rate.')
flags.DEFINE_float('beta1', _DEFAULTS.beta1, 'Adam beta1.')
flags.DEFINE_float('beta2', _DEFAULTS.beta2, 'Adam beta2.')
flags.DEFINE_float('epsilon', _DEFAULTS.epsilon, 'Adam epsilon.')
flags.DEFINE_integer('pycolab_num_apples', 10, 'Apples in the distractor phase (0 to 22).')
flags.DEFINE_integer('pycolab_distractor_length', 90, 'Steps of the distractor phase (the '
                     'delay between the explore and reward phases).')
flags.DEFINE_float('pycolab_apple_reward_min', 1.0, 'Smallest apple reward.')
flags.DEFINE_float('pycolab_apple_reward_max', 10.0, 'Largest apple reward.')
flags.DEFINE_boolean('pycolab_fix_apple_reward_in_episode', True,
                     'One apple reward per episode, min or max with equal probability '
                     '(else each apple draws from [min, max)).')
flags.DEFINE_float('pycolab_final_reward', 10.0, 'Reward of the last phase\'s goal.')
flags.DEFINE_boolean('pycolab_crop', True, 'Egocentric 5x5 view (key_to_door only).')
flags.DEFINE_enum('env_backend', 'vectorised', experiment.ENV_BACKENDS,
                  'How actors step their environments: vectorised (numpy, all of an actor\'s '
                  'environments at once) or pycolab (one pycolab game each, the reference); '
                  'the same episodes either way.')
# This project's additions.
flags.DEFINE_integer('seed', 0, 'Seed of the initial weights, environments and sampling.')
flags.DEFINE_boolean('distributed', False, 'Many actor processes and a learner (Launchpad).')
flags.DEFINE_integer('num_actors', 4, 'Actor processes with --distributed.')
flags.DEFINE_integer('envs_per_actor', 4, 'Environments each actor steps with one network '
                     'call, with --distributed.')
flags.DEFINE_integer('actors_per_cache', None, 'With --distributed: actors per weight cache '
                     '(0: none, actors pull from the learner; default: one cache per '
                     f'{distributed.CACHE_THRESHOLD} actors above {distributed.CACHE_THRESHOLD}).')
flags.DEFINE_float('cache_period_s', distributed.DistributedConfig.cache_period_s,
                   'With --distributed: seconds between a weight cache\'s pulls.')
flags.DEFINE_integer('variable_update_period', _DEFAULTS.variable_update_period,
                     'With --distributed: actor steps between weight pulls.')
flags.DEFINE_boolean('jit_compile', _DEFAULTS.jit_compile, 'Compile the learner update and the '
                     'actors\' network step with XLA (slower than graph mode on the CPUs '
                     'measured; see benchmarks/tvt_throughput.py).')
flags.DEFINE_boolean('vtrace', _DEFAULTS.off_policy_correction, 'With --distributed, correct '
                     'the actors\' policy lag with V-trace (else lambda-returns, as A3C).')
flags.DEFINE_enum('launch_type', 'local_mp', launching.CLUSTER_LAUNCH_TYPES,
                  'How to launch the nodes with --distributed: local_mp / local_mt on this '
                  'machine, vertex_ai on Google Cloud.')
launching.define_cluster_flags()
flags.DEFINE_boolean('loopback_only', True, 'Bind every server of the run to loopback.')
flags.DEFINE_float('checkpoint_minutes', 5.0, 'Minutes between checkpoints.')
flags.DEFINE_boolean('dry_run', False, 'With --distributed: print the program\'s node groups '
                     'and what each node asks for, without launching or writing anything.')


def environment_kwargs() -> dict:
  """The pycolab task's settings from the flags."""
  kwargs = dict(num_apples=FLAGS.pycolab_num_apples,
                apple_reward_min=FLAGS.pycolab_apple_reward_min,
                apple_reward_max=FLAGS.pycolab_apple_reward_max,
                fix_apple_reward_in_episode=FLAGS.pycolab_fix_apple_reward_in_episode,
                final_reward=FLAGS.pycolab_final_reward, crop=FLAGS.pycolab_crop)
  # Recorded only when not the original's, so that earlier run directories still resume.
  if FLAGS.pycolab_distractor_length != objects.DEFAULT_MAX_FRAMES_PER_PHASE['distractor']:
    kwargs['max_frames_per_phase'] = dict(objects.DEFAULT_MAX_FRAMES_PER_PHASE,
                                          distractor=FLAGS.pycolab_distractor_length)
  return kwargs


def _check_flags():
  """Exits with status 2 and one line for values no run could use or an unusable --logdir.

  NaN and infinities are refused too; called before anything is written.
  """
  cli.check_flags({
      'logging_frequency': (1, None), 'batch_size': (1, None), 'num_actors': (1, None),
      'envs_per_actor': (1, None), 'num_episodes': (1, None, {'optional': True}),
      'pycolab_distractor_length': (1, None), 'variable_update_period': (1, None),
      'checkpoint_minutes': (0, None, {'min_inclusive': False})})
  if (FLAGS.dry_run or FLAGS.launch_type == launching.VERTEX_AI) and not FLAGS.distributed:
    launching.exit_with_usage_error(f'--{"dry_run" if FLAGS.dry_run else "launch_type"} '
                                    'is for the --distributed program')
  if FLAGS.distributed and not FLAGS.logdir:
    launching.exit_with_usage_error('--distributed needs --logdir (node logs and checkpoints '
                                    'live there)')
  if FLAGS.logdir:
    try:
      run_dir_lib.check_usable(FLAGS.logdir)
    except ValueError as error:
      launching.exit_with_usage_error(str(error))


def make_configs():
  """(environment factory, agent config) from the flags; exits with status 2 on bad values."""
  _check_flags()
  try:
    return experiment.make_config(
        FLAGS.pycolab_game, environment_kwargs(), env_backend=FLAGS.env_backend,
        with_memory=FLAGS.with_memory,
        with_reconstruction=FLAGS.with_reconstruction, gamma=FLAGS.gamma,
        entropy_cost=FLAGS.entropy_cost, image_cost_weight=FLAGS.image_cost_weight,
        read_strength_cost=FLAGS.read_strength_cost,
        read_strength_tolerance=FLAGS.read_strength_tolerance, do_tvt=FLAGS.do_tvt,
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, beta1=FLAGS.beta1,
        beta2=FLAGS.beta2, epsilon=FLAGS.epsilon, off_policy_correction=FLAGS.vtrace,
        jit_compile=FLAGS.jit_compile, variable_update_period=FLAGS.variable_update_period)
  except ValueError as error:
    launching.exit_with_usage_error(str(error))


def plot_run(run_dir: str):
  """Plots the run's learning curve (if it has progress) and says where."""
  plot_path = experiment.plot_run(run_dir, title=f'TVT {FLAGS.pycolab_game}')
  if plot_path:
    print(f'learning curve plotted in {plot_path}', flush=True)


def _interrupt(signum, frame):
  del signum, frame
  raise KeyboardInterrupt


def _program_config(config: config_lib.TVTConfig) -> distributed.DistributedConfig:
  """The --distributed program's settings from the flags; exits with status 2 on bad values."""
  steps = (None if FLAGS.num_episodes is None else
           FLAGS.num_episodes * config.batch_size * config.episode_length)
  program_config = distributed.DistributedConfig(
      run_dir=FLAGS.logdir, num_actors=FLAGS.num_actors, envs_per_actor=FLAGS.envs_per_actor,
      max_actor_steps=steps, seed=FLAGS.seed, with_evaluator=False,
      checkpoint_period_minutes=FLAGS.checkpoint_minutes,
      actors_per_cache=FLAGS.actors_per_cache, cache_period_s=FLAGS.cache_period_s)
  try:
    program_config.validate()
  except ValueError as error:
    launching.exit_with_usage_error(str(error))
  return program_config


def main(argv):
  del argv
  # SIGINT and SIGTERM stop training with a final checkpoint (a shell starting this in the
  # background would otherwise leave SIGINT ignored).
  signal.signal(signal.SIGINT, _interrupt)
  signal.signal(signal.SIGTERM, _interrupt)
  factory, config = make_configs()
  run_dir = FLAGS.logdir
  on_vertex_ai = FLAGS.launch_type == launching.VERTEX_AI
  if FLAGS.dry_run:
    program = distributed.make_program(builder_lib.TVTBuilder(config, run_dir), factory,
                                       _program_config(config), name='tvt')
    resources = (launching.vertex_ai_descriptions(program, FLAGS.docker_requirements,
                                                  FLAGS.learner_accelerator)
                 if on_vertex_ai else None)
    print(launching.describe_program(program, FLAGS.launch_type, resources), flush=True)
    return
  if on_vertex_ai:
    launching.check_vertex_ai_installed()
  # local_mt and the single-process agent serve Reverb in this process: both restart it with
  # the loopback shim (before anything is written) so that the server listens on loopback only.
  if not on_vertex_ai:
    launching.prepare_launcher(FLAGS.launch_type if FLAGS.distributed else 'local_mt',
                               FLAGS.loopback_only)
  if FLAGS.distributed:
    program_config = _program_config(config)
  if run_dir:
    run_config = experiment.make_run_config(FLAGS.pycolab_game, environment_kwargs(), config,
                                            FLAGS.seed, FLAGS.distributed, FLAGS.env_backend)
    try:
      resumed = run_dir_lib.write_or_check(run_dir, run_config, experiment.RESUME_KEYS)
    except ValueError as error:
      launching.exit_with_usage_error(str(error))
  mode = (f'distributed, {FLAGS.num_actors} actors x {FLAGS.envs_per_actor} environments'
          if FLAGS.distributed else f'batched A2C, {config.batch_size} environments')
  budget = (f'{FLAGS.num_episodes} iterations ({FLAGS.num_episodes * config.batch_size} '
            'episodes)' if FLAGS.num_episodes else 'no end')
  print(f'TVT on {FLAGS.pycolab_game}: {mode}, do_tvt={config.do_tvt}, gamma={config.gamma}, '
        f'{budget}' + (f', run directory {run_dir}{" (resuming)" if resumed else ""}'
                       if run_dir else ''), flush=True)
  try:
    if FLAGS.distributed:
      builder = builder_lib.TVTBuilder(config, run_dir, FLAGS.logging_frequency)
      program = distributed.make_program(builder, factory, program_config, name='tvt')
      if on_vertex_ai:
        launching.submit_to_vertex_ai(program, FLAGS.docker_requirements,
                                      FLAGS.learner_accelerator)
        print(f'submitted to Vertex AI; the run writes to {run_dir}', flush=True)
        return
      launching.launch(program, FLAGS.launch_type, run_dir, loopback_only=FLAGS.loopback_only,
                       extra_env={'TF_ENABLE_ONEDNN_OPTS': os.environ['TF_ENABLE_ONEDNN_OPTS']})
    else:
      # The core's single-process loop; a signal there ends it after the current step, with a
      # final checkpoint, and is reported as an interruption below.
      result = agent_lib.train(factory, config, FLAGS.num_episodes, FLAGS.seed, run_dir,
                               FLAGS.logging_frequency, summaries.ConsoleLogger('tvt'),
                               FLAGS.checkpoint_minutes)
      if result.interrupted:
        raise KeyboardInterrupt
      print(f'done: {result.learner_steps} iterations, {result.episodes} episodes, '
            f'{result.env_steps} environment steps', flush=True)
  except (launching.NodeFailedError, FloatingPointError) as error:
    print(f'error: {error}' + (f' (checkpoint kept in {run_dir})' if run_dir else ''),
          file=sys.stderr, flush=True)
    sys.exit(1)
  except KeyboardInterrupt as error:
    print('interrupted' + (f'; checkpoint saved in {run_dir}' if run_dir else ''),
          file=sys.stderr, flush=True)
    sys.exit(error.exit_status if isinstance(error, launching.ProgramInterrupted) else 130)
  finally:
    if run_dir:
      plot_run(run_dir)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
