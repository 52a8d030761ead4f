"""Bernoulli bandit tasks of "Learning to Reinforcement Learn" as `dm_env` environments.

One episode is a fixed number of trials on one bandit. The observation holds what the agent of
the paper sees before each trial: the previous action (one-hot, all zeros on the first trial), the
previous reward and the trial index (0-based, raw). The true expected reward of each arm is kept
out of the observation and exposed as `expected_rewards`, for the evaluator's regret.
"""

import dataclasses
from typing import Callable, Optional

import dm_env
from dm_env import specs
import numpy as np

# A sampler draws the expected reward of each arm for one bandit from a generator.
ArmSampler = Callable[[np.random.Generator], np.ndarray]


def _independent_uniform(rng: np.random.Generator) -> np.ndarray:
  return rng.uniform(0.0, 1.0, size=2)


def _dependent_uniform(rng: np.random.Generator) -> np.ndarray:
  p = rng.uniform(0.0, 1.0)
  return np.array([p, 1.0 - p])


def _dependent_two_point(q: float) -> ArmSampler:
  """p_0 drawn uniformly from {q, 1 - q}, p_1 = 1 - p_0."""

  def sample(rng: np.random.Generator) -> np.ndarray:
    p = q if rng.uniform() < 0.5 else 1.0 - q
    return np.array([p, 1.0 - p])

  return sample


@dataclasses.dataclass(frozen=True)
class BanditDistribution:
  """A distribution over two-armed Bernoulli bandits (spec section 1.1)."""
  name: str
  sample: ArmSampler
  # E[max_a p_a]: the per-trial reward of an oracle, used for chance levels.
  expected_max_probability: float


DISTRIBUTIONS = {
    'independent': BanditDistribution('independent', _independent_uniform, 2 / 3),
    'dependent_uniform': BanditDistribution('dependent_uniform', _dependent_uniform, 0.75),
    'easy': BanditDistribution('easy', _dependent_two_point(0.1), 0.9),
    'medium': BanditDistribution('medium', _dependent_two_point(0.25), 0.75),
    'hard': BanditDistribution('hard', _dependent_two_point(0.4), 0.6),
}


def observation_spec(num_arms: int):
  """The observation layout shared by every bandit of this module."""
  return {
      'previous_action': specs.Array((num_arms,), np.float32, 'previous_action'),
      'previous_reward': specs.Array((), np.float32, 'previous_reward'),
      'trial': specs.Array((), np.float32, 'trial'),
  }


class _BanditBase(dm_env.Environment):
  """Episode bookkeeping shared by the two- and eleven-armed bandits."""

  def __init__(self, num_arms: int, num_trials: int, meta: bool,
               seed: Optional[int]):
    if num_trials < 1:
      raise ValueError(f'num_trials must be at least 1, got {num_trials}')
    self._num_arms = num_arms
    self._num_trials = num_trials
    self._meta = meta
    self._rng = np.random.default_rng(seed)
    self._arm_rewards = None  # Expected reward of each arm of the current bandit.
    self._trial = 0
    self._needs_reset = True

  # --- what subclasses define -----------------------------------------------------------------
  def _draw_bandit(self) -> np.ndarray:
    """Returns the expected reward of every arm of a freshly drawn bandit."""
    raise NotImplementedError

  def _pull(self, arm: int) -> float:
    """Returns the reward of pulling `arm` of the current bandit."""
    raise NotImplementedError

  # --- dm_env.Environment ---------------------------------------------------------------------
  def reset(self) -> dm_env.TimeStep:
    if self._arm_rewards is None or self._meta:
      self._arm_rewards = self._draw_bandit()
    self._trial = 0
    self._needs_reset = False
    return dm_env.restart(self._observation(None, 0.0))

  def step(self, action) -> dm_env.TimeStep:
    if self._needs_reset:
      return self.reset()
    arm = int(action)
    if not 0 <= arm < self._num_arms:
      raise ValueError(f'action {arm} is not an arm of a {self._num_arms}-armed bandit')
    reward = np.float32(self._pull(arm))
    self._trial += 1
    observation = self._observation(arm, reward)
    if self._trial >= self._num_trials:
      self._needs_reset = True
      return dm_env.termination(reward, observation)._replace(discount=np.float32(0.0))
    return dm_env.transition(reward, observation, discount=np.float32(1.0))

  def observation_spec(self):
    return observation_spec(self._num_arms)

  def action_spec(self):
    return specs.DiscreteArray(self._num_arms, dtype=np.int32, name='arm')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')

  # --- side channel for evaluation (never fed to a network) -----------------------------------
  @property
  def expected_rewards(self) -> np.ndarray:
    """Expected reward of each arm of the current bandit."""
    if self._arm_rewards is None:
      raise RuntimeError('call reset() before asking for the bandit parameters')
    return self._arm_rewards.copy()

  @property
  def num_trials(self) -> int:
    return self._num_trials

  def _observation(self, arm: Optional[int], reward: float):
    previous_action = np.zeros(self._num_arms, np.float32)
    if arm is not None:
      previous_action[arm] = 1.0
    return {
        'previous_action': previous_action,
        'previous_reward': np.float32(reward),
        'trial': np.float32(self._trial),
    }


class TwoArmedBernoulliBandit(_BanditBase):
  """Two arms paying 1 with probability p_a; the bandit is drawn from a distribution.

  With `meta=True` a new bandit is drawn at every reset (training across the distribution);
  with `meta=False` the first draw is kept for the life of the environment (plain RL on one
  bandit), as the `-m` flag of the reproduction toggles.
  """

  def __init__(self, distribution: str = 'independent', num_trials: int = 100,
               meta: bool = True, seed: Optional[int] = None):
    if distribution not in DISTRIBUTIONS:
      raise ValueError(f'unknown bandit distribution {distribution!r}; '
                       f'valid: {", ".join(DISTRIBUTIONS)}')
    super().__init__(2, num_trials, meta, seed)
    self._distribution = DISTRIBUTIONS[distribution]

  @property
  def distribution(self) -> BanditDistribution:
    return self._distribution

  def _draw_bandit(self) -> np.ndarray:
    return self._distribution.sample(self._rng)

  def _pull(self, arm: int) -> float:
    return float(self._rng.uniform() < self._arm_rewards[arm])


class ElevenArmedBandit(_BanditBase):
  """The 11-armed task of the paper's section 3.1.3.

  One of the first ten arms (the target) pays `target_reward`, the other nine pay
  `non_target_reward`, and the eleventh arm pays 0.1 x the 1-based index of the target, so it
  tells the agent where the target is. The paper's non-target arms pay 1 (the gym package pays
  1.1); episodes are 5 trials. All payoffs are deterministic.
  """

  def __init__(self, num_trials: int = 5, meta: bool = True, seed: Optional[int] = None,
               target_reward: float = 5.0, non_target_reward: float = 1.0):
    super().__init__(11, num_trials, meta, seed)
    self._target_reward = target_reward
    self._non_target_reward = non_target_reward

  def _draw_bandit(self) -> np.ndarray:
    target = int(self._rng.integers(10))
    rewards = np.full(11, self._non_target_reward)
    rewards[target] = self._target_reward
    rewards[10] = 0.1 * (target + 1)
    return rewards

  def _pull(self, arm: int) -> float:
    return float(self._arm_rewards[arm])
