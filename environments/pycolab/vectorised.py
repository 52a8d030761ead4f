"""key_to_door and active_visual_match for B environments at once, in numpy, without pycolab.

`VectorisedPycolabBatch` steps B copies of a task in lockstep with array operations and gives,
seed for seed, the episodes of B `env.PycolabEnvironment`s in an `environments.batched.
BatchedEnvironment`: the same images, rewards, discounts, step types and phases (checked by
tests/test_tvt_vectorised.py). It exists because pycolab's per-object Python updates made the
environments a bottleneck of TVT's batched A2C (benchmarks/tvt_throughput.py).

How it stays identical to pycolab:
* Randomness: each environment keeps the `RandomState(seed)` a `PycolabEnvironment` would own
  and makes the same calls on it in the same order (the colour shuffle at construction; per
  episode the target colour, then the layouts that pycolab's `Story` draws when it builds and
  checks every chapter, then those of the chapters really played; the apple rewards). Only
  these draws loop over environments, once per episode (or per apple eaten, when apple rewards
  are drawn per apple).
* Frames: a phase starts at frame 0 (pycolab's `its_showtime`); each action adds one; the
  player moves first (blocked by what the previous frame showed), then the key, apples, door
  or squares react, then the phase ends once its frame reaches the phase's length, and the
  next phase's first frame is what the agent sees.
* Drawing: the board is painted in pycolab's z-order (backdrop, apples, objects under the
  player, the player, the door or the squares over it) on a board padded by two cells, so the
  5x5 egocentric crop is a window of it; the padding reads as floor and blocks the player like
  the board's edge.
"""

from typing import Dict, List, Optional, Sequence

import dm_env
from dm_env import specs
import numpy as np

from environments.pycolab import active_visual_match
from environments.pycolab import env as pycolab_env
from environments.pycolab import key_to_door
from environments.pycolab import objects

ROWS, COLS = pycolab_env.BOARD_SHAPE
PAD = pycolab_env.CROP_SIZE // 2
# Padded board: PAD cells of `EDGE` round the board, plus one trash row at the bottom where
# invisible objects are painted (no crop, move or board read ever reaches it).
PADDED_ROWS, PADDED_COLS = ROWS + 2 * PAD + 1, COLS + 2 * PAD
PADDED_CELLS = PADDED_ROWS * PADDED_COLS
TRASH = (PADDED_ROWS - 1) * PADDED_COLS
EDGE = 1  # Padding: drawn as floor, impassable (pycolab's confined_to_board).
NEVER = np.iinfo(np.int64).max // 2  # Respawn frame of a cell without an eaten apple.

# Row, column change of each action; index -1 (a person's DELAY) and 4 stay in place.
_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], np.int64)


def _cells(grid: Sequence[str], character: str) -> np.ndarray:
  """(row, column) of every `character` in `grid`, row-major (keep_n_characters' order)."""
  return np.array([(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row)
                   if ch == character], np.int64).reshape(-1, 2)


def _codes(grid: Sequence[str], beneath: Dict[str, str]) -> np.ndarray:
  """`grid` as uint8 character codes, each character of a key of `beneath` drawn as its value."""
  table = str.maketrans({ch: by for chars, by in beneath.items() for ch in chars})
  return np.array([[ord(ch) for ch in row.translate(table)] for row in grid], np.uint8)


def _choose(rng: np.random.RandomState, num_cells: int, n: int) -> np.ndarray:
  """The draw of `objects.keep_n_characters`: which `n` of `num_cells` candidates stay."""
  return rng.choice(num_cells, size=n, replace=False)


class _Layout:
  """What one task's phases look like: backdrops, start cells, candidate cells, impassables."""

  def __init__(self, game: str):
    self.game = game
    distractor = objects.APPLE_DISTRACTOR_GRID
    self.apple_cells = _cells(distractor, objects.APPLE)
    self.distractor_start = _cells(distractor, objects.PLAYER)[0]
    if game == 'key_to_door':
      explore, reward = key_to_door.EXPLORE_GRID, key_to_door.REWARD_GRID
      self.explore_candidates = _cells(explore, objects.KEY)  # Where the key may lie.
      backdrops = [_codes(explore, {objects.KEY + objects.PLAYER: objects.FLOOR}),
                   _codes(distractor, {objects.APPLE + objects.PLAYER: objects.FLOOR}),
                   _codes(reward, {objects.PLAYER + objects.DOOR: objects.FLOOR})]
      self.door = _cells(reward, objects.DOOR)[0]
      self.indicator = np.array(key_to_door.INDICATOR_CELL, np.int64)
      # The player's impassable characters by phase, without and with the key.
      closed = objects.WALL + objects.INDICATOR + objects.DOOR
      impassable = [(closed, closed), (closed, closed),
                    (closed, closed.replace(objects.DOOR, ''))]
    else:
      explore, reward = active_visual_match.EXPLORE_GRID, active_visual_match.REWARD_GRID
      candidate = active_visual_match.SQUARE_CANDIDATE
      self.explore_candidates = _cells(explore, candidate)  # Wall cells for the square.
      # The square lies on a wall cell; the other candidates are walls.
      backdrops = [_codes(explore, {candidate: objects.WALL, objects.PLAYER: objects.FLOOR}),
                   _codes(distractor, {objects.APPLE + objects.PLAYER: objects.FLOOR}),
                   _codes(reward, {objects.PLAYER + ''.join(objects.COLOUR_SQUARES):
                                   objects.FLOOR})]
      self.squares = np.stack([_cells(reward, s)[0] for s in objects.COLOUR_SQUARES])
      # In the first phase the square (whichever colour) blocks; in the last ones none does.
      squares = ''.join(objects.COLOUR_SQUARES)
      impassable = [(objects.WALL + squares,) * 2, (objects.WALL,) * 2, (objects.WALL,) * 2]
    self.player_candidates = _cells(explore, objects.PLAYER)
    self.reward_start = _cells(reward, objects.PLAYER)[0]
    self.backdrops = np.full((3, PADDED_ROWS, PADDED_COLS), EDGE, np.uint8)
    for phase, backdrop in enumerate(backdrops):
      self.backdrops[phase, PAD:PAD + ROWS, PAD:PAD + COLS] = backdrop
    # impassable[phase, has_key, code]; the padding blocks in every phase.
    self.impassable = np.zeros((3, 2, 256), bool)
    for phase, by_key in enumerate(impassable):
      for has_key, characters in enumerate(by_key):
        self.impassable[phase, has_key, [ord(ch) for ch in characters] + [EDGE]] = True


class VectorisedPycolabBatch:
  """B copies of a TVT pycolab task stepped together, with `BatchedEnvironment`'s interface.

  `step(actions)` acts in every environment, except that one whose previous timestep was LAST
  starts a new episode instead (FIRST; its action is ignored); timesteps come stacked along
  axis 0 with the dtypes a `BatchedEnvironment` of `PycolabEnvironment`s gives. Environment i
  draws its randomness from `RandomState(seeds[i])`, so it plays the episodes of
  `PycolabEnvironment(game, seed=seeds[i], ...)`. `environments[i]` answers for environment i
  what the observers and tests ask a `PycolabEnvironment` (`last_phase_reward()`, `phase`, ...).
  """

  def __init__(self, game: str, seeds: Sequence[Optional[int]], num_apples: int = 10,
               apple_reward_min: float = 1.0, apple_reward_max: float = 10.0,
               fix_apple_reward_in_episode: bool = True, final_reward: float = 10.0,
               crop: bool = True, max_frames_per_phase: Optional[Dict[str, int]] = None):
    max_frames = pycolab_env.check_arguments(game, num_apples, apple_reward_min,
                                             apple_reward_max, final_reward, crop,
                                             max_frames_per_phase)
    if not len(seeds):
      raise ValueError('VectorisedPycolabBatch needs at least one seed')
    self.name = game
    self._layout = _Layout(game)
    self._avm = game == 'active_visual_match'
    self._num_apples = num_apples
    self._apple_reward = (apple_reward_min, apple_reward_max)
    self._fix_apple_reward = fix_apple_reward_in_episode
    self._final_reward = final_reward
    self._crop = crop
    self._phase_lengths = tuple(max_frames[name] for name in objects.PHASE_NAMES)
    self._max_frames = np.array(self._phase_lengths, np.int64)
    self._rngs = [np.random.RandomState(seed) for seed in seeds]
    size = self._size = len(seeds)
    self._rows = np.arange(size)
    self._base = self._rows * PADDED_CELLS  # Offset of each padded board in the flat batch.
    # Colours: fixed ones, plus (active_visual_match) the squares' per-environment shuffle,
    # drawn first from each stream as `ActiveVisualMatchGame.__init__` does.
    self._colours = []
    self._palettes = np.zeros((size, 256, 3), np.uint8)
    for i, rng in enumerate(self._rngs):
      colours = dict(objects.FIXED_COLOURS)
      if self._avm:
        colours.update(objects.shuffled_square_colours(rng))
      self._colours.append(colours)
      for character, colour in colours.items():
        self._palettes[i, ord(character)] = objects.to_uint8(colour)
      self._palettes[i, EDGE] = self._palettes[i, ord(objects.FLOOR)]
    self._palettes = self._palettes.reshape(size * 256, 3)
    self._palette_base = (self._rows * 256)[:, None, None]
    self._shared_palette = not self._avm  # Every environment has the same colours.
    # The observed window: offsets in a padded board from the crop's top-left cell.
    if crop:
      window = np.arange(pycolab_env.CROP_SIZE)
      self._window = window[:, None] * PADDED_COLS + window[None, :]
    else:
      self._window = ((np.arange(ROWS)[:, None] + PAD) * PADDED_COLS +
                      np.arange(COLS)[None, :] + PAD)
    self._window = self._window[None]
    self._environments = [EnvironmentView(self, i) for i in range(size)]
    # State of each environment (filled in by `_new_episodes`).
    self._last = np.ones(size, bool)  # The next step starts a new episode.
    self._phase = np.zeros(size, np.int64)
    self._frame = np.zeros(size, np.int64)
    self._steps = np.zeros(size, np.int64)
    self._pos = np.zeros((size, 2), np.int64)
    self._has_key = np.zeros(size, bool)
    self._key_pos = np.zeros((size, 2), np.int64)  # Also the square of active_visual_match.
    self._key_visible = np.zeros(size, bool)
    self._indicator_visible = np.zeros(size, bool)
    self._target = np.zeros(size, np.int64)  # Index into COLOUR_SQUARES.
    self._squares_visible = np.zeros(size, bool)
    self._apples = np.zeros((size, PADDED_ROWS, PADDED_COLS), bool)
    self._respawn = np.full((size, PADDED_ROWS, PADDED_COLS), NEVER, np.int64)
    self._episode_apple_reward = np.zeros(size)
    self._next_apples = np.zeros((size, PADDED_ROWS, PADDED_COLS), bool)
    self._next_apple_reward = np.zeros(size)
    self._phase_rewards = np.zeros((size, len(objects.PHASE_NAMES)))
    self._board = np.zeros((size, PADDED_ROWS, PADDED_COLS), np.uint8)
    self._view = np.zeros((size,) + self._window.shape[1:], np.uint8)

  # BatchedEnvironment's interface.

  @property
  def environments(self) -> List['EnvironmentView']:
    return self._environments

  @property
  def batch_size(self) -> int:
    return self._size

  def reset(self) -> dm_env.TimeStep:
    """Starts a new episode in every environment."""
    self._new_episodes(self._rows)
    self._render()
    size = self._size
    return dm_env.TimeStep(np.full(size, dm_env.StepType.FIRST, np.int64),
                           np.zeros(size, np.float32), np.ones(size, np.float32),
                           self._observe())

  def step(self, actions) -> dm_env.TimeStep:
    actions = np.asarray(actions)
    if actions.shape[:1] != (self._size,):
      raise ValueError(f'expected {self._size} actions, got shape {actions.shape}')
    restart = self._last.copy()
    if restart.all():
      return self.reset()
    actions = actions.astype(np.int64, copy=False)
    if restart.any():  # Their actions are ignored, as BatchedEnvironment ignores them.
      actions = np.where(restart, 0, actions)
    if actions.min() < objects.DELAY or actions.max() >= objects.NUM_ACTIONS:
      raise ValueError(f'actions must be in 0..{objects.NUM_ACTIONS - 1}, got {actions}')
    phase = self._phase
    reward = self._act(actions, ~restart)
    self._phase_rewards[self._rows, phase] += reward.astype(np.float32)
    self._steps += 1
    over = self._frame >= self._max_frames[phase]
    step_type = np.full(self._size, dm_env.StepType.MID, np.int64)
    discount = np.ones(self._size, np.float32)
    if over.any():
      last = over & (phase == len(objects.PHASE_NAMES) - 1)
      self._next_phase(np.flatnonzero(over & ~last))
      step_type[last] = dm_env.StepType.LAST
      discount[last] = 0.0
      self._last = last
    if restart.any():
      restarted = np.flatnonzero(restart)
      self._new_episodes(restarted)
      step_type[restarted] = dm_env.StepType.FIRST
      discount[restarted] = 1.0
      reward[restarted] = 0.0
    self._render()
    return dm_env.TimeStep(step_type, reward.astype(np.float32), discount, self._observe())

  def observation_spec(self):
    shape = self._window.shape[1:] + (3,)
    return specs.Array(shape, np.uint8, name='image')

  def action_spec(self):
    return specs.DiscreteArray(objects.NUM_ACTIONS, dtype=np.int32, name='action')

  def reward_spec(self):
    return specs.Array((), np.float32, name='reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, name='discount')

  def close(self):
    pass

  # Episode structure.

  @property
  def phase_lengths(self):
    return self._phase_lengths

  @property
  def episode_length(self) -> int:
    return sum(self._phase_lengths)

  # Dynamics.

  def _new_episodes(self, indices: np.ndarray):
    """Draws and sets up new episodes in environments `indices`, as pycolab's make_episode."""
    layout = self._layout
    explore = np.zeros(len(indices), np.int64)
    player = np.zeros(len(indices), np.int64)
    target = np.zeros(len(indices), np.int64)
    apples = np.zeros((len(indices), len(layout.apple_cells)), bool)
    apple_reward = np.zeros(len(indices))
    num_candidates = len(layout.explore_candidates)
    num_starts = len(layout.player_candidates)
    num_cells = len(layout.apple_cells)
    for j, i in enumerate(indices):
      rng = self._rngs[i]
      if self._avm:
        target[j] = rng.randint(len(objects.COLOUR_SQUARES))
      # Story() builds (and discards) every chapter once; the reward room draws nothing.
      _choose(rng, num_candidates, 1)
      _choose(rng, num_starts, 1)
      self._draw_distractor(rng, num_cells)
      # Then the first chapter for real, then (the explore phase draws nothing while played)
      # the apple room when the explore phase ends.
      explore[j] = _choose(rng, num_candidates, 1)[0]
      player[j] = _choose(rng, num_starts, 1)[0]
      kept, apple_reward[j] = self._draw_distractor(rng, num_cells)
      apples[j, kept] = True
    self._last[indices] = False
    self._phase[indices] = 0
    self._frame[indices] = 0
    self._steps[indices] = 0
    self._phase_rewards[indices] = 0.0
    self._pos[indices] = layout.player_candidates[player]
    self._has_key[indices] = False
    self._key_pos[indices] = layout.explore_candidates[explore]
    self._key_visible[indices] = True
    self._indicator_visible[indices] = False
    self._target[indices] = target
    self._squares_visible[indices] = False
    self._apples[indices] = False
    self._respawn[indices] = NEVER
    self._next_apples[indices] = False
    cells = layout.apple_cells + PAD
    self._next_apples[indices[:, None], cells[None, :, 0], cells[None, :, 1]] = apples
    self._next_apple_reward[indices] = apple_reward

  def _draw_distractor(self, rng: np.random.RandomState, num_cells: int):
    """The apple room's draws: which apples stay, then the episode's apple reward if fixed."""
    kept = _choose(rng, num_cells, self._num_apples)
    reward = float(rng.choice(list(self._apple_reward))) if self._fix_apple_reward else 0.0
    return kept, reward

  def _act(self, actions: np.ndarray, acting: np.ndarray) -> np.ndarray:
    """One frame in every environment (rows not `acting` take no reward draw); the rewards."""
    layout, rows, phase = self._layout, self._rows, self._phase
    # The player moves unless the cell shows an impassable character in the last frame.
    target = self._pos + _MOVES[actions]
    shown = self._board.reshape(-1).take(
        self._base + (target[:, 0] + PAD) * PADDED_COLS + target[:, 1] + PAD)
    blocked = layout.impassable[phase, self._has_key.view(np.int8), shown]
    self._pos = np.where(blocked[:, None], self._pos, target)
    self._frame += 1
    frame, row, col = self._frame, self._pos[:, 0], self._pos[:, 1]
    reward = np.zeros(self._size)
    # The explore phase: key_to_door's key and indicator (the square of the other is static).
    if not self._avm:
      picked = self._key_visible & (row == self._key_pos[:, 0]) & (col == self._key_pos[:, 1])
      self._key_visible &= ~picked
      self._has_key |= picked
      self._indicator_visible = picked
    # The distractor phase: apples grow back 21 frames after being eaten, then are eaten.
    ready = self._respawn <= frame[:, None, None]
    if ready.any():
      self._apples |= ready
      self._respawn[ready] = NEVER
    eaten = self._apples[rows, row + PAD, col + PAD]
    if eaten.any():
      which = np.flatnonzero(eaten)
      self._apples[which, row[which] + PAD, col[which] + PAD] = False
      self._respawn[which, row[which] + PAD, col[which] + PAD] = (
          frame[which] + objects.APPLE_RESPAWN_FRAMES + 1)
      if self._fix_apple_reward:
        reward[which] = self._episode_apple_reward[which]
      else:
        for i in which[acting[which]]:
          reward[i] = float(self._rngs[i].uniform(*self._apple_reward))
    # The reward phase: key_to_door's door takes the key; the squares of active_visual_match
    # all vanish at the first touch, which pays if it was the episode's colour.
    last_phase = phase == 2
    if self._avm:
      on_square = ((row[:, None] == layout.squares[None, :, 0]) &
                   (col[:, None] == layout.squares[None, :, 1]))
      touched = self._squares_visible & on_square.any(axis=1)
      if touched.any():
        right = touched & on_square[rows, self._target]
        reward[right] += self._final_reward
        self._squares_visible &= ~touched
    else:
      opened = (last_phase & self._has_key & (row == layout.door[0]) &
                (col == layout.door[1]))
      if opened.any():
        reward[opened] += self._final_reward
        self._has_key &= ~opened
    return reward

  def _next_phase(self, indices: np.ndarray):
    """Starts the next phase (its first frame: nothing moves or pays) in `indices`."""
    if not len(indices):
      return
    layout = self._layout
    to_distractor = indices[self._phase[indices] == 0]
    to_reward = indices[self._phase[indices] == 1]
    self._phase[indices] += 1
    self._frame[indices] = 0
    self._key_visible[indices] = False
    self._indicator_visible[indices] = False
    self._pos[to_distractor] = layout.distractor_start
    self._apples[to_distractor] = self._next_apples[to_distractor]
    self._episode_apple_reward[to_distractor] = self._next_apple_reward[to_distractor]
    self._pos[to_reward] = layout.reward_start
    self._apples[to_reward] = False
    self._respawn[to_reward] = NEVER
    self._squares_visible[to_reward] = True

  def _render(self):
    """Paints every board in pycolab's z-order into `self._board` (padded, flat-indexable)."""
    layout, base, phase = self._layout, self._base, self._phase
    board = layout.backdrops.take(phase, axis=0)
    board[self._apples] = ord(objects.APPLE)
    flat = board.reshape(-1)
    row, col = self._pos[:, 0] + PAD, self._pos[:, 1] + PAD
    if self._avm:
      # Under the player: the first phase's square, in its wall cell.
      square = np.where(phase == 0, base + (self._key_pos[:, 0] + PAD) * PADDED_COLS +
                        self._key_pos[:, 1] + PAD, base + TRASH)
      flat[square] = np.frombuffer(''.join(objects.COLOUR_SQUARES).encode(),
                                   np.uint8)[self._target]
      flat[base + row * PADDED_COLS + col] = ord(objects.PLAYER)
      # Over it: the three squares of the last phase until one is touched.
      cells = (layout.squares + PAD) @ np.array([PADDED_COLS, 1])
      visible = self._squares_visible[:, None]
      flat[np.where(visible, base[:, None] + cells[None], (base + TRASH)[:, None])] = (
          np.frombuffer(''.join(objects.COLOUR_SQUARES).encode(), np.uint8)[None])
    else:
      # Under the player: the key, and the indicator in the frame the key was picked up.
      key = np.where(self._key_visible, base + (self._key_pos[:, 0] + PAD) * PADDED_COLS +
                     self._key_pos[:, 1] + PAD, base + TRASH)
      flat[key] = ord(objects.KEY)
      indicator = (layout.indicator[0] + PAD) * PADDED_COLS + layout.indicator[1] + PAD
      flat[np.where(self._indicator_visible, base + indicator, base + TRASH)] = (
          ord(objects.INDICATOR))
      flat[base + row * PADDED_COLS + col] = ord(objects.PLAYER)
      # Over it: the door of the last phase.
      door = (layout.door[0] + PAD) * PADDED_COLS + layout.door[1] + PAD
      flat[np.where(phase == 2, base + door, base + TRASH)] = ord(objects.DOOR)
    self._board = board

  def _observe(self) -> np.ndarray:
    """The RGB images: each environment's window (around the player if cropped)."""
    corner = self._base
    if self._crop:
      corner = corner + self._pos[:, 0] * PADDED_COLS + self._pos[:, 1]
    self._view = self._board.reshape(-1).take(corner[:, None, None] + self._window)
    if self._shared_palette:
      return self._palettes.take(self._view, axis=0)
    return self._palettes.take(self._palette_base + self._view, axis=0)

  # What the per-environment views read.

  def _full_board(self, index: int) -> np.ndarray:
    return self._board[index, PAD:PAD + ROWS, PAD:PAD + COLS].copy()

  def _observed_board(self, index: int) -> np.ndarray:
    view = self._view[index].copy()
    view[view == EDGE] = ord(objects.FLOOR)
    return view


class EnvironmentView:
  """Environment `index` of a `VectorisedPycolabBatch`, read like a `PycolabEnvironment`.

  It answers the questions observers and tests ask (rewards per phase, phase, boards, player
  position, colours); stepping is the batch's job.
  """

  def __init__(self, batch: VectorisedPycolabBatch, index: int):
    self._batch = batch
    self._index = index
    self.name = batch.name

  @property
  def phase_lengths(self):
    return self._batch.phase_lengths

  @property
  def episode_length(self) -> int:
    return self._batch.episode_length

  @property
  def steps_taken(self) -> int:
    return int(self._batch._steps[self._index])  # pylint: disable=protected-access

  @property
  def phase(self) -> int:
    return int(self._batch._phase[self._index])  # pylint: disable=protected-access

  def last_phase_reward(self) -> float:
    return float(self._batch._phase_rewards[self._index, -1])  # pylint: disable=protected-access

  def phase_rewards(self) -> np.ndarray:
    return self._batch._phase_rewards[self._index].copy()  # pylint: disable=protected-access

  @property
  def colours(self) -> Dict[str, tuple]:
    colours = self._batch._colours[self._index]  # pylint: disable=protected-access
    return {c: objects.to_uint8(rgb) for c, rgb in colours.items()}

  def board(self) -> np.ndarray:
    return self._batch._observed_board(self._index)  # pylint: disable=protected-access

  def full_board(self) -> np.ndarray:
    return self._batch._full_board(self._index)  # pylint: disable=protected-access

  def player_position(self):
    return tuple(int(x) for x in self._batch._pos[self._index])  # pylint: disable=protected-access

  def observation_spec(self):
    return self._batch.observation_spec()

  def action_spec(self):
    return self._batch.action_spec()

  def reward_spec(self):
    return self._batch.reward_spec()

  def discount_spec(self):
    return self._batch.discount_spec()

  def close(self):
    pass


class VectorisedFactory:
  """`factory(seed)` as `environments.make_factory(game, **kwargs)` gives, plus `make_batched`.

  `agents.core.distributed.make_batched_environment` builds B environments with
  `make_batched(seeds)` (one `VectorisedPycolabBatch`) when a factory has it; called with one
  seed it gives the pycolab environment (for spec probes: the specs are the same). Picklable,
  so Launchpad can ship it to actor processes.
  """

  def __init__(self, game: str, **kwargs):
    pycolab_env.check_arguments(
        game, kwargs.get('num_apples', 10), kwargs.get('apple_reward_min', 1.0),
        kwargs.get('apple_reward_max', 10.0), kwargs.get('final_reward', 10.0),
        kwargs.get('crop', True), kwargs.get('max_frames_per_phase'))
    self.game = game
    self.kwargs = dict(kwargs)

  def __call__(self, seed: Optional[int] = None) -> pycolab_env.PycolabEnvironment:
    return pycolab_env.PycolabEnvironment(self.game, seed=seed, **self.kwargs)

  def make_batched(self, seeds: Sequence[Optional[int]]) -> VectorisedPycolabBatch:
    return VectorisedPycolabBatch(self.game, seeds, **self.kwargs)


def make_factory(game: str, **kwargs) -> VectorisedFactory:
  """The vectorised counterpart of `environments.make_factory(game, **kwargs)`."""
  return VectorisedFactory(game, **kwargs)
