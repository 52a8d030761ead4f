r"""Learning curves of several output files in one PNG: mean over seeds with a 95% band.

  python -m launch.model_based_plot --data runs/ER.out,runs/simple_model.out \
      --output curves.png --window 5

As the release's plot_metric.py: --data (the .out files), --window (moving-average length),
--frequency (keep every k-th evaluation), --metric (default reward_rates). The band is a
bootstrapped 95% confidence interval of the mean over seeds (seaborn's default, which the
release's plot uses); the PNG is written, not shown.
"""

import os

from absl import app
from absl import flags

from agents.core import cli
from agents.core import run_dir
from agents.model_based import outputs

FLAGS = flags.FLAGS
flags.DEFINE_list('data', None, 'Output (.out) files, comma-separated.')
flags.DEFINE_string('output', 'model_based_plot.png', 'PNG file to write.')
flags.DEFINE_integer('window', 1, 'Moving-average window, in evaluations.')
flags.DEFINE_integer('frequency', 1, 'Keep every k-th evaluation.')
flags.DEFINE_string('metric', 'reward_rates', 'Metric to plot.')
flags.DEFINE_list('labels', None, 'Legend labels (default: the file names).')
flags.DEFINE_string('title', None, 'Plot title.')


def main(argv):
  del argv
  if not FLAGS.data:
    cli.exit_with_usage_error('--data needs at least one .out file')
  cli.check_flags({'window': (1, None), 'frequency': (1, None)})
  try:
    run_dir.check_usable(os.path.dirname(os.path.abspath(FLAGS.output)))
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  if FLAGS.labels and len(FLAGS.labels) != len(FLAGS.data):
    cli.exit_with_usage_error(f'--labels has {len(FLAGS.labels)} entries for '
                              f'{len(FLAGS.data)} --data files')
  try:
    for path in FLAGS.data:
      times, _ = outputs.curve(outputs.read_output(path), FLAGS.metric, 1, FLAGS.frequency)
      if len(times) < FLAGS.window:
        raise ValueError(f'{path} has {len(times)} evaluations, fewer than --window '
                         f'{FLAGS.window}')
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  outputs.plot(FLAGS.data, FLAGS.output, FLAGS.metric, FLAGS.window, FLAGS.frequency,
               FLAGS.labels, FLAGS.title)
  print(f'plotted {len(FLAGS.data)} runs in {FLAGS.output}', flush=True)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
