"""The release's output files (`NAME.out`, `NAME.params`, spec 4.5) and its learning-curve plot.

`NAME.out` is a pickle of {'config': SimpleNamespace, 'metrics': {'reward_rates': [float32
[num_seeds] per evaluation], 'eval_times': [int], ...}}. Format changes from the release: the
arrays are numpy, not JAX (unpickling needs no JAX), and the metrics also keep the training
metrics the release computes and discards (`train_reward_rate`, `train_mean_q`, `train_q_loss`,
`train_model_loss`, one float32 [num_seeds] array per chunk).
"""

import os
import pickle
import types
from typing import Dict, List, Optional, Sequence

import numpy as np

RELEASE_METRICS = ('reward_rates', 'eval_times')


def _write_atomically(path: str, payload):
  """Pickles `payload` to `path` through a temporary file, so a crash never leaves half a file."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  temporary = f'{path}.tmp{os.getpid()}'
  with open(temporary, 'wb') as f:
    pickle.dump(payload, f)
  os.replace(temporary, path)


def write_metrics(path: str, config: types.SimpleNamespace, metrics: Dict[str, list]):
  _write_atomically(path, {'config': config, 'metrics': metrics})


def write_params(path: str, params: Dict[str, List]):
  """{'Q': per-seed parameter dicts, 'model': ... (learned models)}, overwriting `path`."""
  _write_atomically(path, params)


def read_output(path: str) -> Dict:
  """A `.out` file's dict; ValueError naming the file when it is missing or not one."""
  try:
    with open(path, 'rb') as f:
      data = pickle.load(f)
  except OSError as error:
    raise ValueError(f'cannot read {path}: {error.strerror}') from None
  except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
    raise ValueError(f'{path} is not an output file of this suite ({error})') from None
  if not (isinstance(data, dict) and 'metrics' in data and 'config' in data
          and all(k in data['metrics'] for k in RELEASE_METRICS)):
    raise ValueError(f'{path} is not an output file of this suite (no config/metrics)')
  return data


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
  """'valid' moving average along axis 0."""
  if window <= 1:
    return values
  kernel = np.ones(window) / window
  return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode='valid'), 0, values)


def bootstrap_band(values: np.ndarray, confidence: float = 0.95, resamples: int = 1000,
                   seed: int = 0):
  """Mean over seeds (axis 1) and a bootstrapped confidence interval of that mean per row.

  This is the band seaborn's lineplot draws by default, which the release's plot uses.
  """
  rng = np.random.default_rng(seed)
  num_seeds = values.shape[1]
  picks = rng.integers(0, num_seeds, size=(resamples, num_seeds))
  means = values[:, picks].mean(axis=2)  # [rows, resamples]
  tail = 100 * (1 - confidence) / 2
  return (values.mean(axis=1), np.percentile(means, tail, axis=1),
          np.percentile(means, 100 - tail, axis=1))


def curve(data: Dict, metric: str = 'reward_rates', window: int = 1, frequency: int = 1):
  """(times, values [evaluations, seeds]) of one output, subsampled and smoothed."""
  if metric not in data['metrics']:
    raise ValueError(f'no metric {metric!r}; available: {", ".join(sorted(data["metrics"]))}')
  values = np.asarray(data['metrics'][metric], np.float64)[::frequency]
  times = np.asarray(data['metrics']['eval_times'], np.float64)[::frequency]
  if values.ndim == 1:
    values = values[:, None]
  return moving_average(times[:, None], window)[:, 0], moving_average(values, window)


def plot(paths: Sequence[str], png: str, metric: str = 'reward_rates', window: int = 1,
         frequency: int = 1, labels: Optional[Sequence[str]] = None,
         title: Optional[str] = None, reference_lines: Optional[Dict[str, float]] = None):
  """Mean over seeds with a 95% bootstrap band for each output file, in one PNG."""
  from agents import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
  datasets = [read_output(p) for p in paths]
  labels = list(labels or [os.path.basename(p) for p in paths])
  fig, ax = plt.subplots(figsize=(8, 5))
  for data, label in zip(datasets, labels):
    times, values = curve(data, metric, window, frequency)
    mean, low, high = bootstrap_band(values)
    (line,) = ax.plot(times, mean, label=f'{label} ({values.shape[1]} seeds)')
    ax.fill_between(times, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
  for name, value in (reference_lines or {}).items():
    ax.axhline(value, color='0.4', linestyle='--', linewidth=1)
    ax.annotate(name, (ax.get_xlim()[0], value), textcoords='offset points', xytext=(4, 3),
                fontsize=8, color='0.3')
  ax.set_xlabel('environment steps')
  ax.set_ylabel(metric)
  if title:
    ax.set_title(title)
  ax.grid(True)
  ax.legend()
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
  fig.savefig(png, dpi=120)
  plt.close(fig)
