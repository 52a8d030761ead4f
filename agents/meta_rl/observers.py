"""Per-episode regret from the bandit's true arm probabilities (spec section 3.1)."""

from typing import Dict

from acme.utils.observers import base
import dm_env
import numpy as np


class RegretObserver(base.EnvLoopObserver):
  """Expected cumulative regret sum_t (max_a mu_a - mu_{a_t}) and sub-optimal pulls of an episode.

  Uses the arms' expected rewards (the environment's `expected_rewards`), not the realised
  rewards, so its variance is only that of the agent's choices.
  """

  def __init__(self):
    self._expected_rewards = None
    self._regret = 0.0
    self._suboptimal_pulls = 0

  def observe_first(self, env: dm_env.Environment, timestep: dm_env.TimeStep):
    self._expected_rewards = env.expected_rewards
    self._regret = 0.0
    self._suboptimal_pulls = 0

  def observe(self, env: dm_env.Environment, timestep: dm_env.TimeStep, action: np.ndarray):
    best = self._expected_rewards.max()
    chosen = self._expected_rewards[int(action)]
    self._regret += best - chosen
    self._suboptimal_pulls += int(chosen < best)

  def get_metrics(self) -> Dict[str, float]:
    return {'regret': self._regret, 'suboptimal_pulls': float(self._suboptimal_pulls)}
