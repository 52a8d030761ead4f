"""Sweeps that outgrow one process: seeds and grid points spread over Launchpad worker nodes.

Every (grid point, seed index) pair is one unit of work. The units are dealt out in order to
`num_workers` worker nodes; a worker groups its units by grid point and trains each group's
seeds at once (vmapped, `train.train` with those seed indices), then sends the metrics (and
parameters) to the `gatherer` node. The gatherer writes each arrival to `shards/` at once (so a
crash loses nothing already computed), merges a grid point's seeds into `<point>.out` as soon as
all of them are in, and stops the program when every point is complete, after writing
`sweep.json` (final return per point). A seed index draws the same random numbers whichever
worker runs it (see `experiment.seed_keys`), so the merged file is the sweep's answer whatever
the number of workers.
"""

import itertools
import json
import os
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
import launchpad as lp
import numpy as np

from agents.core import lifetime
from agents.core import stopping
from agents.model_based import config as config_lib
from agents.model_based import outputs
from agents.model_based import train

SUBMIT_TIMEOUT_S = 120.0  # Courier deadline of one submission.
SUBMIT_ATTEMPTS = 10
FINAL_EVALUATIONS = 4  # Evaluations averaged into a point's final return.


class GridPoint:
  """One point of the grid: its changes to the base config and a file-friendly name."""

  def __init__(self, changes: Dict[str, Any], config: config_lib.ExperimentConfig):
    self.changes = changes
    self.config = config
    self.name = '__'.join(f'{k}_{v}' for k, v in changes.items()) or 'base'


def grid_points(base: Dict[str, Any], grid: Dict[str, Sequence[Any]]) -> List[GridPoint]:
  """Every combination of the grid's values applied to `base`; ConfigError naming a bad key."""
  keys = list(grid)
  points = []
  for values in itertools.product(*(grid[k] for k in keys)):
    changes = dict(zip(keys, values))
    points.append(GridPoint(changes, config_lib.from_dict({**base, **changes})))
  return points


def parse_grid(specs: Sequence[str]) -> Dict[str, List[Any]]:
  """{key: [values]} from KEY=V1,V2 strings (JSON values); ValueError naming a malformed one."""
  grid = {}
  for spec in specs:
    key, separator, text = spec.partition('=')
    if not separator or not key or not text:
      raise ValueError(f'--grid must be KEY=V1,V2,..., got {spec!r}')
    if key in grid:
      raise ValueError(f'--grid names {key!r} twice')
    grid[key] = [config_lib.parse_value(value) for value in text.split(',')]
  return grid


def assign_units(num_points: int, num_seeds: int, num_workers: int
                 ) -> List[List[Tuple[int, List[int]]]]:
  """Per worker: [(point index, seed indices)], dealing the units out in contiguous runs."""
  units = [(p, s) for p in range(num_points) for s in range(num_seeds)]
  bounds = np.linspace(0, len(units), num_workers + 1).round().astype(int)
  assignments = []
  for start, end in zip(bounds[:-1], bounds[1:]):
    groups: Dict[int, List[int]] = {}
    for point, seed in units[start:end]:
      groups.setdefault(point, []).append(seed)
    assignments.append(list(groups.items()))
  return assignments


def merge_shards(shards: Dict[int, Dict[str, list]]) -> Dict[str, list]:
  """Metrics of several seed groups ({first seed index: metrics}) as one, seeds in order."""
  ordered = [shards[k] for k in sorted(shards)]
  merged = {'eval_times': list(ordered[0]['eval_times'])}
  for key in ordered[0]:
    if key != 'eval_times':
      merged[key] = [np.concatenate(per_chunk) for per_chunk in zip(*(s[key] for s in ordered))]
  return merged


def run_worker(gatherer, worker_id: int, groups: List[Tuple[int, List[int]]],
               point_configs: List[Dict[str, Any]], point_names: List[str], seed: int):
  """A worker node: trains its groups one after another and submits each to the gatherer."""
  for point, seed_indices in groups:
    config = config_lib.from_dict(point_configs[point])
    label = f'{point_names[point]} seeds {seed_indices[0]}-{seed_indices[-1]}'
    print(f'[worker {worker_id}] {label}: {config.num_steps} steps', flush=True)
    run = train.train(config, seed, None, seed_indices=seed_indices, label=label)
    params = run.saved_params() if config.save_params else None
    for attempt in range(SUBMIT_ATTEMPTS):
      try:
        gatherer.submit(point, seed_indices, run.metrics, params)
        break
      except Exception as error:  # pylint: disable=broad-except
        if attempt == SUBMIT_ATTEMPTS - 1 or stopping.stop_requested():
          raise
        logging.warning('submission to the gatherer failed, retrying: %s', error)
        time.sleep(2.0)


class Gatherer:
  """Receives seed groups, writes shards and merged outputs, stops the program when done."""

  def __init__(self, output_dir: str, point_configs: List[Dict[str, Any]],
               point_names: List[str], seed: int):
    self._output_dir = output_dir
    self._configs = point_configs
    self._names = point_names
    self._seed = seed
    self._shards: Dict[int, Dict[int, Dict[str, list]]] = {p: {} for p in range(len(point_names))}
    self._params: Dict[int, Dict[int, Dict[str, list]]] = {p: {} for p in range(len(point_names))}
    self._seeds_in: Dict[int, set] = {p: set() for p in range(len(point_names))}
    self._complete = set()
    self._lock = threading.Lock()
    os.makedirs(os.path.join(output_dir, 'shards'), exist_ok=True)

  def _namespace(self, point: int):
    return config_lib.from_dict(self._configs[point]).to_namespace(self._seed)

  def submit(self, point: int, seed_indices: List[int], metrics: Dict[str, list],
             params: Optional[Dict[str, list]] = None) -> bool:
    """Stores one group (idempotent); writes the point's outputs once all its seeds are in."""
    with self._lock:
      first = seed_indices[0]
      name = self._names[point]
      shard = os.path.join(self._output_dir, 'shards',
                           f'{name}.seeds_{first}-{seed_indices[-1]}')
      outputs.write_metrics(f'{shard}.out', self._namespace(point), metrics)
      self._shards[point][first] = metrics
      if params is not None:
        self._params[point][first] = params
      self._seeds_in[point].update(seed_indices)
      num_seeds = self._configs[point]['num_seeds']
      if len(self._seeds_in[point]) == num_seeds and point not in self._complete:
        self._write_point(point)
      return True

  def _write_point(self, point: int):
    path = os.path.join(self._output_dir, self._names[point])
    merged = merge_shards(self._shards[point])
    outputs.write_metrics(f'{path}.out', self._namespace(point), merged)
    if self._params[point]:
      ordered = [self._params[point][k] for k in sorted(self._params[point])]
      outputs.write_params(f'{path}.params',
                           {key: sum((p[key] for p in ordered), []) for key in ordered[0]})
    self._complete.add(point)
    finals = train.final_values(merged, FINAL_EVALUATIONS)
    print(f'[gatherer] {self._names[point]}: all {len(finals)} seeds in, final return '
          f'{finals.mean():.3f}; {path}.out ({len(self._complete)}/{len(self._names)} points)',
          flush=True)

  def summary(self) -> List[Dict[str, Any]]:
    rows = []
    for point in sorted(self._complete):
      finals = train.final_values(merge_shards(self._shards[point]), FINAL_EVALUATIONS)
      rows.append({'point': self._names[point], 'output': f'{self._names[point]}.out',
                   'final_return_mean': float(finals.mean()),
                   'final_return_per_seed': [float(v) for v in finals]})
    return sorted(rows, key=lambda row: -row['final_return_mean'])

  def run(self):
    while len(self._complete) < len(self._names):
      if stopping.wait_for_stop(0.5):
        return
    with open(os.path.join(self._output_dir, 'sweep.json'), 'w') as f:
      json.dump(self.summary(), f, indent=2)
    print(f'[gatherer] every grid point is complete; summary in '
          f'{os.path.join(self._output_dir, "sweep.json")}', flush=True)
    lifetime.stop_program()


def make_program(points: List[GridPoint], num_workers: int, seed: int,
                 output_dir: str) -> lp.Program:
  """The sweep as a Launchpad program: one gatherer and `num_workers` workers."""
  configs = [p.config.to_dict() for p in points]
  names = [p.name for p in points]
  num_seeds = points[0].config.num_seeds
  if any(p.config.num_seeds != num_seeds for p in points):
    raise ValueError('num_seeds must not vary over the grid')
  program = lp.Program('model_based_sweep')
  with program.group('gatherer'):
    gatherer = program.add_node(lifetime.courier_node(Gatherer, output_dir, configs, names, seed))
  gatherer.set_client_kwargs(call_timeout=SUBMIT_TIMEOUT_S)
  with program.group('worker'):
    for worker_id, groups in enumerate(assign_units(len(points), num_seeds, num_workers)):
      program.add_node(lp.PyNode(lifetime.guarded, run_worker, gatherer, worker_id, groups,
                                 configs, names, seed))
  return program
