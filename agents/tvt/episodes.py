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

from agents.core import acting


def _zeros(spec, *leading: int):
  """Zero arrays of `spec`'s shapes and dtypes, with the `leading` axes in front."""
  return tree.map_structure(lambda s: np.zeros(leading + tuple(s.shape), s.dtype), spec)


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
      raise ValueError(f'an episode is longer than {self._queue.max_length - 1} steps '
                       '(the configured episode_length)')
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


class _BatchedEpisodeWriter(acting.BatchedAdder):
  """The adders of B environments in one: the episodes' arrays have a leading batch axis and
  every step is written for all environments at once (items as `_EpisodeWriter`'s)."""

  def __init__(self, queue: 'EpisodeQueue', num_envs: int):
    self._queue = queue
    self.num_envs = num_envs
    spec, shape = queue.environment_spec, (num_envs, queue.max_length)
    self._episodes = adders_base.Step(
        observation=_zeros(spec.observations, *shape), action=_zeros(spec.actions, *shape),
        reward=_zeros(spec.rewards, *shape), discount=_zeros(spec.discounts, *shape),
        start_of_episode=np.zeros(shape, bool), extras=_zeros(queue.extras_spec, *shape))
    self._lengths = np.zeros(num_envs, np.int64)  # Transitions written in each episode.

  def add_first(self, timesteps: dm_env.TimeStep, rows: np.ndarray):
    envs = np.flatnonzero(rows)
    for array in tree.flatten(self._episodes):
      array[envs] = 0
    self._episodes.start_of_episode[envs, 0] = True
    tree.map_structure(lambda x, o: x.__setitem__((envs, 0), o[envs]),
                       self._episodes.observation, timesteps.observation)
    self._lengths[envs] = 0

  def add(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep, extras,
          rows: np.ndarray):
    envs = np.flatnonzero(rows)
    steps = self._lengths[envs]
    if np.any(steps + 1 >= self._queue.max_length):
      raise ValueError(f'an episode is longer than {self._queue.max_length - 1} steps '
                       '(the configured episode_length)')
    episodes = self._episodes
    episodes.action[envs, steps] = np.asarray(actions)[envs]
    episodes.reward[envs, steps] = np.asarray(next_timesteps.reward)[envs]
    episodes.discount[envs, steps] = np.asarray(next_timesteps.discount)[envs]
    tree.map_structure(lambda x, e: x.__setitem__((envs, steps), e[envs]), episodes.extras,
                       extras)
    tree.map_structure(lambda x, o: x.__setitem__((envs, steps + 1), o[envs]),
                       episodes.observation, next_timesteps.observation)
    self._lengths[envs] += 1
    for env in envs[np.asarray(next_timesteps.step_type)[envs] == dm_env.StepType.LAST]:
      self._queue.put(tree.map_structure(lambda x: x[env].copy(), episodes))  # pylint: disable=cell-var-from-loop


class EpisodeQueue:
  """Whole episodes from B environments' adders, handed to the learner in the order they end.

  `make_adder` gives one adder per environment (`acme.adders.Adder`'s interface) and
  `make_batched_adder` one for a batch of environments stepped together; `batches`
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

  def make_batched_adder(self, num_envs: int) -> acting.BatchedAdder:
    """One adder for `num_envs` environments stepped together (what a batched actor feeds)."""
    return _BatchedEpisodeWriter(self, num_envs)

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
