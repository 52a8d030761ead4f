"""Each loss, the optimiser and the exploration of the model-based agents on hand-worked cases."""

import math

import jax
from jax import numpy as jnp
import numpy as np
import pytest

from agents.model_based import config as config_lib
from agents.model_based import dqn
from agents.model_based import latents
from agents.model_based import losses

LOG2 = math.log(2.0)
HALF_LOG_2PI = 0.9189385332


def test_q_learning_targets_plain_and_double():
  rewards = jnp.array([-1.0, -1.0, 0.5])
  continuations = jnp.array([1.0, 0.0, 0.5])
  next_q_target = jnp.array([[1.0, 2.0], [3.0, 4.0], [-2.0, -4.0]])
  # y = r + 0.9 * c * max Q_target: -1 + 0.9*2, -1 + 0, 0.5 + 0.45*(-2).
  np.testing.assert_allclose(
      losses.q_learning_targets(rewards, continuations, next_q_target, 0.9), [0.8, -1.0, -0.4],
      rtol=1e-6)
  # Double DQN: the online argmax (0, 1, 1) picks the target values 1, 4, -4.
  next_q_online = jnp.array([[5.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
  np.testing.assert_allclose(
      losses.q_learning_targets(rewards, continuations, next_q_target, 0.9, next_q_online),
      [-0.1, -1.0, -1.3], rtol=1e-6)


def test_weighted_squared_td_loss_counts_zero_weights_in_the_denominator():
  q_taken = jnp.array([1.0, 2.0, 3.0, 4.0])
  targets = jnp.array([0.0, 0.0, 1.0, 4.0])
  weights = jnp.array([1.0, 0.5, 0.0, 1.0])
  # (1*1 + 0.5*4 + 0*4 + 1*0) / 4, as the release's (1/320) * sum.
  assert losses.weighted_squared_td_loss(q_taken, targets, weights, 4) == pytest.approx(0.75)
  assert losses.weighted_squared_td_loss(q_taken, targets, weights,
                                         weights.sum()) == pytest.approx(3 / 2.5)
  grad_q, grad_y = jax.grad(losses.weighted_squared_td_loss, argnums=(0, 1))(
      q_taken, targets, weights, 4)
  np.testing.assert_allclose(grad_q, [0.5, 0.5, 0.0, 0.0])  # 2 w (q - y) / 4.
  np.testing.assert_allclose(grad_y, 0.0)  # No gradient into the targets.


def test_rollout_weights():
  # Learned model: w_1 = 1, then the product of the previous continuations.
  np.testing.assert_allclose(losses.rollout_weights(jnp.array([[0.5], [0.2], [1.0]]))[:, 0],
                             [1.0, 0.5, 0.1])
  # Perfect model (c = 1 - terminal): 1 up to and including the first terminal step, then 0.
  np.testing.assert_allclose(losses.rollout_weights(jnp.array([1.0, 1.0, 0.0, 1.0, 1.0])),
                             [1.0, 1.0, 1.0, 0.0, 0.0])


def test_likelihoods():
  assert losses.unit_gaussian_nll(1.0, 0.0) == pytest.approx(0.5 + HALF_LOG_2PI)
  assert losses.unit_gaussian_nll(-2.0, 1.0) == pytest.approx(4.5 + HALF_LOG_2PI)
  assert losses.bernoulli_nll(jnp.array(0.0), jnp.array(1.0)) == pytest.approx(LOG2)
  assert losses.bernoulli_nll(jnp.array(2.0), jnp.array(0.0)) == pytest.approx(
      math.log(1 + math.exp(2.0)))


def test_kl_divergences():
  # KL([.5, .5] || [.25, .75]) = .5 log 2 + .5 log(2/3).
  kl = losses.categorical_kl(jnp.array([0.0, 0.0]), jnp.log(jnp.array([0.25, 0.75])))
  assert kl == pytest.approx(0.5 * LOG2 + 0.5 * math.log(2 / 3), rel=1e-5)
  # KL(N(1, 2^2) || N(0, 1)) = log(1/2) + (4 + 1) / 2 - 1/2.
  assert losses.gaussian_kl(1.0, 2.0, 0.0, 1.0) == pytest.approx(-LOG2 + 2.0, rel=1e-6)
  assert losses.gaussian_kl(0.3, 0.7, 0.3, 0.7) == pytest.approx(0.0, abs=1e-7)


def test_balanced_kl_splits_the_gradient_between_posterior_and_prior():
  gaussian = lambda p, q: losses.gaussian_kl(*p, *q)

  def balanced(posterior_mean, prior_mean):
    return losses.balanced_kl(gaussian, (posterior_mean, 1.0), (prior_mean, 1.0), 0.2, 0.8)

  # KL(N(1, 1) || N(0, 1)) = 1/2; both terms have that value: 0.2 * 0.5 + 0.8 * 0.5.
  assert balanced(1.0, 0.0) == pytest.approx(0.5)
  # dKL/d posterior mean = 1 and dKL/d prior mean = -1, scaled by their own weights only.
  grad_posterior, grad_prior = jax.grad(balanced, argnums=(0, 1))(1.0, 0.0)
  assert grad_posterior == pytest.approx(0.2) and grad_prior == pytest.approx(-0.8)


def test_straight_through_one_hot():
  logits = jnp.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
  key = jax.random.PRNGKey(0)
  sample = losses.straight_through_one_hot(key, logits)
  np.testing.assert_allclose(sample.sum(-1), 1.0, rtol=1e-6)
  assert set(np.unique(np.round(sample, 5))) <= {0.0, 1.0}
  weights = jnp.array([1.0, 2.0, 3.0])
  straight = jax.grad(lambda l: (losses.straight_through_one_hot(key, l) * weights).sum())
  softmax = jax.grad(lambda l: (jax.nn.softmax(l) * weights).sum())
  np.testing.assert_allclose(straight(logits), softmax(logits), rtol=1e-5)


def test_sample_bits_clipped_logit_quirk_and_sigmoid():
  logits = jnp.array([-1.0, 0.0, 0.3, 1.5])
  keys = jax.random.split(jax.random.PRNGKey(0), 20000)
  clipped = jax.vmap(lambda k: losses.sample_bits(k, logits, True))(keys).mean(0)
  np.testing.assert_allclose(clipped, [0.0, 0.0, 0.3, 1.0], atol=0.015)  # clip(logit, 0, 1).
  sigmoid = jax.vmap(lambda k: losses.sample_bits(k, logits, False))(keys).mean(0)
  np.testing.assert_allclose(sigmoid, jax.nn.sigmoid(logits), atol=0.015)


def test_observation_model_loss():
  # Item 1 continues: reward NLL of 1 under N(0, 1), BCE(1, logit 0), two bits at logit 0.
  # Item 2 is terminal: reward NLL of -1 under N(0, 1), BCE(0, logit 0), no observation term.
  loss = losses.observation_model_loss(
      reward_means=jnp.zeros(2), continue_logits=jnp.zeros(2), obs_logits=jnp.zeros((2, 2)),
      rewards=jnp.array([1.0, -1.0]), terminals=jnp.array([False, True]),
      obs_targets=jnp.array([[1.0, 0.0], [1.0, 1.0]]), reward_weight=1.0,
      termination_weight=1.0, obs_weight=1.0)
  first = 0.5 + HALF_LOG_2PI + LOG2 + 2 * LOG2
  second = 0.5 + HALF_LOG_2PI + LOG2
  assert loss == pytest.approx((first + second) / 2, rel=1e-6)
  weighted = losses.observation_model_loss(
      jnp.zeros(1), jnp.zeros(1), jnp.zeros((1, 2)), jnp.array([1.0]), jnp.array([False]),
      jnp.array([[1.0, 0.0]]), reward_weight=2.0, termination_weight=0.0, obs_weight=0.5)
  assert weighted == pytest.approx(2 * (0.5 + HALF_LOG_2PI) + 0.5 * 2 * LOG2, rel=1e-6)


def _adam_config(**changes):
  return config_lib.ExperimentConfig(b1_adam=0.9, b2_adam=0.99, eps_adam=1e-5, wd_adam=1e-6,
                                     **changes)


@pytest.mark.parametrize('scaled', [False, True])
def test_adamw_matches_the_release_update_by_hand(scaled):
  config = _adam_config(weight_decay_scaled_by_step_size=scaled)
  step_size = 0.1
  optimizer = dqn.make_optimizer(step_size, config)
  x = {'w': jnp.array(1.0)}
  state = optimizer.init(x)
  m = v = 0.0
  expected = 1.0
  for i, g in enumerate([0.5, -0.2]):
    updates, state = optimizer.update({'w': jnp.array(g)}, state, x)
    x = jax.tree_util.tree_map(lambda p, u: p + u, x, updates)
    m = 0.9 * m + 0.1 * g
    v = 0.99 * v + 0.01 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** (i + 1)), v / (1 - 0.99 ** (i + 1))
    decay = 1e-6 * step_size if scaled else 1e-6
    expected = expected - step_size * m_hat / (math.sqrt(v_hat) + 1e-5) - decay * expected
    assert float(x['w']) == pytest.approx(expected, rel=1e-6)
    if i == 0 and not scaled:  # 1 - 0.1 * 0.5 / (sqrt(0.25) + 1e-5) - 1e-6 * 1.
      assert float(x['w']) == pytest.approx(0.900001, abs=1e-7)


def test_action_selection():
  q_values = jnp.array([1.0, 3.0, 3.0, 0.0])
  greedy = dqn.select_action(q_values, jax.random.PRNGKey(0), _adam_config(), greedy=True)
  assert greedy == 1  # Ties go to the lowest index.
  keys = jax.random.split(jax.random.PRNGKey(1), 20000)
  softmax = _adam_config(exploration_strat='softmax', softmax_temp=2.0)
  actions = jax.vmap(lambda k: dqn.select_action(q_values, k, softmax))(keys)
  np.testing.assert_allclose(np.bincount(actions, minlength=4) / 20000,
                             jax.nn.softmax(q_values / 2.0), atol=0.012)
  epsilon = _adam_config(exploration_strat='epsilon_greedy', epsilon=0.2)
  actions = jax.vmap(lambda k: dqn.select_action(q_values, k, epsilon))(keys)
  np.testing.assert_allclose(np.bincount(actions, minlength=4) / 20000,
                             [0.05, 0.85, 0.05, 0.05], atol=0.012)


def test_latent_distributions():
  gaussian = latents.GaussianLatent(num_features=2, std_act='sigmoid2')
  mean, std = gaussian.params(jnp.array([0.5, -0.5, 0.0, 100.0]), min_std=0.1)
  np.testing.assert_allclose(mean, [0.5, -0.5])
  np.testing.assert_allclose(std, [1.0 + 0.1, 2.0 + 0.1], rtol=1e-6)  # 2 sigmoid(x / 2) + 0.1.
  _, std = latents.GaussianLatent(2, 'softplus').params(jnp.array([0, 0, -100.0, 0.0]), 0.0)
  np.testing.assert_allclose(std, [latents.MIN_STD_CLIP, LOG2], rtol=1e-5)
  categorical = latents.CategoricalLatent(num_features=2, feature_width=3)
  (logits,) = categorical.params(jnp.arange(6.0), 0.0)
  assert logits.shape == (2, 3)
  z = categorical.sample(jax.random.PRNGKey(0), (logits,))
  assert z.shape == (6,) and float(z.sum()) == pytest.approx(2.0)
  # KL(softmax(0, 1, 2) || uniform) = log 3 - entropy = 0.26621 per feature.
  np.testing.assert_allclose(categorical.kl((logits[:1],), categorical.base((logits[:1],))),
                             [0.266205], rtol=1e-4)
