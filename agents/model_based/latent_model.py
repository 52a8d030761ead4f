"""The latent model agents: Q learns from rollouts in a learned latent space (spec 3.4).

An encoder maps observations to a categorical or Gaussian latent; dynamics, reward and
continuation heads act on latents; a decoder reconstructs the observation (for learning only).
Q sees sampled latents, in rollouts and when acting in the real environment.
"""

from jax import numpy as jnp

from agents.model_based import latents
from agents.model_based import losses
from agents.model_based import networks
from agents.model_based import rollouts


class LatentModelAgent(rollouts.LearnedModelAgent):
  """Rollout states are flat latents z; the decoder is never used in rollouts."""

  def __init__(self, config, environment):
    super().__init__(config, environment)
    self.latent = latents.make_latent(config)
    self.model = networks.make_latent_model(config, self.latent,
                                            environment.observation_size(), self.num_actions)

  @property
  def feature_size(self):
    return self.latent.flat_size

  def features(self, state, obs, key):
    posterior = self.model.encode(state.model_params, obs.astype(jnp.float32))
    return self.latent.sample(key, posterior)

  def init_model_params(self, key, obs):
    return self.model.init(key, obs, jnp.int32(0))

  def model_loss(self, params, batch, key):
    config = self.config
    obs = batch.obs.astype(jnp.float32)
    posterior = self.model.encode(params, obs)
    z = self.latent.sample(key, posterior)
    prior, reward_mean, continue_logit = self.model.transition(params, z, batch.action)
    # Reconstruction of the current observation, reward and continuation (spec 3.4, 1-3).
    loss = losses.observation_model_loss(
        reward_mean, continue_logit, self.model.decode(params, z), batch.reward,
        batch.terminal, obs, config.reward_weight, config.termination_weight,
        config.obs_prediction_weight)
    next_posterior = self.model.encode(params, batch.next_obs.astype(jnp.float32))
    kl = losses.balanced_kl(self.latent.kl, next_posterior, prior, config.KL_posterior_weight,
                            config.KL_prior_weight)
    entropy = self.latent.kl(posterior, self.latent.base(posterior))
    return (loss + kl.sum(-1).mean()
            + config.posterior_entropy_weight * entropy.sum(-1).mean())

  def start_states(self, params, obs, key):
    return self.latent.sample(key, self.model.encode(params, obs))

  def rollout_features(self, state, rollout_state):
    del state
    return rollout_state

  def imagine(self, state, rollout_state, actions, key):
    prior, reward_mean, continue_logit = self.model.transition(state.model_params,
                                                               rollout_state, actions)
    target, weight = self.continuations(continue_logit)
    return rollouts.ImaginedStep(self.latent.sample(key, prior), reward_mean, target, weight)
