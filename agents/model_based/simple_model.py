"""The simple model agent: Q learns from rollouts of a learned observation-space model (spec 3.3).

The model predicts the reward (its mean is used), the chance that the episode continues, and
every next-observation bit independently from (observation, action).
"""

import jax
from jax import numpy as jnp

from agents.model_based import losses
from agents.model_based import networks
from agents.model_based import rollouts


class SimpleModelAgent(rollouts.LearnedModelAgent):
  """Rollout states are observations; next observations are sampled bit by bit."""

  def __init__(self, config, environment):
    super().__init__(config, environment)
    self.model = networks.make_observation_model(config, environment.observation_size(),
                                                 self.num_actions)

  def init_model_params(self, key, obs):
    return self.model.init(key, obs, jnp.int32(0))

  def model_loss(self, params, batch, key):
    del key
    predicted = self.model.apply(params, batch.obs.astype(jnp.float32), batch.action)
    config = self.config
    return losses.observation_model_loss(
        predicted.reward_mean, predicted.continue_logit, predicted.next_obs, batch.reward,
        batch.terminal, batch.next_obs.astype(jnp.float32), config.reward_weight,
        config.termination_weight, config.obs_prediction_weight, config.binary_obs)

  def start_states(self, params, obs, key):
    del params, key
    return obs

  def rollout_features(self, state, rollout_state):
    del state
    return rollout_state

  def imagine(self, state, rollout_state, actions, key):
    predicted = self.model.apply(state.model_params, rollout_state, actions)
    if self.config.binary_obs:
      next_obs = losses.sample_bits(key, predicted.next_obs,
                                    self.config.model_obs_sampling == 'clipped_logit')
    else:
      next_obs = predicted.next_obs + jax.random.normal(key, predicted.next_obs.shape)
    target, weight = self.continuations(predicted.continue_logit)
    return rollouts.ImaginedStep(next_obs, predicted.reward_mean, target, weight)
