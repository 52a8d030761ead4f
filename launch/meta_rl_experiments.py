r"""The meta-RL results of the paper's experiments 3.1.1 and 3.1.2, trained and tested here.

  python -m launch.meta_rl_experiments --logdir=runs/meta_rl_experiments

Trains, one after the other and each with the distributed program: on independent arms
(tested on independent arms) and on the dependent easy distribution (tested on easy and on
medium). Each test plays --eval_episodes frozen-weight episodes; the expected regret at t = 100
is tabulated beside Thompson sampling and the Bayes-optimal policy, written to
<logdir>/results.md and results.json, and plotted per test in <logdir>/<run>/regret_<id>.png.
Runs resume from their checkpoints if the script is started again.
"""

import json
import os

from absl import app
from absl import flags

from agents.core import cli
from agents.core import run_dir as run_dir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string('logdir', 'runs/meta_rl_experiments', 'Root of the runs.', short_name='l')
flags.DEFINE_integer('independent_steps', 4_000_000, 'Budget of the independent-arms run.')
flags.DEFINE_integer('easy_steps', 2_000_000, 'Budget of the dependent-easy run.')
flags.DEFINE_integer('num_workers', 2, 'Actor processes per run.', short_name='w')
flags.DEFINE_integer('envs_per_worker', 16, 'Bandits per actor.')
flags.DEFINE_integer('eval_episodes', 5000, 'Frozen-weight test episodes per test.')
flags.DEFINE_integer('seed', 0, 'Base seed.')

# (run name, training id, budget flag, test ids)
EXPERIMENTS = (
    ('independent', 'BanditTwoArmedIndependentUniform-v0', 'independent_steps',
     ('BanditTwoArmedIndependentUniform-v0',)),
    ('easy', 'BanditTwoArmedDependentEasy-v0', 'easy_steps',
     ('BanditTwoArmedDependentEasy-v0', 'BanditTwoArmedDependentMedium-v0')),
)


def main(argv):
  del argv
  cli.check_flags({name: (1, None) for name in ('independent_steps', 'easy_steps',
                                                'num_workers', 'envs_per_worker',
                                                'eval_episodes')})
  try:
    run_dir_lib.check_usable(FLAGS.logdir)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  # pylint: disable=g-import-not-at-top
  from agents.core import distributed
  from agents.meta_rl import config as config_lib
  from agents.meta_rl import experiment
  # pylint: enable=g-import-not-at-top
  rows = []
  for run, train_id, budget_flag, test_ids in EXPERIMENTS:
    steps = FLAGS[budget_flag].value
    run_dir = os.path.join(FLAGS.logdir, run)
    experiment.train(
        train_id, config_lib.MetaRLConfig(anneal_steps=steps),
        distributed.DistributedConfig(run_dir=run_dir, num_actors=FLAGS.num_workers,
                                      envs_per_actor=FLAGS.envs_per_worker,
                                      max_actor_steps=steps, seed=FLAGS.seed))
    for test_id in test_ids:
      summary = experiment.evaluate_run(run_dir, test_id, FLAGS.eval_episodes)
      baselines = summary['baselines']
      bayes = next(v for k, v in baselines.items() if k.startswith('Bayes-optimal'))
      rows.append({'trained_on': train_id, 'steps': steps, 'episodes': steps // 100,
                   'tested_on': test_id, 'regret': summary['agent_regret'],
                   'ci95': 1.96 * summary['agent_regret_standard_error'],
                   'thompson': baselines['Thompson sampling'], 'bayes_optimal': bayes,
                   'random': baselines['uniform random']})
  lines = ['| trained on | steps (episodes) | tested on | meta-RL regret R_100 (95% CI) | '
           'Thompson | Bayes-optimal | random |', '|---|---|---|---|---|---|---|']
  for r in rows:
    lines.append(f'| {r["trained_on"]} | {r["steps"]:,} ({r["episodes"]:,}) | {r["tested_on"]} '
                 f'| {r["regret"]:.3f} +/- {r["ci95"]:.3f} | {r["thompson"]:.3f} | '
                 f'{r["bayes_optimal"]:.3f} | {r["random"]:.3f} |')
  table = '\n'.join(lines)
  print('\n' + table, flush=True)
  with open(os.path.join(FLAGS.logdir, 'results.md'), 'w') as f:
    f.write(table + '\n')
  with open(os.path.join(FLAGS.logdir, 'results.json'), 'w') as f:
    json.dump(rows, f, indent=2)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
