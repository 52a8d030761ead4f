"""Steps B copies of a `dm_env.Environment` in lockstep, for batched inference and learning."""

from typing import Callable, List, Sequence

import dm_env
import numpy as np
import tree


def stack_timesteps(timesteps: Sequence[dm_env.TimeStep]) -> dm_env.TimeStep:
  """Stacks per-environment timesteps into one with a leading batch dimension."""
  return tree.map_structure(lambda *xs: np.stack(xs), *timesteps)


def index_nest(nest, index: int):
  """Row `index` of every array in a nest of dicts, tuples, namedtuples and arrays.

  The same as tree.map_structure(lambda x: x[index], nest), several times faster on the small
  nests of a step; it runs for every environment at every step.
  """
  if isinstance(nest, dict):
    return {key: index_nest(value, index) for key, value in nest.items()}
  if isinstance(nest, tuple) and hasattr(nest, '_fields'):
    return type(nest)(*(index_nest(value, index) for value in nest))
  if isinstance(nest, (tuple, list)):
    return type(nest)(index_nest(value, index) for value in nest)
  return nest[index]


def unstack_timestep(timestep: dm_env.TimeStep, index: int) -> dm_env.TimeStep:
  """The timestep of environment `index` out of a batched timestep."""
  return index_nest(timestep, index)


class BatchedEnvironment:
  """B environments stepped together; each one restarts by itself after its last step.

  `step(actions)` sends `actions[i]` to environment i, except that an environment whose previous
  timestep was LAST is reset instead (its action is ignored) and reports a FIRST timestep. So
  every call returns B timesteps stacked along axis 0 (`step_type` is an int array of shape [B]),
  and episodes of different lengths need no padding.
  """

  def __init__(self, environments: Sequence[dm_env.Environment]):
    if not environments:
      raise ValueError('BatchedEnvironment needs at least one environment')
    self._environments = list(environments)
    self._last = [True] * len(self._environments)

  @classmethod
  def from_factory(cls, factory: Callable[[int], dm_env.Environment], batch_size: int):
    """Builds environment i with `factory(i)` (use i to give each copy its own seed)."""
    if batch_size < 1:
      raise ValueError(f'batch_size must be at least 1, got {batch_size}')
    return cls([factory(i) for i in range(batch_size)])

  @property
  def environments(self) -> List[dm_env.Environment]:
    return self._environments

  @property
  def batch_size(self) -> int:
    return len(self._environments)

  def reset(self) -> dm_env.TimeStep:
    self._last = [False] * self.batch_size
    return stack_timesteps([env.reset() for env in self._environments])

  def step(self, actions) -> dm_env.TimeStep:
    actions = np.asarray(actions)
    if actions.shape[:1] != (self.batch_size,):
      raise ValueError(f'expected {self.batch_size} actions, got shape {actions.shape}')
    timesteps = []
    for i, env in enumerate(self._environments):
      timestep = env.reset() if self._last[i] else env.step(actions[i])
      self._last[i] = timestep.last()
      timesteps.append(timestep)
    return stack_timesteps(timesteps)

  def observation_spec(self):
    return self._environments[0].observation_spec()

  def action_spec(self):
    return self._environments[0].action_spec()

  def reward_spec(self):
    return self._environments[0].reward_spec()

  def discount_spec(self):
    return self._environments[0].discount_spec()

  def close(self):
    for env in self._environments:
      env.close()
