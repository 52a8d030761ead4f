"""Each piece of the RMA's own loss against numbers worked out by hand (spec section 4).

Its actor-critic terms (lambda-returns, masks) are tested with the core's in test_losses.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from agents.tvt import losses


def _column(*values):
  """A [T, 1] float32 tensor (one episode)."""
  return tf.constant(np.array(values, np.float32)[:, None])


def test_image_reconstruction_loss_by_hand():
  # A 1x1x3 image: logits 0 cost ln 2 per channel whatever the target; a pixel of 1 with
  # logit ln 3 costs -ln(3/4). Weight 50 is divided by H*W*C = 3.
  logits = tf.constant([[[[[0.0, 0.0, np.log(3.0)]]]]], tf.float32)  # [T=1, B=1, 1, 1, 3]
  images = tf.constant([[[[[0.0, 0.5, 1.0]]]]], tf.float32)
  loss = losses.image_reconstruction_loss(logits, images, tf.ones([1, 1]), 50.0)
  expected = 50.0 / 3 * (2 * np.log(2.0) - np.log(0.75))
  np.testing.assert_allclose(loss.numpy(), [expected], rtol=1e-5)


def test_action_and_reward_reconstruction_losses_by_hand():
  action_logits = tf.constant([[[np.log(3.0), 0.0]], [[0.0, 0.0]]], tf.float32)
  action_loss = losses.action_reconstruction_loss(action_logits, tf.constant([[0], [1]]),
                                                  tf.ones([2, 1]))
  np.testing.assert_allclose(action_loss.numpy(), [-np.log(0.75) - np.log(0.5)], rtol=1e-5)
  reward_loss = losses.reward_reconstruction_loss(_column(1.0, 4.0), _column(0.0, 10.0),
                                                  tf.ones([2, 1]))
  np.testing.assert_allclose(reward_loss.numpy(), [0.5 * 1 + 0.5 * 36], rtol=1e-6)


def test_read_strength_loss_is_a_hinge_at_the_tolerance():
  # Spec 4.3: 5e-5 * sum max(2, beta); three heads over two steps.
  strengths = tf.Variable([[[0.5, 2.0, 3.0]], [[1.0, 1.0, 7.0]]], dtype=tf.float32)
  with tf.GradientTape() as tape:
    loss = losses.read_strength_loss(strengths, tf.ones([2, 1]), 5e-5, 2.0)
  np.testing.assert_allclose(loss.numpy(), [5e-5 * (2 + 2 + 3 + 2 + 2 + 7)], rtol=1e-6)
  gradient = tape.gradient(loss, strengths).numpy()
  np.testing.assert_allclose(gradient, [[[0, 0, 5e-5]], [[0, 0, 5e-5]]], atol=1e-12)
  # The floor of a whole 120-step episode is 5e-5 * 2 * 3 * 120 = 0.036 (spec 4.3).
  floor = losses.read_strength_loss(tf.zeros([120, 1, 3]), tf.ones([120, 1]), 5e-5, 2.0)
  assert floor.numpy()[0] == pytest.approx(0.036)
