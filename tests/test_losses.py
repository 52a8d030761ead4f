"""The return and loss pieces against numbers worked out by hand.

The one actor-critic loss serves the three TF families: meta-RL (means, n-step or V-trace), TVT
(lambda-returns or V-trace, masked sums per episode) and FTW (V-trace, sums); each use is
checked here on its own hand-worked numbers.
"""

import math

import numpy as np
import pytest
import tensorflow as tf
import trfl

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


def test_actor_critic_loss_rejects_unknown_options():
  case = dict(logits=tf.zeros([1, 1, 2]), values=_column([0.0]), actions=tf.constant([[0]]),
              rewards=_column([0.0]), discounts=_column([0.0]), bootstrap_value=tf.zeros([1]))
  with pytest.raises(ValueError, match='returns must be one of'):
    losses.actor_critic_loss(**case, returns='td0')
  with pytest.raises(ValueError, match='reduction must be one of'):
    losses.actor_critic_loss(**case, reduction='median')
  with pytest.raises(ValueError, match='needs behaviour_logits'):
    losses.actor_critic_loss(**case, returns='vtrace')


def test_masked_mean_counts_only_the_steps_in_the_mask():
  # Advantages 1, 1 and (masked out) -100: the mean policy loss is -log 0.5 over 2 steps.
  _, terms = losses.actor_critic_loss(
      logits=tf.zeros([3, 1, 2]), values=_column([0.0, 0.0, 50.0]),
      actions=tf.zeros([3, 1], tf.int32), rewards=_column([1.0, 1.0, -50.0]),
      discounts=_column([0.0, 0.0, 0.0]), bootstrap_value=tf.zeros([1]),
      mask=_column([1.0, 1.0, 0.0]))
  assert terms['policy_loss'].numpy() == pytest.approx(-math.log(0.5), rel=1e-6)
  assert terms['baseline_loss'].numpy() == pytest.approx(0.5, rel=1e-6)


# TVT's use: lambda-returns (lambda = gamma), bootstrap 0, masked sums over each episode.


def _columns(*values):
  """A [T, 1] float32 tensor (one episode)."""
  return _column(values)


def test_lambda_returns_spec_hand_check():
  # Spec 4.1: T = 3, r = (0, 0, 10), V = (1, 2, 3), gamma = lambda = 0.5 -> G = (1.3125, 3.25, 10).
  returns = losses.lambda_returns(_columns(0, 0, 10), _columns(1, 2, 3), _columns(.5, .5, .5),
                                  0.5, tf.zeros([1]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [1.3125, 3.25, 10.0], rtol=1e-6)


def test_lambda_one_gives_monte_carlo_returns_and_episode_end_cuts_them():
  # gamma = lambda = 1: plain sums of the rewards to go; a pcontinue of 0 stops the sum there.
  returns = losses.lambda_returns(_columns(1, 2, 3, 4), _columns(9, 9, 9, 9),
                                  _columns(1, 0, 1, 1), 1.0, tf.constant([100.0]))
  np.testing.assert_allclose(returns.numpy()[:, 0], [3, 2, 3 + 4 + 100, 4 + 100])


def _episode_terms(logits, values, actions, targets, mask, baseline_cost, entropy_cost):
  """TVT's per-episode terms with the value targets given as rewards (pcontinue 0: G = r)."""
  loss, terms = losses.actor_critic_loss(
      logits, values, actions, targets, tf.zeros_like(values), tf.zeros_like(values[0]),
      baseline_cost=baseline_cost, entropy_cost=entropy_cost, returns='lambda', mask=mask,
      reduction='sum_over_time')
  return loss, {'pg_loss': terms['policy_loss'],
                'baseline_loss': baseline_cost * terms['baseline_loss'],
                'entropy_loss': entropy_cost * -terms['entropy']}


def test_episode_sums_by_hand():
  # Two steps, two actions. Step 0: logits (0, 0) -> pi = (.5, .5), action 1, advantage 2.
  # Step 1: logits (ln 3, 0) -> pi = (.75, .25), action 0, advantage -1.
  logits = tf.constant([[[0.0, 0.0]], [[np.log(3.0), 0.0]]], tf.float32)
  loss, terms = _episode_terms(logits, _columns(1.0, 2.0), tf.constant([[1], [0]]),
                               _columns(3.0, 1.0), tf.ones([2, 1]), baseline_cost=0.4,
                               entropy_cost=0.05)
  pg = -(np.log(0.5) * 2.0 + np.log(0.75) * -1.0)
  baseline = 0.4 * 0.5 * (2.0 ** 2 + 1.0 ** 2)
  entropy = -(0.5 * np.log(0.5) * 2) - (0.75 * np.log(0.75) + 0.25 * np.log(0.25))
  np.testing.assert_allclose(terms['pg_loss'].numpy(), [pg], rtol=1e-5)
  np.testing.assert_allclose(terms['baseline_loss'].numpy(), [baseline], rtol=1e-6)
  np.testing.assert_allclose(terms['entropy_loss'].numpy(), [-0.05 * entropy], rtol=1e-5)
  np.testing.assert_allclose(loss.numpy(), [pg + baseline - 0.05 * entropy], rtol=1e-5)


def test_lambda_path_matches_trfl_sequence_advantage_actor_critic():
  # The TVT release calls trfl's op with lambda = pcontinue = gamma and bootstrap 0 (spec 4.1).
  rng = np.random.default_rng(0)
  steps, batch, actions_n, gamma = 7, 3, 4, 0.92
  logits = tf.constant(rng.normal(size=(steps, batch, actions_n)), tf.float32)
  values = tf.constant(rng.normal(size=(steps, batch)), tf.float32)
  rewards = tf.constant(rng.normal(size=(steps, batch)), tf.float32)
  actions = tf.constant(rng.integers(0, actions_n, size=(steps, batch)), tf.int32)
  pcontinues = tf.fill([steps, batch], gamma)
  bootstrap = tf.zeros([batch])
  ours, _ = losses.actor_critic_loss(
      logits, values, actions, rewards, pcontinues, bootstrap, baseline_cost=0.4,
      entropy_cost=0.05, returns='lambda', lambda_=gamma, mask=tf.ones([steps, batch]),
      reduction='sum_over_time')
  reference = trfl.sequence_advantage_actor_critic_loss(
      logits, values, actions, rewards, pcontinues, bootstrap, lambda_=gamma,
      entropy_cost=0.05, baseline_cost=0.4, normalise_entropy=False)
  np.testing.assert_allclose(ours.numpy(), reference.loss.numpy(), rtol=1e-5)


def test_episode_sums_ignore_steps_outside_the_mask():
  _, terms = _episode_terms(tf.zeros([3, 1, 2]), _columns(0, 0, 50), tf.zeros([3, 1], tf.int32),
                            _columns(1, 1, -50), _columns(1, 1, 0), 1.0, 0.0)
  np.testing.assert_allclose(terms['pg_loss'].numpy(), [-2 * np.log(0.5)], rtol=1e-6)
  np.testing.assert_allclose(terms['baseline_loss'].numpy(), [1.0], rtol=1e-6)


# FTW's use: V-trace over rows 0..T-2 with V_{T-1} bootstrapping, summed over time and batch.


def _log_softmax(logits):
  logits = np.asarray(logits, np.float64)
  return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _ftw_terms(logits, values, behaviour_logits, actions, rewards, discounts):
  """(policy gradient, baseline, entropy loss) as FTW's learner computes them (spec 4.2)."""
  _, terms = losses.actor_critic_loss(
      logits[:-1], values[:-1], actions[:-1], rewards[:-1], discounts[:-1], values[-1],
      behaviour_logits[:-1], returns='vtrace', reduction='sum')
  return terms['policy_loss'], terms['baseline_loss'], -terms['entropy']


def test_on_policy_summed_vtrace_targets_are_the_n_step_returns():
  # T = 3 rows, B = 1: transitions 0 and 1, V_2 bootstraps. Behaviour = target policy.
  logits = tf.constant([[[0.0, 1.0]], [[2.0, 0.0]], [[0.5, 0.5]]])
  values = tf.constant([[0.5], [1.0], [2.0]])
  actions = tf.constant([[1], [0], [0]])
  rewards = tf.constant([[1.0], [-1.0], [0.0]])
  discounts = tf.constant([[0.9], [0.9], [0.9]])
  policy_gradient, baseline, entropy_loss = _ftw_terms(logits, values, logits, actions, rewards,
                                                       discounts)
  # G_1 = -1 + 0.9 * 2.0 = 0.8; G_0 = 1 + 0.9 * 0.8 = 1.72.
  returns = np.array([1.72, 0.8])
  assert float(baseline) == pytest.approx(0.5 * np.sum((returns - [0.5, 1.0]) ** 2))
  # Policy-gradient advantages: r_s + gamma v_{s+1} - V_s with v_1 = G_1, v_2 = V_2.
  advantages = np.array([1 + 0.9 * 0.8 - 0.5, -1 + 0.9 * 2.0 - 1.0])
  log_pi = np.array([_log_softmax([0, 1])[1], _log_softmax([2, 0])[0]])
  assert float(policy_gradient) == pytest.approx(-np.sum(log_pi * advantages), rel=1e-5)
  probabilities = np.exp([_log_softmax([0, 1]), _log_softmax([2, 0])])
  entropy = -np.sum(probabilities * np.log(probabilities))
  assert float(entropy_loss) == pytest.approx(-entropy, rel=1e-5)


def test_off_policy_summed_vtrace_matches_trfl_and_the_formula_by_hand():
  logits = np.array([[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 3.0]]], np.float32)
  behaviour = np.array([[[0.0, 1.0]], [[1.0, 0.0]], [[0.0, 0.0]]], np.float32)
  values = np.array([[0.2], [0.4], [1.5]], np.float32)
  actions = np.array([[0], [1], [0]])
  rewards = np.array([[0.5], [2.0], [0.0]], np.float32)
  discounts = np.array([[0.99], [0.5], [0.99]], np.float32)
  policy_gradient, baseline, _ = _ftw_terms(
      tf.constant(logits), tf.constant(values), tf.constant(behaviour), tf.constant(actions),
      tf.constant(rewards), tf.constant(discounts))
  # By hand (spec 4.2): rho_t = min(1, pi/mu), c_t = min(1, pi/mu).
  pi = np.array([np.exp(_log_softmax(logits[t, 0])[actions[t, 0]]) for t in range(2)])
  mu = np.array([np.exp(_log_softmax(behaviour[t, 0])[actions[t, 0]]) for t in range(2)])
  rho = np.minimum(1.0, pi / mu)
  v, r, g = values[:, 0], rewards[:2, 0], discounts[:2, 0]
  delta = rho * (r + g * v[1:] - v[:2])
  vs1 = v[1] + delta[1]
  vs0 = v[0] + delta[0] + g[0] * rho[0] * delta[1]
  assert float(baseline) == pytest.approx(0.5 * ((vs0 - v[0]) ** 2 + (vs1 - v[1]) ** 2),
                                          rel=1e-5)
  advantages = rho * (r + g * np.array([vs1, v[2]]) - v[:2])
  assert float(policy_gradient) == pytest.approx(-np.sum(np.log(pi) * advantages), rel=1e-5)
  # And trfl's own V-trace from logits agrees.
  reference = trfl.vtrace_from_logits(behaviour[:2], logits[:2], actions[:2], discounts[:2],
                                      rewards[:2], values[:2], values[2])
  np.testing.assert_allclose(reference.vs.numpy()[:, 0], [vs0, vs1], rtol=1e-5)
