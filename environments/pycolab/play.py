r"""Play a TVT pycolab task in the terminal.

  python -m environments.pycolab.play key_to_door
  python -m environments.pycolab.play active_visual_match --seed=3
  python -m environments.pycolab.play key_to_door --nocrop    # see the whole board

Arrow keys move (one key press = one step), space or '.' waits a step, q quits. You see what
the agent sees (the 5x5 view around you, in the game's colours, each cell labelled with its
symbol), with you drawn on top of whatever you stand on (the opened door hides you from the
agent), a legend of the symbols beside it, and under it the phase, the step within the phase
and the rewards so far.
"""

import argparse
import curses
import sys
from typing import Dict, List

from environments import terminal
from environments.pycolab import env as pycolab_env
from environments.pycolab import objects

KEYS = {terminal.UP: objects.NORTH, terminal.DOWN: objects.SOUTH,
        terminal.LEFT: objects.WEST, terminal.RIGHT: objects.EAST,
        ' ': objects.DELAY, '.': objects.DELAY}
QUIT_KEYS = ('q', 'Q')
# (symbols, meaning) per game, shown beside the board; symbols '' continue the line above.
LEGENDS = {
    'key_to_door': (
        (objects.PLAYER, 'you'),
        (objects.WALL, 'wall'),
        (objects.KEY, 'the key (phase 1): step on it to take it'),
        (objects.INDICATOR, 'lights up as you take the key'),
        (objects.APPLE, 'apple (phase 2): a reward'),
        (objects.DOOR, 'door (phase 3): with the key, the final reward')),
    'active_visual_match': (
        (objects.PLAYER, 'you'),
        (objects.WALL, 'wall'),
        (' '.join(objects.COLOUR_SQUARES), 'colour squares: remember the one in a wall'),
        ('', '(phase 1), touch its colour (phase 3)'),
        (objects.APPLE, 'apple (phase 2): a reward')),
}
_LEGEND_GAP = 3  # Columns between the board and the legend.
_BASIC = {curses.COLOR_BLACK: (0, 0, 0), curses.COLOR_RED: (255, 0, 0),
          curses.COLOR_GREEN: (0, 255, 0), curses.COLOR_YELLOW: (255, 255, 0),
          curses.COLOR_BLUE: (0, 0, 255), curses.COLOR_MAGENTA: (255, 0, 255),
          curses.COLOR_CYAN: (0, 255, 255), curses.COLOR_WHITE: (255, 255, 255)}


def _colour_pairs(colours: Dict[str, tuple]) -> Dict[str, int]:
  """A curses colour pair per symbol: its own colour where the terminal can define colours,
  else the nearest of the 8 basic ones; black or white text, whichever reads better."""
  pairs = {}
  if not curses.has_colors():
    return pairs
  curses.start_color()
  custom = curses.can_change_color() and curses.COLORS >= 16 + len(colours)
  for i, (symbol, rgb) in enumerate(sorted(colours.items())):
    if custom:
      background = 16 + i
      curses.init_color(background, *(int(c * 1000 / 255) for c in rgb))
    else:
      background = min(_BASIC, key=lambda c: sum((a - b) ** 2 for a, b in zip(_BASIC[c], rgb)))
    text = curses.COLOR_BLACK if sum(rgb) > 380 else curses.COLOR_WHITE
    curses.init_pair(i + 1, text, background)
    pairs[symbol] = curses.color_pair(i + 1)
  return pairs


class Game:
  """The state shown on screen: the environment, its last timestep and the rewards."""

  def __init__(self, env: pycolab_env.PycolabEnvironment):
    self.env = env
    self.timestep = env.reset()
    self.episode_reward = 0.0
    self.episodes = []  # (episode reward, last-phase reward) of every finished episode.

  def act(self, action: int):
    if self.timestep.last():
      self.timestep = self.env.reset()
      self.episode_reward = 0.0
      return
    self.timestep = self.env.step(action)
    self.episode_reward += float(self.timestep.reward)
    if self.timestep.last():
      self.episodes.append((self.episode_reward, self.env.last_phase_reward()))

  def status_lines(self):
    env, timestep = self.env, self.timestep
    lengths = env.phase_lengths
    if timestep.last():
      return [f'episode over: reward {self.episode_reward:g}, last-phase reward '
              f'{env.last_phase_reward():g}',
              'any key: next episode, q: quit']
    phase = env.phase
    steps_before = sum(lengths[:phase])
    step_in_phase = env.steps_taken - steps_before
    return [f'phase {phase + 1}/3: {objects.PHASE_NAMES[phase]}   step {step_in_phase}/'
            f'{lengths[phase]}',
            f'reward this step {float(timestep.reward):g}   episode reward '
            f'{self.episode_reward:g}   last-phase reward {env.last_phase_reward():g}']


def shown_board(env: pycolab_env.PycolabEnvironment) -> List[str]:
  """The symbols of the view as the screen shows them: the agent's, with the player on top.

  The observation keeps the release's drawing order, in which the opened door (a sprite above
  the player) hides the player standing on it; a person needs to see where they are.
  """
  rows = [[chr(code) for code in row] for row in env.board()]
  row, column = env.player_view_position()
  rows[row][column] = objects.PLAYER
  return [''.join(symbols) for symbols in rows]


def _draw(screen, game: Game, pairs: Dict[str, int], title: str):
  screen.clear()  # A full repaint: every line is re-sent (readable by scripts, no stale cells).
  terminal.put(screen, 0, 0, title)
  board = shown_board(game.env)
  for r, row in enumerate(board):
    for c, symbol in enumerate(row):
      terminal.put(screen, 2 + r, 2 + 2 * c, f'{symbol} ', pairs.get(symbol, curses.A_NORMAL))
  column = 2 + 2 * len(board[0]) + _LEGEND_GAP
  for r, (symbols, meaning) in enumerate(LEGENDS[game.env.name]):
    for i, symbol in enumerate(symbols.split()):
      terminal.put(screen, 2 + r, column + 2 * i, symbol, pairs.get(symbol, curses.A_NORMAL))
    terminal.put(screen, 2 + r, column + 6, meaning)
  for i, line in enumerate(game.status_lines()):
    terminal.put(screen, 3 + len(board) + i, 0, line)
  screen.refresh()


def play(screen, game: Game, title: str):
  try:
    curses.curs_set(0)
  except curses.error:
    pass  # A terminal that cannot hide its cursor shows it.
  screen.keypad(True)
  pairs = _colour_pairs(game.env.colours)
  while True:
    _draw(screen, game, pairs, title)
    key = terminal.read_key(screen)
    if key is None:
      continue
    if key in QUIT_KEYS:
      return
    if game.timestep.last():
      game.act(objects.DELAY)  # Any key starts the next episode.
    elif key in KEYS:
      game.act(KEYS[key])


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('game', nargs='?', default='key_to_door', choices=sorted(pycolab_env.GAMES))
  parser.add_argument('--seed', type=int, default=None, help='Seed of the layouts.')
  parser.add_argument('--nocrop', action='store_true',
                      help='Show the whole board (key_to_door only).')
  args = parser.parse_args(argv)
  try:
    env = pycolab_env.PycolabEnvironment(args.game, crop=not args.nocrop, seed=args.seed)
  except ValueError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(2)
  game = Game(env)
  title = f'TVT pycolab: {args.game}   arrows move, space waits, q quits'
  try:
    curses.wrapper(play, game, title)
  except KeyboardInterrupt:
    pass
  for i, (reward, last_phase) in enumerate(game.episodes):
    print(f'episode {i + 1}: reward {reward:g}, last-phase reward {last_phase:g}')


if __name__ == '__main__':
  main()
