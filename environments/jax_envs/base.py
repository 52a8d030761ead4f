"""What every pure-JAX environment of the model-based suite shares (spec section 1.1).

An environment object holds only static Python parameters (a frozen dataclass, hashable, so it can
be a static argument of `jax.jit`); the dynamics are pure functions of a PRNG key, a state pytree
of fixed-shape arrays and an action, so they `jax.vmap` over seeds and batches.
"""

import abc
import dataclasses
from typing import Any, Dict, Tuple

import jax
from jax import numpy as jnp

State = Any  # A NamedTuple of fixed-shape arrays.

# Grid moves (row, col): 0 no-op, 1 up, 2 left, 3 down, 4 right [spec 1.1].
MOVES = ((0, 0), (-1, 0), (0, -1), (1, 0), (0, 1))
NUM_GRID_ACTIONS = len(MOVES)
# The four orthogonal neighbours of a cell.
NEIGHBOURS = MOVES[1:]


def move(position: jax.Array, action: jax.Array, grid_size: int) -> jax.Array:
  """The cell one move away, clipped to the grid (moving off the edge leaves you in place)."""
  return jnp.clip(position + jnp.asarray(MOVES, jnp.int32)[action], 0, grid_size - 1)


def one_hot_cell(position: jax.Array, grid_size: int) -> jax.Array:
  """A bool[g, g] grid that is True only at `position` (compared, not scattered: under vmap a
  scatter of one cell per seed costs more than the comparison of every cell)."""
  cells = jnp.arange(grid_size)
  return (cells[:, None] == position[0]) & (cells[None, :] == position[1])


def flatten_grid(channels) -> jax.Array:
  """Stacks bool[g, g] channels last and flattens row-major: index (row*g + col)*C + channel."""
  return jnp.ravel(jnp.stack(channels, axis=-1))


def bernoulli(key: jax.Array, probability: float) -> jax.Array:
  """A boolean draw; a constant False when `probability` is 0 (the event is disabled)."""
  if probability <= 0:
    return jnp.array(False)
  return jax.random.bernoulli(key, probability)


def uniform_choice(key: jax.Array, allowed: jax.Array) -> jax.Array:
  """An index drawn uniformly among the True entries of bool[n] `allowed` (any one if none).

  A Gumbel-max draw: cheaper to compile inside loops than `random.choice` with probabilities.
  """
  return jax.random.categorical(key, jnp.where(allowed, 0.0, -jnp.inf))


@dataclasses.dataclass(frozen=True)
class JaxEnvironment(abc.ABC):
  """`reset(key) -> (state, obs)`, `step(key, state, action) -> (state, obs, reward, terminal, {})`.

  Observations are 1-D bool vectors; rewards float32; `terminal` a bool scalar. The environment
  never resets itself: whoever steps it resets it when `terminal` is True.
  """

  # Whether episodes end (ProcMaze, OpenGrid) or the task is continuing (ButtonGrid, PanFlute).
  episodic = True
  # Whether `reset` costs about as much as a step or more (ProcMaze generates a maze in a loop):
  # vmapped training loops then draw resets from states computed ahead (`reset_pool`).
  costly_reset = False

  @abc.abstractmethod
  def reset(self, key: jax.Array) -> Tuple[State, jax.Array]:
    """A fresh state and its observation."""

  @abc.abstractmethod
  def step(self, key: jax.Array, state: State, action: jax.Array
           ) -> Tuple[State, jax.Array, jax.Array, jax.Array, Dict]:
    """One transition: (next state, its observation, reward, terminal, info)."""

  @abc.abstractmethod
  def observation(self, state: State) -> jax.Array:
    """The flat bool observation of a state."""

  @abc.abstractmethod
  def num_actions(self) -> int:
    """How many discrete actions there are."""

  @abc.abstractmethod
  def observation_size(self) -> int:
    """Length of the flat bool observation."""

  @classmethod
  def parameters(cls) -> Dict[str, type]:
    """Constructor parameters and their types, for validating configs."""
    return {f.name: f.type for f in dataclasses.fields(cls)}


def jit_method(method):
  """`jax.jit` with the environment object (hashable, static parameters) as a static argument."""
  return jax.jit(method, static_argnums=0)
