"""ProcMaze: reach the goal of a freshly generated maze (episodic; spec section 1.2)."""

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
from jax import numpy as jnp

from environments.jax_envs import base


class ProcMazeState(NamedTuple):
  goal: jax.Array  # int32[2]
  wall_grid: jax.Array  # bool[g, g]
  pos: jax.Array  # int32[2]


class _MazeCarry(NamedTuple):
  """The depth-first search's state; cells are flat indices row * g + col."""
  visited: jax.Array  # bool[g*g]
  stack: jax.Array  # int32[g*g]: cells; entries at `top` and above are stale.
  top: jax.Array  # Number of cells on the stack.
  wall_grid: jax.Array  # bool[g*g]
  iteration: jax.Array


def _grow_maze(grid_size: int, uniforms: jax.Array, carry: _MazeCarry) -> _MazeCarry:
  """One step of the randomised depth-first search: pop a cell, maybe open a neighbour.

  A neighbour can be opened iff it is not visited and exactly one of its own neighbours is
  visited, which keeps the open cells a tree; one is chosen uniformly with this iteration's
  uniform number (the k-th expandable cell, k = floor(u * count)). Only elementwise operations
  on the g*g cells (no scatter or gather), so that the loop vectorises when mazes are generated
  in batches (`reset_pool`), and one uniform per iteration drawn before the loop.
  """
  g = grid_size
  cells = jnp.arange(g * g)
  rows, cols = cells // g, cells % g
  top = carry.top - 1
  cell = jnp.sum(jnp.where(cells == top, carry.stack, 0))  # The popped cell, stack[top].
  adjacent = jnp.abs(rows[:, None] - rows[None, :]) + jnp.abs(cols[:, None] - cols[None, :]) == 1
  visited_neighbours = adjacent.astype(jnp.int32) @ carry.visited.astype(jnp.int32)
  neighbour = jnp.abs(rows - cell // g) + jnp.abs(cols - cell % g) == 1
  expandable = neighbour & ~carry.visited & (visited_neighbours == 1)
  count = expandable.sum()
  grows = count > 0
  k = jnp.minimum(jnp.floor(uniforms[carry.iteration] * count).astype(jnp.int32), count - 1)
  chosen = jnp.argmax(jnp.cumsum(expandable) > k)
  opened = (cells == chosen) & grows
  # The popped cell stays on the stack under the opened neighbour; otherwise backtrack.
  return _MazeCarry(visited=carry.visited | opened,
                    stack=jnp.where((cells == top + 1) & grows, chosen, carry.stack),
                    top=jnp.where(grows, top + 2, top),
                    wall_grid=carry.wall_grid & ~opened,
                    iteration=carry.iteration + 1)


def _uniform_open_cell(key: jax.Array, wall_grid: jax.Array) -> jax.Array:
  g = wall_grid.shape[0]
  index = base.uniform_choice(key, ~wall_grid.ravel())
  return jnp.stack([index // g, index % g]).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class ProcMaze(base.JaxEnvironment):
  """A maze drawn by randomised DFS on cells (a tree of open cells); reward -1 per step.

  The episode ends on the step after the agent reaches the goal. With small probability per step
  (`spontaneous_termination`) the agent is teleported onto the goal, so that a poor policy still
  sees episodes end (or, without `teleport_on_termination`, the episode ends at once).
  """
  grid_size: int = 10
  spontaneous_termination: bool = True
  teleport_on_termination: bool = True
  costly_reset = True  # A randomised depth-first search of about 2 iterations per open cell.

  def __post_init__(self):
    if self.grid_size < 2:
      raise ValueError(f'grid_size must be at least 2, got {self.grid_size}')

  @property
  def teleport_probability(self) -> float:
    """0.1 / (worst-case shortest path length in a g x g maze), or 0 when disabled."""
    if not self.spontaneous_termination:
      return 0.0
    g = self.grid_size
    return 0.1 / ((g + 1) * math.ceil(g / 2) - (g % 2))

  def num_actions(self) -> int:
    return base.NUM_GRID_ACTIONS

  def observation_size(self) -> int:
    return 4 * self.grid_size ** 2

  def observation(self, state: ProcMazeState) -> jax.Array:
    """Channels player, goal, wall, empty (= not wall), flattened."""
    g = self.grid_size
    return base.flatten_grid([base.one_hot_cell(state.pos, g), base.one_hot_cell(state.goal, g),
                              state.wall_grid, ~state.wall_grid])

  def generate_maze(self, key: jax.Array) -> jax.Array:
    """bool[g, g] walls: all cells walls, then a randomised DFS opens a tree from a random cell."""
    g = self.grid_size
    noise_key, start_key = jax.random.split(key)
    start = jax.random.randint(start_key, (), 0, g * g)
    # Every iteration pops one cell; at most 1 + 2 (g*g - 1) cells are ever pushed.
    uniforms = jax.random.uniform(noise_key, (2 * g * g,))
    first = jnp.arange(g * g) == start
    carry = _MazeCarry(visited=first, stack=jnp.full((g * g,), start, jnp.int32),
                       top=jnp.array(1), wall_grid=~first, iteration=jnp.array(0))
    return jax.lax.while_loop(lambda c: c.top > 0, functools.partial(_grow_maze, g, uniforms),
                              carry).wall_grid.reshape(g, g)

  @base.jit_method
  def reset(self, key):
    maze_key, pos_key, goal_key = jax.random.split(key, 3)
    wall_grid = self.generate_maze(maze_key)
    state = ProcMazeState(goal=_uniform_open_cell(goal_key, wall_grid), wall_grid=wall_grid,
                          pos=_uniform_open_cell(pos_key, wall_grid))
    return state, self.observation(state)

  @base.jit_method
  def step(self, key, state, action):
    terminal = jnp.all(state.pos == state.goal)  # On the incoming state.
    candidate = base.move(state.pos, action, self.grid_size)
    pos = jnp.where(state.wall_grid[candidate[0], candidate[1]], state.pos, candidate)
    event = base.bernoulli(key, self.teleport_probability)
    if self.teleport_on_termination:
      pos = jnp.where(event, state.goal, pos)
    else:
      terminal = terminal | event
    state = state._replace(pos=pos)
    return state, self.observation(state), jnp.float32(-1.0), terminal, {}


def distances_to_goal(wall_grid: jax.Array, goal: jax.Array) -> jax.Array:
  """int32[g, g] shortest-path lengths to `goal` through open cells (g*g where unreachable)."""
  g = wall_grid.shape[0]
  far = g * g
  start = jnp.full((g, g), far, jnp.int32).at[goal[0], goal[1]].set(0)

  def relax(_, distances):
    padded = jnp.pad(distances, 1, constant_values=far)
    closest = jnp.minimum(jnp.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
                          jnp.minimum(padded[1:-1, :-2], padded[1:-1, 2:]))
    return jnp.where(wall_grid, far, jnp.minimum(distances, closest + 1))

  return jax.lax.fori_loop(0, far, relax, start)


def shortest_path_action(environment: ProcMaze, state: ProcMazeState) -> jax.Array:
  """An optimal action: the move that most shortens the path to the goal (ties: lowest index)."""
  distances = distances_to_goal(state.wall_grid, state.goal)

  def distance_after(action):
    candidate = base.move(state.pos, action, environment.grid_size)
    pos = jnp.where(state.wall_grid[candidate[0], candidate[1]], state.pos, candidate)
    return distances[pos[0], pos[1]]

  return jnp.argmin(jax.vmap(distance_after)(jnp.arange(base.NUM_GRID_ACTIONS)))
