"""The suite's results on ProcMaze 4x4: every agent's tuned config at a reduced budget, one plot.

What `launch.model_based_results` runs: each agent's output goes to `<output_dir>/<agent>.out`
(an agent whose complete output is there is not rerun, so an interrupted run continues), the
curves to PLOT_FILE and the final returns to SUMMARY_FILE.
"""

import json
import os
import time
from typing import Any, Dict

import numpy as np

from agents.model_based import config as config_lib
from agents.model_based import outputs
from agents.model_based import train
from agents.model_based import tuned

# Expected evaluation return of ProcMaze 4x4 under the optimal and the uniform random policy.
REFERENCE_LINES = {'optimal -4.40': -4.40, 'uniform random -35.6': -35.6}
PLOT_FILE = 'results.png'
SUMMARY_FILE = 'results.json'


def make_config(agent: str, regime: str, num_steps: int, num_seeds: int,
                eval_frequency: int) -> config_lib.ExperimentConfig:
  """The agent's tuned ProcMaze config with the budget replaced; ConfigError on bad values."""
  raw = tuned.make_config(agent, 'ProcMaze', regime)
  raw.update(num_steps=num_steps, num_seeds=num_seeds, eval_frequency=eval_frequency)
  return config_lib.from_dict(raw)


def is_complete(path: str, config: config_lib.ExperimentConfig, seed: int) -> bool:
  """Whether `path` holds a finished run of exactly `config` from master seed `seed`."""
  try:
    data = outputs.read_output(path)
  except ValueError:
    return False
  saved = {k: v for k, v in vars(data['config']).items() if k != 'seed'}
  return (saved == config.to_dict() and data['config'].seed == seed
          and len(data['metrics']['reward_rates']) == config.num_chunks)


def run(configs: Dict[str, config_lib.ExperimentConfig], output_dir: str, seed: int,
        final_evaluations: int, summary: Dict[str, Any], title: str) -> Dict[str, Any]:
  """Trains (or finds complete) each agent's config; plots, writes and returns the summary.

  `summary` holds the settings to record; the agents' final returns (mean of the last
  `final_evaluations` evaluations per seed) and wall times are added under 'agents'.
  """
  os.makedirs(output_dir, exist_ok=True)
  summary = dict(summary, agents={})
  for agent, config in configs.items():
    output = os.path.join(output_dir, agent)
    if is_complete(f'{output}.out', config, seed):
      print(f'{agent}: complete output found in {output}.out, not rerun', flush=True)
      seconds = None
    else:
      print(f'{agent}: {config.num_seeds} seeds x {config.num_steps} steps, '
            f'{(config.num_steps - config.training_start_time) * config.updates_per_step} '
            f'Q updates per seed', flush=True)
      started = time.time()
      train.train(config, seed, output, label=agent)
      seconds = time.time() - started
    metrics = outputs.read_output(f'{output}.out')['metrics']
    finals = train.final_values(metrics, final_evaluations)
    summary['agents'][agent] = {
        'final_return_mean': float(finals.mean()),
        'final_return_standard_error': float(finals.std(ddof=1) / np.sqrt(len(finals)))
                                       if len(finals) > 1 else None,
        'final_return_per_seed': [float(v) for v in finals],
        'wall_seconds': seconds}
  outputs.plot([os.path.join(output_dir, f'{a}.out') for a in configs],
               os.path.join(output_dir, PLOT_FILE), labels=list(configs),
               reference_lines=REFERENCE_LINES, title=title)
  with open(os.path.join(output_dir, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  return summary


def format_finals(agents: Dict[str, Dict[str, Any]]) -> str:
  """One line per agent: its mean final return, +- its standard error across seeds."""
  lines = []
  for agent, result in agents.items():
    error = result['final_return_standard_error']
    lines.append(f'  {agent:26s} {result["final_return_mean"]:8.2f}'
                 + (f' +- {error:.2f}' if error is not None else ''))
  return '\n'.join(lines)
