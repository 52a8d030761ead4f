"""Playing capture the flag in the terminal against bots and trained members.

`Match` steps one match for seat 0 (yours) with bots or checkpointed members in the other seats;
`play_in_terminal` plays it on a curses screen, one key press a step, and `play` from lines of
keys (when the keys come from a pipe or a script); `load_member_seats` restores members of an
FTW run directory to fill seats.
"""

import curses
from typing import Dict, List, Optional, Tuple

import numpy as np

import environments
from agents.core import run_dir as run_dir_lib
from environments import ctf
from environments import terminal
from environments.ctf import game as game_lib
from environments.ctf import rendering

# The letter keys, the same on the curses screen and in lines. Turning left was `q` until `q`
# became quit, as in the pycolab play; it is `z` now.
KEYS = {'w': game_lib.FORWARD, 's': game_lib.BACKWARD, 'a': game_lib.STRAFE_LEFT,
        'd': game_lib.STRAFE_RIGHT, 'z': game_lib.TURN_LEFT, 'e': game_lib.TURN_RIGHT,
        ' ': game_lib.TAG, '.': game_lib.NOOP}
ARROWS = {terminal.UP: game_lib.FORWARD, terminal.DOWN: game_lib.BACKWARD,
          terminal.LEFT: game_lib.STRAFE_LEFT, terminal.RIGHT: game_lib.STRAFE_RIGHT}
QUIT_KEYS = ('q',)
LINE_QUIT_KEYS = ('q', 'x')  # `x` quit lines of keys before `q` did; on the screen it
# is not a quit key, being next to `z`.
KEY_HELP = (('arrows', 'forward, back, strafe left, right'),
            ('w s a d', 'the same (moves are relative to your facing)'),
            ('z e', 'turn left, right'),
            ('space', 'tag the opponent ahead of you'),
            ('.', 'wait a step'),
            ('q', 'quit'))
_LEGEND_GAP = 3  # Columns between the map and the legend.
_MEANING_COLUMN = 8  # Where a meaning starts, from the legend's column.


def help_lines(arena: ctf.CaptureTheFlag) -> List[str]:
  """The legend and the keys as lines of text (what the line-based play prints first)."""
  return ([f'{symbols:{_MEANING_COLUMN}}{meaning}' for symbols, meaning in legend(arena)] +
          [''] + [f'{keys:{_MEANING_COLUMN}}{meaning}' for keys, meaning in KEY_HELP])


def legend(arena: ctf.CaptureTheFlag) -> List[Tuple[str, str]]:
  """(symbol, meaning) of everything the map shows, for seat 0."""
  teammates = ' '.join(str(s) for s in range(1, arena.team_size))
  opponents = ' '.join(str(s) for s in range(arena.team_size, arena.num_players))
  entries = [('@', 'you (facing ^ > v < on the status line)'),
             ('#', 'wall'),
             ('.', 'floor'),
             ('A', 'your base: bring the enemy flag here'),
             ('B', 'the enemy base'),
             ('a', 'your flag, on the ground (on A when home)'),
             ('b', 'the enemy flag, on the ground'),
             (opponents, 'opponents, by seat')]
  if teammates:
    entries.append((teammates, 'your teammates, by seat'))
  return entries


class Match:
  """One match: seat 0 acts by the keys given to `step`, `players` act for the other seats."""

  def __init__(self, arena: ctf.CaptureTheFlag, players):
    self.arena = arena
    self.players = players
    self.timestep = arena.reset()
    self.events: List[str] = []  # Seat 0's events of the last step.
    self._previous = np.zeros(arena.num_players, np.int32)

  @property
  def over(self) -> bool:
    return self.timestep.last()

  def step(self, action: int):
    """Seat 0 takes `action`, every other seat its player's action, and the game steps once."""
    arena, timestep = self.arena, self.timestep
    actions = np.zeros(arena.num_players, np.int32)
    actions[0] = action
    for seat, player in self.players.items():
      if isinstance(player, MemberSeat):
        actions[seat] = player.act(timestep, self._previous[seat], timestep.reward[seat])
      else:
        actions[seat] = player(arena.game, seat)
    self.timestep = arena.step(actions)
    self._previous = actions
    self.events = game_lib.describe_events(self.timestep.reward[0])

  def map_text(self) -> str:
    """The map (you are '@') and the status line under it."""
    return rendering.ascii_map(self.arena.game, seat=0)

  def where_you_are(self) -> str:
    you = self.arena.game.players[0]
    if not you.alive:
      return f'you were tagged: back in {you.respawn_timer} steps'
    return (f'you: row {you.position[0]} column {you.position[1]} facing '
            f'{"^>v<"[you.facing]}{", carrying the flag" if you.carrying else ""}')

  def outcome(self) -> float:
    return self.arena.get_outcome()

  def result(self) -> str:
    result = {0.0: 'you won', 0.5: 'a draw', 1.0: 'you lost'}[self.outcome()]
    return f'final score {self.arena.scores[0]}:{self.arena.scores[1]}: {result}'


class MemberSeat:
  """A checkpointed member acting for one seat from that seat's OAR observations."""

  def __init__(self, network, seat: int, seed: int):
    from agents.ftw import acting  # pylint: disable=g-import-not-at-top
    self._actor = acting.FtwActor(network, seed=seed)
    self._seat = seat
    self._first = True

  def act(self, timestep, previous_action: int, previous_events: np.ndarray) -> int:
    from agents.ftw import networks  # pylint: disable=g-import-not-at-top
    if self._first:
      self._actor.observe_first(timestep)
      self._first = False
    observation = networks.OAR(timestep.observation[self._seat], np.int32(previous_action),
                               previous_events)
    return int(self._actor.select_action(observation))


def load_member_seats(run_dir: str, arena_id: str, members: Dict[int, int],
                      seed: int) -> Dict[int, MemberSeat]:
  """{seat: member's checkpointed policy} for `members` {seat: member index} of `run_dir`.

  Raises ValueError (with one line for the user) when the run directory cannot provide them.
  """
  from agents.ftw import config as config_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import evaluation  # pylint: disable=g-import-not-at-top
  run_config = run_dir_lib.read_config(run_dir)
  if run_config is None:
    raise ValueError(f'{run_dir} holds no FTW run (no {run_dir_lib.RUN_CONFIG})')
  if run_config['arena'] != arena_id:
    raise ValueError(f'the members of {run_dir} were trained on {run_config["arena"]}, not '
                     f'{arena_id}')
  agent_config = config_lib.FtwConfig(**{
      k: tuple(v) if isinstance(v, list) else v for k, v in run_config['agent'].items()
      if k != 'uint_pixels_to_float'})  # A field of older runs' configs.
  population = run_config['population_size']
  for member in members.values():
    if not 0 <= member < population:
      raise ValueError(f'member {member} is not in the population of {population}')
  factory = environments.make_factory(arena_id, **run_config['arena_kwargs'])
  try:
    policies = evaluation.restore_policies(run_dir, factory, agent_config, population)
  except FileNotFoundError as error:
    raise ValueError(str(error)) from None
  return {seat: MemberSeat(policies.network(member), seat, seed + seat)
          for seat, member in members.items()}


def play(arena: ctf.CaptureTheFlag, players, read_line, write) -> Optional[float]:
  """The match from lines of keys (`read_line()`: the next line, None at the end of input).

  Each key of a line is one step, an empty line waits a step, and a line with an unknown key is
  refused whole. A quit key (or the end of input) ends the match after the keys before it.
  Returns the outcome (0.0 you won, 0.5 a draw, 1.0 you lost), or None when you quit.
  """
  match = Match(arena, players)
  write(match.map_text())
  pending = []
  while not match.over:
    if not pending:
      line = read_line()
      if line is None:
        pending = [None]
      else:
        line = line.rstrip('\n')
        unknown = sorted({k for k in line if k not in KEYS and k not in LINE_QUIT_KEYS})
        if unknown:
          write(f'unknown keys {"".join(unknown)!r}; use w s a d z e, space, ., q')
          continue
        pending = [None if k in LINE_QUIT_KEYS else KEYS[k] for k in line] or [game_lib.NOOP]
    action = pending.pop(0)
    if action is None:
      write('quit')
      return None
    match.step(action)
    write(match.map_text() +
          (f'\nyour events: {", ".join(match.events)}' if match.events else ''))
  write(match.result())
  return match.outcome()


def play_in_terminal(screen, match: Match) -> Optional[float]:
  """The match on a curses screen, one key press a step (`curses.wrapper(play_in_terminal,
  match)`); the screen shows the map, the status, your events, the keys and a legend.

  Returns the outcome once the match is over and a key is pressed, or None when you quit.
  """
  try:
    curses.curs_set(0)
  except curses.error:
    pass  # A terminal that cannot hide its cursor shows it.
  screen.keypad(True)
  message = ''
  while True:
    _draw(screen, match, message)
    key = terminal.read_key(screen)
    if key is None:
      continue
    if key in QUIT_KEYS:
      return None
    if match.over:
      return match.outcome()
    action = ARROWS.get(key, KEYS.get(key))
    if action is None:
      message = f'unknown key {key!r}'
      continue
    message = ''
    match.step(action)


def _draw(screen, match: Match, message: str):
  """A full repaint of the screen: every line is re-sent, which scripts can read."""
  screen.clear()
  put = terminal.put
  put(screen, 0, 0, 'Capture the flag: you are @ (seat 0, team 0, base A)')
  lines = match.map_text().split('\n')
  grid, status = lines[:-1], lines[-1]
  for r, row in enumerate(grid):
    put(screen, 2 + r, 0, row)
  you = match.arena.game.players[0]
  if you.alive:  # Highlighted, so that you are never lost among the symbols.
    put(screen, 2 + you.position[0], you.position[1], '@', curses.A_REVERSE | curses.A_BOLD)
  beside = help_lines(match.arena)
  for r, line in enumerate(beside):
    put(screen, 2 + r, len(grid[0]) + _LEGEND_GAP, line)
  row = 2 + max(len(grid), len(beside)) + 1
  below = [status, match.where_you_are()]
  if match.events:
    below.append(f'your events: {", ".join(match.events)}')
  if match.over:
    below.append(f'{match.result()}   any key: exit')
  elif message:
    below.append(message)
  for i, line in enumerate(below):
    put(screen, row + i, 0, line)
  screen.refresh()
