"""ButtonGrid: switch every button on, then start over on a new layout (continuing; spec 1.3)."""

import dataclasses
from typing import NamedTuple

import jax
from jax import numpy as jnp

from environments.jax_envs import base


class ButtonGridState(NamedTuple):
  pos: jax.Array  # int32[2]
  button_rows: jax.Array  # int32[B]
  button_cols: jax.Array  # int32[B]
  button_states: jax.Array  # bool[B], True = on


@dataclasses.dataclass(frozen=True)
class ButtonGrid(base.JaxEnvironment):
  """Walking onto a button toggles it; reward 1 on the step after all buttons are on.

  That step also replaces the whole state by a fresh layout. With small probability per step
  (`spontaneous_reset`) all buttons switch on (`activate_on_reset`) or the layout is redrawn.
  """
  grid_size: int = 10
  num_buttons: int = 3
  spontaneous_reset: bool = True
  activate_on_reset: bool = True

  episodic = False

  def __post_init__(self):
    if self.grid_size < 2:
      raise ValueError(f'grid_size must be at least 2, got {self.grid_size}')
    if not 1 <= self.num_buttons <= self.grid_size ** 2:
      raise ValueError(f'num_buttons must be in [1, grid_size**2], got {self.num_buttons}')

  @property
  def event_probability(self) -> float:
    return 1.0 / (10 * self.grid_size ** 2) if self.spontaneous_reset else 0.0

  def num_actions(self) -> int:
    return base.NUM_GRID_ACTIONS

  def observation_size(self) -> int:
    return 3 * self.grid_size ** 2

  def observation(self, state: ButtonGridState) -> jax.Array:
    """Channels player, button on, button off, flattened."""
    g = self.grid_size
    empty = jnp.zeros((g, g), bool)
    on = empty.at[state.button_rows, state.button_cols].set(state.button_states)
    off = empty.at[state.button_rows, state.button_cols].set(~state.button_states)
    return base.flatten_grid([base.one_hot_cell(state.pos, g), on, off])

  def _fresh_state(self, key: jax.Array) -> ButtonGridState:
    pos_key, button_key = jax.random.split(key)
    g = self.grid_size
    cells = jax.random.choice(button_key, g * g, (self.num_buttons,), replace=False)
    return ButtonGridState(pos=jax.random.randint(pos_key, (2,), 0, g),
                           button_rows=(cells // g).astype(jnp.int32),
                           button_cols=(cells % g).astype(jnp.int32),
                           button_states=jnp.zeros(self.num_buttons, bool))

  @base.jit_method
  def reset(self, key):
    state = self._fresh_state(key)
    return state, self.observation(state)

  @base.jit_method
  def step(self, key, state, action):
    event_key, reset_key = jax.random.split(key)
    success = jnp.all(state.button_states)  # On the incoming state.
    pos = base.move(state.pos, action, self.grid_size)
    moved = jnp.any(pos != state.pos)
    on_button = (state.button_rows == pos[0]) & (state.button_cols == pos[1])
    button_states = state.button_states ^ (on_button & moved)
    event = base.bernoulli(event_key, self.event_probability)
    if self.activate_on_reset:
      button_states = button_states | event
      start_over = success
    else:
      start_over = success | event
    state = state._replace(pos=pos, button_states=button_states)
    fresh = self._fresh_state(reset_key)
    state = jax.tree_util.tree_map(lambda new, old: jnp.where(start_over, new, old), fresh, state)
    return state, self.observation(state), success.astype(jnp.float32), jnp.array(False), {}
