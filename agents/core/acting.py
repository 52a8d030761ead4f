"""Batched actors: one network call acts for B environments; one Acme adder per environment."""

import abc
from typing import Callable, Mapping, Optional, Sequence, Tuple, Union

from acme import adders
from acme import specs
from acme.tf import variable_utils
import dm_env
import numpy as np
import tensorflow as tf
import tree

from environments import batched

# policy(observations, state, is_first, seed) -> (actions, extras, new_state); all batched.
# `state` is the recurrent state before the step; the actor resets rows where `is_first`.
PolicyFn = Callable[..., Tuple[tf.Tensor, object, object]]

# The extra that every actor writes with each step: the learner step of the weights it acted
# with (-1 where unknown, as with frozen weights), from which learners measure the policy lag.
WEIGHTS_STEP = 'weights_step'


def weights_step(variable_client: Optional[variable_utils.VariableClient]) -> int:
  """The learner step of the weights `variable_client` last fetched (-1 if it cannot say).

  The step is the one its source (`rpc.ResilientVariableSource`) last received; Acme's client
  copies those weights in at its next `update`, at most one step later.
  """
  source = getattr(variable_client, '_client', None)  # Acme keeps the source there.
  return int(getattr(source, 'learner_step', -1))


class BatchedActor(abc.ABC):
  """The batched counterpart of `acme.Actor`: every argument carries a leading batch axis."""

  @abc.abstractmethod
  def select_actions(self, observations) -> np.ndarray:
    """Returns one action per environment."""

  @abc.abstractmethod
  def observe_first(self, timesteps: dm_env.TimeStep):
    """Sees the first timesteps of every environment (after `BatchedEnvironment.reset`)."""

  @abc.abstractmethod
  def observe(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep):
    """Sees the timesteps that followed `actions`; rows that are FIRST are fresh episodes."""

  def update(self, wait: bool = False):
    """Pulls new weights if the actor has a variable client."""


class BatchedAdder(abc.ABC):
  """Writes the transitions of B environments with one call per step, where one Acme adder per
  environment would cost a Python loop over the environments at every step."""

  num_envs: int

  @abc.abstractmethod
  def add_first(self, timesteps: dm_env.TimeStep, rows: np.ndarray):
    """Starts an episode in each environment where the bool mask `rows` [B] is set."""

  @abc.abstractmethod
  def add(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep, extras,
          rows: np.ndarray):
    """Adds, for each environment in `rows`, the transition of its action to its timestep."""


class BatchedRecurrentActor(BatchedActor):
  """Runs a recurrent policy on B environments and feeds one adder per environment.

  The policy records, per environment, the extras that the learner needs (for example the
  behaviour logits and the core state before the step); they are added with the transition.
  `adders_per_env` may also be one `BatchedAdder` for all the environments.
  """

  def __init__(self, policy: PolicyFn, initial_state: Callable[[int], object],
               adders_per_env: Union[Sequence[adders.Adder], BatchedAdder, None] = None,
               variable_client: Optional[variable_utils.VariableClient] = None,
               seed: int = 0):
    self._policy = policy
    self._initial_state = initial_state
    self._adders = adders_per_env
    self._variable_client = variable_client
    self._state = None  # Built at the first call, when the batch size is known.
    self._is_first = None
    self._extras = None
    self._rng = np.random.default_rng(seed)

  def select_actions(self, observations) -> np.ndarray:
    if self._state is None:
      batch_size = len(tree.flatten(observations)[0])
      if self._adders is not None and self._num_adders() != batch_size:
        raise ValueError(f'{self._num_adders()} adders for {batch_size} environments')
      self._state = self._initial_state(batch_size)
      self._is_first = np.ones(batch_size, dtype=bool)
    seed = tf.constant(self._rng.integers(0, 2**31 - 1, size=2), tf.int64)
    actions, extras, self._state = self._policy(
        observations, self._state, tf.constant(self._is_first), seed)
    if isinstance(extras, Mapping):
      extras = {**extras, WEIGHTS_STEP: np.full(len(self._is_first),
                                                weights_step(self._variable_client), np.int32)}
    self._extras = extras
    return actions.numpy()

  def _num_adders(self) -> int:
    if isinstance(self._adders, BatchedAdder):
      return self._adders.num_envs
    return len(self._adders)

  def observe_first(self, timesteps: dm_env.TimeStep):
    self._is_first = np.asarray(timesteps.step_type == dm_env.StepType.FIRST)
    if isinstance(self._adders, BatchedAdder):
      self._adders.add_first(timesteps, np.ones(len(self._is_first), bool))
    elif self._adders:
      for i, adder in enumerate(self._adders):
        adder.add_first(batched.index_nest(timesteps, i))

  def observe(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep):
    self._is_first = np.asarray(next_timesteps.step_type == dm_env.StepType.FIRST)
    if not self._adders:
      return
    extras = tree.map_structure(np.asarray, self._extras)
    if isinstance(self._adders, BatchedAdder):
      self._adders.add(actions, next_timesteps, extras, ~self._is_first)
      if self._is_first.any():
        self._adders.add_first(next_timesteps, self._is_first)
      return
    for i, adder in enumerate(self._adders):
      timestep = batched.index_nest(next_timesteps, i)
      if self._is_first[i]:
        adder.add_first(timestep)
      else:
        adder.add(actions[i], timestep, batched.index_nest(extras, i))

  def update(self, wait: bool = False):
    if self._variable_client is not None:
      self._variable_client.update(wait)

  @property
  def step_extras(self):
    """The extras of the last `select_actions` (one row per environment), as numpy."""
    return tree.map_structure(np.asarray, self._extras)


def extras_spec(actor: BatchedRecurrentActor, observation_spec):
  """The spec of the extras that `actor` records per environment and step, from one dry step.

  What actors write and what Reverb tables are built for then come from one place: the policy.
  """
  zeros = tree.map_structure(lambda s: np.zeros((1,) + tuple(s.shape), s.dtype),
                             observation_spec)
  actor.observe_first(dm_env.TimeStep(np.array([dm_env.StepType.FIRST]), np.zeros(1),
                                      np.ones(1), zeros))
  actor.select_actions(zeros)
  return tree.map_structure(lambda x: specs.Array(x.shape[1:], x.dtype), actor.step_extras)


def reset_where(is_first: tf.Tensor, state, initial_state):
  """Replaces the rows of `state` where `is_first` by the rows of `initial_state`."""

  def select(current, initial):
    mask = tf.reshape(is_first, [-1] + [1] * (len(current.shape) - 1))
    return tf.where(mask, initial, current)

  return tree.map_structure(select, state, initial_state)
