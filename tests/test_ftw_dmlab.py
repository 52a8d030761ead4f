"""The DeepMind Lab CTF adapter: a one-line error without deepmind_lab, and its logic against a
stand-in for `deepmind_lab.Lab` (DeepMind Lab itself cannot be installed here)."""

import sys
import types

import numpy as np
import pytest

import environments
from environments.ctf import dmlab
from environments.ctf import game


def test_without_deepmind_lab_the_error_says_how_to_install_it(monkeypatch):
  monkeypatch.setitem(sys.modules, 'deepmind_lab', None)  # Makes the import fail.
  with pytest.raises(dmlab.DeepMindLabUnavailableError) as error:
    environments.make('dmlab_ctf')
  assert '\n' not in str(error.value) and 'BUILD.md' in str(error.value)


def _reward(reason, team, player, other=0):
  return ('reward', (reason, team, 1, player, (0, 0, 0), other))


def test_events_of_me_my_team_and_the_opponents_map_to_the_13_events():
  me, mate, enemy = 1, 2, 3
  events = dmlab.events_vector([
      _reward('CTF_FLAG_BONUS', 'blue', me), _reward('CTF_CAPTURE_BONUS', 'blue', mate),
      _reward('CTF_RECOVERY_BONUS', 'red', enemy), ('doors', ()),
  ], player_id=me, team='blue')
  assert set(game.describe_events(events)) == {'i_picked_up_flag', 'teammate_captured',
                                               'opponent_returned_flag'}
  tag_of_carrier = dmlab.events_vector([
      _reward('CTF_FRAG_CARRIER_BONUS', 'blue', me, enemy),
      _reward('TAG_PLAYER', 'blue', me, enemy)], player_id=me, team='blue')
  assert game.describe_events(tag_of_carrier) == ['i_tagged_carrier']
  tagged = dmlab.events_vector([_reward(b'TAG_PLAYER', b'red', enemy, me)], me, 'blue')
  assert game.describe_events(tagged) == ['i_was_tagged']


class _FakeLab:
  """The documented API of deepmind_lab.Lab: a 3-step episode in which our team captures."""

  def __init__(self, level, observations, config):
    self.level, self.config, self.steps, self.actions = level, config, 0, []
    self._height, self._width = int(config['height']), int(config['width'])

  def reset(self, seed):
    self.steps = 0

  def is_running(self):
    return self.steps < 3

  def observations(self):
    assert self.is_running()
    return {'RGB_INTERLEAVED': np.full((self._height, self._width, 3), self.steps, np.uint8)}

  def step(self, action, num_steps):
    assert action.dtype == np.intc and action.shape == (7,)
    self.actions.append((tuple(action), num_steps))
    self.steps += 1
    return 0.0

  def events(self):
    return [_reward('CTF_CAPTURE_BONUS', 'blue', 1)] if self.steps == 2 else []

  def close(self):
    pass


def test_a_fake_episode_plays_like_the_grid_world(monkeypatch):
  monkeypatch.setitem(sys.modules, 'deepmind_lab', types.SimpleNamespace(Lab=_FakeLab))
  env = environments.make('dmlab_ctf', width=8, height=6, action_repeat=2, seed=0)
  timestep = env.reset()
  assert timestep.first() and timestep.observation.shape == (6, 8, 3)
  assert env.action_spec().num_values == game.NUM_ACTIONS
  steps = []
  while not timestep.last():
    timestep = env.step(game.TAG if not steps else game.TURN_LEFT)
    steps.append(timestep)
  assert len(steps) == 3 and steps[-1].discount == 0.0
  assert game.describe_events(steps[1].reward) == ['i_captured']
  assert env.get_outcome() == 0.0
  assert env._lab.actions[0] == ((0, 0, 0, 0, 1, 0, 0), 2)  # pylint: disable=protected-access
  assert env._lab.actions[1][0][0] == -20  # pylint: disable=protected-access
