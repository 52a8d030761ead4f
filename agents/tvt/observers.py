"""Per-episode metrics that only the environment knows (spec 1.8)."""

from typing import Dict

from acme.utils.observers import base
import dm_env
import numpy as np


class LastPhaseRewardObserver(base.EnvLoopObserver):
  """The reward of the episode's last phase, read from the environment when the episode ends."""

  def __init__(self):
    self._value = 0.0

  def observe_first(self, env: dm_env.Environment, timestep: dm_env.TimeStep):
    self._value = 0.0

  def observe(self, env: dm_env.Environment, timestep: dm_env.TimeStep, action: np.ndarray):
    if timestep.last():
      self._value = float(env.last_phase_reward())

  def get_metrics(self) -> Dict[str, float]:
    return {'last_phase_reward': self._value}
