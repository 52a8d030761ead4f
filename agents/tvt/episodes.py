"""Whole episodes of B environments collected in process, laid out as Acme's EpisodeAdder items.

The single-process batched A2C hands its episodes straight to the learner: going through an
in-process Reverb server costs a quarter of its time (see benchmarks/tvt_throughput.py), and
nothing is gained when actor and learner share one process and one set of weights. The
episodes look exactly like the items the distributed actors write with
`acme.adders.reverb.EpisodeAdder` (padding_fn zeros), so one learner serves both modes.
"""

import collections
from typing import Iterator, List, Optional

from acme import specs
from acme.adders.reverb import base as adders_base
import dm_env
import numpy as np
import reverb
import tree

from agents.core import acting


def _zeros(spec, batch_size: int, length: int):
  return tree.map_structure(
      lambda s: np.zeros((batch_size, length) + tuple(s.shape), s.dtype), spec)


class EpisodeBuffer:
  """Records B environments step by step; each finished episode becomes one item.

  Item layout (rows t = 0..max_length-1): observation o_t, action a_t, reward and discount of
  the transition after a_t, start_of_episode (t == 0), extras_t; the row after the last
  transition holds the final observation and zeros, and rows after it are zeros.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, extras_spec, batch_size: int,
               max_length: int):
    self._spec = environment_spec
    self._extras_spec = extras_spec
    self._batch_size = batch_size
    self._max_length = max_length
    self._rows = np.arange(batch_size)
    self._lengths = np.zeros(batch_size, np.int64)
    self._current = None
    self._finished = collections.deque()

  def _new_episodes(self):
    spec = self._spec
    return adders_base.Step(
        observation=_zeros(spec.observations, self._batch_size, self._max_length),
        action=_zeros(spec.actions, self._batch_size, self._max_length),
        reward=_zeros(spec.rewards, self._batch_size, self._max_length),
        discount=_zeros(spec.discounts, self._batch_size, self._max_length),
        start_of_episode=np.zeros((self._batch_size, self._max_length), bool),
        extras=_zeros(self._extras_spec, self._batch_size, self._max_length))

  def add_first(self, timesteps: dm_env.TimeStep):
    """Starts an episode in every environment (after `BatchedEnvironment.reset`)."""
    self._current = self._new_episodes()
    self._start(np.ones(self._batch_size, bool), timesteps)

  def _start(self, rows: np.ndarray, timesteps: dm_env.TimeStep):
    self._lengths[rows] = 0
    for field in self._current:
      tree.map_structure(lambda x: x.__setitem__(rows, 0), field)
    self._current.start_of_episode[rows, 0] = True
    tree.map_structure(lambda x, o: x.__setitem__((rows, 0), o[rows]),
                       self._current.observation, timesteps.observation)

  def add(self, actions: np.ndarray, timesteps: dm_env.TimeStep, extras):
    """Records the step of every environment; FIRST rows start new episodes (their action,
    taken on a finished episode, is ignored as `BatchedEnvironment` ignores it)."""
    first = np.asarray(timesteps.step_type == dm_env.StepType.FIRST)
    going = ~first
    rows, steps = self._rows[going], self._lengths[going]
    if (steps + 1 >= self._max_length).any():
      raise ValueError(f'an episode is longer than {self._max_length - 1} steps')
    episode = self._current
    episode.action[rows, steps] = np.asarray(actions)[going]
    episode.reward[rows, steps] = np.asarray(timesteps.reward)[going]
    episode.discount[rows, steps] = np.asarray(timesteps.discount)[going]
    tree.map_structure(lambda x, e: x.__setitem__((rows, steps), np.asarray(e)[going]),
                       episode.extras, extras)
    tree.map_structure(lambda x, o: x.__setitem__((rows, steps + 1), o[going]),
                       episode.observation, timesteps.observation)
    self._lengths[going] += 1
    for row in self._rows[going & np.asarray(timesteps.step_type == dm_env.StepType.LAST)]:
      self._finished.append(tree.map_structure(lambda x: x[row].copy(), episode))
    if first.any():
      self._start(first, timesteps)

  @property
  def num_finished(self) -> int:
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


class EpisodeRecorder(acting.BatchedActor):
  """A batched actor (a `TVTActor`) that also records its episodes into `buffer`."""

  def __init__(self, actor, buffer: Optional[EpisodeBuffer] = None):
    self.actor = actor
    self.buffer = buffer

  def select_actions(self, observations) -> np.ndarray:
    return self.actor.select_actions(observations)

  def observe_first(self, timesteps: dm_env.TimeStep):
    self.actor.observe_first(timesteps)
    self.buffer.add_first(timesteps)

  def observe(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep):
    self.buffer.add(actions, next_timesteps, self.actor.step_extras)
    self.actor.observe(actions, next_timesteps)

  def update(self, wait: bool = False):
    self.actor.update(wait)
