"""The meta-RL network: [observation, previous reward, previous action, trial] -> LSTM(48) ->
policy, value (Wang et al. 2016, Fig. 1).

The bandits' observations are exactly the previous action, reward and trial; any other
environment's observation is embedded by a torso and fed beside them (`input_spec`).
"""

from typing import Optional

from acme import specs
import numpy as np
import sonnet as snt
import tensorflow as tf

from agents.core import torsos

# What the network reads beside the environment's own observation.
PREVIOUS_ACTION, PREVIOUS_REWARD, TRIAL, OBSERVATION = (
    'previous_action', 'previous_reward', 'trial', 'observation')


def has_previous_action_reward(observation_spec) -> bool:
  """Whether observations already carry the previous action, reward and trial (the bandits')."""
  return isinstance(observation_spec, dict) and {PREVIOUS_ACTION, PREVIOUS_REWARD,
                                                 TRIAL} <= set(observation_spec)


def input_spec(environment_spec: specs.EnvironmentSpec) -> specs.EnvironmentSpec:
  """The spec of what the network reads and the actors store, for an environment's spec.

  The bandits' as they are; otherwise a dict of the environment's observation (OBSERVATION),
  the previous action one-hot, the previous reward and the 0-based step within the episode,
  which the actor adds (`acting.PreviousActionRewardActor`).
  """
  if has_previous_action_reward(environment_spec.observations):
    return environment_spec
  num_actions = environment_spec.actions.num_values
  return environment_spec._replace(observations={
      OBSERVATION: environment_spec.observations,
      PREVIOUS_ACTION: specs.Array((num_actions,), np.float32, PREVIOUS_ACTION),
      PREVIOUS_REWARD: specs.Array((), np.float32, PREVIOUS_REWARD),
      TRIAL: specs.Array((), np.float32, TRIAL)})


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

  The observation is a dict of `input_spec`: the previous action, reward and trial, and, with a
  `torso`, the environment's observation (OBSERVATION), which the torso embeds. On the bandits
  the true arm probabilities never reach it. The same contract as Acme's IMPALA networks, so
  Acme's own IMPALA agent can drive it too.
  """

  def __init__(self, num_arms: int, num_trials: int, lstm_units: int = 48,
               normalise_trial_index: bool = True, policy_init_scale: float = 0.01,
               value_init_scale: float = 1.0, torso: Optional[snt.Module] = None,
               name: str = 'meta_rl_network'):
    super().__init__(name=name)
    self._trial_scale = 1.0 / num_trials if normalise_trial_index else 1.0
    self._torso = torso
    self.num_actions = num_arms
    self._lstm = snt.LSTM(lstm_units)
    self._policy_head = snt.Linear(num_arms, w_init=NormalisedColumns(policy_init_scale, 1))
    self._value_head = snt.Linear(1, w_init=NormalisedColumns(value_init_scale, 2))

  @property
  def adds_previous_action_reward(self) -> bool:
    """Whether the actor must add the previous action, reward and trial to observations."""
    return self._torso is not None

  def __call__(self, observation, state):
    inputs = [
        observation[PREVIOUS_REWARD][:, None],
        observation[PREVIOUS_ACTION],
        observation[TRIAL][:, None] * self._trial_scale,
    ]
    if self._torso is not None:
      inputs.insert(0, self._torso(observation[OBSERVATION]))
    inputs = tf.concat(inputs, axis=-1)
    outputs, new_state = self._lstm(inputs, state)
    logits = self._policy_head(outputs)
    value = tf.squeeze(self._value_head(outputs), axis=-1)
    return (logits, value), new_state

  def initial_state(self, batch_size: int, **unused_kwargs):
    return self._lstm.initial_state(batch_size)


def make_network(config, environment_spec: specs.EnvironmentSpec,
                 torso: Optional[snt.Module] = None) -> MetaRLNetwork:
  """The network for `environment_spec` (an environment's or its `input_spec`), one logit per
  action. An observation beyond the bandits' gets `torso`, by default `torsos.ObservationTorso`
  (convolutions for images, flattened otherwise, then an MLP)."""
  observations = environment_spec.observations
  if torso is None and not has_previous_action_reward(observations):
    torso = torsos.ObservationTorso(observations)
  elif torso is None and OBSERVATION in observations:
    torso = torsos.ObservationTorso(observations[OBSERVATION])
  return MetaRLNetwork(environment_spec.actions.num_values, config.num_trials,
                       config.lstm_units, config.normalise_trial_index,
                       config.policy_init_scale, config.value_init_scale, torso)
