"""The bandit environments: observations, episode boundaries, statistics, seeding, registry."""

import dm_env
import numpy as np
import pytest

import environments
from environments import bandits
from environments import batched


def _episode(env, policy=lambda t: t % 2):
  timesteps = [env.reset()]
  while not timesteps[-1].last():
    timesteps.append(env.step(policy(len(timesteps) - 1)))
  return timesteps


def test_observations_and_episode_boundaries():
  env = environments.make('independent', num_trials=5, seed=1)
  timesteps = _episode(env)
  assert len(timesteps) == 6
  first = timesteps[0]
  assert first.first()
  np.testing.assert_array_equal(first.observation['previous_action'], [0.0, 0.0])
  assert first.observation['previous_reward'] == 0.0 and first.observation['trial'] == 0.0
  for t, timestep in enumerate(timesteps[1:], start=1):
    action = (t - 1) % 2
    np.testing.assert_array_equal(timestep.observation['previous_action'],
                                  np.eye(2)[action])
    assert timestep.observation['trial'] == t
    assert timestep.observation['previous_reward'] == timestep.reward
    assert timestep.reward.dtype == np.float32 and timestep.discount.dtype == np.float32
    for key, spec in env.observation_spec().items():
      spec.validate(timestep.observation[key])
  assert [ts.discount for ts in timesteps[1:]] == [1.0, 1.0, 1.0, 1.0, 0.0]
  assert timesteps[-1].step_type == dm_env.StepType.LAST
  assert env.step(0).first()  # Stepping after the end starts a new episode.


@pytest.mark.parametrize('distribution,expected_max', [
    ('independent', 2 / 3), ('dependent_uniform', 0.75), ('easy', 0.9), ('medium', 0.75),
    ('hard', 0.6)])
def test_distribution_statistics(distribution, expected_max):
  rng = np.random.default_rng(0)
  draws = np.stack([bandits.DISTRIBUTIONS[distribution].sample(rng) for _ in range(40000)])
  assert draws.max(axis=1).mean() == pytest.approx(expected_max, abs=0.005)
  assert draws[:, 0].mean() == pytest.approx(0.5, abs=0.01)
  if distribution != 'independent':
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
  if distribution in ('easy', 'medium', 'hard'):
    q = {'easy': 0.1, 'medium': 0.25, 'hard': 0.4}[distribution]
    assert set(np.round(draws[:, 0], 6)) == {q, round(1 - q, 6)}
  if distribution == 'independent':
    assert abs(np.corrcoef(draws.T)[0, 1]) < 0.02


def test_rewards_follow_the_arm_probabilities():
  env = environments.make('independent', num_trials=20000, meta=False, seed=3)
  env.reset()
  p = env.expected_rewards
  rewards = [env.step(0).reward for _ in range(10000)] + [env.step(1).reward
                                                          for _ in range(9999)]
  assert np.mean(rewards[:10000]) == pytest.approx(p[0], abs=0.015)
  assert np.mean(rewards[10000:]) == pytest.approx(p[1], abs=0.015)


def test_meta_mode_redraws_and_fixed_mode_keeps_the_bandit():
  for meta in (True, False):
    env = environments.make('independent', num_trials=3, meta=meta, seed=4)
    draws = []
    for _ in range(5):
      _episode(env)
      draws.append(tuple(env.expected_rewards))
    assert (len(set(draws)) == 5) == meta
    assert (len(set(draws)) == 1) == (not meta)


def test_seeds_make_environments_reproducible_and_distinct():
  def trace(seed):
    env = environments.make('hard', num_trials=50, seed=seed)
    return [ts.reward for ts in _episode(env)[1:]], tuple(env.expected_rewards)

  assert trace(7) == trace(7)
  assert trace(7) != trace(8)


def test_eleven_armed_payoffs():
  env = environments.make('eleven_armed', seed=0)
  env.reset()
  payoffs = env.expected_rewards
  target = int(np.argmax(payoffs[:10]))
  assert payoffs[target] == 5.0
  assert np.all(np.delete(payoffs[:10], target) == 1.0)
  assert payoffs[10] == pytest.approx(0.1 * (target + 1))
  assert env.step(10).reward == pytest.approx(0.1 * (target + 1))
  assert len(_episode(env)) == 6  # Five trials.


def test_unknown_id_lists_the_valid_ids():
  with pytest.raises(environments.UnknownEnvironmentError) as error:
    environments.make('BanditTwoArmedDependantEasy-v0')
  message = str(error.value)
  assert 'BanditTwoArmedDependantEasy-v0' in message
  assert 'BanditTwoArmedDependentEasy-v0' in message and 'independent' in message
  assert environments.canonical_id('easy') == 'BanditTwoArmedDependentEasy-v0'


def test_batched_environment_restarts_finished_episodes_by_itself():
  envs = [environments.make('independent', num_trials=n, seed=n) for n in (2, 3)]
  batch = batched.BatchedEnvironment(envs)
  steps = [batch.reset()]
  for _ in range(4):
    steps.append(batch.step(np.array([0, 1])))
  types = np.stack([ts.step_type for ts in steps])
  first, mid, last = dm_env.StepType.FIRST, dm_env.StepType.MID, dm_env.StepType.LAST
  np.testing.assert_array_equal(types[:, 0], [first, mid, last, first, mid])
  np.testing.assert_array_equal(types[:, 1], [first, mid, mid, last, first])
  assert steps[1].observation['previous_action'].shape == (2, 2)
  with pytest.raises(ValueError):
    batch.step(np.array([0]))
