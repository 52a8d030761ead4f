"""The RMA actor: B environments stepped with one network call, with what TVT needs recorded."""

from typing import Optional, Sequence

from acme import adders
from acme.tf import variable_utils
import dm_env
import numpy as np
import tensorflow as tf
import tree

from agents.core import acting
from agents.tvt import networks as networks_lib


def make_policy(network: networks_lib.RMANetwork, jit_compile: bool = False):
  """A tf.function policy; its extras are the behaviour logits, V_t and the step's read info.

  With `jit_compile` the step is compiled by XLA (whose action draw takes int32 seeds only).
  """

  @tf.function(jit_compile=jit_compile)
  def policy(inputs: networks_lib.RMAInputs, state, is_first, seed):
    batch_size = tf.shape(is_first)[0]
    state = acting.reset_where(is_first, state, network.initial_state(batch_size))
    outputs, new_state = network.step(inputs, state)
    seed = tf.cast(seed, tf.int32) if jit_compile else seed
    actions = tf.cast(tf.random.stateless_categorical(outputs.logits, 1, seed)[:, 0], tf.int32)
    extras = {
        'logits': outputs.logits,
        'value': outputs.value,
        'read_weights': outputs.core.read_weights,
        'read_indices': outputs.core.read_indices,
        'read_strengths': outputs.core.read_strengths,
    }
    return actions, extras, new_state

  return policy


class TVTActor(acting.BatchedRecurrentActor):
  """Samples actions from the RMA for B environments; feeds it a_{t-1} and r_t as inputs.

  The previous action and reward are 0 at the start of every episode (spec 2.1). Without a
  variable client the weights are whatever the network holds (a single-process agent).
  """

  def __init__(self, network: networks_lib.RMANetwork,
               adders_per_env: Optional[Sequence[adders.Adder]] = None,
               variable_client: Optional[variable_utils.VariableClient] = None,
               seed: int = 0, jit_compile: bool = False):
    super().__init__(make_policy(network, jit_compile), network.initial_state, adders_per_env,
                     variable_client, seed)
    self._last_actions = None
    self._last_rewards = None

  def select_actions(self, observations) -> np.ndarray:
    inputs = networks_lib.RMAInputs(tree.map_structure(np.asarray, observations),
                                    self._last_actions,
                                    self._last_rewards)
    return super().select_actions(inputs)

  def observe_first(self, timesteps: dm_env.TimeStep):
    super().observe_first(timesteps)
    batch_size = len(timesteps.step_type)
    self._last_actions = np.zeros(batch_size, np.int32)
    self._last_rewards = np.zeros(batch_size, np.float32)

  def observe(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep):
    super().observe(actions, next_timesteps)
    first = np.asarray(next_timesteps.step_type == dm_env.StepType.FIRST)
    rewards = [0.0 if f or r is None else r for f, r in zip(first, next_timesteps.reward)]
    self._last_actions = np.where(first, 0, actions).astype(np.int32)
    self._last_rewards = np.asarray(rewards, np.float32)
