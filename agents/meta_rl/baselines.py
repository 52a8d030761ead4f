"""Reference bandit algorithms and their exact expected regret on two-armed bandits (spec 4).

Every policy is a function of the sufficient statistic (s0, f0, s1, f1): the successes and
failures of each arm so far. `regret_curve` propagates the probability of every such state
forward trial by trial, with the predictive success probability of each arm under the test
distribution's prior, so its figures are exact (no sampling). States of n trials are stored as a
cube indexed [s0, f0, s1] with f1 = n - s0 - f0 - s1; cells with f1 < 0 are unused.
"""

import functools
from typing import Callable, Tuple

import numpy as np
from scipy import special

HORIZON = 100


def _level(n: int):
  """Index arrays (broadcastable to the (n+1)^3 cube) of the states after n trials."""
  r = np.arange(n + 1)
  s0, f0, s1 = r[:, None, None], r[None, :, None], r[None, None, :]
  f1 = n - s0 - f0 - s1
  return s0, f0, s1, f1, f1 >= 0


# ----------------------------------------------------------------------------------------------
# Test distributions: the predictive success probability of each arm given the state.
# ----------------------------------------------------------------------------------------------

def _independent_predictive(s0, f0, s1, f1):
  with np.errstate(divide='ignore', invalid='ignore'):
    return (s0 + 1) / (s0 + f0 + 2), (s1 + 1) / (s1 + f1 + 2)


def _dependent_uniform_predictive(s0, f0, s1, f1):
  # p = p_0 ~ U[0,1], p_1 = 1 - p: a success on arm 0 or a failure on arm 1 is evidence for p.
  evidence_for, evidence_against = s0 + f1, f0 + s1
  with np.errstate(divide='ignore', invalid='ignore'):
    p0 = (evidence_for + 1) / (evidence_for + evidence_against + 2)
  return p0, 1 - p0


def _two_point_predictive(q: float):
  """p_0 uniform on {q, 1-q}, p_1 = 1 - p_0 (q > 1/2 is the good arm's probability)."""
  log_odds = np.log(q / (1 - q))

  def predictive(s0, f0, s1, f1):
    k = (s0 - f0) - (s1 - f1)
    arm0_good = special.expit(k * log_odds)
    p0 = arm0_good * q + (1 - arm0_good) * (1 - q)
    return p0, 1 - p0

  return predictive


PREDICTIVE = {
    'independent': _independent_predictive,
    'dependent_uniform': _dependent_uniform_predictive,
    'easy': _two_point_predictive(0.9),
    'medium': _two_point_predictive(0.75),
    'hard': _two_point_predictive(0.6),
}
EXPECTED_MAX_PROBABILITY = {'independent': 2 / 3, 'dependent_uniform': 0.75, 'easy': 0.9,
                            'medium': 0.75, 'hard': 0.6}


def _check_distribution(distribution: str):
  if distribution not in PREDICTIVE:
    raise ValueError(f'no two-armed baseline for {distribution!r}; '
                     f'valid: {", ".join(PREDICTIVE)}')


# ----------------------------------------------------------------------------------------------
# Policies: arm0_probability(n, s0, f0, s1, f1) -> probability of pulling arm 0.
# They are called with the level cubes of n = 0, 1, ... in order.
# ----------------------------------------------------------------------------------------------

def _prefer(score0, score1):
  """1 where arm 0 scores higher, 0 where arm 1 does, 1/2 on exact ties."""
  return np.where(score0 > score1, 1.0, np.where(score0 < score1, 0.0, 0.5))


class RandomPolicy:
  name = 'uniform random'

  def arm0_probability(self, n, s0, f0, s1, f1):
    return np.full(np.broadcast(s0, f0, s1, f1).shape, 0.5)


class GreedyPolicy:
  """Pulls the arm with the larger Beta(1,1) posterior mean."""
  name = 'greedy (posterior mean)'

  def arm0_probability(self, n, s0, f0, s1, f1):
    p0, p1 = _independent_predictive(s0, f0, s1, f1)
    return _prefer(p0, p1)


class UCBPolicy:
  """UCB1 of Auer et al. with index mean + sqrt(c ln n / n_i); each arm once first (arm 0 first)."""

  def __init__(self, c: float = 2.0):
    self.c = c
    self.name = 'UCB1' if c == 2.0 else f'UCB (chi={c:g})'

  def arm0_probability(self, n, s0, f0, s1, f1):
    n0, n1 = s0 + f0, s1 + f1
    with np.errstate(divide='ignore', invalid='ignore'):
      index0 = s0 / n0 + np.sqrt(self.c * np.log(max(n, 1)) / n0)
      index1 = s1 / n1 + np.sqrt(self.c * np.log(max(n, 1)) / n1)
    probability = _prefer(index0, index1)
    probability = np.where(n1 == 0, 0.0, probability)
    return np.where(n0 == 0, 1.0, probability)


class ThompsonPolicy:
  """Thompson sampling with Beta(1,1) priors, its choice probability computed exactly.

  P(arm 1 is pulled) = P(Y > X), X ~ Beta(s0+1, f0+1), Y ~ Beta(s1+1, f1+1) = sum over
  k < s1+1 of T_k (spec 4.1). For fixed (s0, f0, f1) the sum gains one term each trial, so a
  table over (s0, f0, f1) is updated in place as n grows.
  """
  name = 'Thompson sampling'

  def __init__(self, horizon: int = HORIZON):
    self._table = np.zeros((horizon + 1,) * 3)
    self._next_level = 0

  def arm0_probability(self, n, s0, f0, s1, f1):
    if n != self._next_level:
      raise ValueError('ThompsonPolicy must be called with n = 0, 1, 2, ... in order')
    self._next_level += 1
    valid = f1 >= 0
    s0, f0, s1, f1 = np.broadcast_arrays(s0, f0, s1, np.where(valid, f1, 0))
    a, b, k, d = (x[valid].astype(float) + offset
                  for x, offset in ((s0, 1), (f0, 1), (s1, 0), (f1, 1)))
    log_term = (special.betaln(a + k, b + d) - np.log(d + k) - special.betaln(1 + k, d) -
                special.betaln(a, b))
    self._table[s0[valid], f0[valid], f1[valid]] += np.exp(log_term)
    return np.where(valid, 1.0 - self._table[s0, f0, f1], 0.0)


@functools.lru_cache(maxsize=8)
def gittins_indices(discount: float, max_total: int = HORIZON + 2,
                    grid_points: int = 2001) -> np.ndarray:
  """Gittins index nu(alpha, beta) of a Bernoulli arm with a Beta(alpha, beta) posterior.

  Calibration (spec 4.3): for a grid of retirement rates lambda, W(state) = max(lambda / (1 -
  gamma), mu + gamma E[W(next)]) by backward induction over alpha + beta from a truncation depth
  where learning stops; the index is the lambda at which continuing and retiring tie (linear
  interpolation between grid points). Returns an array indexed [alpha, beta] for
  alpha + beta <= max_total (other cells are NaN).
  """
  lam = np.linspace(0.0, 1.0, grid_points)
  retire = lam / (1 - discount)
  depth = max_total + int(np.ceil(10 / (1 - discount)))  # Error ~ gamma^(10/(1-gamma)).
  alpha = np.arange(1, depth)
  mu = alpha / depth
  w_next = np.maximum(retire[None, :], mu[:, None] / (1 - discount))  # Level alpha+beta = depth.
  indices = np.full((max_total + 1, max_total + 1), np.nan)
  for total in range(depth - 1, 1, -1):
    alpha = np.arange(1, total)[:, None]
    mu = alpha / total
    # From (alpha, beta): success -> (alpha+1, beta), row alpha of the next level (0-based);
    # failure -> (alpha, beta+1), row alpha-1.
    continuation = mu + discount * (mu * w_next[1:total] + (1 - mu) * w_next[0:total - 1])
    if total <= max_total:
      advantage = continuation - retire[None, :]  # Decreasing in lambda.
      last_positive = np.clip((advantage >= 0).sum(axis=1) - 1, 0, grid_points - 2)
      rows = np.arange(total - 1)
      a0, a1 = advantage[rows, last_positive], advantage[rows, last_positive + 1]
      fraction = np.clip(a0 / np.where(a0 != a1, a0 - a1, 1.0), 0.0, 1.0)
      nu = lam[last_positive] + fraction * (lam[1] - lam[0])
      indices[alpha[:, 0], total - alpha[:, 0]] = nu
    w_next = np.maximum(retire[None, :], continuation)
  return indices


class GittinsPolicy:
  """Pulls the arm with the larger Gittins index for discount gamma (ties: uniform)."""

  def __init__(self, discount: float = 0.9, horizon: int = HORIZON):
    self.discount = discount
    self.name = f'Gittins (gamma={discount:g})'
    self._indices = np.nan_to_num(gittins_indices(discount, horizon + 2), nan=-1.0)

  def arm0_probability(self, n, s0, f0, s1, f1):
    f1 = np.maximum(f1, 0)
    return _prefer(self._indices[s0 + 1, f0 + 1], self._indices[s1 + 1, f1 + 1])


class TablePolicy:
  """A deterministic policy stored as one cube per level: 0, 1/2 or 1 for arm 0."""

  def __init__(self, name: str, cubes):
    self.name = name
    self._cubes = cubes

  def arm0_probability(self, n, s0, f0, s1, f1):
    return self._cubes[n][s0, f0, s1] / 2.0


@functools.lru_cache(maxsize=8)
def bayes_optimal(distribution: str, horizon: int = HORIZON) -> Tuple[TablePolicy, float]:
  """The finite-horizon Bayes-optimal policy for `distribution` and its expected total reward.

  Backward induction over every state (spec 4.4); for the dependent distributions it coincides
  with the evidence-sign rule of spec 4.5. Ties between arms are split evenly.
  """
  _check_distribution(distribution)
  predictive = PREDICTIVE[distribution]
  value_next = np.zeros((horizon + 1,) * 3)
  cubes = [None] * horizon
  for n in reversed(range(horizon)):
    s0, f0, s1, f1, valid = _level(n)
    p0, p1 = predictive(s0, f0, s1, f1)
    p0, p1 = np.where(valid, p0, 0.0), np.where(valid, p1, 0.0)
    m = n + 1
    q0 = p0 * (1 + value_next[1:, :m, :m]) + (1 - p0) * value_next[:m, 1:, :m]
    q1 = p1 * (1 + value_next[:m, :m, 1:]) + (1 - p1) * value_next[:m, :m, :m]
    tie = np.abs(q0 - q1) <= 1e-9
    cubes[n] = np.where(tie, 1, np.where(q0 > q1, 2, 0)).astype(np.uint8)
    value_next = np.where(valid, np.maximum(q0, q1), 0.0)
  return TablePolicy(f'Bayes-optimal ({distribution})', cubes), float(value_next[0, 0, 0])


def regret_curve(policy, distribution: str, horizon: int = HORIZON) -> np.ndarray:
  """Exact expected cumulative regret R_t, t = 1..horizon, of `policy` on `distribution`."""
  _check_distribution(distribution)
  predictive = PREDICTIVE[distribution]
  expected_max = EXPECTED_MAX_PROBABILITY[distribution]
  mass = np.ones((1, 1, 1))
  reward = 0.0
  curve = np.zeros(horizon)
  for n in range(horizon):
    s0, f0, s1, f1, valid = _level(n)
    p0, p1 = predictive(s0, f0, s1, f1)
    pi0 = policy.arm0_probability(n, s0, f0, s1, f1)
    p0, p1, pi0 = (np.where(valid, x, 0.0) for x in (p0, p1, pi0))
    reward += float(np.sum(mass * (pi0 * p0 + (1 - pi0) * p1)))
    curve[n] = (n + 1) * expected_max - reward
    following = np.zeros((n + 2,) * 3)
    following[1:, :-1, :-1] += mass * pi0 * p0
    following[:-1, 1:, :-1] += mass * pi0 * (1 - p0)
    following[:-1, :-1, 1:] += mass * (1 - pi0) * p1
    following[:-1, :-1, :-1] += mass * (1 - pi0) * (1 - p1)
    mass = following
  return curve


# ----------------------------------------------------------------------------------------------
# Monte Carlo, to cross-check the exact figures (and for policies without a closed form).
# ----------------------------------------------------------------------------------------------

def simulate_regret(choose: Callable[[np.random.Generator, int, np.ndarray], np.ndarray],
                    arm_probabilities: np.ndarray, horizon: int,
                    rng: np.random.Generator) -> np.ndarray:
  """Per-episode R_horizon of a vectorised policy on the given bandits ([episodes, 2]).

  `choose(rng, n, counts)` gets counts [episodes, 4] = (s0, f0, s1, f1) and returns arms.
  """
  episodes = len(arm_probabilities)
  counts = np.zeros((episodes, 4), np.int64)
  regret = np.zeros(episodes)
  best = arm_probabilities.max(axis=1)
  rows = np.arange(episodes)
  for n in range(horizon):
    arms = choose(rng, n, counts)
    regret += best - arm_probabilities[rows, arms]
    success = rng.uniform(size=episodes) < arm_probabilities[rows, arms]
    counts[rows, 2 * arms + (~success)] += 1
  return regret


def thompson_choice(rng: np.random.Generator, n: int, counts: np.ndarray) -> np.ndarray:
  del n
  x = rng.beta(counts[:, 0] + 1, counts[:, 1] + 1)
  y = rng.beta(counts[:, 2] + 1, counts[:, 3] + 1)
  return (y > x).astype(np.int64)
