"""The RMA's loss pieces (spec section 4) as small pure functions.

Tensors are time-major: [T, B] per step, [T, B, ...] otherwise. `mask` [T, B] is 1 on the steps
of the episode and 0 on padding after its end. Every piece returns one value per episode [B]:
a sum over the episode's steps, so the learner's loss is the batch mean of these. The
actor-critic terms (lambda-returns or V-trace) come from `agents.core.losses.actor_critic_loss`.
"""

import tensorflow as tf

from agents.core import losses as core_losses


def image_reconstruction_loss(image_logits: tf.Tensor, images: tf.Tensor, mask: tf.Tensor,
                              image_cost_weight: float) -> tf.Tensor:
  """Sigmoid cross-entropy of the decoded image against the input in [0, 1], summed over
  pixels and channels and scaled by image_cost_weight / (H * W * C)."""
  pixels = images.shape[-3] * images.shape[-2] * images.shape[-1]
  cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=image_logits)
  per_step = tf.reduce_sum(cross_entropy, axis=[-3, -2, -1])
  return image_cost_weight / pixels * tf.reduce_sum(mask * per_step, axis=0)


def observation_reconstruction_loss(predicted: tf.Tensor, observations: tf.Tensor,
                                    mask: tf.Tensor, cost_weight: float) -> tf.Tensor:
  """For observations other than images: 0.5 (o_hat - o)^2 summed over the D numbers of the
  flattened observation [T, B, D] and scaled by cost_weight / D, as the image's loss is by its
  number of pixel channels."""
  size = observations.shape[-1]
  per_step = tf.reduce_sum(0.5 * tf.square(predicted - observations), axis=-1)
  return cost_weight / size * tf.reduce_sum(mask * per_step, axis=0)


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
