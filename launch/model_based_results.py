r"""All five agents on ProcMaze 4x4 at a reduced budget, several seeds vmapped, one PNG.

  nice -n 10 python -m launch.model_based_results                 # ~2-4 h on 2 busy cores
  python -m launch.model_based_results --num_steps 4000 --num_seeds 2 --output_dir runs/quick

Each agent runs its tuned ProcMaze config (high-data regime unless --regime low) with
num_steps, num_seeds and eval_frequency replaced by the flags; everything else (networks, step
sizes, temperatures, 320 transitions per Q update) is the paper's. Outputs go to --output_dir:
<agent>.out/.params per agent, results.png (mean evaluation return with a 95% bootstrap band
across seeds, with the optimal and uniform-random values of spec 1.6), results.json (final
returns, budget, wall time). An agent whose complete output is already there is not rerun, so
an interrupted run continues where it stopped.
"""

import os
import sys

from absl import app
from absl import flags

from agents.core import cli
from agents.core import run_dir
from agents.model_based import config as config_lib
from agents.model_based import results
from agents.model_based import train
from agents.model_based import tuned

FLAGS = flags.FLAGS
flags.DEFINE_string('output_dir', 'runs/model_based_results', 'Where outputs and the plot go.')
flags.DEFINE_integer('num_steps', 10_000, 'Environment steps per seed (the paper: 1,000,000).')
flags.DEFINE_integer('num_seeds', 3, 'Seeds per agent, vmapped (the paper: 30).')
flags.DEFINE_integer('eval_frequency', 500, 'Environment steps between evaluations.')
flags.DEFINE_enum('regime', 'high', tuned.REGIMES, 'Data regime of the tuned configs.')
flags.DEFINE_list('agents', list(tuned.AGENTS), 'Agents to run, in this order.')
flags.DEFINE_integer('seed', 0, 'Master seed of every agent\'s run.')
flags.DEFINE_integer('final_evaluations', 4, 'Evaluations averaged into the final return.')


def main(argv):
  del argv
  train.quiet_jax_logs()
  cli.check_flags({'num_steps': (1, None), 'num_seeds': (1, None), 'eval_frequency': (1, None),
                   'final_evaluations': (1, None)})
  try:
    run_dir.check_usable(FLAGS.output_dir)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  unknown = [a for a in FLAGS.agents if a not in tuned.AGENTS]
  if unknown:
    cli.exit_with_usage_error(f'unknown agent {unknown[0]!r} in --agents; valid: '
                              f'{", ".join(tuned.AGENTS)}')
  try:
    configs = {agent: results.make_config(agent, FLAGS.regime, FLAGS.num_steps,
                                          FLAGS.num_seeds, FLAGS.eval_frequency)
               for agent in FLAGS.agents}
  except config_lib.ConfigError as error:
    cli.exit_with_usage_error(str(error).replace('config key', 'flag'))
  settings = {'environment': 'ProcMaze grid_size 4', 'regime': FLAGS.regime,
              'num_steps': FLAGS.num_steps, 'num_seeds': FLAGS.num_seeds,
              'eval_frequency': FLAGS.eval_frequency, 'seed': FLAGS.seed}
  try:
    summary = results.run(
        configs, FLAGS.output_dir, FLAGS.seed, FLAGS.final_evaluations, settings,
        title=f'ProcMaze 4x4, {FLAGS.regime}-data configs, {FLAGS.num_steps} steps')
  except FloatingPointError as error:  # A non-finite loss; finished agents' outputs are kept.
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  print(f'final evaluation return (mean of the last {FLAGS.final_evaluations} evaluations, '
        f'{FLAGS.num_seeds} seeds):')
  print(results.format_finals(summary['agents']))
  print(f'plot: {os.path.join(FLAGS.output_dir, results.PLOT_FILE)}', flush=True)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
