"""The DeepMind Lab adapter: a one-line error without deepmind_lab, and its logic against a
stand-in for `deepmind_lab.Lab` (DeepMind Lab itself cannot be installed here)."""

import sys
import types

import numpy as np
import pytest

import environments
from agents.tvt import dmlab


def test_without_deepmind_lab_the_error_says_how_to_install_it(monkeypatch):
  monkeypatch.setitem(sys.modules, 'deepmind_lab', None)  # Makes the import fail.
  with pytest.raises(dmlab.DeepMindLabUnavailableError) as error:
    environments.make('dmlab_key_to_door')
  message = str(error.value)
  assert '\n' not in message
  assert 'deepmind_lab is not installed' in message and 'BUILD.md' in message


class _FakeLab:
  """Documented API of deepmind_lab.Lab; a 3-step episode whose INSTR becomes '10'."""
  made = []

  def __init__(self, level, observations, config, renderer):
    self.level, self.observation_names, self.config = level, observations, config
    self.steps, self.calls = 0, []
    _FakeLab.made.append(self)

  def reset(self, seed):
    self.steps = 0
    self.calls.append(('reset', seed))

  def is_running(self):
    return self.steps < 3

  def observations(self):
    assert self.is_running(), 'observations() after the episode ended'
    frame = np.full((72, 96, 3), self.steps, np.uint8)
    return {'RGB_INTERLEAVED': frame, 'INSTR': '10' if self.steps == 2 else '0'}

  def step(self, action, num_steps):
    self.calls.append(('step', action.tolist(), action.dtype, num_steps))
    self.steps += 1
    return 5.0 if self.steps == 2 else 0.0

  def close(self):
    pass


@pytest.fixture
def level_directory(tmp_path, monkeypatch):
  for name in list(dmlab.LEVELS) + [f[:-4] for f in dmlab.HELPER_FILES]:
    (tmp_path / f'{name}.lua').write_text('-- stand-in')
  monkeypatch.setitem(sys.modules, 'deepmind_lab', types.SimpleNamespace(Lab=_FakeLab))
  return str(tmp_path)


def test_an_episode_through_the_adapter(level_directory):
  env = environments.make('dmlab_key_to_door', level_directory=level_directory, seed=1)
  lab = _FakeLab.made[-1]
  assert lab.level == 'key_to_door' and lab.observation_names == ['RGB_INTERLEAVED', 'INSTR']
  assert lab.config['levelDirectory'] == level_directory and lab.config['fps'] == '60'
  assert env.episode_length == 555  # 37 s * 60 fps / 4 frames per step (spec 6.3).
  first = env.reset()
  assert first.first() and first.observation.shape == (72, 96, 3)
  assert env.observation_spec().shape == (72, 96, 3) and env.action_spec().num_values == 9
  steps = [env.step(0), env.step(5), env.step(6)]
  assert steps[-1].last() and not steps[1].last() and steps[-1].discount == 0.0
  assert [float(s.reward) for s in steps] == [0.0, 5.0, 0.0]
  assert steps[-1].observation[0, 0, 0] == 2  # The last frame seen, kept after the end.
  assert env.last_phase_reward() == 10.0
  forward, look_right, forward_left = (c for c in lab.calls if c[0] == 'step')
  assert forward[1] == [0, 0, 0, 1, 0, 0, 0] and forward[2] == np.intc and forward[3] == 4
  assert look_right[1] == [20, 0, 0, 0, 0, 0, 0]
  assert forward_left[1] == [-20, 0, 0, 1, 0, 0, 0]
  assert env.step(0).first()  # Then a new episode starts.


def test_missing_level_scripts_are_named(level_directory, tmp_path):
  (tmp_path / 'image_utils.lua').unlink()
  with pytest.raises(dmlab.DeepMindLabUnavailableError, match='image_utils.lua'):
    environments.make('dmlab_active_visual_match', level_directory=level_directory)
  with pytest.raises(ValueError, match='unknown TVT DeepMind Lab level'):
    dmlab.DeepMindLabEnvironment('key_to_door_blue')
