r"""Evaluates a trained meta-RL run: expected regret with frozen weights, beside the baselines.

  python -m launch.meta_rl_evaluate --logdir=runs/meta_rl --env_id=medium --episodes=5000

Loads the latest learner checkpoint of --logdir, plays --episodes episodes of --env_id (any
bandit id; the run's own by default) and prints the expected cumulative regret at the last trial
computed from the true arm probabilities, beside Thompson sampling, UCB1, Gittins and the
Bayes-optimal policy (exact figures computed by agents/meta_rl/baselines.py). Writes
evaluation_<env>.json and regret_<env>.png into the run directory.
"""

import os

from absl import app
from absl import flags

from agents.core import cli
from agents.core import run_dir

FLAGS = flags.FLAGS
flags.DEFINE_string('logdir', 'runs/meta_rl', 'Run directory of a training run.', short_name='l')
flags.DEFINE_string('env_id', None, 'Bandit id to test on (default: the training id).',
                    short_name='e')
flags.DEFINE_integer('episodes', 5000, 'Frozen-weight test episodes.')
flags.DEFINE_integer('seed', 12345, 'Seed of the test bandits and of the action sampling.')
flags.DEFINE_bool('greedy', False, 'Act greedily instead of sampling (reported separately).')
flags.DEFINE_list('gittins_discounts', ['0.9', '0.99'], 'Discounts of the Gittins baselines.')


def main(argv):
  del argv
  cli.check_flag('episodes', 1)
  if not os.path.isdir(FLAGS.logdir):
    cli.exit_with_usage_error(f'--logdir {FLAGS.logdir} does not exist')
  try:
    discounts = [float(g) for g in FLAGS.gittins_discounts]
  except ValueError:
    cli.exit_with_usage_error(
        f'--gittins_discounts must be numbers, got {",".join(FLAGS.gittins_discounts)}')
  try:
    for discount in discounts:
      cli.check_number('--gittins_discounts', discount, 0, 1, min_inclusive=False,
                       max_inclusive=False)
    run_dir.check_usable(FLAGS.logdir)  # The evaluation's json and png are written there.
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  from agents.meta_rl import experiment  # pylint: disable=g-import-not-at-top
  try:
    experiment.evaluate_run(FLAGS.logdir, FLAGS.env_id, FLAGS.episodes, FLAGS.seed,
                                FLAGS.greedy, discounts)
  except (FileNotFoundError, ValueError) as error:
    cli.exit_with_usage_error(str(error))


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
