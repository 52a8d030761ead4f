"""Resets drawn from fresh states generated ahead of time, in batches, for vmapped loops.

Why: a training loop resets an episodic environment when a step is terminal. Under `jax.vmap`
over seeds, `lax.cond(terminal, reset, keep)` becomes a select that computes the reset on every
step of every seed, and ProcMaze's reset generates a maze in a loop of about 20 iterations (2 per
open cell): 30 seeds vmapped stepped ProcMaze at 0.08x-0.3x the speed of the same 30 seeds one
after another (where the cond stays a branch), and on a GPU the loop costs about as much as a Q
update.

A pool keeps fresh states for each seed. Before a scan of `count` steps, `ensure` refills the
pools, every seed's at once in one batched (vmapped) call, if any seed has fewer than `count`
unused states; its `lax.cond` has the same predicate for all seeds (a `psum` over the vmapped
axis `axis_name`), so it stays a branch under vmap, and it runs once per scan, not per step (on
a CPU a cond in the step cost more than the step itself). Within the scan a terminal step only
copies its seed's next stored state (`reset_where`).

Same draws, not only the same distribution: reset number n of a seed (n = 0, 1, ...) is always
`environment.reset(fold_in(key, n))`, whether it comes from the pool or is computed at the reset
(size 0), and whichever seeds share the vmap. A refill starts at the seed's next reset number,
so a seed that still had unused states recomputes the same ones. The pool changes when a state
is computed, never which state a reset gets.
"""

from typing import Any, NamedTuple, Optional, Tuple

import jax
from jax import numpy as jnp

from environments.jax_envs import base


class ResetPool(NamedTuple):
  """One seed's reset draws: its key, how many it took, and states computed ahead."""
  key: jax.Array  # Reset number n is environment.reset(fold_in(key, n)).
  taken: jax.Array  # int32: resets taken so far; the next reset is number `taken`.
  first: jax.Array  # int32: the reset number of entry 0 of `states` and `observations`.
  states: Any  # Environment states of resets first ... first + size - 1 (leading axis).
  observations: jax.Array  # Their observations, [size, observation_size].


def pool_size(pool: ResetPool) -> int:
  """How many states the pool holds (0: each reset is computed when it happens)."""
  return pool.observations.shape[0]


def _draws(environment: base.JaxEnvironment, key: jax.Array, first: jax.Array, size: int):
  """(states, observations) of resets first ... first + size - 1, in one vmapped call."""
  numbers = first + jnp.arange(size, dtype=jnp.int32)
  keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, numbers)
  return jax.vmap(environment.reset)(keys)


def create(environment: base.JaxEnvironment, key: jax.Array, size: int
           ) -> Tuple[ResetPool, Any, jax.Array]:
  """(pool, first state, its observation): the first state is reset number 0.

  With `size` 0 the pool stores nothing and every reset is computed when it happens.
  """
  state, observation = environment.reset(jax.random.fold_in(key, 0))
  if size:
    states, observations = _draws(environment, key, jnp.int32(1), size)
  else:  # Empty arrays of the right structure, so that both kinds of pool are one pytree type.
    states = jax.tree_util.tree_map(lambda x: jnp.zeros((0,) + x.shape, x.dtype), state)
    observations = jnp.zeros((0,) + observation.shape, observation.dtype)
  # Two arrays, not one twice, so that a caller may donate the pool's buffers.
  return ResetPool(key, jnp.int32(1), jnp.int32(1), states, observations), state, observation


def refill(environment: base.JaxEnvironment, pool: ResetPool) -> ResetPool:
  """The pool holding the seed's next `size` resets, from reset number `taken` on."""
  states, observations = _draws(environment, pool.key, pool.taken, pool_size(pool))
  return pool._replace(first=pool.taken, states=states, observations=observations)


def _any_seed(flag: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """`flag` of this seed, or whether it holds for any seed of the vmapped axis `axis_name`.

  A collective's result is not batched, so a `lax.cond` on it stays a branch under vmap.
  """
  if axis_name is None:
    return flag
  return jax.lax.psum(flag.astype(jnp.int32), axis_name) > 0


def ensure(environment: base.JaxEnvironment, pool: ResetPool, count: int,
           axis_name: Optional[str] = None) -> ResetPool:
  """The pool holding at least `count` unused states (for a scan of up to `count` steps).

  Refills every seed's pool when any seed has fewer. Call it under `jax.vmap(...,
  axis_name=axis_name)` when seeds are vmapped: without the axis name the cond would be a select
  again, refilling at every call. Unvmapped, leave `axis_name` None. Nothing for a pool of size 0.
  """
  size = pool_size(pool)
  if not size:
    return pool
  if count > size:
    raise ValueError(f'a reset pool of {size} states cannot hold {count} resets')
  short = pool.first + size - pool.taken < count
  return jax.lax.cond(_any_seed(short, axis_name), lambda p: refill(environment, p),
                      lambda p: p, pool)


def reset_where(environment: base.JaxEnvironment, pool: ResetPool, terminal: jax.Array,
                state: Any, observation: jax.Array) -> Tuple[ResetPool, Any, jax.Array]:
  """(pool, state, observation): the seed's next reset where `terminal`, else those given.

  From a pool (size > 0), the next stored state: `ensure` must have left one for every reset
  since. With size 0, the reset is computed here, in a lax.cond (a select under vmap).
  """
  size = pool_size(pool)
  if not size:
    state, observation = jax.lax.cond(
        terminal, lambda: environment.reset(jax.random.fold_in(pool.key, pool.taken)),
        lambda: (state, observation))
    return pool._replace(taken=pool.taken + terminal), state, observation
  entry = jnp.clip(pool.taken - pool.first, 0, size - 1)
  fresh_state = jax.tree_util.tree_map(lambda stored: stored[entry], pool.states)
  state = jax.tree_util.tree_map(lambda new, old: jnp.where(terminal, new, old),
                                 fresh_state, state)
  observation = jnp.where(terminal, pool.observations[entry], observation)
  return pool._replace(taken=pool.taken + terminal), state, observation
