"""The meta-RL network: [previous reward, previous action, trial] -> LSTM(48) -> policy, value."""

import numpy as np
import sonnet as snt
import tensorflow as tf


class NormalisedColumns(snt.initializers.Initializer):
  """Gaussian weights whose every output column has norm `scale` (universe-starter-agent init)."""

  def __init__(self, scale: float, seed: int = 0):
    self._scale = scale
    self._seed = seed

  def __call__(self, shape, dtype):
    rng = np.random.default_rng(self._seed)
    weights = rng.standard_normal(shape).astype(np.float32)
    weights *= self._scale / np.sqrt(np.square(weights).sum(axis=0, keepdims=True))
    return tf.constant(weights, dtype=dtype)


class MetaRLNetwork(snt.RNNCore):
  """An `snt.RNNCore` mapping (observation, state) to ((logits, value), new state).

  The observation is the bandit's dict; the true arm probabilities never reach it. The same
  contract as Acme's IMPALA networks, so Acme's own IMPALA agent can drive it too.
  """

  def __init__(self, num_arms: int, num_trials: int, lstm_units: int = 48,
               normalise_trial_index: bool = True, policy_init_scale: float = 0.01,
               value_init_scale: float = 1.0, name: str = 'meta_rl_network'):
    super().__init__(name=name)
    self._trial_scale = 1.0 / num_trials if normalise_trial_index else 1.0
    self._lstm = snt.LSTM(lstm_units)
    self._policy_head = snt.Linear(num_arms, w_init=NormalisedColumns(policy_init_scale, 1))
    self._value_head = snt.Linear(1, w_init=NormalisedColumns(value_init_scale, 2))

  def __call__(self, observation, state):
    inputs = tf.concat([
        observation['previous_reward'][:, None],
        observation['previous_action'],
        observation['trial'][:, None] * self._trial_scale,
    ], axis=-1)
    outputs, new_state = self._lstm(inputs, state)
    logits = self._policy_head(outputs)
    value = tf.squeeze(self._value_head(outputs), axis=-1)
    return (logits, value), new_state

  def initial_state(self, batch_size: int, **unused_kwargs):
    return self._lstm.initial_state(batch_size)


def make_network(config) -> MetaRLNetwork:
  return MetaRLNetwork(config.num_arms, config.num_trials, config.lstm_units,
                       config.normalise_trial_index, config.policy_init_scale,
                       config.value_init_scale)
