"""An in-process queue of whole episodes, laid out as Acme's EpisodeAdder items.

The single-process batched A2C can use it instead of the in-process Reverb server (an option of
`agents.core.local`): appending every step through Reverb's adders costs about a sixth of the
run's CPU time (Reverb used 1.16-1.20x the CPU time per episode in interleaved runs of both;
benchmarks/tvt_throughput.py compares them), and nothing is gained when actor and learner
share one process and one set of weights. The items look exactly like those the distributed
actors write with `acme.adders.reverb.EpisodeAdder` (padding_fn zeros), so one learner serves
both modes.
"""

import collections
from typing import Iterator, List

from acme import specs
from acme.adders.reverb import base as adders_base
import dm_env
import numpy as np
import reverb
import tree


def _zeros(spec, length: int):
  return tree.map_structure(lambda s: np.zeros((length,) + tuple(s.shape), s.dtype), spec)


class _EpisodeWriter:
  """The adder of one environment: fills one episode's arrays, queues them when it ends.

  Item layout (rows t = 0..max_length-1): observation o_t, action a_t, reward and discount of
  the transition after a_t, start_of_episode (t == 0), extras_t; the row after the last
  transition holds the final observation and zeros, and rows after it are zeros.
  """

  def __init__(self, queue: 'EpisodeQueue'):
    self._queue = queue
    self._episode = None
    self._length = 0

  def add_first(self, timestep: dm_env.TimeStep):
    spec, length = self._queue.environment_spec, self._queue.max_length
    self._episode = adders_base.Step(
        observation=_zeros(spec.observations, length), action=_zeros(spec.actions, length),
        reward=_zeros(spec.rewards, length), discount=_zeros(spec.discounts, length),
        start_of_episode=np.zeros(length, bool),
        extras=_zeros(self._queue.extras_spec, length))
    self._episode.start_of_episode[0] = True
    tree.map_structure(lambda x, o: x.__setitem__(0, o), self._episode.observation,
                       timestep.observation)
    self._length = 0

  def add(self, action, next_timestep: dm_env.TimeStep, extras=()):
    t = self._length
    if t + 1 >= self._queue.max_length:
      raise ValueError(f'an episode is longer than {self._queue.max_length - 1} steps')
    episode = self._episode
    episode.action[t] = action
    episode.reward[t] = next_timestep.reward
    episode.discount[t] = next_timestep.discount
    tree.map_structure(lambda x, e: x.__setitem__(t, e), episode.extras, extras)
    tree.map_structure(lambda x, o: x.__setitem__(t + 1, o), episode.observation,
                       next_timestep.observation)
    self._length += 1
    if next_timestep.last():
      self._queue.put(episode)
      self._episode = None

  def reset(self):
    self._episode = None


class EpisodeQueue:
  """Whole episodes from B environments' adders, handed to the learner in the order they end.

  `make_adder` gives one adder per environment (`acme.adders.Adder`'s interface); `batches`
  is the learner's dataset: ReplaySamples of `batch_size` episodes stacked on axis 0, as the
  Reverb dataset gives them. Each episode is read once, as from a Reverb queue.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, extras_spec, max_length: int):
    self.environment_spec = environment_spec
    self.extras_spec = extras_spec
    self.max_length = max_length
    self._finished = collections.deque()

  def make_adder(self) -> _EpisodeWriter:
    return _EpisodeWriter(self)

  def put(self, episode: adders_base.Step):
    self._finished.append(episode)

  @property
  def num_ready(self) -> int:
    """Finished episodes not yet read."""
    return len(self._finished)

  def pop_batch(self, batch_size: int) -> reverb.ReplaySample:
    """The `batch_size` oldest finished episodes, stacked on axis 0 (as the Reverb dataset)."""
    if len(self._finished) < batch_size:
      raise ValueError(f'{len(self._finished)} finished episodes, {batch_size} asked for')
    items: List = [self._finished.popleft() for _ in range(batch_size)]
    return reverb.ReplaySample(info=None, data=tree.map_structure(lambda *x: np.stack(x),
                                                                  *items))

  def batches(self, batch_size: int) -> Iterator[reverb.ReplaySample]:
    while True:
      yield self.pop_batch(batch_size)
