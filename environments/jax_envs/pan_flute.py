"""PanFlute: play the pipes in the order n-1, ..., 1, 0 (continuing; spec section 1.4)."""

import dataclasses

import jax
from jax import numpy as jnp
import numpy as np

from environments.jax_envs import base


@dataclasses.dataclass(frozen=True)
class PanFlute(base.JaxEnvironment):
  """n pipes, pipe i holds the last i+1 actions as 'was it i?'; reward when every pipe is full.

  The state is a padded bool[n, n]: row i is pipe i, only its first i+1 entries are used. After
  action a_t, entry k of pipe i is [a_{t-k} == i]. Reward 1 comes on the step after the last
  entry of every pipe is True, i.e. after the actions ..., n-1, ..., 1, 0. With probability 1/n^2
  per step (`spontaneous_reward`) the last entry of every pipe is set.
  """
  num_pipes: int = 5
  spontaneous_reward: bool = True

  episodic = False

  def __post_init__(self):
    if self.num_pipes < 1:
      raise ValueError(f'num_pipes must be at least 1, got {self.num_pipes}')

  @property
  def event_probability(self) -> float:
    return 1.0 / self.num_pipes ** 2 if self.spontaneous_reward else 0.0

  def num_actions(self) -> int:
    return self.num_pipes

  def observation_size(self) -> int:
    return self.num_pipes * (self.num_pipes + 1) // 2

  def observation(self, pipes: jax.Array) -> jax.Array:
    """The pipes concatenated in order 0..n-1 (the lower triangle, row-major)."""
    return pipes[np.tril_indices(self.num_pipes)]

  @base.jit_method
  def reset(self, key):
    del key
    pipes = jnp.zeros((self.num_pipes, self.num_pipes), bool)
    return pipes, self.observation(pipes)

  @base.jit_method
  def step(self, key, state, action):
    n = self.num_pipes
    reward = jnp.all(jnp.diagonal(state)).astype(jnp.float32)  # On the incoming state.
    played = (jnp.arange(n) == action)[:, None]
    pipes = jnp.concatenate([played, state[:, :-1]], axis=1) & np.tri(n, dtype=bool)
    pipes = pipes | (base.bernoulli(key, self.event_probability) & np.eye(n, dtype=bool))
    return pipes, self.observation(pipes), reward, jnp.array(False), {}
