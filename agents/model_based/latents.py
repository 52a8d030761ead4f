"""The two latent state distributions of the latent model: categorical and Gaussian (spec 3.4).

A network head outputs `num_outputs` numbers; `params` turns them into the distribution's
parameters (a tuple of arrays), which `sample`, `kl` and `flatten` work on. KLs are per feature
(the last latent axis summed away only for the categorical classes).
"""

import abc
import dataclasses
from typing import Tuple

import jax
from jax import numpy as jnp

from agents.model_based import losses

Params = Tuple[jax.Array, ...]

# sigma = std_act(pre-activation) [spec 3.4]; sigmoid2 keeps sigma in (0, 2).
STD_ACTIVATIONS = {
    'softplus': jax.nn.softplus,
    'sigmoid': jax.nn.sigmoid,
    'sigmoid2': lambda x: 2.0 * jax.nn.sigmoid(x / 2.0),
}
MIN_STD_CLIP = 1e-6


class Latent(abc.ABC):
  """A factored latent distribution over `num_features` features."""

  num_outputs: int  # Head outputs per latent.
  flat_size: int  # Size of a flattened sample (the Q network's input).

  @abc.abstractmethod
  def params(self, outputs: jax.Array, min_std: float) -> Params:
    """Distribution parameters from a head's outputs."""

  @abc.abstractmethod
  def sample(self, key: jax.Array, params: Params) -> jax.Array:
    """A sample that gradients flow through (straight-through or reparameterised), flattened."""

  @abc.abstractmethod
  def mode(self, params: Params) -> jax.Array:
    """The most likely latent, flattened."""

  @abc.abstractmethod
  def kl(self, p: Params, q: Params) -> jax.Array:
    """KL(p || q) per feature: shape [..., num_features]."""

  @abc.abstractmethod
  def base(self, like: Params) -> Params:
    """The base distribution (uniform categorical or N(0, 1)) shaped like `like`."""


@dataclasses.dataclass(frozen=True)
class CategoricalLatent(Latent):
  """`num_features` independent categoricals of `feature_width` classes; one-hot samples."""
  num_features: int
  feature_width: int

  @property
  def num_outputs(self) -> int:
    return self.num_features * self.feature_width

  @property
  def flat_size(self) -> int:
    return self.num_outputs

  def params(self, outputs, min_std):
    del min_std
    return (outputs.reshape(outputs.shape[:-1] + (self.num_features, self.feature_width)),)

  def sample(self, key, params):
    one_hot = losses.straight_through_one_hot(key, params[0])
    return one_hot.reshape(one_hot.shape[:-2] + (self.flat_size,))

  def mode(self, params):
    logits = params[0]
    one_hot = jax.nn.one_hot(logits.argmax(-1), self.feature_width)
    return one_hot.reshape(logits.shape[:-2] + (self.flat_size,))

  def kl(self, p, q):
    return losses.categorical_kl(p[0], q[0])

  def base(self, like):
    return (jnp.zeros_like(like[0]),)


@dataclasses.dataclass(frozen=True)
class GaussianLatent(Latent):
  """A diagonal Gaussian over `num_features` dimensions; sigma = std_act(.) + min_std."""
  num_features: int
  std_act: str = 'softplus'

  @property
  def num_outputs(self) -> int:
    return 2 * self.num_features  # Mean and sigma pre-activation: two linear heads.

  @property
  def flat_size(self) -> int:
    return self.num_features

  def params(self, outputs, min_std):
    mean, pre_std = jnp.split(outputs, 2, axis=-1)
    std = jnp.maximum(STD_ACTIVATIONS[self.std_act](pre_std), MIN_STD_CLIP) + min_std
    return mean, std

  def sample(self, key, params):
    mean, std = params
    return mean + std * jax.random.normal(key, mean.shape)

  def mode(self, params):
    return params[0]

  def kl(self, p, q):
    return losses.gaussian_kl(*p, *q)

  def base(self, like):
    return jnp.zeros_like(like[0]), jnp.ones_like(like[1])


def make_latent(config) -> Latent:
  """The latent of an ExperimentConfig with agent_type 'latent_model'."""
  if config.latent_type == 'categorical':
    return CategoricalLatent(config.num_features, config.feature_width)
  return GaussianLatent(config.num_features, config.std_act)
