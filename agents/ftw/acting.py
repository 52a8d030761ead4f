"""FTW actors: one compiled policy step shared by the Acme actor and the batched arena seats.

The policy samples a ~ Categorical(logits) and records, for the learner, the behaviour logits and
the recurrent state *before* the step (spec 2.4). `FtwActor` is the original's single-stream
`acme.Actor`; arenas drive `agents.core.acting.BatchedRecurrentActor` with the same policy over
every seat a member fills.
"""

from typing import Optional

import acme
from acme import adders
from acme import specs
from acme.tf import utils as tf2_utils
from acme.tf import variable_utils
from acme.wrappers import observation_action_reward
import dm_env
import numpy as np
import tensorflow as tf
import tree

from agents.core import acting as core_acting


def _xla_seed(seed, jit_compile: bool):
  """XLA's StatelessMultinomial takes int32 seeds only (graph mode keeps the int64 ones)."""
  return tf.cast(seed, tf.int32) if jit_compile else seed


def make_policy(network, jit_compile: bool = False):
  """policy(observations, state, is_first, seed) -> (actions, extras, new_state), batched.

  Rows where `is_first` start from the initial state. `seed` ([2] int64) makes the action draw
  reproducible. `jit_compile` compiles the step with XLA (see FtwConfig.jit_compile).
  """

  @tf.function(experimental_relax_shapes=True, jit_compile=jit_compile)
  def policy(observations, state, is_first, seed):
    batch_size = tf.shape(is_first)[0]
    state = core_acting.reset_where(is_first, state, network.initial_state(batch_size))
    (logits, _, _), new_state = network(observations, state)
    draws = tf.random.stateless_categorical(logits, 1, _xla_seed(seed, jit_compile))
    actions = tf.cast(draws[:, 0], tf.int32)
    return actions, {'logits': logits, 'core_state': state}, new_state

  return policy


class CombinedAdder(adders.Adder):
  """Feeds the same stream to the unroll adder and (without extras) the reward-window adder."""

  def __init__(self, adder: adders.Adder, reward_prediction_adder: Optional[adders.Adder]):
    self._adder = adder
    self._rp_adder = reward_prediction_adder

  def add_first(self, timestep: dm_env.TimeStep):
    self._adder.add_first(timestep)
    if self._rp_adder is not None:
      self._rp_adder.add_first(timestep)

  def add(self, action, next_timestep: dm_env.TimeStep, extras=()):
    self._adder.add(action, next_timestep, extras)
    if self._rp_adder is not None:
      self._rp_adder.add(action, next_timestep)

  def reset(self):
    self._adder.reset()
    if self._rp_adder is not None:
      self._rp_adder.reset()

  def flush(self):
    for adder in (self._adder, self._rp_adder):
      if adder is not None:
        adder.flush()


class OarWrapping:
  """Wraps a plain environment's observations as OARs (observation, previous action, previous
  reward), as acme's `ObservationActionRewardWrapper` would: zeros before the first action."""

  def __init__(self, environment_spec: specs.EnvironmentSpec):
    self._action_spec = environment_spec.actions
    self._reward_spec = environment_spec.rewards
    self._action = self._reward = None
    self.reset()

  def reset(self):
    self._action = self._action_spec.generate_value()
    self._reward = tree.map_structure(lambda s: s.generate_value(), self._reward_spec)

  def observation(self, observation) -> observation_action_reward.OAR:
    """The OAR of an observation that follows the last action and reward recorded."""
    return observation_action_reward.OAR(observation, self._action, self._reward)

  def first(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    self.reset()
    return timestep._replace(observation=self.observation(timestep.observation))

  def step(self, action, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    """Records `action` and the reward that followed it; the timestep with an OAR."""
    self._action = np.asarray(action, self._action_spec.dtype).reshape(self._action_spec.shape)
    self._reward = tree.map_structure(lambda s, r: np.asarray(r, s.dtype).reshape(s.shape),
                                      self._reward_spec, timestep.reward)
    return timestep._replace(observation=self.observation(timestep.observation))


class FtwActor(acme.Actor):
  """Acts for one environment stream; the adders receive every transition.

  With `environment_spec` (a plain spec, whose observations are not OARs) the actor wraps each
  observation as an OAR itself, for the network and the adders alike.
  """

  def __init__(self, network, adder: Optional[adders.Adder] = None,
               reward_prediction_adder: Optional[adders.Adder] = None,
               variable_client: Optional[variable_utils.VariableClient] = None,
               uint_pixels_to_float: bool = True, *, seed: int = 0, jit_compile: bool = False,
               environment_spec: Optional[specs.EnvironmentSpec] = None):
    del uint_pixels_to_float  # The network's torso scales uint8 pixels itself (defect D1).
    self._wrapping = OarWrapping(environment_spec) if environment_spec is not None else None
    self._network = network
    self._policy = make_policy(network, jit_compile)
    self._adder = (CombinedAdder(adder, reward_prediction_adder)
                   if adder is not None else None)
    self._variable_client = variable_client
    self._rng = np.random.default_rng(seed)
    self._state = None
    self._is_first = True
    self._extras = None

  def select_action(self, observation) -> np.ndarray:
    if self._wrapping is not None:
      observation = self._wrapping.observation(observation)
    if self._state is None:
      self._state = self._network.initial_state(1)
    seed = tf.constant(self._rng.integers(0, 2**31 - 1, size=2), tf.int64)
    actions, extras, self._state = self._policy(
        tf2_utils.add_batch_dim(observation), self._state, tf.constant([self._is_first]), seed)
    self._is_first = False
    self._extras = tree.map_structure(lambda x: np.asarray(x)[0], extras)
    return np.asarray(actions)[0]

  def observe_first(self, timestep: dm_env.TimeStep):
    self._state = None
    self._is_first = True
    if self._wrapping is not None:
      timestep = self._wrapping.first(timestep)
    if self._adder is not None:
      self._adder.add_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    if self._wrapping is not None:
      next_timestep = self._wrapping.step(action, next_timestep)
    if self._adder is not None:
      self._adder.add(action, next_timestep, self._extras)

  def update(self, wait: bool = False):
    if self._variable_client is not None:
      self._variable_client.update(wait)
