"""Any pure-JAX environment of the suite as a `dm_env.Environment`, for Acme actors and loops."""

from typing import Optional

import dm_env
from dm_env import specs
import jax
import numpy as np

from environments.jax_envs import base


class JaxEnvironmentAdapter(dm_env.Environment):
  """Steps one copy of `environment` with its jitted functions and a seeded key stream.

  Observations are float32 0/1 vectors, rewards and discounts float32 (Reverb signatures are
  float32). An episodic environment's terminal step is a LAST timestep with discount 0. A
  continuing task is cut into episodes of `max_episode_steps` (a truncation: discount 1), so that
  episode-based loops still report returns; None never cuts.
  """

  def __init__(self, environment: base.JaxEnvironment, seed: Optional[int] = None,
               max_episode_steps: Optional[int] = None):
    if max_episode_steps is not None and max_episode_steps < 1:
      raise ValueError(f'max_episode_steps must be at least 1, got {max_episode_steps}')
    self._environment = environment
    if seed is None:
      seed = int(np.random.SeedSequence().generate_state(1)[0])
    self._key = jax.random.PRNGKey(seed)
    self._max_episode_steps = max_episode_steps
    self._state = None
    self._episode_steps = 0
    self._needs_reset = True

  @property
  def environment(self) -> base.JaxEnvironment:
    return self._environment

  def _next_key(self) -> jax.Array:
    self._key, key = jax.random.split(self._key)
    return key

  def reset(self) -> dm_env.TimeStep:
    self._state, observation = self._environment.reset(self._next_key())
    self._episode_steps = 0
    self._needs_reset = False
    return dm_env.restart(np.asarray(observation, np.float32))

  def step(self, action) -> dm_env.TimeStep:
    if self._needs_reset:
      return self.reset()
    self._state, observation, reward, terminal, _ = self._environment.step(
        self._next_key(), self._state, np.int32(action))
    self._episode_steps += 1
    observation = np.asarray(observation, np.float32)
    reward = np.float32(reward)
    if bool(terminal):
      self._needs_reset = True
      return dm_env.TimeStep(dm_env.StepType.LAST, reward, np.float32(0.0), observation)
    if self._max_episode_steps and self._episode_steps >= self._max_episode_steps:
      self._needs_reset = True
      return dm_env.TimeStep(dm_env.StepType.LAST, reward, np.float32(1.0), observation)
    return dm_env.TimeStep(dm_env.StepType.MID, reward, np.float32(1.0), observation)

  def observation_spec(self):
    return specs.BoundedArray((self._environment.observation_size(),), np.float32, 0.0, 1.0,
                              'observation')

  def action_spec(self):
    return specs.DiscreteArray(self._environment.num_actions(), np.int32, 'action')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')
