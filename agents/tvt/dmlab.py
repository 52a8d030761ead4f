"""The paper's DeepMind Lab tasks (spec section 6) as a `dm_env` environment.

Needs two things this project cannot install (see BUILD.md, "DeepMind Lab"): the
`deepmind_lab` Python module, built from https://github.com/deepmind/lab, and the TVT level
scripts (the 7 levels and 5 helper files of deepmind-research's `tvt/dmlab/` folder), found
through `level_directory` or the TVT_DMLAB_LEVELS environment variable. Without either, making
the environment fails with a one-line error saying what to install.

Observations are the RGB_INTERLEAVED frames (H x W x 3 uint8); the discrete actions are the
IMPALA set (spec 6.3, also the adapter's default), each repeated `action_repeat` frames; the
final-phase reward is read from the level's INSTR channel when the episode ends.
"""

import importlib
import os
from typing import Dict, Optional, Sequence

import dm_env
from dm_env import specs
import numpy as np

LEVELS = {  # Level name -> episodeLengthSeconds in its level file (spec 6.1).
    'passive_visual_match': 40, 'active_visual_match': 40, 'key_to_door': 37,
    'key_to_door_bluekey': 37, 'two_negative_keys': 37, 'latent_information_acquisition': 40,
    'key_to_door_to_match': 45,
}
HELPER_FILES = ('key_to_door_factory.lua', 'visual_match_factory.lua',
                'two_keys_to_choose_factory.lua', 'latent_information_acquisition_factory.lua',
                'image_utils.lua')
LEVELS_VARIABLE = 'TVT_DMLAB_LEVELS'

# DeepMind Lab's 7 action integers: look left/right, look down/up, strafe left/right,
# move back/forward, fire, jump, crouch.
IMPALA_ACTIONS = (
    (0, 0, 0, 1, 0, 0, 0),     # Forward.
    (0, 0, 0, -1, 0, 0, 0),    # Backward.
    (0, 0, -1, 0, 0, 0, 0),    # Strafe left.
    (0, 0, 1, 0, 0, 0, 0),     # Strafe right.
    (-20, 0, 0, 0, 0, 0, 0),   # Look left.
    (20, 0, 0, 0, 0, 0, 0),    # Look right.
    (-20, 0, 0, 1, 0, 0, 0),   # Forward and look left.
    (20, 0, 0, 1, 0, 0, 0),    # Forward and look right.
    (0, 0, 0, 0, 1, 0, 0),     # Fire.
)


class DeepMindLabUnavailableError(RuntimeError):
  """deepmind_lab or the TVT level files are missing; the message says how to get them."""


def _import_deepmind_lab():
  try:
    return importlib.import_module('deepmind_lab')
  except ImportError:
    raise DeepMindLabUnavailableError(
        'deepmind_lab is not installed: build it from https://github.com/deepmind/lab and '
        'pip install its wheel into .venv (BUILD.md, "DeepMind Lab")') from None


def find_level_directory(level_directory: Optional[str] = None) -> str:
  """The directory holding the TVT level scripts; raises if it lacks any of them."""
  directory = level_directory or os.environ.get(LEVELS_VARIABLE)
  if not directory:
    raise DeepMindLabUnavailableError(
        f'no TVT level scripts: pass level_directory or set {LEVELS_VARIABLE} to a copy of '
        'deepmind-research/tvt/dmlab (BUILD.md, "DeepMind Lab")')
  needed = [f'{name}.lua' for name in LEVELS] + list(HELPER_FILES)
  missing = [f for f in needed if not os.path.exists(os.path.join(directory, f))]
  if missing:
    raise DeepMindLabUnavailableError(
        f'{directory} lacks the TVT level scripts {", ".join(missing)} (copy them from '
        'deepmind-research/tvt/dmlab; BUILD.md, "DeepMind Lab")')
  return os.path.abspath(directory)


class DeepMindLabEnvironment(dm_env.Environment):
  """One of the paper's 7 TVT levels; `last_phase_reward()` is the level's final-phase reward.

  `config` adds or overrides level settings (for example {'distractorLengthSeconds': '15'});
  unknown names make DeepMind Lab abort with "Invalid setting".
  """

  def __init__(self, level: str = 'key_to_door', level_directory: Optional[str] = None,
               width: int = 96, height: int = 72, fps: int = 60, action_repeat: int = 4,
               actions: Sequence[Sequence[int]] = IMPALA_ACTIONS, renderer: str = 'software',
               config: Optional[Dict[str, str]] = None, seed: Optional[int] = None):
    if level not in LEVELS:
      raise ValueError(f'unknown TVT DeepMind Lab level {level!r}; valid: {", ".join(LEVELS)}')
    if action_repeat < 1:
      raise ValueError(f'action_repeat must be at least 1, got {action_repeat}')
    deepmind_lab = _import_deepmind_lab()
    settings = {'width': str(width), 'height': str(height), 'fps': str(fps),
                'levelDirectory': find_level_directory(level_directory)}
    settings.update({k: str(v) for k, v in (config or {}).items()})
    self._lab = deepmind_lab.Lab(level, ['RGB_INTERLEAVED', 'INSTR'], config=settings,
                                 renderer=renderer)
    self._actions = np.array(actions, dtype=np.intc)
    self._action_repeat = action_repeat
    self._shape = (height, width, 3)
    seconds = float(settings.get('episodeLengthSeconds', LEVELS[level]))
    self.episode_length = int(np.ceil(seconds * fps / action_repeat))
    self._rng = np.random.RandomState(seed)
    self._observation = None
    self._instruction = '0'

  def _read(self):
    observations = self._lab.observations()
    self._observation = np.array(observations['RGB_INTERLEAVED'], dtype=np.uint8)
    self._instruction = str(observations['INSTR'])

  def last_phase_reward(self) -> float:
    """The final-phase reward the level reports in INSTR (0 until it is decided)."""
    try:
      return float(self._instruction)
    except ValueError:
      return 0.0

  def reset(self) -> dm_env.TimeStep:
    self._lab.reset(seed=int(self._rng.randint(0, 2**31 - 1)))
    self._read()
    return dm_env.TimeStep(dm_env.StepType.FIRST, np.float32(0.0), np.float32(1.0),
                           self._observation)

  def step(self, action) -> dm_env.TimeStep:
    if self._observation is None or not self._lab.is_running():
      return self.reset()
    reward = np.float32(self._lab.step(self._actions[int(action)],
                                       num_steps=self._action_repeat))
    if not self._lab.is_running():  # Observations are gone; keep the last ones.
      return dm_env.TimeStep(dm_env.StepType.LAST, reward, np.float32(0.0), self._observation)
    self._read()
    return dm_env.TimeStep(dm_env.StepType.MID, reward, np.float32(1.0), self._observation)

  def observation_spec(self) -> specs.Array:
    return specs.Array(self._shape, np.uint8, name='image')

  def action_spec(self) -> specs.DiscreteArray:
    return specs.DiscreteArray(len(self._actions), dtype=np.int32, name='action')

  def reward_spec(self) -> specs.Array:
    return specs.Array((), np.float32, name='reward')

  def discount_spec(self) -> specs.BoundedArray:
    return specs.BoundedArray((), np.float32, 0.0, 1.0, name='discount')

  def close(self):
    self._lab.close()
