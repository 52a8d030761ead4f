"""The nodes of the scale benchmark (`benchmarks/scale.py`): simulated actors and a measured
learner, in a real program of the core (Reverb server, counter, learner, weight caches).

Simulated actors play no environment and run no network once started: each node first plays
real episodes with the real actor (so the items have the real size, shape and content, extras
included), then stands for a group of actors, each writing copies of them to the learner's
tables as fast as the tables take them, and pulling weights every `pull_period_s` from its
variable source (its group's cache, or the learner), as an Acme variable client does:
asynchronous, one pull in flight at a time. Its items carry the learner step of its latest
weights, so the learner logs the policy lag as with real actors.

* TVT: each actor's Reverb trajectory writer writes whole key_to_door episodes (at most one
  every `item_period_s`) to the learner's queue.
* FTW: each actor has the real adders of an arena's seat (unrolls to the queue, and the
  auxiliary tasks' replays) and replays into them the calls that a seat of a real match made,
  one unroll per actor in turn.

Every node records what it measures into `<run_dir>/scale/`: the learner its steps, the time it
waited for each batch, and the weights it served; the simulated actors their pulls' latencies
and the Reverb server's insert count over time.
"""

import json
import os
import threading
import time
from typing import Dict, List

from absl import logging
import numpy as np
import reverb
import tree

from agents.core import acting as core_acting
from agents.core import distributed
from agents.core import environment_loop
from agents.core import stopping
from agents.ftw import arena as ftw_arena
from agents.ftw import builder as ftw_builder
from agents.ftw import utils as ftw_utils
from agents.tvt import builder as tvt_builder
from agents.tvt import episodes

RECORDS = 'scale'  # Subdirectory of the run directory with every node's records.
LEARNER_PID = 'learner.pid'  # Under RECORDS: the learner's process, which the driver pins.


def _records_path(run_dir: str, name: str) -> str:
  directory = os.path.join(run_dir, RECORDS)
  os.makedirs(directory, exist_ok=True)
  return os.path.join(directory, name)


class _TimedBatches:
  """The learner's dataset; notes when each batch was asked for and when it came, and the
  process's CPU seconds then."""

  def __init__(self, dataset, records: Dict[str, List]):
    self._dataset = dataset
    self._records = records

  def __iter__(self):
    return self

  def ready(self):
    return self._dataset.ready()

  def __next__(self):
    asked = time.time()
    batch = next(self._dataset)
    self._records['batches'].append((asked, time.time(), time.process_time()))
    return batch


def _learner_records(run_dir: str) -> Dict[str, List]:
  """Says the learner's process id (the driver pins it) and returns its empty records."""
  with open(_records_path(run_dir, LEARNER_PID), 'w') as f:
    f.write(str(os.getpid()))
  return {'batches': [], 'pulls': []}


class MeasuredTVTBuilder(tvt_builder.TVTBuilder):
  """The TVT builder whose learner records its batches (with the CPU time its process has used,
  serving threads included) and the weights it serves, and says its process id."""

  def __init__(self, config, run_dir: str):
    super().__init__(config)
    self._records_dir = run_dir

  def make_learner(self, networks, dataset, counter=None, logger=None):
    records = _learner_records(self._records_dir)
    learner = super().make_learner(networks, _TimedBatches(dataset, records), counter, logger)
    return _measured(learner, records, self._records_dir)


class MeasuredFtwBuilder(ftw_builder.FtwBuilder):
  """One FTW member's builder whose learner records its unroll batches (the auxiliary tasks'
  samples are not timed), the weights it serves and its process id."""

  def __init__(self, config, run_dir: str):
    super().__init__(config)
    self._records_dir = run_dir

  def make_learner(self, networks, dataset, counter=None, logger=None):
    records = _learner_records(self._records_dir)
    dataset = dataset._replace(queue=_TimedBatches(dataset.queue, records))
    learner = super().make_learner(networks, dataset, counter, logger)
    return _measured(learner, records, self._records_dir)


def _measured(learner, records: Dict[str, List], run_dir: str):
  """`learner`, recording each pull it serves, its records saved every few seconds."""
  serve = learner.get_variables_with_step

  def served(names):
    step, variables = serve(names)
    records['pulls'].append((time.time(), sum(x.nbytes for x in tree.flatten(variables))))
    return step, variables

  learner.get_variables_with_step = served
  path = _records_path(run_dir, 'learner.json')

  def save_records():  # Every few seconds and at the stop: the node may be ended any time.
    while True:
      stopped = stopping.wait_for_stop(5.0)
      with open(path + '.tmp', 'w') as f:
        json.dump({key: list(values) for key, values in records.items()}, f)
      os.replace(path + '.tmp', path)
      if stopped:
        return

  threading.Thread(target=save_records, daemon=True).start()
  return learner


def template_episodes(context: distributed.ProgramContext, count: int, seed: int):
  """`count` whole episodes played by the real actor (initial weights) on the real task, as
  the learner's queue stores them."""
  builder, spec = context.builder, context.environment_spec
  queue = episodes.EpisodeQueue(spec, builder.extras_spec(spec),
                                builder.config.episode_length + 1)
  environment = distributed.make_batched_environment(context.environment_factory, count, seed)
  actor = builder.make_actor(builder.make_networks(spec), None,
                             queue.make_batched_adder(count), seed=seed)
  loop = environment_loop.BatchedEnvironmentLoop(environment, actor, should_update=False)
  while queue.num_ready < count:
    loop.run(num_episodes=count)
  return [tree.map_structure(lambda x: x[0], queue.pop_batch(1).data) for _ in range(count)]


class _RecordingAdder:
  """An adder that keeps the calls made to it, to be replayed into real adders."""

  def __init__(self):
    self.calls = []

  def add_first(self, timestep):
    self.calls.append((None, timestep, None))

  def add(self, action, next_timestep, extras=()):
    self.calls.append((action, next_timestep, extras))

  def reset(self):
    pass


def template_seat_calls(context: distributed.ProgramContext, seed: int) -> List[List]:
  """The adder calls of every seat of one real FTW match (one member on every seat, initial
  weights): what an arena's adders get from a match."""
  environment = context.environment_factory(seed)
  policies = ftw_arena.MemberPolicies(context.environment_spec, context.builder.config,
                                      seed=seed)
  recorders = []

  def make_adder(unused_member):
    recorders.append(_RecordingAdder())
    return recorders[-1]

  ftw_arena.play_matches([environment], [[0] * environment.num_players], policies, make_adder)
  return [recorder.calls for recorder in recorders]


class SimulatedActors:
  """Actors `index`, `index + num_nodes`, ... of `config.num_actors`: items and weight pulls,
  no environment and no network (see the module docstring). `agent`: 'tvt' or 'ftw'."""

  def __init__(self, context: distributed.ProgramContext, index: int, num_nodes: int,
               pull_period_s: float, item_period_s: float, agent: str = 'tvt'):
    config = context.config
    self._index = index
    self._actor_ids = list(range(index, config.num_actors, num_nodes))
    self._sources = [context.variable_source(i) for i in self._actor_ids]
    self._replay_address = context.replay.server_address
    self._pull_period_s = pull_period_s
    self._item_period_s = item_period_s
    self._run_dir = config.run_dir
    self._builder = context.builder
    seed = distributed.derive_seed(config.seed, index)
    if agent == 'ftw':
      self._table = context.builder.table_name(ftw_utils.QUEUE)
      self._templates = template_seat_calls(context, seed)
      self._write_items = self._write_unrolls
    else:
      self._table = context.builder.table_name(tvt_builder.QUEUE)
      self._templates = template_episodes(context, 2, seed)
      self._write_items = self._write_episodes
    self._rng = np.random.default_rng(index)
    self._lock = threading.Lock()
    # The learner step of each actor's latest weights, written with its items (policy lag).
    self._weights_steps = np.full(len(self._actor_ids), -1, np.int32)
    self._pulls: List = []  # (time issued, latency s, learner step) of each completed pull.
    self._failed_pulls = 0
    self._in_flight = [False] * len(self._actor_ids)  # Whether each actor's pull is unanswered.
    self._inserts: List = []  # (time, the server's completed inserts) — node 0 only.

  def _pull_weights(self):
    """Each actor pulls every period (phases spread at random), one pull in flight at most."""
    period = self._pull_period_s
    due = time.time() + self._rng.uniform(0, period, len(self._sources))
    in_flight = self._in_flight

    def done(actor, issued, future):
      in_flight[actor] = False
      try:
        step, _ = future.result()
      except Exception:  # pylint: disable=broad-except
        with self._lock:
          self._failed_pulls += 1
        return
      with self._lock:
        self._pulls.append((issued, time.time() - issued, step))
        self._weights_steps[actor] = step

    while not stopping.stop_requested():
      now = time.time()
      for actor in np.flatnonzero(due <= now):
        due[actor] += period
        if in_flight[actor]:
          continue  # As Acme's VariableClient: no second pull while one is in flight.
        in_flight[actor] = True
        future = self._sources[actor].futures.get_variables_with_step(['policy'])
        future.add_done_callback(lambda f, a=actor, t=now: done(a, t, f))
      stopping.wait_for_stop(max(0.0, min(due.min() - time.time(), 0.5)))

  def _write_episodes(self):
    """Each actor's writer keeps at most 2 items in flight and writes at most one item every
    `item_period_s`; the queue's rate limiter sets the pace."""
    client = reverb.Client(self._replay_address)
    writers = [client.trajectory_writer(num_keep_alive_refs=1) for _ in self._actor_ids]
    next_item = np.zeros(len(writers))
    while not stopping.stop_requested():
      wrote = False
      for actor, writer in enumerate(writers):
        if next_item[actor] > time.time():
          continue
        try:
          writer.flush(block_until_num_items=1, timeout_ms=0)
        except reverb.errors.DeadlineExceededError:
          continue  # Its queue slot has not come yet.
        episode = self._templates[self._rng.integers(len(self._templates))]
        step = np.full_like(episode.extras[core_acting.WEIGHTS_STEP],
                            self._weights_steps[actor])
        writer.append(episode._replace(extras={**episode.extras,
                                               core_acting.WEIGHTS_STEP: step}))
        writer.create_item(self._table, 1.0, tree.map_structure(lambda c: c[-1],
                                                                writer.history))
        next_item[actor] = time.time() + self._item_period_s
        wrote = True
      if not wrote:
        stopping.wait_for_stop(0.01)
    for writer in writers:
      try:
        writer.close()
      except Exception:  # pylint: disable=broad-except
        pass

  def _write_unrolls(self):
    """Each actor replays a real seat's adder calls into its own real adders, one unroll (a
    sequence's worth of calls) per actor in turn; an adder waits while its queue is full."""
    client = reverb.Client(self._replay_address)
    adders = [self._builder.make_adder(client) for _ in self._actor_ids]
    streams = self._rng.integers(len(self._templates), size=len(adders))
    positions = np.zeros(len(adders), int)
    unroll = self._builder.config.sequence_length - 1
    try:
      while not stopping.stop_requested():
        for actor, adder in enumerate(adders):
          calls = self._templates[streams[actor]]
          for _ in range(unroll):
            action, timestep, extras = calls[positions[actor]]
            if action is None:
              adder.add_first(timestep)
            else:
              step = np.full_like(extras[core_acting.WEIGHTS_STEP],
                                  self._weights_steps[actor])
              adder.add(action, timestep, {**extras, core_acting.WEIGHTS_STEP: step})
            positions[actor] = (positions[actor] + 1) % len(calls)
    finally:
      # At a stop the queue may be full for good: an adder's reset would wait on it, and so
      # might closing its writer (which deleting it does), so the adders are kept until the
      # process ends.
      self._adders = adders

  def _count_inserts(self):
    """The server's completed inserts into the queue, every second (node 0 only)."""
    client = reverb.Client(self._replay_address)
    while not stopping.wait_for_stop(1.0):
      try:
        info = client.server_info(timeout=5)[self._table]
      except Exception:  # pylint: disable=broad-except
        continue  # A slow answer: the next one will do.
      with self._lock:
        self._inserts.append((time.time(), info.rate_limiter_info.insert_stats.completed))

  def run(self):
    threads = [threading.Thread(target=self._pull_weights, daemon=True)]
    if self._index == 0:
      threads.append(threading.Thread(target=self._count_inserts, daemon=True))
    for thread in threads:
      thread.start()
    try:
      self._write_items()
    except Exception as error:  # pylint: disable=broad-except
      if not stopping.stop_requested():
        raise
      logging.info('a write ended at the stop: %s', error)
    # The records first: the other threads' calls may wait on nodes already gone.
    self._save_records()
    for thread in threads:
      thread.join(5.0)

  def _save_records(self):
    with self._lock:
      record = {'actors': len(self._actor_ids), 'pulls': self._pulls,
                'failed_pulls': self._failed_pulls, 'unanswered_pulls': sum(self._in_flight),
                'inserts': self._inserts}
    with open(_records_path(self._run_dir, f'actors_{self._index}.json'), 'w') as f:
      json.dump(record, f)
