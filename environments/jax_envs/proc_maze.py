"""ProcMaze: reach the goal of a freshly generated maze (episodic; spec section 1.2)."""

import dataclasses
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
  visited: jax.Array  # bool[g, g]
  stack: jax.Array  # int32[g*g, 2]
  top: jax.Array  # Number of cells on the stack.
  wall_grid: jax.Array
  key: jax.Array


def _on_grid(cell: jax.Array, grid_size: int) -> jax.Array:
  return jnp.all((cell >= 0) & (cell < grid_size))


def _visited_at(visited: jax.Array, cell: jax.Array) -> jax.Array:
  """visited[cell], False off the grid."""
  g = visited.shape[0]
  inside = jnp.clip(cell, 0, g - 1)
  return _on_grid(cell, g) & visited[inside[0], inside[1]]


def _expandable(visited: jax.Array, cell: jax.Array) -> jax.Array:
  """On the grid, not visited, and exactly one visited orthogonal neighbour (keeps it a tree)."""
  neighbours = cell + jnp.asarray(base.NEIGHBOURS, jnp.int32)
  visited_neighbours = jax.vmap(lambda n: _visited_at(visited, n))(neighbours).sum()
  return (_on_grid(cell, visited.shape[0]) & ~_visited_at(visited, cell)
          & (visited_neighbours == 1))


def _grow_maze(carry: _MazeCarry) -> _MazeCarry:
  """One step of the randomised depth-first search: pop a cell, maybe open a neighbour."""
  key, choice_key = jax.random.split(carry.key)
  top = carry.top - 1
  cell = carry.stack[top]
  neighbours = cell + jnp.asarray(base.NEIGHBOURS, jnp.int32)
  expandable = jax.vmap(lambda n: _expandable(carry.visited, n))(neighbours)
  grows = expandable.any()
  chosen = neighbours[base.uniform_choice(choice_key, expandable)]
  # Push the popped cell back, then the opened neighbour; otherwise backtrack.
  grown_stack = carry.stack.at[top].set(cell).at[top + 1].set(chosen)
  return _MazeCarry(
      visited=jnp.where(grows, carry.visited.at[chosen[0], chosen[1]].set(True), carry.visited),
      stack=jnp.where(grows, grown_stack, carry.stack),
      top=jnp.where(grows, top + 2, top),
      wall_grid=jnp.where(grows, carry.wall_grid.at[chosen[0], chosen[1]].set(False),
                          carry.wall_grid),
      key=key)


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
    key, start_key = jax.random.split(key)
    start = jax.random.randint(start_key, (2,), 0, g)
    carry = _MazeCarry(
        visited=base.one_hot_cell(start, g),
        stack=jnp.zeros((g * g, 2), jnp.int32).at[0].set(start),
        top=jnp.array(1),
        wall_grid=~base.one_hot_cell(start, g),
        key=key)
    return jax.lax.while_loop(lambda c: c.top > 0, _grow_maze, carry).wall_grid

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
