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
# invisible objects are painted (no crop, move or board read ever reaches it). Every board of
# the batch lies in one flat array; a cell is addressed by its index there.
PADDED_ROWS, PADDED_COLS = ROWS + 2 * PAD + 1, COLS + 2 * PAD
PADDED_CELLS = PADDED_ROWS * PADDED_COLS
TRASH = (PADDED_ROWS - 1) * PADDED_COLS
EDGE = 1  # Padding: drawn as floor, impassable (pycolab's confined_to_board).
NEVER = np.iinfo(np.int64).max // 2  # A tick that never comes.
NUM_PHASES = len(objects.PHASE_NAMES)

# Change of flat index of each action + 1: DELAY (a person's no-op), north, south, west, east.
_MOVES = np.array([0, -PADDED_COLS, PADDED_COLS, -1, 1], np.int64)


def _cells(grid: Sequence[str], character: str) -> np.ndarray:
  """Padded-board offsets of every `character` in `grid`, row-major (keep_n_characters' order)."""
  return np.array([(r + PAD) * PADDED_COLS + c + PAD for r, row in enumerate(grid)
                   for c, ch in enumerate(row) if ch == character], np.int64)


def _codes(grid: Sequence[str], beneath: Dict[str, str]) -> np.ndarray:
  """`grid` as uint8 character codes, each character of a key of `beneath` drawn as its value."""
  table = str.maketrans({ch: by for chars, by in beneath.items() for ch in chars})
  return np.array([[ord(ch) for ch in row.translate(table)] for row in grid], np.uint8)


def _choose(rng: np.random.RandomState, num_cells: int, n: int) -> np.ndarray:
  """The draw of `objects.keep_n_characters`: which `n` of `num_cells` candidates stay."""
  return rng.choice(num_cells, size=n, replace=False)


class _Layout:
  """What one task's phases look like: backdrops, start cells, candidate cells, impassables.

  Cells are offsets in a padded board (row-major, PADDED_COLS wide).
  """

  def __init__(self, game: str):
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
      row, col = key_to_door.INDICATOR_CELL
      self.indicator = (row + PAD) * PADDED_COLS + col + PAD
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
      self.squares = np.array([_cells(reward, s)[0] for s in objects.COLOUR_SQUARES])
      # In the first phase the square (whichever colour) blocks; in the last ones none does.
      squares = ''.join(objects.COLOUR_SQUARES)
      impassable = [(objects.WALL + squares,) * 2, (objects.WALL,) * 2, (objects.WALL,) * 2]
    self.player_candidates = _cells(explore, objects.PLAYER)
    self.reward_start = _cells(reward, objects.PLAYER)[0]
    self.backdrops = np.full((NUM_PHASES, PADDED_ROWS, PADDED_COLS), EDGE, np.uint8)
    for phase, backdrop in enumerate(backdrops):
      self.backdrops[phase, PAD:PAD + ROWS, PAD:PAD + COLS] = backdrop
    self.backdrops = self.backdrops.reshape(NUM_PHASES, PADDED_CELLS)
    # impassable[(phase * 2 + has_key) * 256 + code]; the padding blocks in every phase.
    self.impassable = np.zeros((NUM_PHASES, 2, 256), bool)
    for phase, by_key in enumerate(impassable):
      for has_key, characters in enumerate(by_key):
        self.impassable[phase, has_key, [ord(ch) for ch in characters] + [EDGE]] = True
    self.impassable = self.impassable.reshape(-1)


_SQUARE_CODES = np.frombuffer(''.join(objects.COLOUR_SQUARES).encode(), np.uint8)


class VectorisedPycolabBatch:
  """B copies of a TVT pycolab task stepped together, with `BatchedEnvironment`'s interface.

  `step(actions)` acts in every environment, except that one whose previous timestep was LAST
  starts a new episode instead (FIRST; its action is ignored); timesteps come stacked along
  axis 0 with the dtypes a `BatchedEnvironment` of `PycolabEnvironment`s gives. Environment i
  draws its randomness from `RandomState(seeds[i])`, so it plays the episodes of
  `PycolabEnvironment(game, seed=seeds[i], ...)`. `environments[i]` answers for environment i
  what the observers and tests ask a `PycolabEnvironment` (`last_phase_reward()`, `phase`, ...).

  Time is one tick per `step` for the whole batch; an environment's frame is the ticks since its
  phase began. What rarely changes (phase ends, apples growing back, keys held, which phases
  are being played) is tracked so that a typical step is a couple of dozen array operations.
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
    self._layout = layout = _Layout(game)
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
    self._base = self._rows * PADDED_CELLS  # Where each environment's board starts.
    self._trash = self._base + TRASH
    # Colours: fixed ones, plus (active_visual_match) the squares' per-environment shuffle,
    # drawn first from each stream as `ActiveVisualMatchGame.__init__` does.
    self._colours = []
    palettes = np.zeros((size, 256, 3), np.uint8)
    for i, rng in enumerate(self._rngs):
      colours = dict(objects.FIXED_COLOURS)
      if self._avm:
        colours.update(objects.shuffled_square_colours(rng))
      self._colours.append(colours)
      for character, colour in colours.items():
        palettes[i, ord(character)] = objects.to_uint8(colour)
      palettes[i, EDGE] = palettes[i, ord(objects.FLOOR)]
    # Every environment of key_to_door has the same colours: one palette does.
    self._palettes = palettes.reshape(size * 256, 3) if self._avm else palettes[0]
    self._palette_base = (self._rows * 256)[:, None, None]
    # The observed cells: relative to the player if cropped, else the whole board.
    if crop:
      window = np.arange(pycolab_env.CROP_SIZE) - PAD
      self._window = (window[:, None] * PADDED_COLS + window[None, :])[None]
    else:
      self._window = (self._base[:, None, None] + (np.arange(ROWS)[:, None] + PAD) *
                      PADDED_COLS + np.arange(COLS)[None, :] + PAD)
    self._environments = [EnvironmentView(self, i) for i in range(size)]
    # The state of every environment (set by `_new_episodes`).
    self._tick = 0
    self._last = np.ones(size, bool)  # The next step starts a new episode.
    self._num_last = size
    self._phase = np.zeros(size, np.int64)
    self._in_phase = [0] * NUM_PHASES  # Environments in each phase (LAST ones too).
    self._episode_start = np.zeros(size, np.int64)  # Ticks.
    self._phase_end = np.full(size, NEVER, np.int64)
    self._next_phase_end = NEVER
    self._pos = self._base + layout.player_candidates[0]
    self._has_key = np.zeros(size, bool)
    self._keys_held = 0
    self._passable = np.zeros(size, np.int64)  # Row of `impassable`: phase and key.
    self._key = self._trash.copy()  # Cell of the key / first phase's square, or trash.
    self._indicator = None  # Which environments show the indicator in this frame.
    self._door = self._trash.copy()  # Cell of the door in the last phase, or trash.
    self._target = np.zeros(size, np.int64)  # Index into COLOUR_SQUARES.
    self._squares = np.repeat(self._trash[:, None], len(_SQUARE_CODES), axis=1)
    self._apples = np.zeros(size * PADDED_CELLS, bool)
    self._respawn = np.full(size * PADDED_CELLS, NEVER, np.int64)  # Ticks.
    self._next_respawn = NEVER
    self._episode_apple_reward = np.zeros(size)
    self._next_apples = np.zeros((size, PADDED_CELLS), bool)
    self._next_apple_reward = np.zeros(size)
    self._phase_rewards = np.zeros((size, NUM_PHASES))
    self._backdrop = np.zeros((size, PADDED_CELLS), np.uint8)
    self._board = np.zeros(size * PADDED_CELLS, np.uint8)
    self._view = np.zeros((size,) + self._window.shape[1:], np.uint8)
    self._mid = np.full(size, dm_env.StepType.MID, np.int64)
    self._ones = np.ones(size, np.float32)

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
                           np.zeros(size, np.float32), self._ones.copy(), self._observe())

  def step(self, actions) -> dm_env.TimeStep:
    actions = np.asarray(actions)
    if actions.shape[:1] != (self._size,):
      raise ValueError(f'expected {self._size} actions, got shape {actions.shape}')
    if self._num_last == self._size:
      return self.reset()
    restart = None
    if self._num_last:
      restart = self._last.copy()
      actions = np.where(restart, objects.DELAY, actions)  # Ignored, as BatchedEnvironment.
    if actions.dtype.kind not in 'iu':
      actions = actions.astype(np.int64)
    try:
      moves = _MOVES.take(actions + 1, mode='raise')
      valid = actions.min() >= objects.DELAY
    except IndexError:
      valid = False
    if not valid:
      raise ValueError(f'actions must be in 0..{objects.NUM_ACTIONS - 1}, got {actions}')
    self._tick += 1
    reward = self._act(moves, restart)
    step_type, discount = self._mid.copy(), self._ones.copy()
    if self._tick >= self._next_phase_end:
      self._end_phases(step_type, discount, restart)
    if restart is not None:
      restarted = np.flatnonzero(restart)
      self._new_episodes(restarted)
      step_type[restarted] = dm_env.StepType.FIRST
      discount[restarted] = 1.0
      reward[restarted] = 0.0
    self._render()
    return dm_env.TimeStep(step_type, reward, discount, self._observe())

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
    base = self._base[indices]
    self._last[indices] = False
    self._num_last = int(self._last.sum())
    self._episode_start[indices] = self._tick
    self._phase_rewards[indices] = 0.0
    self._pos[indices] = base + layout.player_candidates[player]
    self._has_key[indices] = False
    self._keys_held = int(self._has_key.sum())
    self._key[indices] = base + layout.explore_candidates[explore]
    self._target[indices] = target
    self._squares[indices] = self._trash[indices, None]
    self._door[indices] = self._trash[indices]
    apple_cells = self._apples.reshape(self._size, PADDED_CELLS)
    apple_cells[indices] = False
    self._respawn.reshape(self._size, PADDED_CELLS)[indices] = NEVER
    self._next_apples[indices] = False
    self._next_apples[indices[:, None], layout.apple_cells[None, :]] = apples
    self._next_apple_reward[indices] = apple_reward
    self._start_phase(indices, 0)

  def _draw_distractor(self, rng: np.random.RandomState, num_cells: int):
    """The apple room's draws: which apples stay, then the episode's apple reward if fixed."""
    kept = _choose(rng, num_cells, self._num_apples)
    reward = float(rng.choice(list(self._apple_reward))) if self._fix_apple_reward else 0.0
    return kept, reward

  def _start_phase(self, indices: np.ndarray, phase: int):
    """Phase `phase`'s first frame (pycolab's its_showtime: nothing moves or pays)."""
    self._phase[indices] = phase
    self._in_phase = np.bincount(self._phase, minlength=NUM_PHASES).tolist()
    self._phase_end[indices] = self._tick + self._max_frames[phase]
    self._next_phase_end = int(self._phase_end.min())
    self._passable[indices] = (phase * 2 + self._has_key[indices]) * 256
    self._backdrop[indices] = self._layout.backdrops[phase]

  def _act(self, moves: np.ndarray, restart: Optional[np.ndarray]) -> np.ndarray:
    """One frame of every environment after its player's move; the rewards (float32)."""
    layout = self._layout
    # The player moves unless the cell shows an impassable character in the last frame.
    target = self._pos + moves
    blocked = layout.impassable.take(self._passable + self._board.take(target))
    self._pos = pos = np.where(blocked, self._pos, target)
    reward = None
    # The explore phase: key_to_door's key and indicator (the square of the other is static).
    self._indicator = None
    if not self._avm and self._in_phase[0]:
      picked = self._key == pos
      if picked.any():
        self._key[picked] = self._trash[picked]
        self._has_key |= picked
        self._keys_held = int(self._has_key.sum())
        self._passable[picked] += 256
        self._indicator = picked
    # The distractor phase: apples grow back 21 frames after being eaten, then are eaten.
    if self._in_phase[1]:
      if self._tick >= self._next_respawn:
        ready = self._respawn <= self._tick
        self._apples |= ready
        self._respawn[ready] = NEVER
        self._next_respawn = int(self._respawn.min())
      eaten = self._apples.take(pos)
      if eaten.any():
        which = np.flatnonzero(eaten)
        cells = pos[which]
        self._apples[cells] = False
        self._respawn[cells] = self._tick + objects.APPLE_RESPAWN_FRAMES + 1
        self._next_respawn = min(self._next_respawn,
                                 self._tick + objects.APPLE_RESPAWN_FRAMES + 1)
        reward = np.zeros(self._size)
        if self._fix_apple_reward:
          reward[which] = self._episode_apple_reward[which]
        else:
          for i in which if restart is None else which[~restart[which]]:
            reward[i] = float(self._rngs[i].uniform(*self._apple_reward))
    # The reward phase: key_to_door's door takes the key; the squares of active_visual_match
    # all vanish at the first touch, which pays if it was the episode's colour.
    if self._in_phase[2]:
      if self._avm:
        on_square = self._squares == pos[:, None]
        touched = on_square.any(axis=1)
        if touched.any():
          reward = np.zeros(self._size) if reward is None else reward
          reward[on_square[self._rows, self._target]] += self._final_reward
          self._squares[touched] = self._trash[touched, None]
      elif self._keys_held:
        opened = self._has_key & (self._door == pos)
        if opened.any():
          reward = np.zeros(self._size) if reward is None else reward
          reward[opened] += self._final_reward
          self._has_key &= ~opened
          self._keys_held = int(self._has_key.sum())
          self._passable[opened] -= 256
    if reward is None:
      return np.zeros(self._size, np.float32)
    reward = reward.astype(np.float32)
    self._phase_rewards[self._rows, self._phase] += reward
    return reward

  def _end_phases(self, step_type: np.ndarray, discount: np.ndarray,
                  restart: Optional[np.ndarray]):
    """Ends the phases whose last frame this was: the next phase starts, or the episode ends."""
    over = self._phase_end <= self._tick
    if restart is not None:
      over &= ~restart
    last = over & (self._phase == NUM_PHASES - 1)
    if last.any():
      step_type[last] = dm_env.StepType.LAST
      discount[last] = 0.0
      self._last |= last
      self._num_last = int(self._last.sum())
      self._phase_end[last] = NEVER
    to_distractor = np.flatnonzero(over & (self._phase == 0))
    to_reward = np.flatnonzero(over & (self._phase == 1))
    if len(to_distractor):
      self._key[to_distractor] = self._trash[to_distractor]
      if self._indicator is not None:
        self._indicator[to_distractor] = False
      self._pos[to_distractor] = self._base[to_distractor] + self._layout.distractor_start
      self._apples.reshape(self._size, PADDED_CELLS)[to_distractor] = (
          self._next_apples[to_distractor])
      self._episode_apple_reward[to_distractor] = self._next_apple_reward[to_distractor]
      self._start_phase(to_distractor, 1)
    if len(to_reward):
      self._pos[to_reward] = self._base[to_reward] + self._layout.reward_start
      self._apples.reshape(self._size, PADDED_CELLS)[to_reward] = False
      self._respawn.reshape(self._size, PADDED_CELLS)[to_reward] = NEVER
      if self._avm:
        self._squares[to_reward] = self._base[to_reward, None] + self._layout.squares
      else:
        self._door[to_reward] = self._base[to_reward] + self._layout.door
      self._start_phase(to_reward, 2)
    if last.any():
      self._next_phase_end = int(self._phase_end.min())

  def _render(self):
    """Paints every board in pycolab's z-order into `self._board`."""
    board = self._backdrop.reshape(-1).copy()
    if self._in_phase[1]:
      np.copyto(board, np.uint8(ord(objects.APPLE)), where=self._apples)
    # Under the player: the key and the indicator in the frame the key was picked up, or the
    # first phase's square in its wall cell.
    if self._in_phase[0]:
      if self._avm:
        board[self._key] = _SQUARE_CODES[self._target]
      else:
        board[self._key] = ord(objects.KEY)
        if self._indicator is not None:
          board[self._base[self._indicator] + self._layout.indicator] = ord(objects.INDICATOR)
    board[self._pos] = ord(objects.PLAYER)
    # Over it: the door, or the three squares until one is touched.
    if self._in_phase[2]:
      if self._avm:
        board[self._squares] = _SQUARE_CODES
      else:
        board[self._door] = ord(objects.DOOR)
    self._board = board

  def _observe(self) -> np.ndarray:
    """The RGB images: each environment's window (around the player if cropped)."""
    cells = self._pos[:, None, None] + self._window if self._crop else self._window
    self._view = view = self._board.take(cells)
    if self._avm:
      return self._palettes.take(self._palette_base + view, axis=0)
    return self._palettes.take(view, axis=0)

  # What the per-environment views read.

  def _full_board(self, index: int) -> np.ndarray:
    board = self._board.reshape(self._size, PADDED_ROWS, PADDED_COLS)[index]
    return board[PAD:PAD + ROWS, PAD:PAD + COLS].copy()

  def _observed_board(self, index: int) -> np.ndarray:
    view = self._view[index].copy()
    view[view == EDGE] = ord(objects.FLOOR)
    return view

  def _player_position(self, index: int):
    row, col = divmod(int(self._pos[index] - self._base[index]), PADDED_COLS)
    return row - PAD, col - PAD

  def _steps_taken(self, index: int) -> int:
    return self._tick - int(self._episode_start[index])


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
    return self._batch._steps_taken(self._index)  # pylint: disable=protected-access

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
    return self._batch._player_position(self._index)  # pylint: disable=protected-access

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
