"""FTW's own loss terms as small pure functions (spec 2.8, 4.4, 4.5); all are sums, not means.

Time-major tensors: [T, B] per step, [T, B, A] logits, [T, B, Z] Gaussian parameters. The V-trace
actor-critic terms (spec 4.2) come from `agents.core.losses.actor_critic_loss` (summed).
"""

import tensorflow as tf
import trfl


def kl_diagonal_gaussians(loc1, scale1, loc2, scale2) -> tf.Tensor:
  """KL(N(loc1, scale1^2) || N(loc2, scale2^2)) summed over the last axis."""
  kl = (tf.math.log(scale2 / scale1) +
        (tf.square(scale1) + tf.square(loc1 - loc2)) / (2.0 * tf.square(scale2)) - 0.5)
  return tf.reduce_sum(kl, axis=-1)


def fixed_prior_kl(prior_loc, prior_scale, slow_core_updated, fixed_scale: float = 0.1):
  """sum_t 1[slow core updated at t] KL(prior_t || N(0, fixed_scale^2)): L_KLfix."""
  kl = kl_diagonal_gaussians(prior_loc, prior_scale, tf.zeros_like(prior_loc),
                             tf.fill(tf.shape(prior_scale), fixed_scale))
  return tf.reduce_sum(kl * slow_core_updated)


def prior_posterior_kl(posterior_loc, posterior_scale, prior_loc, prior_scale,
                       mask=None) -> tf.Tensor:
  """sum_t KL(posterior_t || prior_t): L_KLpp, with gradients into both; `mask` [T, B] leaves out
  padding rows."""
  kl = kl_diagonal_gaussians(posterior_loc, posterior_scale, prior_loc, prior_scale)
  return tf.reduce_sum(kl if mask is None else kl * mask)


def pixel_control_loss(observations, actions, q_values, cell_size: int, crop,
                       discount=0.9, mask=None) -> tf.Tensor:
  """n-step Q(lambda=1) loss of every pixel-control cell, summed over time, cells and batch.

  observations [T, B, H, W, C] in [0, 1]; actions [T-1, B]; q_values [T, B, h, w, A]. The
  pseudo-reward of a cell is the mean absolute change of its pixels (trfl, as UNREAL). `crop`
  is the border removed from every side (an int) or ((top, bottom), (left, right)) in pixels
  (see `networks.pixel_control_crop`). `discount` is a scalar or [T-1, B]; `mask` [T-1, B]
  leaves out the transitions of padding rows.
  """
  if isinstance(crop, int):
    crop = ((crop, crop), (crop, crop))
  height, width = observations.shape[2], observations.shape[3]
  (top, bottom), (left, right) = crop
  loss = trfl.pixel_control_loss(observations, actions, q_values, cell_size=cell_size,
                                 discount_factor=discount, scale=1.0,
                                 crop_height_dim=(top, height - bottom),
                                 crop_width_dim=(left, width - right))
  spatial = loss.extra.spatial_loss  # [T-1, B, h, w]
  if mask is not None:
    spatial = spatial * mask[:, :, None, None]
  return tf.reduce_sum(spatial)


def reward_prediction_labels(rewards: tf.Tensor) -> tf.Tensor:
  """Classes of internal rewards: 0 zero, 1 negative, 2 positive."""
  return tf.where(rewards > 0, 2, tf.where(rewards < 0, 1, 0))


def reward_prediction_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
  """Summed softmax cross-entropy of the 3-way reward classification."""
  return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=logits))
