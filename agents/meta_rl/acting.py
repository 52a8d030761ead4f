"""The meta-RL actor: sampled actions for B bandits in one network call."""

from typing import Optional, Sequence

from acme import adders
from acme.tf import variable_utils
import dm_env
import numpy as np
import tensorflow as tf

from agents.core import acting
from agents.meta_rl import networks


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


class PreviousActionRewardActor(acting.BatchedActor):
  """Gives `actor` each observation with the previous action, reward and trial (`input_spec`).

  For environments other than the bandits, whose observations carry them already. The
  timesteps passed on to `actor` (and so to its adders) hold the same dicts as the policy sees:
  what the learner reads is what the actor acted on.
  """

  def __init__(self, actor: acting.BatchedActor, num_actions: int):
    self._actor = actor
    self._num_actions = num_actions
    self._previous_action = None  # [B, A] one-hot; zeros at an episode's first step.
    self._previous_reward = None  # [B]
    self._trial = None  # [B]: the 0-based step within the episode.

  def _inputs(self, observations):
    # No copies: every step replaces these arrays (np.where) rather than writing into them.
    return {networks.OBSERVATION: observations,
            networks.PREVIOUS_ACTION: self._previous_action,
            networks.PREVIOUS_REWARD: self._previous_reward,
            networks.TRIAL: self._trial}

  def select_actions(self, observations) -> np.ndarray:
    return self._actor.select_actions(self._inputs(observations))

  def observe_first(self, timesteps: dm_env.TimeStep):
    batch_size = len(timesteps.step_type)
    self._previous_action = np.zeros((batch_size, self._num_actions), np.float32)
    self._previous_reward = np.zeros(batch_size, np.float32)
    self._trial = np.zeros(batch_size, np.float32)
    self._actor.observe_first(timesteps._replace(observation=self._inputs(
        timesteps.observation)))

  def observe(self, actions: np.ndarray, next_timesteps: dm_env.TimeStep):
    first = np.asarray(next_timesteps.step_type == dm_env.StepType.FIRST)
    self._previous_action = np.where(
        first[:, None], 0.0, np.eye(self._num_actions, dtype=np.float32)[actions])
    rewards = np.asarray(next_timesteps.reward)
    if rewards.dtype == object:  # A FIRST row's reward is None.
      rewards = np.array([0.0 if r is None else r for r in rewards])
    self._previous_reward = np.where(first, 0.0, rewards).astype(np.float32)
    self._trial = np.where(first, 0.0, self._trial + 1.0).astype(np.float32)
    self._actor.observe(actions, next_timesteps._replace(observation=self._inputs(
        next_timesteps.observation)))

  def update(self, wait: bool = False):
    self._actor.update(wait)

  @property
  def step_extras(self):
    return self._actor.step_extras
