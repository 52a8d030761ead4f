"""FTW's own loss terms on hand-worked numbers: KL, pixel control, reward prediction.

Its summed V-trace terms are tested with the core's actor-critic loss in test_losses.py.
"""

import numpy as np
import pytest
import tensorflow as tf
import trfl

from agents.ftw import losses


def test_kl_between_diagonal_gaussians():
  # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2.
  kl = losses.kl_diagonal_gaussians(tf.constant([0.0]), tf.constant([1.0]), tf.constant([1.0]),
                                    tf.constant([2.0]))
  assert float(kl) == pytest.approx(np.log(2) + 0.25 - 0.5)
  same = losses.kl_diagonal_gaussians(tf.ones([2, 3]), tf.ones([2, 3]) * 0.3, tf.ones([2, 3]),
                                      tf.ones([2, 3]) * 0.3)
  np.testing.assert_allclose(same.numpy(), 0.0, atol=1e-6)
  assert same.shape == (2,)  # Summed over the latent dimensions.


def test_the_fixed_prior_kl_counts_only_steps_where_the_slow_core_updated():
  loc = tf.fill([4, 1, 2], 0.1)  # [T, B, Z]
  scale = tf.fill([4, 1, 2], 0.1)
  mask = tf.constant([[1.0], [0.0], [0.0], [1.0]])
  per_step = 2 * (0.1 ** 2 / (2 * 0.1 ** 2))  # log 1 + (s^2 + m^2) / (2 s^2) - 1/2, two dims.
  assert float(losses.fixed_prior_kl(loc, scale, mask, 0.1)) == pytest.approx(2 * per_step)
  kl = losses.prior_posterior_kl(loc, scale, tf.zeros_like(loc), scale)
  assert float(kl) == pytest.approx(4 * per_step)


def test_pixel_control_loss_on_a_hand_worked_sequence():
  # One 2x1-pixel grayscale image per step, cells of 1 pixel: 2 cells, T = 3 rows, B = 1.
  frames = np.array([[[[[0.0], [0.0]]]], [[[[1.0], [0.0]]]], [[[[1.0], [0.5]]]]], np.float32)
  frames = frames.reshape(3, 1, 1, 2, 1)  # [T, B, H, W, C]
  actions = np.array([[1], [0]])  # a_0, a_1.
  q = np.zeros((3, 1, 1, 2, 2), np.float32)
  q[0, 0, 0, :, 1] = [0.5, 0.0]
  q[1, 0, 0, :, 0] = [0.2, 0.1]
  q[2, 0, 0, :, :] = [[3.0, 1.0], [0.0, 2.0]]  # Bootstrap: max_a Q_2 = 3 and 2.
  # Pseudo-rewards r_t = |o_{t+1} - o_t|: cell 0: 1, 0; cell 1: 0, 0.5. gamma = 0.9.
  # Cell 0: G_1 = 0 + 0.9 * 3 = 2.7, G_0 = 1 + 0.9 * 2.7 = 3.43; Q = 0.5 and 0.2.
  # Cell 1: G_1 = 0.5 + 0.9 * 2 = 2.3, G_0 = 0 + 0.9 * 2.3 = 2.07; Q = 0.0 and 0.1.
  expected = 0.5 * ((3.43 - 0.5) ** 2 + (2.7 - 0.2) ** 2 + (2.07 - 0.0) ** 2 + (2.3 - 0.1) ** 2)
  loss = losses.pixel_control_loss(tf.constant(frames), tf.constant(actions), tf.constant(q),
                                   cell_size=1, crop=0, discount=0.9)
  assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_pixel_control_rewards_are_zero_for_identical_frames_and_bounded_by_one():
  frames = tf.random.uniform([5, 2, 84, 84, 3])
  rewards = trfl.pixel_control_rewards(frames[:, :, 2:-2, 2:-2], 4)
  assert rewards.shape == (4, 2, 20, 20)
  assert float(tf.reduce_min(rewards)) >= 0.0 and float(tf.reduce_max(rewards)) <= 1.0
  still = trfl.pixel_control_rewards(tf.stack([frames[0]] * 3), 4)
  assert float(tf.reduce_max(still)) == 0.0


def test_reward_prediction_labels_and_loss():
  labels = losses.reward_prediction_labels(tf.constant([1.5, -0.2, 0.0]))
  assert labels.numpy().tolist() == [2, 1, 0]
  loss = losses.reward_prediction_loss(tf.zeros([3, 3]), labels)
  assert float(loss) == pytest.approx(3 * np.log(3))  # Uniform logits: log 3 per sample.
  confident = tf.constant([[0.0, 0.0, 10.0]])
  assert float(losses.reward_prediction_loss(confident, tf.constant([2]))) < 1e-3
