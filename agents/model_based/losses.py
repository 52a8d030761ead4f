"""The losses of the five agents as small pure functions of arrays (spec sections 2.5 and 3)."""

import math
from typing import Optional

import jax
from jax import numpy as jnp
import optax

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def q_learning_targets(rewards: jax.Array, continuations: jax.Array, next_q_target: jax.Array,
                       gamma: float, next_q_online: Optional[jax.Array] = None) -> jax.Array:
  """y = r + gamma * c * max_a' Q_target(s', a'), c = 1 - terminal or a predicted continuation.

  With `next_q_online` (double DQN) the target network values the online network's argmax.
  """
  if next_q_online is None:
    next_values = next_q_target.max(axis=-1)
  else:
    best = next_q_online.argmax(axis=-1)
    next_values = jnp.take_along_axis(next_q_target, best[..., None], axis=-1)[..., 0]
  return rewards + gamma * continuations * next_values


def weighted_squared_td_loss(q_taken: jax.Array, targets: jax.Array, weights: jax.Array,
                             normaliser) -> jax.Array:
  """sum(w * (Q(s, a) - y)^2) / normaliser; no gradient flows into the targets or weights.

  The release divides by the number of entries, zero weights included (spec 3.2); pass
  `weights.sum()` to average over the weighted entries instead.
  """
  errors = q_taken - jax.lax.stop_gradient(targets)
  return jnp.sum(jax.lax.stop_gradient(weights) * errors ** 2) / normaliser


def rollout_weights(continuations: jax.Array) -> jax.Array:
  """w_0 = 1, w_{k+1} = w_k * c_k along axis 0: the chance that step k of a rollout happens."""
  ones = jnp.ones_like(continuations[:1])
  return jnp.cumprod(jnp.concatenate([ones, continuations[:-1]], axis=0), axis=0)


def unit_gaussian_nll(values: jax.Array, means: jax.Array) -> jax.Array:
  """-log N(value; mean, 1), elementwise."""
  return 0.5 * (values - means) ** 2 + HALF_LOG_2PI


def bernoulli_nll(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """-log Bernoulli(label; sigmoid(logit)), elementwise (binary cross-entropy on logits)."""
  return optax.sigmoid_binary_cross_entropy(logits, labels)


def categorical_kl(logits_p: jax.Array, logits_q: jax.Array) -> jax.Array:
  """KL(p || q) of categoricals given by logits over the last axis."""
  log_p = jax.nn.log_softmax(logits_p)
  log_q = jax.nn.log_softmax(logits_q)
  return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


def gaussian_kl(mean_p: jax.Array, std_p: jax.Array, mean_q: jax.Array,
                std_q: jax.Array) -> jax.Array:
  """KL(N(mean_p, std_p^2) || N(mean_q, std_q^2)), elementwise (one diagonal dimension each)."""
  return (jnp.log(std_q / std_p) + (std_p ** 2 + (mean_p - mean_q) ** 2) / (2 * std_q ** 2)
          - 0.5)


def balanced_kl(kl_fn, posterior, prior, posterior_weight: float,
                prior_weight: float) -> jax.Array:
  """KL balancing (DreamerV2): the posterior and the prior each move towards a frozen other.

  posterior_weight * KL(q || sg(p)) + prior_weight * KL(sg(q) || p); `posterior` and `prior`
  are the distributions' parameters (tuples of arrays), `kl_fn(q, p)` their KL.
  """
  frozen = jax.lax.stop_gradient
  to_posterior = kl_fn(posterior, frozen(prior))
  to_prior = kl_fn(frozen(posterior), prior)
  return posterior_weight * to_posterior + prior_weight * to_prior


def straight_through_one_hot(key: jax.Array, logits: jax.Array) -> jax.Array:
  """A one-hot sample over the last axis whose gradient is that of the softmax probabilities."""
  sample = jax.nn.one_hot(jax.random.categorical(key, logits), logits.shape[-1])
  probabilities = jax.nn.softmax(logits)
  return sample + probabilities - jax.lax.stop_gradient(probabilities)


def sample_bits(key: jax.Array, logits: jax.Array, clipped_logit: bool) -> jax.Array:
  """Bernoulli bits from next-observation logits, as float32.

  `clipped_logit` reproduces the release, which passes the logit where a probability is expected:
  P(1) = clip(logit, 0, 1). Otherwise P(1) = sigmoid(logit).
  """
  probabilities = logits if clipped_logit else jax.nn.sigmoid(logits)
  return jax.random.bernoulli(key, probabilities).astype(jnp.float32)


def observation_model_loss(reward_means: jax.Array, continue_logits: jax.Array,
                           obs_logits: jax.Array, rewards: jax.Array, terminals: jax.Array,
                           obs_targets: jax.Array, reward_weight: float,
                           termination_weight: float, obs_weight: float,
                           binary_obs: bool = True) -> jax.Array:
  """Mean over the batch of the reward NLL, the continuation BCE and the observation NLL.

  The observation term (summed over bits) is skipped on terminal transitions. With
  `binary_obs` False the observation head is a unit-variance Gaussian mean.
  """
  continues = 1.0 - terminals.astype(jnp.float32)
  obs_nll = (bernoulli_nll(obs_logits, obs_targets) if binary_obs
             else unit_gaussian_nll(obs_targets, obs_logits))
  per_item = (reward_weight * unit_gaussian_nll(rewards, reward_means)
              + termination_weight * bernoulli_nll(continue_logits, continues)
              + obs_weight * continues * obs_nll.sum(axis=-1))
  return per_item.mean()
