"""The meta-RL actor: sampled actions for B bandits in one network call."""

from typing import Optional, Sequence

from acme import adders
from acme.tf import variable_utils
import tensorflow as tf

from agents.core import acting


def _xla_seed(seed, jit_compile: bool):
  """XLA's StatelessMultinomial takes int32 seeds only (graph mode keeps the int64 ones)."""
  return tf.cast(seed, tf.int32) if jit_compile else seed


def make_policy(network, greedy: bool = False, jit_compile: bool = False):
  """A tf.function policy that records the behaviour logits and the state before each step
  (`jit_compile`: with XLA, see MetaRLConfig.jit_compile)."""

  @tf.function(jit_compile=jit_compile)
  def policy(observations, state, is_first, seed):
    batch_size = tf.shape(is_first)[0]
    state = acting.reset_where(is_first, state, network.initial_state(batch_size))
    (logits, _), new_state = network(observations, state)
    if greedy:
      actions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    else:
      draws = tf.random.stateless_categorical(logits, 1, _xla_seed(seed, jit_compile))
      actions = tf.cast(draws[:, 0], tf.int32)
    return actions, {'logits': logits, 'core_state': state}, new_state

  return policy


class MetaRLActor(acting.BatchedRecurrentActor):
  """Samples arms from the LSTM policy for a batch of bandits (weights frozen if no client)."""

  def __init__(self, network,
               adders_per_env: Optional[Sequence[adders.Adder]] = None,
               variable_client: Optional[variable_utils.VariableClient] = None,
               seed: int = 0, greedy: bool = False, jit_compile: bool = False):
    super().__init__(make_policy(network, greedy, jit_compile), network.initial_state,
                     adders_per_env, variable_client, seed)
