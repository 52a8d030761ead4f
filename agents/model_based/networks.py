"""Haiku networks of the agents: the Q network and the two kinds of learned model (spec 2.1, 3).

Every MLP is `num_hidden_layers` x `num_hidden_units` with the config's activation and haiku's
default Linear initialisation (truncated normal scaled by 1/sqrt(fan_in), zero biases).
"""

from typing import NamedTuple

import haiku as hk
import jax
from jax import numpy as jnp

from agents.model_based import config as config_lib
from agents.model_based import latents

ACTIVATIONS = {'elu': jax.nn.elu, 'relu': jax.nn.relu, 'silu': jax.nn.silu}


def mlp(config: config_lib.ExperimentConfig, output_size: int, name: str) -> hk.nets.MLP:
  hidden = [config.num_hidden_units] * config.num_hidden_layers
  return hk.nets.MLP(hidden + [output_size], activation=ACTIVATIONS[config.activation],
                     name=name)


def with_action(inputs: jax.Array, action: jax.Array, num_actions: int) -> jax.Array:
  """concat(inputs, one_hot(action)): the input of every model head."""
  return jnp.concatenate([inputs, jax.nn.one_hot(action, num_actions)], axis=-1)


def make_q_network(config: config_lib.ExperimentConfig, num_actions: int) -> hk.Transformed:
  """features -> Q values of every action (features: the observation, or a flat latent)."""
  return hk.without_apply_rng(hk.transform(lambda x: mlp(config, num_actions, 'Q')(x)))


class ObservationModelOutput(NamedTuple):
  reward_mean: jax.Array
  continue_logit: jax.Array  # Logit of the probability that the episode continues.
  next_obs: jax.Array  # Bernoulli logits (binary observations) or Gaussian means.


def make_observation_model(config: config_lib.ExperimentConfig, obs_size: int,
                           num_actions: int) -> hk.Transformed:
  """The simple model: three independent MLPs of (observation, action) (spec 3.3)."""

  def forward(obs, action):
    inputs = with_action(obs, action, num_actions)
    return ObservationModelOutput(
        reward_mean=mlp(config, 1, 'reward')(inputs)[..., 0],
        continue_logit=mlp(config, 1, 'termination')(inputs)[..., 0],
        next_obs=mlp(config, obs_size, 'next_obs')(inputs))

  return hk.without_apply_rng(hk.transform(forward))


class LatentModel(NamedTuple):
  """Pure functions of (params, ...) of the five networks of the latent model (spec 3.4)."""
  init: callable  # (key, obs, action) -> params of all five networks.
  encode: callable  # (params, obs) -> posterior q(z | o) parameters.
  transition: callable  # (params, flat z, action) -> (prior p(z' | z, a), reward mean, logit).
  decode: callable  # (params, flat z) -> observation logits.


def make_latent_model(config: config_lib.ExperimentConfig, latent: latents.Latent,
                      obs_size: int, num_actions: int) -> LatentModel:
  """Encoder, dynamics, decoder, reward and termination MLPs sharing one parameter dict."""

  def build():
    encoder_mlp = mlp(config, latent.num_outputs, 'phi')
    dynamics_mlp = mlp(config, latent.num_outputs, 'next_phi')

    def encoder(obs):
      return latent.params(encoder_mlp(obs), config.min_std)

    def dynamics(inputs):
      return latent.params(dynamics_mlp(inputs), 0.0)  # min_std is the encoder's only.

    decoder = mlp(config, obs_size, 'obs')
    reward = mlp(config, 1, 'reward')
    termination = mlp(config, 1, 'termination')

    def transition(z, action):
      inputs = with_action(z, action, num_actions)
      return dynamics(inputs), reward(inputs)[..., 0], termination(inputs)[..., 0]

    def init(obs, action):
      posterior = encoder(obs)
      z = latent.mode(posterior)
      return transition(z, action), decoder(z)

    return init, (encoder, transition, decoder)

  transformed = hk.without_apply_rng(hk.multi_transform(build))
  encode, transition, decode = transformed.apply
  return LatentModel(init=transformed.init, encode=encode, transition=transition, decode=decode)
