"""Elo ratings on the win-probability scale: PBT's fitness and the evaluation's yardstick (spec 6.2).

Outcomes follow the original package: 0.0 = team 1 won, 0.5 = draw, 1.0 = team 2 won.
"""

from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize

INITIAL_RATING = 1000.0
TEAM_AGGREGATES = ('sum', 'mean')


def win_probability(rating_a, rating_b):
  """P(a beats b) = 1 / (1 + 10^((r_b - r_a) / 400))."""
  return 1.0 / (1.0 + 10.0 ** ((np.asarray(rating_b) - np.asarray(rating_a)) / 400.0))


def team_rating(ratings: Sequence[float], aggregate: str = 'sum') -> float:
  """A team's rating: the sum of its members' (spec 6.2) or their mean."""
  if aggregate not in TEAM_AGGREGATES:
    raise ValueError(f'unknown team aggregate {aggregate!r}; valid: {", ".join(TEAM_AGGREGATES)}')
  ratings = np.asarray(ratings, np.float64)
  return float(ratings.sum() if aggregate == 'sum' else ratings.mean())


def team1_score(outcome: float) -> float:
  """Team 1's actual score S1 in {1, 1/2, 0} from an outcome in {0, 1/2, 1}."""
  if outcome not in (0.0, 0.5, 1.0):
    raise ValueError(f'outcome must be 0.0, 0.5 or 1.0, got {outcome}')
  return 1.0 - outcome


def update(ratings: np.ndarray, players: Sequence[int], outcome: float, k: float = 16.0,
           aggregate: str = 'sum') -> np.ndarray:
  """New ratings after one match; `players` lists the seats, the first half being team 1.

  Every team-1 seat gains K (S1 - P(team 1 wins)) and every team-2 seat loses as much, so a
  1v1 update is zero-sum. A member seated twice is updated once per seat.
  """
  ratings = np.array(ratings, np.float64)
  half = len(players) // 2
  if len(players) != 2 * half or half == 0:
    raise ValueError(f'players must list two equal teams, got {list(players)}')
  team1, team2 = list(players[:half]), list(players[half:])
  expected = win_probability(team_rating(ratings[team1], aggregate),
                             team_rating(ratings[team2], aggregate))
  delta = k * (team1_score(outcome) - expected)
  change = np.zeros_like(ratings)
  np.add.at(change, team1, delta)
  np.add.at(change, team2, -delta)
  return ratings + change


def fit_ratings(results: Sequence[Tuple[str, str, float]], anchors: Mapping[str, float],
                prior_sd: float = 400.0) -> Dict[str, float]:
  """Ratings that best explain 1v1 results, some players held fixed (evaluation Elo).

  `results` are (a, b, score of a) with score in {0, 1/2, 1}. The ratings maximise the
  Bradley-Terry likelihood of the scores plus a Gaussian prior (sd `prior_sd`) centred on the
  mean anchor, which keeps a player that always wins at a finite rating. `anchors` fixes
  ratings, for example {'random': 1000}.
  """
  names = sorted({name for a, b, _ in results for name in (a, b)} | set(anchors))
  free = [n for n in names if n not in anchors]
  if not free:
    return dict(anchors)
  centre = float(np.mean(list(anchors.values()))) if anchors else INITIAL_RATING
  index = {n: i for i, n in enumerate(free)}
  a_idx = np.array([index.get(a, -1) for a, _, _ in results])
  b_idx = np.array([index.get(b, -1) for _, b, _ in results])
  a_fixed = np.array([anchors.get(a, 0.0) for a, _, _ in results])
  b_fixed = np.array([anchors.get(b, 0.0) for _, b, _ in results])
  scores = np.array([s for _, _, s in results], np.float64)
  scale = np.log(10.0) / 400.0

  def negative_log_posterior(x):
    ra = np.where(a_idx >= 0, x[np.maximum(a_idx, 0)], a_fixed)
    rb = np.where(b_idx >= 0, x[np.maximum(b_idx, 0)], b_fixed)
    d = scale * (ra - rb)
    # -[s log p + (1 - s) log (1 - p)] with p = sigmoid(d), computed stably.
    nll = np.sum(np.logaddexp(0.0, -d) * scores + np.logaddexp(0.0, d) * (1 - scores))
    p = 1.0 / (1.0 + np.exp(-d))
    grad_d = (p - scores) * scale
    grad = np.zeros_like(x)
    np.add.at(grad, a_idx[a_idx >= 0], grad_d[a_idx >= 0])
    np.add.at(grad, b_idx[b_idx >= 0], -grad_d[b_idx >= 0])
    prior = 0.5 * np.sum(((x - centre) / prior_sd) ** 2)
    return nll + prior, grad + (x - centre) / prior_sd ** 2

  solution = optimize.minimize(negative_log_posterior, np.full(len(free), centre),
                               jac=True, method='L-BFGS-B')
  ratings = dict(anchors)
  ratings.update({n: float(solution.x[i]) for n, i in index.items()})
  return ratings


def expected_score_table(ratings: Mapping[str, float],
                         names: Optional[Sequence[str]] = None) -> np.ndarray:
  """P(row beats column) for every pair, from ratings."""
  names = list(names or ratings)
  r = np.array([ratings[n] for n in names])
  return win_probability(r[:, None], r[None, :])
