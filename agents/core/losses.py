"""Return and loss pieces shared by the actor-critic agents, as small pure functions.

Tensors are time-major: [T, B] for per-step quantities, [T, B, A] for logits. Every TF family
(meta-RL, TVT, FTW) computes its actor-critic terms through `actor_critic_loss`; what is
particular to a family (TVT's transported rewards, FTW's auxiliary tasks) stays in the family.
"""

from typing import Dict, NamedTuple, Optional, Tuple

import tensorflow as tf
import trfl

RETURNS = ('n_step', 'lambda', 'vtrace')
REDUCTIONS = ('mean', 'sum', 'sum_over_time')


def discounted_returns(rewards: tf.Tensor, discounts: tf.Tensor,
                       bootstrap_value: tf.Tensor) -> tf.Tensor:
  """n-step returns of A2C: R_t = r_t + discount_t * R_{t+1}, with R_T = bootstrap_value.

  `discounts` already include the agent's discount factor (gamma times the environment's
  discount), so a discount of 0 cuts the return at an episode end.
  """
  return trfl.scan_discounted_sum(rewards, discounts, bootstrap_value, reverse=True,
                                  back_prop=False)


def lambda_returns(rewards: tf.Tensor, values: tf.Tensor, pcontinues: tf.Tensor,
                   lambda_: float, bootstrap_value: tf.Tensor) -> tf.Tensor:
  """G_t = r_t + pcontinue_t [(1 - lambda) V_{t+1} + lambda G_{t+1}], V_T = bootstrap (no grad)."""
  next_values = tf.concat([values[1:], bootstrap_value[None]], axis=0)
  return trfl.multistep_forward_view(rewards, pcontinues, next_values, lambda_,
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


def _reduce(x: tf.Tensor, mask: Optional[tf.Tensor], reduction: str) -> tf.Tensor:
  if mask is not None:
    x = mask * x
  if reduction == 'sum':
    return tf.reduce_sum(x)
  if reduction == 'sum_over_time':
    return tf.reduce_sum(x, axis=0)
  if mask is None:
    return tf.reduce_mean(x)
  return tf.reduce_sum(x) / tf.maximum(tf.reduce_sum(mask), 1.0)


def actor_critic_loss(
    logits: tf.Tensor, values: tf.Tensor, actions: tf.Tensor, rewards: tf.Tensor,
    discounts: tf.Tensor, bootstrap_value: tf.Tensor,
    behaviour_logits: Optional[tf.Tensor] = None, baseline_cost: float = 0.5,
    entropy_cost: float = 0.0, *, returns: Optional[str] = None, lambda_: float = 1.0,
    mask: Optional[tf.Tensor] = None, reduction: str = 'mean'
) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
  """-log pi(a) A  +  baseline_cost * 0.5 (G - V)^2  -  entropy_cost * H, reduced over steps.

  `returns` picks the targets G and advantages A: 'vtrace' (needs `behaviour_logits`),
  'n_step' (A2C's, A = G - V) or 'lambda' (TD(lambda) with `lambda_`, A = G - V); by default
  V-trace if `behaviour_logits` are given, else n-step. `discounts` include the agent's gamma.
  Targets carry no gradient. `mask` [T, B] zeroes steps (padding after an episode's end).
  `reduction`: 'mean' over steps (masked mean with a mask), 'sum' over steps and batch, or
  'sum_over_time' ([B], one value per sequence).

  Returns the loss and the reduced terms without their costs: 'policy_loss' (-log pi(a) A),
  'baseline_loss' (0.5 (G - V)^2) and 'entropy' (H). With sums the loss is assembled from the
  reduced terms (cost times sum), with 'mean' it is the mean of the per-step total.
  """
  if returns is None:
    returns = 'n_step' if behaviour_logits is None else 'vtrace'
  if returns not in RETURNS:
    raise ValueError(f'returns must be one of {RETURNS}, got {returns!r}')
  if reduction not in REDUCTIONS:
    raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
  if returns == 'vtrace':
    if behaviour_logits is None:
      raise ValueError("returns='vtrace' needs behaviour_logits")
    targets = vtrace_targets(logits, behaviour_logits, actions, rewards, discounts, values,
                             bootstrap_value)
    value_targets, advantages = targets.vs, targets.pg_advantages
  else:
    if returns == 'n_step':
      value_targets = discounted_returns(rewards, discounts, bootstrap_value)
    else:
      value_targets = lambda_returns(rewards, values, discounts, lambda_, bootstrap_value)
    advantages = value_targets - values
  value_targets = tf.stop_gradient(value_targets)
  advantages = tf.stop_gradient(advantages)
  policy_loss = -log_probability(logits, actions) * advantages
  baseline_loss = 0.5 * tf.square(value_targets - values)
  policy_entropy = entropy(logits)
  terms = {
      'policy_loss': _reduce(policy_loss, mask, reduction),
      'baseline_loss': _reduce(baseline_loss, mask, reduction),
      'entropy': _reduce(policy_entropy, mask, reduction),
  }
  if reduction == 'mean':
    loss = _reduce(policy_loss + baseline_cost * baseline_loss - entropy_cost * policy_entropy,
                   mask, reduction)
  else:
    loss = (terms['policy_loss'] + baseline_cost * terms['baseline_loss'] -
            entropy_cost * terms['entropy'])
  return loss, terms
