"""The rules of grid-world capture the flag (spec 7.2), as plain Python state and one `step`.

Seats 0..n-1 are team 0 (the original's "team 1": outcome 0.0 means it won), seats n..2n-1 team
1. Each step, in this order: respawns, turns, tags (resolved together from the positions before
anyone moves), moves (seat order, reversed on odd steps so neither team always goes first), flag
pick-ups, returns and captures, then dropped-flag timers. Each seat gets a vector of the 13 game
events of the step, which internal rewards weight.
"""

import dataclasses
from typing import List, Optional, Sequence

import numpy as np

from environments.ctf import maps

ACTION_NAMES = ('noop', 'forward', 'backward', 'strafe_left', 'strafe_right', 'turn_left',
                'turn_right', 'tag')
NOOP, FORWARD, BACKWARD, STRAFE_LEFT, STRAFE_RIGHT, TURN_LEFT, TURN_RIGHT, TAG = range(8)
NUM_ACTIONS = len(ACTION_NAMES)
# Move actions as a turn relative to the facing direction (0 ahead, 1 right, 2 behind, 3 left).
_MOVE_OFFSET = {FORWARD: 0, STRAFE_RIGHT: 1, BACKWARD: 2, STRAFE_LEFT: 3}
MOVE_FOR_OFFSET = {offset: action for action, offset in _MOVE_OFFSET.items()}

EVENT_NAMES = (
    'i_picked_up_flag', 'i_captured', 'i_returned_flag', 'i_tagged_carrier',
    'i_tagged_opponent', 'i_was_tagged_with_flag', 'i_was_tagged',
    'teammate_picked_up_flag', 'teammate_captured', 'teammate_returned_flag',
    'opponent_picked_up_flag', 'opponent_captured', 'opponent_returned_flag')
NUM_EVENTS = len(EVENT_NAMES)
(PICKUP, CAPTURE, RETURN, TAG_CARRIER, TAG_OPPONENT, TAGGED_WITH_FLAG, TAGGED,
 TEAMMATE_PICKUP, TEAMMATE_CAPTURE, TEAMMATE_RETURN,
 OPPONENT_PICKUP, OPPONENT_CAPTURE, OPPONENT_RETURN) = range(NUM_EVENTS)
# The prior of the internal rewards (spec 2.7): each event's sign (good or bad for the seat
# that sees it) and its weight relative to the others before evolution. Flag events outweigh
# tags: with equal weights, tagging (many times as frequent as a pick-up under a random policy)
# is all that agents first learn, and they never start capturing. The opponent's flag events
# weigh half of one's own: against the flag-rusher, who captures about 9 times a match, larger
# penalties taught agents to stay home and unlearn attacking.
EVENT_REWARD_SCALES = (1.0, 2.0, 0.5, 0.5, 0.2, -0.3, -0.1, 0.3, 1.0, 0.3, -0.2, -0.5, -0.1)

AT_BASE, CARRIED, DROPPED = range(3)


@dataclasses.dataclass(frozen=True)
class Rules:
  tag_range: int = 4
  respawn_steps: int = 10
  flag_return_steps: int = 40
  tag_cooldown: int = 3

  def validate(self):
    for name in ('tag_range', 'respawn_steps', 'flag_return_steps'):
      if getattr(self, name) < 1:
        raise ValueError(f'{name} must be at least 1, got {getattr(self, name)}')
    if self.tag_cooldown < 0:
      raise ValueError(f'tag_cooldown must not be negative, got {self.tag_cooldown}')


@dataclasses.dataclass
class Player:
  team: int
  position: Optional[maps.Cell]  # None while waiting to respawn.
  facing: int  # Index into maps.MOVES: 0 north, 1 east, 2 south, 3 west.
  respawn_timer: int = 0
  carrying: bool = False  # Holds the enemy flag.
  cooldown: int = 0

  @property
  def alive(self) -> bool:
    return self.position is not None


@dataclasses.dataclass
class Flag:
  base: maps.Cell
  state: int = AT_BASE
  position: Optional[maps.Cell] = None  # The cell where it lies, unless carried.
  carrier: Optional[int] = None
  timer: int = 0

  def __post_init__(self):
    self.position = self.base

  def reset(self):
    self.state, self.position, self.carrier, self.timer = AT_BASE, self.base, None, 0


class Game:
  """One match on one map. `step(actions)` returns the events [num_players, NUM_EVENTS]."""

  def __init__(self, ctf_map: maps.CtfMap, team_size: int, rules: Rules = Rules()):
    if not 1 <= team_size <= min(len(s) for s in ctf_map.spawns):
      raise ValueError(f'team_size must be between 1 and the number of spawn cells, got '
                       f'{team_size}')
    rules.validate()
    self.map = ctf_map
    self.team_size = team_size
    self.rules = rules
    self.flags = [Flag(ctf_map.bases[0]), Flag(ctf_map.bases[1])]
    self.players: List[Player] = []
    for team in (0, 1):
      for k in range(team_size):
        self.players.append(Player(team=team, position=ctf_map.spawns[team][k],
                                   facing=self._spawn_facing(team)))
    self.scores = [0, 0]
    self.t = 0

  @property
  def num_players(self) -> int:
    return len(self.players)

  @staticmethod
  def _spawn_facing(team: int) -> int:
    return 1 if team == 0 else 3  # Towards the enemy base.

  def occupant(self, cell: maps.Cell) -> Optional[int]:
    for index, player in enumerate(self.players):
      if player.position == cell:
        return index
    return None

  def teammates(self, seat: int) -> List[int]:
    team = self.players[seat].team
    return [i for i, p in enumerate(self.players) if p.team == team and i != seat]

  def opponents(self, seat: int) -> List[int]:
    team = self.players[seat].team
    return [i for i, p in enumerate(self.players) if p.team != team]

  def outcome(self) -> float:
    """0.0 if team 0 has more captures, 1.0 if team 1 has, 0.5 on a draw."""
    if self.scores[0] == self.scores[1]:
      return 0.5
    return 0.0 if self.scores[0] > self.scores[1] else 1.0

  def tag_target(self, seat: int) -> Optional[int]:
    """The opponent a tag by `seat` would hit now: the first player ahead within range and sight."""
    player = self.players[seat]
    if not player.alive:
      return None
    dr, dc = maps.MOVES[player.facing]
    r, c = player.position
    for k in range(1, self.rules.tag_range + 1):
      cell = (r + k * dr, c + k * dc)
      if not self.map.is_open(cell):
        return None
      other = self.occupant(cell)
      if other is not None:
        return other if self.players[other].team != player.team else None
    return None

  def step(self, actions: Sequence[int]) -> np.ndarray:
    actions = [int(a) for a in actions]
    if len(actions) != self.num_players:
      raise ValueError(f'expected {self.num_players} actions, got {len(actions)}')
    events = np.zeros((self.num_players, NUM_EVENTS), np.float32)
    self._respawn()
    for player, action in zip(self.players, actions):
      player.cooldown = max(0, player.cooldown - 1)
      if player.alive and action == TURN_LEFT:
        player.facing = (player.facing + 3) % 4
      elif player.alive and action == TURN_RIGHT:
        player.facing = (player.facing + 1) % 4
    self._tags(actions, events)
    order = range(self.num_players) if self.t % 2 == 0 else reversed(range(self.num_players))
    order = list(order)
    for seat in order:
      self._move(seat, actions[seat])
    for seat in order:
      self._flag_rules(seat, events)
    for flag in self.flags:
      if flag.state == DROPPED:
        flag.timer -= 1
        if flag.timer <= 0:
          flag.reset()
    self.t += 1
    return events

  def _respawn(self):
    for player in self.players:
      if player.alive:
        continue
      player.respawn_timer -= 1
      if player.respawn_timer > 0:
        continue
      for cell in self.map.spawns[player.team]:
        if self.occupant(cell) is None:
          player.position, player.facing = cell, self._spawn_facing(player.team)
          break

  def _tags(self, actions: Sequence[int], events: np.ndarray):
    hits = []
    for seat, action in enumerate(actions):
      player = self.players[seat]
      if action != TAG or not player.alive or player.cooldown > 0:
        continue
      player.cooldown = self.rules.tag_cooldown
      target = self.tag_target(seat)
      if target is not None:
        hits.append((seat, target))
    for tagger, victim in hits:
      carried = self.players[victim].carrying
      events[tagger, TAG_CARRIER if carried else TAG_OPPONENT] = 1.0
      events[victim, TAGGED_WITH_FLAG if carried else TAGGED] = 1.0
    for victim in sorted({victim for _, victim in hits}):
      player = self.players[victim]
      if player.carrying:
        self._drop(self.flags[1 - player.team], player.position)
        player.carrying = False
      player.position = None
      player.respawn_timer = self.rules.respawn_steps

  def _drop(self, flag: Flag, cell: maps.Cell):
    if cell == flag.base:
      flag.reset()
    else:
      flag.state, flag.position, flag.carrier = DROPPED, cell, None
      flag.timer = self.rules.flag_return_steps

  def _move(self, seat: int, action: int):
    player = self.players[seat]
    if not player.alive or action not in _MOVE_OFFSET:
      return
    dr, dc = maps.MOVES[(player.facing + _MOVE_OFFSET[action]) % 4]
    target = (player.position[0] + dr, player.position[1] + dc)
    if self.map.is_open(target) and self.occupant(target) is None:
      player.position = target

  def _broadcast(self, events: np.ndarray, seat: int, mine: int, teammate: int, opponent: int):
    events[seat, mine] = 1.0
    for other in self.teammates(seat):
      events[other, teammate] = 1.0
    for other in self.opponents(seat):
      events[other, opponent] = 1.0

  def _flag_rules(self, seat: int, events: np.ndarray):
    player = self.players[seat]
    if not player.alive:
      return
    own, enemy = self.flags[player.team], self.flags[1 - player.team]
    if not player.carrying and enemy.state != CARRIED and enemy.position == player.position:
      enemy.state, enemy.carrier, enemy.position = CARRIED, seat, None
      player.carrying = True
      self._broadcast(events, seat, PICKUP, TEAMMATE_PICKUP, OPPONENT_PICKUP)
    if own.state == DROPPED and own.position == player.position:
      own.reset()
      self._broadcast(events, seat, RETURN, TEAMMATE_RETURN, OPPONENT_RETURN)
    if player.carrying and player.position == own.base and own.state == AT_BASE:
      self.scores[player.team] += 1
      enemy.reset()
      player.carrying = False
      self._broadcast(events, seat, CAPTURE, TEAMMATE_CAPTURE, OPPONENT_CAPTURE)

  def flag_position(self, team: int) -> maps.Cell:
    """Where team's flag is now: its cell, or its carrier's cell."""
    flag = self.flags[team]
    if flag.state == CARRIED:
      return self.players[flag.carrier].position
    return flag.position


def relative_move(facing: int, direction: int) -> int:
  """The action that moves a player facing `facing` one cell in world `direction`."""
  return MOVE_FOR_OFFSET[(direction - facing) % 4]


def describe_events(events: np.ndarray) -> List[str]:
  return [EVENT_NAMES[i] for i in np.nonzero(events)[0]]
