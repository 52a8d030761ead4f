"""The return and loss pieces against numbers worked out by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from agents.core import losses


def _column(values):
  return tf.constant(np.array(values, np.float32)[:, None])


def test_discounted_returns_bootstrap_and_episode_end():
  rewards = _column([1.0, 0.0, 2.0])
  # R2 = 2 + 0.9 * 10 = 11, R1 = 0.9 * 11 = 9.9, R0 = 1 + 0.9 * 9.9 = 9.91.
  returns = losses.discounted_returns(rewards, _column([0.9, 0.9, 0.9]), tf.constant([10.0]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [9.91, 9.9, 11.0], rtol=1e-6)
  # A discount of 0 at step 1 (episode end) cuts the return there: R1 = 0, R0 = 1.
  returns = losses.discounted_returns(rewards, _column([0.9, 0.0, 0.9]), tf.constant([10.0]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [1.0, 0.0, 11.0], rtol=1e-6)


def _vtrace_case():
  # Step 0 takes action 0 with pi/mu = 0.5/0.25 = 2; step 1 takes action 1 with 0.25/0.5.
  behaviour = np.log(np.array([[[0.25, 0.75]], [[0.5, 0.5]]], np.float32))
  target = np.log(np.array([[[0.5, 0.5]], [[0.75, 0.25]]], np.float32))
  return dict(target_logits=tf.constant(target), behaviour_logits=tf.constant(behaviour),
              actions=tf.constant([[0], [1]]), rewards=_column([1.0, 0.0]),
              discounts=_column([0.5, 0.5]), values=_column([1.0, 2.0]),
              bootstrap_value=tf.constant([3.0]))


def test_vtrace_targets_hand_case():
  # Clipped rhos (1, 0.5), traces c = (1, 0.5).
  # delta1 = 0.5 (0 + 0.5*3 - 2) = -0.25 -> vs1 = 1.75
  # delta0 = 1 (1 + 0.5*2 - 1) = 1 -> vs0 = 1 + 1 + 0.5*1*(-0.25) = 1.875
  # pg0 = 1 (1 + 0.5*1.75 - 1) = 0.875, pg1 = 0.5 (0 + 0.5*3 - 2) = -0.25
  targets = losses.vtrace_targets(**_vtrace_case())
  np.testing.assert_allclose(targets.vs.numpy()[:, 0], [1.875, 1.75], rtol=1e-5)
  np.testing.assert_allclose(targets.pg_advantages.numpy()[:, 0], [0.875, -0.25], rtol=1e-5)


def test_vtrace_on_policy_equals_a2c_returns():
  case = _vtrace_case()
  case['behaviour_logits'] = case['target_logits']
  targets = losses.vtrace_targets(**case)
  returns = losses.discounted_returns(case['rewards'], case['discounts'],
                                      case['bootstrap_value'])
  # On-policy: vs = n-step returns 1 + 0.5 * (0 + 0.5 * 3) = 1.75 and 1.5.
  np.testing.assert_allclose(returns.numpy()[:, 0], [1.75, 1.5], rtol=1e-6)
  np.testing.assert_allclose(targets.vs.numpy(), returns.numpy(), rtol=1e-5)


def test_entropy_hand_case():
  logits = tf.constant(np.log([[0.25, 0.75], [0.5, 0.5]]), tf.float32)
  expected = [-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), math.log(2)]
  np.testing.assert_allclose(losses.entropy(logits).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize('off_policy', [False, True])
def test_actor_critic_loss_hand_case(off_policy):
  logits = tf.constant(np.log([[[0.5, 0.5]]]), tf.float32)
  # G = 2 + 0.5 * 4 = 4, A = G - V = 3 (V-trace agrees when the policies are equal).
  loss, metrics = losses.actor_critic_loss(
      logits=logits, values=_column([1.0]), actions=tf.constant([[0]]),
      rewards=_column([2.0]), discounts=_column([0.5]), bootstrap_value=tf.constant([4.0]),
      behaviour_logits=logits if off_policy else None, baseline_cost=0.5, entropy_cost=0.1)
  policy_loss = -math.log(0.5) * 3.0
  baseline_loss = 0.5 * 3.0 ** 2
  assert metrics['policy_loss'].numpy() == pytest.approx(policy_loss, rel=1e-5)
  assert metrics['baseline_loss'].numpy() == pytest.approx(baseline_loss, rel=1e-5)
  assert loss.numpy() == pytest.approx(policy_loss + 0.5 * baseline_loss - 0.1 * math.log(2),
                                       rel=1e-5)


def test_actor_critic_gradient_pushes_toward_advantaged_action():
  logits = tf.Variable(np.zeros((1, 1, 2), np.float32))
  with tf.GradientTape() as tape:
    loss, _ = losses.actor_critic_loss(
        logits=logits, values=_column([0.0]), actions=tf.constant([[1]]),
        rewards=_column([1.0]), discounts=_column([0.0]), bootstrap_value=tf.constant([0.0]),
        behaviour_logits=None, baseline_cost=0.5, entropy_cost=0.0)
  gradient = tape.gradient(loss, logits).numpy()[0, 0]
  # d(-log softmax_1)/dlogits = softmax - onehot(1) = (0.5, -0.5), times advantage 1.
  np.testing.assert_allclose(gradient, [0.5, -0.5], rtol=1e-5)
