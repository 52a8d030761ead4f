"""The numpy-vectorised pycolab tasks play, seed for seed, the episodes of the pycolab ones.

Both backends are built the way TVT's actors build them (`make_batched_environment` on the
factory `launch.tvt` picks) and stepped with the same random actions for several episodes; the
actions lean north, so that keys, doors and colour squares are reached often.
"""

import dm_env
import numpy as np
import pytest

import environments
from agents.core import acting
from agents.core import distributed
from agents.core import environment_loop
from agents.tvt import experiment
from agents.tvt import observers
from environments import batched
from environments.pycolab import objects
from environments.pycolab import vectorised

NORTH_LEANING = [0.55, 0.15, 0.15, 0.15]


def _both(game, batch_size, seed, **kwargs):
  reference = distributed.make_batched_environment(
      environments.make_factory(game, **kwargs), batch_size, seed)
  fast = distributed.make_batched_environment(
      vectorised.make_factory(game, **kwargs), batch_size, seed)
  assert isinstance(reference, batched.BatchedEnvironment)
  assert isinstance(fast, vectorised.VectorisedPycolabBatch)
  return reference, fast


def _assert_same_timesteps(expected, actual, step):
  for field in dm_env.TimeStep._fields:
    want, got = np.asarray(getattr(expected, field)), np.asarray(getattr(actual, field))
    assert got.dtype == want.dtype and got.shape == want.shape, (step, field)
    np.testing.assert_array_equal(got, want, err_msg=f'{field} at step {step}')


def _play_both(game, batch_size, episodes, seed, **kwargs):
  """Steps both backends in lockstep, comparing everything; returns event counts."""
  reference, fast = _both(game, batch_size, seed, **kwargs)
  length = environments.make(game, **kwargs).episode_length
  rng = np.random.default_rng(seed)
  expected, actual = reference.reset(), fast.reset()
  counts = dict(final_rewards=0, apples=0, keys=0, phase_changes=0, episodes=0)
  phases = [0] * batch_size
  for step in range(episodes * (length + 1)):
    _assert_same_timesteps(expected, actual, step)
    for i, (env, view) in enumerate(zip(reference.environments, fast.environments)):
      assert view.phase == env.phase, (step, i)
      assert view.steps_taken == env.steps_taken
      assert view.player_position() == env.player_position()
      np.testing.assert_array_equal(view.full_board(), env.full_board())
      np.testing.assert_array_equal(view.board(), env.board())
      np.testing.assert_array_equal(view.phase_rewards(), env.phase_rewards())
      assert view.last_phase_reward() == env.last_phase_reward()
      counts['phase_changes'] += env.phase != phases[i]
      phases[i] = env.phase
      if expected.step_type[i] == dm_env.StepType.LAST:
        counts['episodes'] += 1
        counts['final_rewards'] += env.last_phase_reward() > 0
      if env.phase == 0 and ord(objects.INDICATOR) in env.full_board():
        counts['keys'] += 1
      counts['apples'] += env.phase == 1 and expected.reward[i] > 0
    actions = rng.choice(objects.NUM_ACTIONS, size=batch_size, p=NORTH_LEANING)
    expected, actual = reference.step(actions), fast.step(actions)
  return counts


@pytest.mark.parametrize('game', experiment.GAMES)
def test_same_episodes_as_pycolab(game):
  counts = _play_both(game, batch_size=12, episodes=4, seed=3)
  assert counts['episodes'] == 12 * 4
  # Phase changes: explore -> distractor -> reward -> (new episode) explore.
  assert counts['phase_changes'] == 12 * (3 * 4 - 1)
  assert counts['final_rewards'] >= 3 and counts['apples'] >= 10
  if game == 'key_to_door':
    assert counts['keys'] >= 3


@pytest.mark.parametrize('game,kwargs', [
    ('key_to_door', dict(crop=False, num_apples=22, fix_apple_reward_in_episode=False,
                         apple_reward_min=2.0, apple_reward_max=4.0, final_reward=5.0)),
    ('active_visual_match', dict(num_apples=0, max_frames_per_phase=dict(
        explore=4, distractor=30, reward=9))),
    ('key_to_door', dict(num_apples=3, max_frames_per_phase=dict(
        explore=20, distractor=1, reward=12))),
])
def test_same_episodes_as_pycolab_with_other_settings(game, kwargs):
  counts = _play_both(game, batch_size=4, episodes=5, seed=11, **kwargs)
  assert counts['episodes'] == 4 * 5


def test_specs_and_argument_checks_match_pycolab():
  for game, kwargs in [('key_to_door', {}), ('key_to_door', dict(crop=False)),
                       ('active_visual_match', {})]:
    reference, fast = _both(game, 2, 0, **kwargs)
    for name in ('observation_spec', 'action_spec', 'reward_spec', 'discount_spec'):
      assert getattr(fast, name)() == getattr(reference, name)(), (game, name)
    assert fast.environments[1].colours == reference.environments[1].colours
  for kwargs in [dict(num_apples=23), dict(apple_reward_min=5.0, apple_reward_max=1.0)]:
    with pytest.raises(ValueError):
      vectorised.make_factory('key_to_door', **kwargs)
  with pytest.raises(ValueError, match='always cropped'):
    vectorised.make_factory('active_visual_match', crop=False)
  _, fast = _both('key_to_door', 2, 0)
  fast.reset()
  with pytest.raises(ValueError, match='actions must be in'):
    fast.step(np.array([0, 4]))
  with pytest.raises(ValueError, match='expected 2 actions'):
    fast.step(np.array([0]))


def test_tvt_actors_step_the_vectorised_backend_unless_told_pycolab():
  factory, _ = experiment.make_config('key_to_door', {}, batch_size=2)
  assert isinstance(distributed.make_batched_environment(factory, 2, 0),
                    vectorised.VectorisedPycolabBatch)
  factory, _ = experiment.make_config('key_to_door', {}, env_backend='pycolab', batch_size=2)
  assert isinstance(distributed.make_batched_environment(factory, 2, 0),
                    batched.BatchedEnvironment)
  with pytest.raises(ValueError, match='env_backend'):
    experiment.make_config('key_to_door', {}, env_backend='gym')


class _RandomActor(acting.BatchedActor):
  """Uniformly random actions from a fixed seed (the same for both backends)."""

  def __init__(self, seed):
    self._rng = np.random.default_rng(seed)

  def select_actions(self, observations):
    return self._rng.integers(objects.NUM_ACTIONS, size=len(observations))

  def observe_first(self, timesteps):
    pass

  def observe(self, actions, next_timesteps):
    pass


def test_the_environment_loop_and_observers_report_the_same_episodes():
  results = []
  for environment in _both('active_visual_match', 4, 5):
    loop = environment_loop.BatchedEnvironmentLoop(
        environment, _RandomActor(0),
        observer_factory=lambda: [observers.LastPhaseRewardObserver()])
    results.append(loop.run(num_episodes=8))
  for key in ('episode_return', 'episode_length', 'last_phase_reward', 'steps', 'episodes'):
    assert results[1][key] == results[0][key], key
