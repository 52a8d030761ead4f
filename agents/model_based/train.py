"""Runs one config over its seeds: progress on the console, outputs kept up to date on disk.

The metrics file is rewritten after every chunk (so an interrupted run keeps what it measured),
the parameters at the start of a chunk once `save_frequency` steps have passed since the last
save, and again at the end (spec 4.5).
"""

import logging
import time
from typing import Any, Dict, Mapping, Optional, Protocol, Sequence

import numpy as np

from agents.model_based import config as config_lib
from agents.model_based import experiment
from agents.model_based import outputs


def quiet_jax_logs():
  """Hides JAX's INFO lines about missing GPU/TPU backends (absl logs INFO under app.run)."""
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.WARNING)


class Logger(Protocol):
  """What `train` writes its progress to (Acme's loggers are such objects)."""

  def write(self, values: Mapping[str, Any]) -> None:
    ...


def _format_key(key: str) -> str:
  return key.replace('_', ' ').title()


class ConsoleLogger:
  """One line per write, in the format of Acme's TerminalLogger: '[Label] Key = 1.000 | ...'.

  The suite's own, so that training needs neither Acme nor TensorFlow (a current-JAX install
  has neither; README "Model-based suite without TensorFlow").
  """

  def __init__(self, label: str = ''):
    self._prefix = f'[{_format_key(label)}] ' if label else ''

  def write(self, values: Mapping[str, Any]):
    cells = []
    for key, value in sorted(values.items()):
      text = f'{value:0.3f}' if isinstance(value, (float, np.number)) else f'{value}'
      cells.append(f'{_format_key(key)} = {text}')
    print(self._prefix + ' | '.join(cells), flush=True)


def make_logger(label: str, tensorboard_dir: Optional[str] = None) -> Logger:
  """A console line per chunk; TensorBoard scalars too when `tensorboard_dir` is given.

  TensorBoard summaries are written by TensorFlow, so they need the pinned stack
  (requirements.txt); `tensorboard_available()` says whether this install has it.
  """
  if tensorboard_dir:
    from agents.core import logging_utils  # pylint: disable=g-import-not-at-top  (imports TF)
    return logging_utils.make_logger(label, tensorboard_dir, print_period_s=0.0,
                                     steps_key='steps')
  return ConsoleLogger(label)


def tensorboard_available() -> bool:
  """Whether TensorFlow and Acme, which write the TensorBoard summaries, are installed."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  return all(importlib.util.find_spec(name) is not None for name in ('tensorflow', 'acme'))


def progress(result: experiment.ChunkResult, num_seeds: int, seconds: float) -> Dict:
  """The figures of one progress line."""
  rates = result.reward_rates
  return {
      'steps': result.steps_done,
      'eval_mean': float(rates.mean()),
      'eval_min': float(rates.min()),
      'eval_max': float(rates.max()),
      'train_reward_rate': float(result.metrics.reward_rate.mean()),
      'mean_q': float(result.metrics.mean_q.mean()),
      'q_loss': float(result.metrics.q_loss.mean()),
      'model_loss': float(result.metrics.model_loss.mean()),
      'steps_per_second': result.steps_done * num_seeds / max(seconds, 1e-9),
  }


def train(config: config_lib.ExperimentConfig, seed: int, output: Optional[str],
          seed_indices: Optional[Sequence[int]] = None, label: str = 'model_based',
          logger: Optional[Logger] = None) -> experiment.Run:
  """Trains `config`'s seeds (`seed_indices`, default all) from master seed `seed`.

  Writes `output.out` (and `output.params` if `config.save_params`) unless `output` is None.
  Returns the finished run (its `metrics`, its `saved_params()`). `steps_per_second` in the
  progress lines counts environment steps of all seeds together, compilation included.
  """
  logger = logger or make_logger(label)
  run = experiment.Experiment(config).start(seed, seed_indices)
  namespace = config.to_namespace(seed)
  num_seeds = len(run.seed_indices)
  started = time.time()
  last_save = 0
  for result in run:
    if output:
      outputs.write_metrics(f'{output}.out', namespace, run.metrics)
    next_start = result.steps_done
    due = next_start - last_save >= config.save_frequency and result.index + 1 < config.num_chunks
    if output and config.save_params and due:
      outputs.write_params(f'{output}.params', run.saved_params())
      last_save = next_start
    logger.write(progress(result, num_seeds, time.time() - started))
  if output and config.save_params:
    outputs.write_params(f'{output}.params', run.saved_params())
  return run


def final_values(metrics: Dict[str, list], last: int) -> np.ndarray:
  """Per-seed mean of the last `last` evaluations."""
  return np.asarray(metrics['reward_rates'][-last:]).mean(axis=0)
