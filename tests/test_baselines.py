"""The reference bandit algorithms against the spec's derived figures (section 4.6)."""

import numpy as np
import pytest

from agents.meta_rl import baselines

# Exact R_t on D_i at t = 1, 2, 3, 5, 10, 20, 50, 100 (spec 4.6).
_T = np.array([1, 2, 3, 5, 10, 20, 50, 100]) - 1
INDEPENDENT = {
    'thompson': [0.167, 0.306, 0.424, 0.617, 0.962, 1.402, 2.126, 2.786],
    'ucb1': [0.167, 0.333, 0.417, 0.606, 1.064, 1.807, 3.518, 5.581],
    'ucb_chi1': [0.167, 0.333, 0.417, 0.550, 0.902, 1.483, 2.718, 4.116],
    'greedy': [0.167, 0.250, 0.333, 0.449, 0.661, 0.968, 1.672, 2.691],
    'gittins_0.9': [0.167, 0.250, 0.333, 0.444, 0.650, 0.910, 1.393, 1.979],
    'bayes': [0.167, 0.250, 0.333, 0.467, 0.680, 0.960, 1.379, 1.748],
    'random': [0.167, 0.333, 0.500, 0.833, 1.667, 3.333, 8.333, 16.667],
}


def _policy(name):
  return {
      'thompson': baselines.ThompsonPolicy,
      'ucb1': lambda: baselines.UCBPolicy(2.0),
      'ucb_chi1': lambda: baselines.UCBPolicy(1.0),
      'greedy': baselines.GreedyPolicy,
      'gittins_0.9': lambda: baselines.GittinsPolicy(0.9),
      'bayes': lambda: baselines.bayes_optimal('independent')[0],
      'random': baselines.RandomPolicy,
  }[name]()


@pytest.mark.parametrize('name', sorted(INDEPENDENT))
def test_independent_regret_curves(name):
  curve = baselines.regret_curve(_policy(name), 'independent')
  np.testing.assert_allclose(curve[_T], INDEPENDENT[name], atol=0.006)


def test_bayes_optimal_value_on_independent_arms():
  _, value = baselines.bayes_optimal('independent')
  assert value == pytest.approx(64.9184, abs=1e-3)


@pytest.mark.parametrize('distribution,final', [
    ('easy', 0.625), ('medium', 1.000), ('hard', 2.312), ('dependent_uniform', 1.221)])
def test_dependent_bayes_optimal_is_the_evidence_sign_rule(distribution, final):
  policy, _ = baselines.bayes_optimal(distribution)
  assert baselines.regret_curve(policy, distribution)[-1] == pytest.approx(final, abs=0.002)
  # Spec 4.5: pull arm 0 iff k = (s0 - f0) - (s1 - f1) > 0, either arm when k = 0.
  rng = np.random.default_rng(0)
  for _ in range(200):
    n = int(rng.integers(1, 60))
    s0, f0, s1 = rng.multinomial(n, [0.25] * 4)[:3]
    f1 = n - s0 - f0 - s1
    k = (s0 - f0) - (s1 - f1)
    expected = 1.0 if k > 0 else 0.0 if k < 0 else 0.5
    assert policy.arm0_probability(n, s0, f0, s1, f1) == expected


@pytest.mark.parametrize('distribution,thompson,ucb1', [
    ('dependent_uniform', 2.788, 5.991), ('easy', 2.127, 6.298), ('medium', 3.004, 7.019),
    ('hard', 4.066, 5.991)])
def test_cross_evaluation_of_thompson_and_ucb(distribution, thompson, ucb1):
  # The spec's Monte Carlo cells carry +/- 0.003 to 0.010 (95%).
  assert baselines.regret_curve(baselines.ThompsonPolicy(), distribution)[-1] == pytest.approx(
      thompson, abs=0.012)
  assert baselines.regret_curve(baselines.UCBPolicy(2.0), distribution)[-1] == pytest.approx(
      ucb1, abs=0.012)


def test_gittins_index_table():
  expected = {0.5: [0.5590, 0.7060, 0.3758, 0.5165], 0.8: [0.6413, 0.7596, 0.4430, 0.5431],
              0.9: [0.7029, 0.8001, 0.5001, 0.5676], 0.95: [0.7614, 0.8381, 0.5601, 0.5957]}
  for discount, values in expected.items():
    nu = baselines.gittins_indices(discount)
    np.testing.assert_allclose([nu[1, 1], nu[2, 1], nu[1, 2], nu[5, 5]], values, atol=2e-4)


def test_chance_levels():
  for distribution, level in [('independent', 16.667), ('dependent_uniform', 25.0),
                              ('easy', 40.0), ('medium', 25.0), ('hard', 10.0)]:
    curve = baselines.regret_curve(baselines.RandomPolicy(), distribution)
    assert curve[-1] == pytest.approx(level, abs=1e-3)


def test_exact_thompson_agrees_with_monte_carlo():
  rng = np.random.default_rng(0)
  p = rng.uniform(size=(200_000, 2))
  regret = baselines.simulate_regret(baselines.thompson_choice, p, 100, rng)
  standard_error = regret.std() / np.sqrt(len(regret))
  exact = baselines.regret_curve(baselines.ThompsonPolicy(), 'independent')[-1]
  assert abs(regret.mean() - exact) < 4 * standard_error
