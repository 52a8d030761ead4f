"""Capture the flag as `dm_env.Environment`s: the multi-player arena, and one seat against bots.

`CaptureTheFlag` is the arena the population plays in: every seat's observation, events and
action travel together (leading axis = seat; the first half of the seats is team 1 in the
original package's terms). Its `get_outcome()` follows the original `MARLEnvironment`: 0.0 team 1
won, 0.5 draw, 1.0 team 2 won. `SingleSeat` turns one seat into an ordinary single-agent
environment whose other seats are played by scripted bots (for a single-process agent, a human
at the terminal, or an evaluation).
"""

from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import dm_env
from dm_env import specs
import numpy as np

from environments.ctf import game as game_lib
from environments.ctf import maps
from environments.ctf import rendering

SizeOrRange = Union[int, Tuple[int, int]]


def _size_range(map_size: SizeOrRange) -> Tuple[int, int]:
  if isinstance(map_size, (int, np.integer)):
    return int(map_size), int(map_size)
  low, high = (int(v) for v in map_size)
  if low > high:
    raise ValueError(f'map_size range has min {low} above max {high}')
  return low, high


class CaptureTheFlag(dm_env.Environment):
  """Two teams of `team_size` on a fresh procedurally generated map every episode.

  Observation: uint8 [N, S, S, 3] egocentric views; action: int [N] in [0, 8); reward: float32
  [N, 13] game events of the step (`game.EVENT_NAMES`); discount: float32, 1 except 0 at the
  last step. Episodes last exactly `episode_length` steps (no early termination).
  """

  def __init__(self, team_size: int = 1, map_size: SizeOrRange = (11, 15),
               episode_length: int = 500, view_size: int = 11, pixels_per_cell: int = 1,
               wall_density: float = 0.2, rules: game_lib.Rules = game_lib.Rules(),
               seed: Optional[int] = None):
    low, high = _size_range(map_size)
    if low < 7:
      raise ValueError(f'maps must be at least 7 cells wide, got {low}')
    if not 1 <= team_size <= 4:
      raise ValueError(f'team_size must be between 1 and 4, got {team_size}')
    if episode_length < 1:
      raise ValueError(f'episode_length must be at least 1, got {episode_length}')
    rules.validate()
    self._sizes = [s for s in range(low, high + 1) if s % 2 == 1]
    if not self._sizes:
      raise ValueError(f'map_size range {map_size} holds no odd size')
    self.team_size = team_size
    self.num_players = 2 * team_size
    self.episode_length = episode_length
    self._wall_density = wall_density
    self._rules = rules
    self._renderer = rendering.Renderer(view_size, pixels_per_cell)
    self._rng = np.random.default_rng(seed)
    self.game: Optional[game_lib.Game] = None
    self._done = True

  def _new_map(self) -> maps.CtfMap:
    size = int(self._rng.choice(self._sizes))
    return maps.generate(self._rng, size, self._wall_density,
                         spawns_per_team=max(6, self.team_size + 2))

  def reset(self) -> dm_env.TimeStep:
    self.game = game_lib.Game(self._new_map(), self.team_size, self._rules)
    self._renderer.reset(self.game)
    self._done = False
    return dm_env.TimeStep(dm_env.StepType.FIRST, self._zero_events(), np.float32(1.0),
                           self._renderer.observations(self.game))

  def step(self, actions) -> dm_env.TimeStep:
    if self._done:
      return self.reset()
    events = self.game.step(np.asarray(actions).reshape(-1))
    observation = self._renderer.observations(self.game)
    if self.game.t >= self.episode_length:
      self._done = True
      return dm_env.TimeStep(dm_env.StepType.LAST, events, np.float32(0.0), observation)
    return dm_env.TimeStep(dm_env.StepType.MID, events, np.float32(1.0), observation)

  def _zero_events(self) -> np.ndarray:
    return np.zeros((self.num_players, game_lib.NUM_EVENTS), np.float32)

  def get_outcome(self) -> float:
    return self.game.outcome()

  @property
  def scores(self) -> Tuple[int, int]:
    return tuple(self.game.scores)

  def observation_spec(self):
    return specs.Array((self.num_players,) + self._renderer.observation_shape, np.uint8,
                       'observation')

  def action_spec(self):
    return specs.BoundedArray((self.num_players,), np.int32, 0, game_lib.NUM_ACTIONS - 1,
                              'action')

  def reward_spec(self):
    return specs.Array((self.num_players, game_lib.NUM_EVENTS), np.float32, 'events')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')

  # What one seat sees and does: the spec of the agent that fills it.
  def seat_observation_spec(self):
    return specs.Array(self._renderer.observation_shape, np.uint8, 'observation')

  def seat_action_spec(self):
    return specs.DiscreteArray(game_lib.NUM_ACTIONS, np.int32, 'action')

  def seat_reward_spec(self):
    return specs.Array((game_lib.NUM_EVENTS,), np.float32, 'events')


# A scripted seat: policy(game, seat) -> action.
SeatPolicy = Callable[[game_lib.Game, int], int]


class SingleSeat(dm_env.Environment):
  """Seat `seat` of an arena as a single-agent environment; `others` play the other seats.

  Observation uint8 [S, S, 3], action a scalar in [0, 8), reward the seat's float32 [13] events.
  """

  def __init__(self, arena: CaptureTheFlag, seat: int, others: Dict[int, SeatPolicy]):
    expected = set(range(arena.num_players)) - {seat}
    if set(others) != expected:
      raise ValueError(f'others must play seats {sorted(expected)}, got {sorted(others)}')
    self.arena = arena
    self.seat = seat
    self._others = others

  def _seat_view(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    return timestep._replace(observation=timestep.observation[self.seat],
                             reward=timestep.reward[self.seat])

  def reset(self) -> dm_env.TimeStep:
    return self._seat_view(self.arena.reset())

  def step(self, action) -> dm_env.TimeStep:
    actions = np.zeros(self.arena.num_players, np.int32)
    actions[self.seat] = int(action)
    for other, policy in self._others.items():
      actions[other] = policy(self.arena.game, other)
    return self._seat_view(self.arena.step(actions))

  def get_outcome(self) -> float:
    return self.arena.get_outcome()

  def observation_spec(self):
    return self.arena.seat_observation_spec()

  def action_spec(self):
    return self.arena.seat_action_spec()

  def reward_spec(self):
    return self.arena.seat_reward_spec()

  def discount_spec(self):
    return self.arena.discount_spec()


def team_of_seat(seat: int, team_size: int) -> int:
  return seat // team_size


def seat_won(outcome: float, seat: int, team_size: int) -> float:
  """1 if the team of `seat` won, 0.5 on a draw, 0 if it lost."""
  team1_score = 1.0 - outcome
  return team1_score if team_of_seat(seat, team_size) == 0 else 1.0 - team1_score


def seats(team_size: int) -> Sequence[int]:
  return range(2 * team_size)
