"""The RMA's loss pieces (spec section 4) as small pure functions.

Tensors are time-major: [T, B] per step, [T, B, ...] otherwise. `mask` [T, B] is 1 on the steps
of the episode and 0 on padding after its end. Every piece returns one value per episode [B]:
a sum over the episode's steps, so the learner's loss is the batch mean of these.
"""

from typing import Dict

import tensorflow as tf
import trfl

from agents.core import losses as core_losses


def lambda_returns(rewards: tf.Tensor, values: tf.Tensor, pcontinues: tf.Tensor,
                   lambda_: float, bootstrap_value: tf.Tensor) -> tf.Tensor:
  """G_t = r_t + pcontinue_t [(1 - lambda) V_{t+1} + lambda G_{t+1}], V_T = bootstrap (no grad)."""
  next_values = tf.concat([values[1:], bootstrap_value[None]], axis=0)
  return trfl.multistep_forward_view(rewards, pcontinues, next_values, lambda_,
                                     back_prop=False)


def actor_critic_losses(logits: tf.Tensor, values: tf.Tensor, actions: tf.Tensor,
                        value_targets: tf.Tensor, advantages: tf.Tensor, mask: tf.Tensor,
                        baseline_cost: float, entropy_cost: float) -> Dict[str, tf.Tensor]:
  """Per episode: pg = -sum log pi(a) A,  baseline = cost * 0.5 sum (G - V)^2,  entropy =
  cost * sum_t sum_a pi log pi (i.e. minus the cost times the summed entropy; spec 4.1).

  Targets and advantages carry no gradient.
  """
  value_targets = tf.stop_gradient(value_targets)
  advantages = tf.stop_gradient(advantages)
  policy_gradient = -core_losses.log_probability(logits, actions) * advantages
  baseline = 0.5 * tf.square(value_targets - values)
  negative_entropy = -core_losses.entropy(logits)
  return {
      'pg_loss': tf.reduce_sum(mask * policy_gradient, axis=0),
      'baseline_loss': baseline_cost * tf.reduce_sum(mask * baseline, axis=0),
      'entropy_loss': entropy_cost * tf.reduce_sum(mask * negative_entropy, axis=0),
  }


def image_reconstruction_loss(image_logits: tf.Tensor, images: tf.Tensor, mask: tf.Tensor,
                              image_cost_weight: float) -> tf.Tensor:
  """Sigmoid cross-entropy of the decoded image against the input in [0, 1], summed over
  pixels and channels and scaled by image_cost_weight / (H * W * C)."""
  pixels = images.shape[-3] * images.shape[-2] * images.shape[-1]
  cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=image_logits)
  per_step = tf.reduce_sum(cross_entropy, axis=[-3, -2, -1])
  return image_cost_weight / pixels * tf.reduce_sum(mask * per_step, axis=0)


def action_reconstruction_loss(action_logits: tf.Tensor, last_actions: tf.Tensor,
                               mask: tf.Tensor) -> tf.Tensor:
  """Softmax cross-entropy of the decoded previous action against a_{t-1}."""
  return tf.reduce_sum(mask * -core_losses.log_probability(action_logits, last_actions), axis=0)


def reward_reconstruction_loss(predicted_rewards: tf.Tensor, last_rewards: tf.Tensor,
                               mask: tf.Tensor) -> tf.Tensor:
  """0.5 (r_hat_t - r_t)^2 for the reward that came with the step's input."""
  return tf.reduce_sum(mask * 0.5 * tf.square(predicted_rewards - last_rewards), axis=0)


def read_strength_loss(read_strengths: tf.Tensor, mask: tf.Tensor, cost: float,
                       tolerance: float) -> tf.Tensor:
  """cost * sum over steps and heads of max(tolerance, strength): a hinge that only pushes down
  strengths above the tolerance (below it the term is constant, without gradient)."""
  hinge = tf.reduce_sum(tf.maximum(tolerance, read_strengths), axis=-1)
  return cost * tf.reduce_sum(mask * hinge, axis=0)
