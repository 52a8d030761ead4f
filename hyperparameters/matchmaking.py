"""Matchmaking: who plays whom, favouring even games (spec 6.3, fixing the original's defect D8).

Seat 0 is a uniformly drawn member; every other seat is drawn without replacement with weight
N(P(seat-0 member beats candidate); 0.5, sd), a Gaussian density over the win probability, so
teammates and opponents of similar skill are favoured. The first half of the seats is team 1.

Fixed opponents (scripted bots) are drawn by the same rule over a member's measured expected score
against each (wins plus half the draws): a member that cannot yet beat the random bot meets it far
more often than the flag-rusher, and meets the rusher once it wins against random most of the time.
"""

from typing import Dict, List, Sequence

import numpy as np

from hyperparameters import elo

DEFAULT_SD = 1.0 / 6.0


def pairing_weights(ratings: Sequence[float], focal: int, candidates: Sequence[int],
                    sd: float = DEFAULT_SD) -> np.ndarray:
  """Normalised sampling weights of `candidates` as partners or opponents of `focal`."""
  ratings = np.asarray(ratings, np.float64)
  p = elo.win_probability(ratings[focal], ratings[np.asarray(candidates, int)])
  return even_game_weights(p, sd)


def even_game_weights(expected_scores, sd: float = DEFAULT_SD) -> np.ndarray:
  """Normalised weights N(score; 0.5, sd) of opponents with these expected scores."""
  scores = np.asarray(expected_scores, np.float64)
  weights = np.exp(-0.5 * ((scores - 0.5) / sd) ** 2)
  return weights / weights.sum()


def sample_bot(expected_scores: Dict[str, float], rng: np.random.Generator,
               sd: float = DEFAULT_SD) -> str:
  """A bot name drawn with weight N(expected score against it; 0.5, sd)."""
  if not expected_scores:
    raise ValueError('no bots to choose from')
  names = sorted(expected_scores)
  weights = even_game_weights([expected_scores[n] for n in names], sd)
  return names[int(rng.choice(len(names), p=weights))]


def sample_match(ratings: Sequence[float], team_size: int, rng: np.random.Generator,
                 sd: float = DEFAULT_SD) -> List[int]:
  """Member indices for the 2 * team_size seats of one match.

  A member never fills two seats unless the population is smaller than the number of seats;
  then the pool is refilled with the whole population once it runs out.
  """
  population = len(ratings)
  if population < 1 or team_size < 1:
    raise ValueError(f'need members and seats, got population {population}, team size '
                     f'{team_size}')
  focal = int(rng.integers(population))
  seats = [focal]
  pool = [m for m in range(population) if m != focal]
  while len(seats) < 2 * team_size:
    if not pool:
      pool = list(range(population))
    choice = int(rng.choice(pool, p=pairing_weights(ratings, focal, pool, sd)))
    pool.remove(choice)
    seats.append(choice)
  return seats
