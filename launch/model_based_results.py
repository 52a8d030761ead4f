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

import json
import os
import time

from absl import app
from absl import flags
import numpy as np

from agents.core import launching
from agents.model_based import config as config_lib
from agents.model_based import outputs
from agents.model_based import train
from agents.model_based import tuned
from launch import model_based_common

FLAGS = flags.FLAGS
flags.DEFINE_string('output_dir', 'runs/model_based_results', 'Where outputs and the plot go.')
flags.DEFINE_integer('num_steps', 10_000, 'Environment steps per seed (the paper: 1,000,000).')
flags.DEFINE_integer('num_seeds', 3, 'Seeds per agent, vmapped (the paper: 30).')
flags.DEFINE_integer('eval_frequency', 500, 'Environment steps between evaluations.')
flags.DEFINE_enum('regime', 'high', tuned.REGIMES, 'Data regime of the tuned configs.')
flags.DEFINE_list('agents', list(tuned.AGENTS), 'Agents to run, in this order.')
flags.DEFINE_integer('seed', 0, 'Master seed of every agent\'s run.')
flags.DEFINE_integer('final_evaluations', 4, 'Evaluations averaged into the final return.')

# Expected evaluation return of ProcMaze 4x4 under the optimal and the uniform random policy.
REFERENCE_LINES = {'optimal -4.40': -4.40, 'uniform random -35.6': -35.6}


def _config(agent: str) -> config_lib.ExperimentConfig:
  raw = tuned.make_config(agent, 'ProcMaze', FLAGS.regime)
  raw.update(num_steps=FLAGS.num_steps, num_seeds=FLAGS.num_seeds,
             eval_frequency=FLAGS.eval_frequency)
  return config_lib.from_dict(raw)


def _complete(path: str, config: config_lib.ExperimentConfig) -> bool:
  """Whether `path` holds a finished run of exactly `config`."""
  try:
    data = outputs.read_output(path)
  except ValueError:
    return False
  saved = {k: v for k, v in vars(data['config']).items() if k != 'seed'}
  return (saved == config.to_dict() and data['config'].seed == FLAGS.seed
          and len(data['metrics']['reward_rates']) == config.num_chunks)


def main(argv):
  del argv
  model_based_common.quiet_jax_logs()
  unknown = [a for a in FLAGS.agents if a not in tuned.AGENTS]
  if unknown:
    launching.exit_with_usage_error(f'unknown agent {unknown[0]!r} in --agents; valid: '
                                    f'{", ".join(tuned.AGENTS)}')
  try:
    configs = {agent: _config(agent) for agent in FLAGS.agents}
  except config_lib.ConfigError as error:
    launching.exit_with_usage_error(str(error).replace('config key', 'flag'))
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  summary = {'environment': 'ProcMaze grid_size 4', 'regime': FLAGS.regime,
             'num_steps': FLAGS.num_steps, 'num_seeds': FLAGS.num_seeds,
             'eval_frequency': FLAGS.eval_frequency, 'seed': FLAGS.seed, 'agents': {}}
  for agent, config in configs.items():
    output = os.path.join(FLAGS.output_dir, agent)
    if _complete(f'{output}.out', config):
      print(f'{agent}: complete output found in {output}.out, not rerun', flush=True)
      seconds = None
    else:
      print(f'{agent}: {config.num_seeds} seeds x {config.num_steps} steps, '
            f'{(config.num_steps - config.training_start_time) * config.updates_per_step} '
            f'Q updates per seed', flush=True)
      started = time.time()
      train.train(config, FLAGS.seed, output, label=agent)
      seconds = time.time() - started
    metrics = outputs.read_output(f'{output}.out')['metrics']
    finals = train.final_values(metrics, FLAGS.final_evaluations)
    summary['agents'][agent] = {
        'final_return_mean': float(finals.mean()),
        'final_return_standard_error': float(finals.std(ddof=1) / np.sqrt(len(finals)))
                                       if len(finals) > 1 else None,
        'final_return_per_seed': [float(v) for v in finals],
        'wall_seconds': seconds}
  png = os.path.join(FLAGS.output_dir, 'results.png')
  outputs.plot([os.path.join(FLAGS.output_dir, f'{a}.out') for a in configs], png,
               labels=list(configs), reference_lines=REFERENCE_LINES,
               title=f'ProcMaze 4x4, {FLAGS.regime}-data configs, {FLAGS.num_steps} steps')
  with open(os.path.join(FLAGS.output_dir, 'results.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  print(f'final evaluation return (mean of the last {FLAGS.final_evaluations} evaluations, '
        f'{FLAGS.num_seeds} seeds):')
  for agent, result in summary['agents'].items():
    error = result['final_return_standard_error']
    print(f'  {agent:26s} {result["final_return_mean"]:8.2f}'
          + (f' +- {error:.2f}' if error is not None else ''))
  print(f'plot: {png}', flush=True)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
