"""OpenGrid: walk to the fixed bottom-right corner of an empty grid (episodic; spec 1.5)."""

import dataclasses

import jax
from jax import numpy as jnp

from environments.jax_envs import base


@dataclasses.dataclass(frozen=True)
class OpenGrid(base.JaxEnvironment):
  """No walls, goal at (g-1, g-1), reward -1 per step; the observation shows only the player.

  Same timing as ProcMaze: the episode ends on the step after reaching the goal; with
  probability 0.1/g per step the agent is teleported onto the goal (or the episode ends).
  """
  grid_size: int = 10
  spontaneous_termination: bool = True
  teleport_on_termination: bool = True

  def __post_init__(self):
    if self.grid_size < 2:
      raise ValueError(f'grid_size must be at least 2, got {self.grid_size}')

  @property
  def teleport_probability(self) -> float:
    return 0.1 / self.grid_size if self.spontaneous_termination else 0.0

  @property
  def goal(self) -> jax.Array:
    return jnp.full((2,), self.grid_size - 1, jnp.int32)

  def num_actions(self) -> int:
    return base.NUM_GRID_ACTIONS

  def observation_size(self) -> int:
    return self.grid_size ** 2

  def observation(self, pos: jax.Array) -> jax.Array:
    return base.one_hot_cell(pos, self.grid_size).ravel()

  @base.jit_method
  def reset(self, key):
    pos = jax.random.randint(key, (2,), 0, self.grid_size)
    return pos, self.observation(pos)

  @base.jit_method
  def step(self, key, state, action):
    terminal = jnp.all(state == self.goal)  # On the incoming state.
    pos = base.move(state, action, self.grid_size)
    event = base.bernoulli(key, self.teleport_probability)
    if self.teleport_on_termination:
      pos = jnp.where(event, self.goal, pos)
    else:
      terminal = terminal | event
    return pos, self.observation(pos), jnp.float32(-1.0), terminal, {}
