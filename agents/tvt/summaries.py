"""Where the learner's metrics go: TensorBoard against episodes and environment steps (spec
5.1), a JSON-lines file for plots, and a one-line console summary."""

import functools
import json
import os
import time
from typing import Dict, List

from acme.utils import loggers
import numpy as np

PROGRESS_FILE = 'progress.jsonl'
X_AXES = {'episodes': 'by_episodes', 'env_steps': 'by_env_steps'}


class TwoAxisSummaryLogger(loggers.Logger):
  """Writes every numeric value twice, under `directory/by_episodes` with the `episodes` count
  as step and under `directory/by_env_steps` with `env_steps`; flushed at every write."""

  def __init__(self, directory: str):
    # TensorFlow only here: the rest of this module serves commands that must start fast.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._summary = tf.summary
    self._writers = {key: tf.summary.create_file_writer(os.path.join(directory, sub))
                     for key, sub in X_AXES.items()}

  def write(self, values: loggers.LoggingData):
    scalars = {k: v for k, v in values.items()
               if k not in X_AXES and np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype,
                                                                        np.number)}
    for key, writer in self._writers.items():
      if key not in values:
        continue
      with writer.as_default():
        for name, value in scalars.items():
          self._summary.scalar(name, float(value), step=int(values[key]))
      writer.flush()

  def close(self):
    for writer in self._writers.values():
      writer.close()


class JsonLinesLogger(loggers.Logger):
  """Appends every write as one JSON line to `path` (a resumed run keeps appending), with the
  wall-clock `time` of the write."""

  def __init__(self, path: str):
    self._path = path

  def write(self, values: loggers.LoggingData):
    record = {k: (float(v) if np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number)
                  else str(v)) for k, v in values.items()}
    record['time'] = time.time()
    with open(self._path, 'a') as f:
      f.write(json.dumps(record) + '\n')

  def close(self):
    pass


def read_json_lines(path: str) -> List[Dict[str, float]]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


class ConsoleLogger(loggers.Logger):
  """One line per write in the release's order: progress, rewards, total loss, loss terms."""

  _HEAD = (('episodes', '{:.0f} episodes'), ('env_steps', '{:.0f} env steps'),
           ('steps_per_second', '{:.0f} steps/s'), ('reward', 'reward {:.2f}'),
           ('last_phase_reward', 'last phase reward {:.2f}'),
           ('tvt_reward', 'tvt reward {:.3f}'), ('tvt_events', 'tvt events {:.2f}'),
           ('key_pickup_rate', 'key pickup {:.2f}'), ('colour_seen_rate', 'colour seen {:.2f}'),
           ('read_strength_max', 'max read strength {:.2f}'),
           ('total_loss', 'total loss {:.2f}'))
  _TERMS = ('pg_loss', 'baseline_loss', 'entropy_loss', 'recon_loss_image',
            'recon_loss_action', 'recon_loss_reward', 'read_reg_strength_loss')

  def __init__(self, label: str = 'tvt', print_fn=functools.partial(print, flush=True)):
    self._label = label
    self._print = print_fn

  def write(self, values: loggers.LoggingData):
    parts = [fmt.format(float(values[k])) for k, fmt in self._HEAD if k in values]
    terms = ' '.join(f'{k.replace("_loss", "")}={float(values[k]):.3g}' for k in self._TERMS
                     if k in values)
    self._print(f'[{self._label}] ' + ' | '.join(parts) + (f' | {terms}' if terms else ''))

  def close(self):
    pass
