r"""Trains one agent of the model-based suite on all seeds of a config at once (vmapped).

  python -m launch.model_based --config agents/model_based/configs/ProcMaze_high/ER.json \
      --seed 0 --output runs/ER
  python -m launch.model_based -c CONFIG.json -o NAME --override num_steps=20000 \
      --override num_seeds=3 --tensorboard_dir runs/tb

As the release's train_*.py scripts: --config/-c, --seed/-s (master seed), --output/-o (default
by agent type: ER, perfect_model, simple_model, latent_model). Writes NAME.out (metrics,
rewritten after every evaluation) and, if the config's save_params, NAME.params. Prints one
progress line per evaluation. --override KEY=JSON changes one config key (checked like the file).
A bad config, flag or existing output is one line on stderr and exit status 2.
"""

import os
import sys

from absl import app
from absl import flags

from agents.core import cli
from agents.core import run_dir
from agents.model_based import config as config_lib
from agents.model_based import train

FLAGS = flags.FLAGS
flags.DEFINE_string('config', None, 'JSON config (the release\'s keys plus agent_type).',
                    short_name='c')
flags.DEFINE_integer('seed', 0, 'Master seed; the config\'s num_seeds runs derive from it.',
                     short_name='s')
flags.DEFINE_string('output', None, 'Output name: NAME.out and NAME.params.', short_name='o')
flags.DEFINE_multi_string('override', [], 'KEY=VALUE (VALUE in JSON) replacing a config key.')
flags.DEFINE_bool('overwrite', False, 'Replace existing output files of the same name.')
flags.DEFINE_string('tensorboard_dir', None, 'Also write TensorBoard summaries here.')

DEFAULT_OUTPUTS = {'ER': 'ER', 'perfect_model': 'perfect_model',
                   'simple_model': 'simple_model', 'latent_model': 'latent_model'}


def main(argv):
  del argv
  train.quiet_jax_logs()
  if FLAGS.config is None:
    cli.exit_with_usage_error('--config is required')
  try:
    config = config_lib.load(FLAGS.config, FLAGS.override)
  except config_lib.ConfigError as error:
    cli.exit_with_usage_error(str(error))
  output = FLAGS.output or DEFAULT_OUTPUTS[config.agent_type]
  existing = [f'{output}{suffix}' for suffix in ('.out', '.params')
              if os.path.exists(f'{output}{suffix}')]
  if existing and not FLAGS.overwrite:
    cli.exit_with_usage_error(f'{existing[0]} exists; pass --overwrite or choose another '
                              f'--output')
  try:  # The outputs' directory, and TensorBoard's, must take files before training starts.
    run_dir.check_usable(os.path.dirname(os.path.abspath(output)))
    if FLAGS.tensorboard_dir:
      run_dir.check_usable(FLAGS.tensorboard_dir)
      if not train.tensorboard_available():
        raise ValueError('--tensorboard_dir needs TensorFlow and Acme (the pinned stack of '
                         'requirements.txt); this install has the suite alone')
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  print(f'{config.agent_type} on {config.environment} {config.env_config}: {config.num_seeds} '
        f'seeds vmapped, {config.num_steps} steps each, outputs {output}.out', flush=True)
  try:
    train.train(config, FLAGS.seed, output, label=os.path.basename(output),
                logger=train.make_logger(os.path.basename(output), FLAGS.tensorboard_dir))
  except FloatingPointError as error:  # A non-finite loss: the outputs hold the last good chunk.
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
