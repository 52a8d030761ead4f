"""Scripted players that fill seats for evaluation and anchor the evaluation Elo (spec 7.2).

Bots read the game state directly (they are not limited to the egocentric view):
* `random`: a uniformly random action every step.
* `rusher`: the shortest path to the enemy flag, then the shortest path home; it never tags.
* `defender`: stays within two cells of its base, tags opponents in its line of fire, returns
  its dropped flag and chases the carrier of its flag.
"""

import functools
from typing import Callable, Dict, Optional

import numpy as np

from environments.ctf import game as game_lib
from environments.ctf import maps

BOT_NAMES = ('random', 'rusher', 'defender')


@functools.lru_cache(maxsize=256)
def _distance_field(walls_bytes: bytes, shape, target: maps.Cell) -> np.ndarray:
  walls = np.frombuffer(walls_bytes, bool).reshape(shape)
  return maps.distances_from(walls, target)


def distance_field(game: game_lib.Game, target: maps.Cell) -> np.ndarray:
  walls = game.map.walls
  return _distance_field(walls.tobytes(), walls.shape, tuple(target))


def step_towards(game: game_lib.Game, seat: int, target: maps.Cell,
                 rng: np.random.Generator) -> int:
  """The move action along a shortest path from seat's cell to `target` (noop if there/blocked).

  Among the neighbours one step closer, free cells are preferred; ties are broken at random.
  """
  player = game.players[seat]
  distance = distance_field(game, target)
  r, c = player.position
  here = distance[r, c]
  if here <= 0:
    return game_lib.NOOP
  closer = []
  for direction, (dr, dc) in enumerate(maps.MOVES):
    cell = (r + dr, c + dc)
    if game.map.is_open(cell) and distance[cell] == here - 1:
      closer.append((game.occupant(cell) is not None, direction))
  if not closer:
    return game_lib.NOOP
  free = [d for blocked, d in closer if not blocked]
  direction = int(rng.choice(free if free else [d for _, d in closer]))
  return game_lib.relative_move(player.facing, direction)


class Bot:
  """A scripted policy for one seat: `bot(game, seat) -> action`."""

  name = 'bot'

  def __init__(self, seed: Optional[int] = None):
    self._rng = np.random.default_rng(seed)

  def __call__(self, game: game_lib.Game, seat: int) -> int:
    if not game.players[seat].alive:
      return game_lib.NOOP
    return self.act(game, seat)

  def act(self, game: game_lib.Game, seat: int) -> int:
    raise NotImplementedError


class RandomBot(Bot):
  name = 'random'

  def act(self, game, seat):
    return int(self._rng.integers(game_lib.NUM_ACTIONS))


class FlagRusherBot(Bot):
  """Runs to the enemy flag and home again; `epsilon` random moves break deadlocks."""

  name = 'rusher'

  def __init__(self, seed: Optional[int] = None, epsilon: float = 0.05):
    super().__init__(seed)
    self._epsilon = epsilon

  def act(self, game, seat):
    if self._rng.uniform() < self._epsilon:
      return int(self._rng.integers(game_lib.NUM_ACTIONS - 1))  # Any action but a tag.
    player = game.players[seat]
    enemy_flag = game.flags[1 - player.team]
    if player.carrying or enemy_flag.state == game_lib.CARRIED:
      target = game.map.bases[player.team]
    else:
      target = enemy_flag.position
    return step_towards(game, seat, target, self._rng)


class DefenderBot(Bot):
  """Guards its base and tags what comes into its line of fire."""

  name = 'defender'

  def __init__(self, seed: Optional[int] = None, guard_radius: int = 2):
    super().__init__(seed)
    self._guard_radius = guard_radius

  def act(self, game, seat):
    player = game.players[seat]
    if game.tag_target(seat) is not None and player.cooldown == 0:
      return game_lib.TAG
    turn = self._turn_towards_opponent(game, seat)
    if turn is not None:
      return turn
    own_flag = game.flags[player.team]
    if own_flag.state != game_lib.AT_BASE:
      return step_towards(game, seat, game.flag_position(player.team), self._rng)
    base = game.map.bases[player.team]
    if distance_field(game, base)[player.position] > self._guard_radius:
      return step_towards(game, seat, base, self._rng)
    return int(self._rng.choice([game_lib.NOOP, game_lib.FORWARD, game_lib.BACKWARD,
                                 game_lib.STRAFE_LEFT, game_lib.STRAFE_RIGHT]))

  def _turn_towards_opponent(self, game, seat) -> Optional[int]:
    """A turn that brings an opponent in a straight, unobstructed line into the line of fire."""
    player = game.players[seat]
    r, c = player.position
    for direction, (dr, dc) in enumerate(maps.MOVES):
      for k in range(1, game.rules.tag_range + 1):
        cell = (r + k * dr, c + k * dc)
        if not game.map.is_open(cell):
          break
        other = game.occupant(cell)
        if other is None:
          continue
        if game.players[other].team != player.team and direction != player.facing:
          return (game_lib.TURN_RIGHT if (direction - player.facing) % 4 in (1, 2)
                  else game_lib.TURN_LEFT)
        break
    return None


_BOTS: Dict[str, Callable[..., Bot]] = {'random': RandomBot, 'rusher': FlagRusherBot,
                                        'defender': DefenderBot}


def make_bot(name: str, seed: Optional[int] = None) -> Bot:
  if name not in _BOTS:
    raise ValueError(f'unknown bot {name!r}; valid: {", ".join(BOT_NAMES)}')
  return _BOTS[name](seed=seed)
