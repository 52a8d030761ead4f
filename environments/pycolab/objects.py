"""What both TVT pycolab tasks share (spec section 1): phases, colours, sprites and the apples.

Every random choice goes through the `numpy.random.RandomState` of the environment that builds
the episode, so one seed fixes an environment's whole stream of episodes.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from pycolab import things
from pycolab.prefab_parts import sprites as prefab_sprites

# Actions (spec 1.2). The negative codes are for people only.
NORTH, SOUTH, WEST, EAST = 0, 1, 2, 3
NUM_ACTIONS = 4
DELAY = -1  # A person's "no key pressed": the frame advances, nobody moves.

PHASE_NAMES = ('explore', 'distractor', 'reward')
DEFAULT_MAX_FRAMES_PER_PHASE = {'explore': 15, 'distractor': 90, 'reward': 15}
APPLE_RESPAWN_FRAMES = 20  # An eaten apple is back once the frame exceeds pickup + 20.

PLAYER = '+'
WALL = '#'
FLOOR = ' '
KEY = 'k'
DOOR = 'd'
APPLE = 'a'
INDICATOR = 'i'
TIMER = 't'
COLOUR_SQUARES = ('b', 'c', 'e')

# Colours on pycolab's 0-1000 scale (spec 1.3); `b`, `c` and `e` are added per environment.
FIXED_COLOURS = {
    PLAYER: (898, 584, 430),
    WALL: (100, 100, 100),
    FLOOR: (800, 800, 800),
    KEY: (627, 321, 176),
    DOOR: (529, 808, 922),
    APPLE: (550, 700, 0),
    INDICATOR: (1000, 1000, 1000),
}
PRIMARY_COLOURS = ((1000, 0, 0), (0, 1000, 0), (0, 0, 1000))  # Hues 0, 1/3, 2/3.

# The distractor room: 22 checkerboard apple cells, player start at (5, 5).
APPLE_DISTRACTOR_GRID = (
    '###########',
    '#a a a a a#',
    '# a a a a #',
    '#a a a a a#',
    '# a a a a #',
    '#a a + a a#',
    '###########',
)
APPLE_DISTRACTOR_GRID_CELLS = sum(row.count(APPLE) for row in APPLE_DISTRACTOR_GRID)  # 22.


def to_uint8(colour: Tuple[int, int, int]) -> Tuple[int, int, int]:
  """0-1000 scale to uint8 the way the release renders: x * 255 / 1000, truncated."""
  return tuple(int(c * 255 / 1000) for c in colour)


def shuffled_square_colours(rng: np.random.RandomState) -> Dict[str, Tuple[int, int, int]]:
  """Red, green and blue assigned to `b`, `c`, `e` in a random order (once per environment)."""
  order = rng.permutation(len(PRIMARY_COLOURS))
  return {symbol: PRIMARY_COLOURS[i] for symbol, i in zip(COLOUR_SQUARES, order)}


def keep_n_characters(grid: Sequence[str], character: str, n: int,
                      rng: np.random.RandomState, replacement: str = FLOOR) -> Tuple[str, ...]:
  """Keeps `n` of the cells holding `character`, chosen uniformly; the rest become `replacement`."""
  cells = [(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == character]
  if n > len(cells):
    raise ValueError(f'cannot keep {n} {character!r} cells: the grid has only {len(cells)}')
  keep = {cells[i] for i in rng.choice(len(cells), size=n, replace=False)}
  rows = [list(row) for row in grid]
  for cell in cells:
    if cell not in keep:
      rows[cell[0]][cell[1]] = replacement
  return tuple(''.join(row) for row in rows)


class PlayerSprite(prefab_sprites.MazeWalker):
  """The agent: one cell per action in the four directions, stopped by impassable cells.

  `impassable_without_key` is what blocks the player while the plot's `has_key` flag is unset;
  the characters in `key_opens` stop blocking once it is set (the door of key_to_door).
  """

  def __init__(self, corner, position, character, impassable_without_key: str,
               key_opens: str = ''):
    super().__init__(corner, position, character, impassable_without_key,
                     confined_to_board=True)
    self._closed = frozenset(impassable_without_key)
    self._opened = frozenset(set(impassable_without_key) - set(key_opens))

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del layers, backdrop, things_
    the_plot.add_reward(0.0)  # Every step reports a float reward, 0.0 when nothing happens.
    self._impassable = set(self._opened if the_plot.get('has_key') else self._closed)
    if actions == NORTH:
      self._north(board, the_plot)
    elif actions == SOUTH:
      self._south(board, the_plot)
    elif actions == WEST:
      self._west(board, the_plot)
    elif actions == EAST:
      self._east(board, the_plot)
    # None (the first frame) and DELAY leave the player in place.


class TimerSprite(things.Sprite):
  """Invisible, updated last: ends the phase once its frame counter reaches `max_frames`."""

  def __init__(self, corner, position, character, max_frames: int):
    super().__init__(corner, position, character)
    self._visible = False
    self._max_frames = max_frames

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop, things_
    if the_plot.frame >= self._max_frames:
      the_plot.terminate_episode()


class AppleDrape(things.Drape):
  """Apples that give a reward when the player steps on them and grow back 21 frames later.

  `apple_reward` is (min, max). With `fix_apple_reward_in_episode` one value, min or max with
  equal probability, is drawn for the whole episode (spec 1.6: the endpoints, never a value in
  between); otherwise each apple's reward is drawn from Uniform[min, max).
  """

  def __init__(self, curtain, character, apple_reward: Tuple[float, float],
               fix_apple_reward_in_episode: bool, rng: np.random.RandomState):
    super().__init__(curtain, character)
    self._low, self._high = apple_reward
    self._rng = rng
    self._episode_reward = (float(rng.choice([self._low, self._high]))
                            if fix_apple_reward_in_episode else None)
    self._eaten_at: Dict[Tuple[int, int], int] = {}

  def _reward(self) -> float:
    if self._episode_reward is not None:
      return self._episode_reward
    return float(self._rng.uniform(self._low, self._high))

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop
    for cell, frame in list(self._eaten_at.items()):
      if the_plot.frame > frame + APPLE_RESPAWN_FRAMES:
        self.curtain[cell] = True
        del self._eaten_at[cell]
    cell = tuple(things_[PLAYER].position)
    if self.curtain[cell]:
      self.curtain[cell] = False
      self._eaten_at[cell] = the_plot.frame
      the_plot.add_reward(self._reward())


def distractor_phase_art(num_apples: int, rng: np.random.RandomState) -> Tuple[str, ...]:
  """The apple room with `num_apples` of its 22 candidate cells kept."""
  return keep_n_characters(APPLE_DISTRACTOR_GRID, APPLE, num_apples, rng)


def episode_length(max_frames_per_phase: Optional[Dict[str, int]] = None) -> int:
  frames = max_frames_per_phase or DEFAULT_MAX_FRAMES_PER_PHASE
  return sum(frames[name] for name in PHASE_NAMES)
