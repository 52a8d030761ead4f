"""The pycolab tasks as `dm_env` environments: RGB observations, 4 actions, 120-step episodes.

Observations are uint8 images, 5x5x3 around the player (`crop=True`) or the whole 7x11 board.
The first timestep reports reward 0.0, which the agent feeds as r_0; rewards and discounts are
float32 (Reverb's signatures reject float64); the 120th step is LAST with discount 0.
"""

from typing import Dict, Optional

import dm_env
from dm_env import specs
import numpy as np

from environments.pycolab import compat  # noqa: F401  # pylint: disable=unused-import
from environments.pycolab import active_visual_match
from environments.pycolab import key_to_door
from environments.pycolab import objects

GAMES = {
    'key_to_door': key_to_door.KeyToDoorGame,
    'active_visual_match': active_visual_match.ActiveVisualMatchGame,
}
CROP_SIZE = 5  # Rows and columns of the egocentric window; the player is at its centre.
BOARD_SHAPE = (7, 11)


def check_arguments(game: str, num_apples: int, apple_reward_min: float,
                    apple_reward_max: float, final_reward: float, crop: bool,
                    max_frames_per_phase: Optional[Dict[str, int]]) -> Dict[str, int]:
  """Raises ValueError for settings no episode could use; returns the frames of each phase.

  Shared by this environment and the vectorised one (`vectorised.py`), so both refuse alike.
  """
  if game not in GAMES:
    raise ValueError(f'unknown pycolab game {game!r}; valid: {", ".join(GAMES)}')
  candidates = objects.APPLE_DISTRACTOR_GRID_CELLS
  if not 0 <= num_apples <= candidates:
    raise ValueError(f'num_apples must be between 0 and {candidates}, got {num_apples}')
  for name, value in (('apple_reward_min', apple_reward_min),
                      ('apple_reward_max', apple_reward_max), ('final_reward', final_reward)):
    if not np.isfinite(value):
      raise ValueError(f'{name} must be a finite number, got {value}')
  if apple_reward_min > apple_reward_max:
    raise ValueError(f'apple_reward_min ({apple_reward_min}) must not exceed '
                     f'apple_reward_max ({apple_reward_max})')
  if game == 'active_visual_match' and not crop:
    raise ValueError('active_visual_match is always cropped to 5x5 (the search is the task); '
                     'crop=False is only for key_to_door')
  max_frames = dict(max_frames_per_phase or objects.DEFAULT_MAX_FRAMES_PER_PHASE)
  if sorted(max_frames) != sorted(objects.PHASE_NAMES) or min(max_frames.values()) < 1:
    raise ValueError(f'max_frames_per_phase needs a positive length for each of '
                     f'{objects.PHASE_NAMES}, got {max_frames}')
  return max_frames


class PycolabEnvironment(dm_env.Environment):
  """One TVT pycolab task; `last_phase_reward()` is the reward collected in the last phase.

  Defaults are the flags the published runs trained with (spec 1.7). All randomness (layouts,
  apples, colours) comes from one RandomState seeded with `seed`.
  """

  def __init__(self, game: str = 'key_to_door', num_apples: int = 10,
               apple_reward_min: float = 1.0, apple_reward_max: float = 10.0,
               fix_apple_reward_in_episode: bool = True, final_reward: float = 10.0,
               crop: bool = True, seed: Optional[int] = None,
               max_frames_per_phase: Optional[Dict[str, int]] = None):
    max_frames = check_arguments(game, num_apples, apple_reward_min, apple_reward_max,
                                 final_reward, crop, max_frames_per_phase)
    self._rng = np.random.RandomState(seed)
    self._game = GAMES[game](
        self._rng, num_apples=num_apples, apple_reward=(apple_reward_min, apple_reward_max),
        fix_apple_reward_in_episode=fix_apple_reward_in_episode, final_reward=final_reward,
        max_frames_per_phase=max_frames)
    self.name = game
    self._crop = crop
    self._phase_lengths = tuple(max_frames[name] for name in objects.PHASE_NAMES)
    # Character code -> RGB; unknown characters render as black.
    self._palette = np.zeros((256, 3), np.uint8)
    for character, colour in self._game.colours.items():
      self._palette[ord(character)] = objects.to_uint8(colour)
    self._story = None
    self._board = self._full_board = None
    self._phase_rewards = np.zeros(len(objects.PHASE_NAMES))
    self._steps = 0

  # Episode structure.

  @property
  def phase_lengths(self):
    """Agent steps of each phase: (15, 90, 15) by default."""
    return self._phase_lengths

  @property
  def episode_length(self) -> int:
    """Agent steps per episode: 120 by default (the only way an episode ends)."""
    return sum(self._phase_lengths)

  @property
  def steps_taken(self) -> int:
    """Actions taken in the current episode."""
    return self._steps

  @property
  def phase(self) -> int:
    """0, 1 or 2: the phase the next action is taken in."""
    return self._story.the_plot.this_chapter

  def last_phase_reward(self) -> float:
    """Reward collected in the last phase so far: 0 or `final_reward` once the episode ends."""
    return float(self._phase_rewards[-1])

  def phase_rewards(self) -> np.ndarray:
    """Reward collected in each phase of the current episode so far."""
    return self._phase_rewards.copy()

  @property
  def colours(self) -> Dict[str, tuple]:
    """Character -> uint8 RGB of everything that can be drawn (per instance for `b`, `c`, `e`)."""
    return {c: objects.to_uint8(rgb) for c, rgb in self._game.colours.items()}

  def board(self) -> np.ndarray:
    """The characters shown in the current observation (uint8 codes, the observation's shape)."""
    return self._board.copy()

  def full_board(self) -> np.ndarray:
    """The characters of the whole 7x11 board now, whatever the crop (for planners and tests)."""
    return self._full_board.copy()

  def player_position(self):
    """(row, column) of the player on the whole board."""
    return tuple(self._story.current_game.things[objects.PLAYER].position)

  def player_view_position(self):
    """(row, column) of the player in `board()`: the centre of the view when it is cropped."""
    if self._crop:
      return (CROP_SIZE // 2, CROP_SIZE // 2)
    return self.player_position()

  # dm_env interface.

  def reset(self) -> dm_env.TimeStep:
    self._story = self._game.make_episode()
    observation, _, _ = self._story.its_showtime()
    self._phase_rewards[:] = 0.0
    self._steps = 0
    return dm_env.TimeStep(dm_env.StepType.FIRST, np.float32(0.0), np.float32(1.0),
                           self._observe(observation))

  def step(self, action) -> dm_env.TimeStep:
    if self._story is None or self._story.game_over:
      return self.reset()
    action = int(action)
    if not (0 <= action < objects.NUM_ACTIONS or action == objects.DELAY):
      raise ValueError(f'action must be in 0..{objects.NUM_ACTIONS - 1}, got {action}')
    phase = self.phase
    observation, reward, _ = self._story.play(action)
    reward = np.float32(0.0 if reward is None else reward)
    self._phase_rewards[phase] += reward
    self._steps += 1
    image = self._observe(observation)
    if self._story.game_over:
      return dm_env.TimeStep(dm_env.StepType.LAST, reward, np.float32(0.0), image)
    return dm_env.TimeStep(dm_env.StepType.MID, reward, np.float32(1.0), image)

  def _observe(self, observation) -> np.ndarray:
    board = self._full_board = observation.board.copy()
    if self._crop:
      row, col = self.player_position()
      margin = CROP_SIZE // 2
      padded = np.pad(board, margin, constant_values=ord(objects.FLOOR))
      board = padded[row:row + CROP_SIZE, col:col + CROP_SIZE]
    self._board = board.copy()
    return self._palette[board]  # Fancy indexing: a fresh array every step.

  def observation_spec(self) -> specs.Array:
    shape = (CROP_SIZE, CROP_SIZE, 3) if self._crop else BOARD_SHAPE + (3,)
    return specs.Array(shape, np.uint8, name='image')

  def action_spec(self) -> specs.DiscreteArray:
    return specs.DiscreteArray(objects.NUM_ACTIONS, dtype=np.int32, name='action')

  def reward_spec(self) -> specs.Array:
    return specs.Array((), np.float32, name='reward')

  def discount_spec(self) -> specs.BoundedArray:
    return specs.BoundedArray((), np.float32, 0.0, 1.0, name='discount')
