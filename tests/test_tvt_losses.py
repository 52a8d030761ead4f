"""Each piece of the RMA's loss against numbers worked out by hand (spec section 4)."""

import numpy as np
import pytest
import tensorflow as tf
import trfl

from agents.tvt import losses


def _column(*values):
  """A [T, 1] float32 tensor (one episode)."""
  return tf.constant(np.array(values, np.float32)[:, None])


def test_lambda_returns_spec_hand_check():
  # Spec 4.1: T = 3, r = (0, 0, 10), V = (1, 2, 3), gamma = lambda = 0.5 -> G = (1.3125, 3.25, 10).
  returns = losses.lambda_returns(_column(0, 0, 10), _column(1, 2, 3), _column(.5, .5, .5),
                                  0.5, tf.zeros([1]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [1.3125, 3.25, 10.0], rtol=1e-6)


def test_lambda_one_gives_monte_carlo_returns_and_episode_end_cuts_them():
  # gamma = lambda = 1: plain sums of the rewards to go; a pcontinue of 0 stops the sum there.
  returns = losses.lambda_returns(_column(1, 2, 3, 4), _column(9, 9, 9, 9),
                                  _column(1, 0, 1, 1), 1.0, tf.constant([100.0]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [3, 2, 3 + 4 + 100, 4 + 100])


def test_actor_critic_losses_by_hand():
  # Two steps, two actions. Step 0: logits (0, 0) -> pi = (.5, .5), action 1, advantage 2.
  # Step 1: logits (ln 3, 0) -> pi = (.75, .25), action 0, advantage -1.
  logits = tf.constant([[[0.0, 0.0]], [[np.log(3.0), 0.0]]], tf.float32)
  values = _column(1.0, 2.0)
  targets = _column(3.0, 1.0)
  terms = losses.actor_critic_losses(logits, values, tf.constant([[1], [0]]), targets,
                                     targets - values, tf.ones([2, 1]), baseline_cost=0.4,
                                     entropy_cost=0.05)
  pg = -(np.log(0.5) * 2.0 + np.log(0.75) * -1.0)
  baseline = 0.4 * 0.5 * (2.0 ** 2 + 1.0 ** 2)
  entropy = -(0.5 * np.log(0.5) * 2) - (0.75 * np.log(0.75) + 0.25 * np.log(0.25))
  np.testing.assert_allclose(terms['pg_loss'].numpy(), [pg], rtol=1e-5)
  np.testing.assert_allclose(terms['baseline_loss'].numpy(), [baseline], rtol=1e-6)
  np.testing.assert_allclose(terms['entropy_loss'].numpy(), [-0.05 * entropy], rtol=1e-5)


def test_actor_critic_losses_match_trfl_sequence_advantage_actor_critic():
  # The release calls trfl's op with lambda = pcontinue = gamma and bootstrap 0 (spec 4.1).
  rng = np.random.default_rng(0)
  steps, batch, actions_n, gamma = 7, 3, 4, 0.92
  logits = tf.constant(rng.normal(size=(steps, batch, actions_n)), tf.float32)
  values = tf.constant(rng.normal(size=(steps, batch)), tf.float32)
  rewards = tf.constant(rng.normal(size=(steps, batch)), tf.float32)
  actions = tf.constant(rng.integers(0, actions_n, size=(steps, batch)), tf.int32)
  pcontinues = tf.fill([steps, batch], gamma)
  bootstrap = tf.zeros([batch])
  targets = losses.lambda_returns(rewards, values, pcontinues, gamma, bootstrap)
  terms = losses.actor_critic_losses(logits, values, actions, targets, targets - values,
                                     tf.ones([steps, batch]), 0.4, 0.05)
  reference = trfl.sequence_advantage_actor_critic_loss(
      logits, values, actions, rewards, pcontinues, bootstrap, lambda_=gamma,
      entropy_cost=0.05, baseline_cost=0.4, normalise_entropy=False)
  ours = terms['pg_loss'] + terms['baseline_loss'] + terms['entropy_loss']
  np.testing.assert_allclose(ours.numpy(), reference.loss.numpy(), rtol=1e-5)


def test_losses_ignore_steps_outside_the_mask():
  logits = tf.zeros([3, 1, 2])
  mask = _column(1, 1, 0)
  terms = losses.actor_critic_losses(logits, _column(0, 0, 50), tf.zeros([3, 1], tf.int32),
                                     _column(1, 1, -50), _column(1, 1, -100), mask, 1.0, 0.0)
  np.testing.assert_allclose(terms['pg_loss'].numpy(), [-2 * np.log(0.5)], rtol=1e-6)
  np.testing.assert_allclose(terms['baseline_loss'].numpy(), [1.0], rtol=1e-6)


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
