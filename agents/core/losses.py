"""Return and loss pieces shared by the actor-critic agents, as small pure functions.

Tensors are time-major: [T, B] for per-step quantities, [T, B, A] for logits.
"""

from typing import Dict, NamedTuple, Optional, Tuple

import tensorflow as tf
import trfl


def discounted_returns(rewards: tf.Tensor, discounts: tf.Tensor,
                       bootstrap_value: tf.Tensor) -> tf.Tensor:
  """n-step returns of A2C: R_t = r_t + discount_t * R_{t+1}, with R_T = bootstrap_value.

  `discounts` already include the agent's discount factor (gamma times the environment's
  discount), so a discount of 0 cuts the return at an episode end.
  """
  return trfl.scan_discounted_sum(rewards, discounts, bootstrap_value, reverse=True,
                                  back_prop=False)


class VTraceTargets(NamedTuple):
  vs: tf.Tensor  # Value targets, [T, B].
  pg_advantages: tf.Tensor  # Advantages for the policy gradient, [T, B].


def vtrace_targets(target_logits: tf.Tensor, behaviour_logits: tf.Tensor,
                   actions: tf.Tensor, rewards: tf.Tensor, discounts: tf.Tensor,
                   values: tf.Tensor, bootstrap_value: tf.Tensor,
                   clip_rho_threshold: float = 1.0,
                   clip_pg_rho_threshold: float = 1.0) -> VTraceTargets:
  """V-trace targets (Espeholt et al. 2018) through trfl, correcting for the actors' policy lag."""
  log_rhos = (log_probability(target_logits, actions) -
              log_probability(behaviour_logits, actions))
  returns = trfl.vtrace_from_importance_weights(
      log_rhos=log_rhos, discounts=discounts, rewards=rewards, values=values,
      bootstrap_value=bootstrap_value, clip_rho_threshold=clip_rho_threshold,
      clip_pg_rho_threshold=clip_pg_rho_threshold)
  return VTraceTargets(returns.vs, returns.pg_advantages)


def log_probability(logits: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
  """log softmax(logits)[action] for every step."""
  return -tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(actions, tf.int32), logits=logits)


def entropy(logits: tf.Tensor) -> tf.Tensor:
  """Entropy (nats) of the softmax policy at every step."""
  log_policy = tf.nn.log_softmax(logits)
  return -tf.reduce_sum(tf.exp(log_policy) * log_policy, axis=-1)


def actor_critic_loss(
    logits: tf.Tensor, values: tf.Tensor, actions: tf.Tensor, rewards: tf.Tensor,
    discounts: tf.Tensor, bootstrap_value: tf.Tensor,
    behaviour_logits: Optional[tf.Tensor], baseline_cost: float, entropy_cost: float
) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
  """Mean over steps of  -log pi(a) A  +  baseline_cost * 0.5 (G - V)^2  -  entropy_cost * H.

  With `behaviour_logits` the targets G and advantages A are V-trace's; without, they are the
  on-policy n-step returns of A2C and A = G - V. Targets carry no gradient.
  """
  if behaviour_logits is not None:
    targets = vtrace_targets(logits, behaviour_logits, actions, rewards, discounts,
                             values, bootstrap_value)
    value_targets, advantages = targets.vs, targets.pg_advantages
  else:
    value_targets = discounted_returns(rewards, discounts, bootstrap_value)
    advantages = value_targets - values
  value_targets = tf.stop_gradient(value_targets)
  advantages = tf.stop_gradient(advantages)
  policy_loss = -log_probability(logits, actions) * advantages
  baseline_loss = 0.5 * tf.square(value_targets - values)
  policy_entropy = entropy(logits)
  loss = tf.reduce_mean(policy_loss + baseline_cost * baseline_loss -
                        entropy_cost * policy_entropy)
  metrics = {
      'policy_loss': tf.reduce_mean(policy_loss),
      'baseline_loss': tf.reduce_mean(baseline_loss),
      'entropy': tf.reduce_mean(policy_entropy),
  }
  return loss, metrics
