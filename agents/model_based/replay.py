"""A FIFO ring buffer of pytrees that lives inside jitted, vmapped code (spec 2.4).

Reverb cannot be traced by JAX, so each seed keeps its own buffer as arrays with a leading
`capacity` axis. Items are written one per environment step; sampling is uniform with
replacement over the filled part.
"""

from typing import Any, NamedTuple

import jax
from jax import numpy as jnp


class RingBuffer(NamedTuple):
  items: Any  # A pytree of arrays with a leading capacity axis.
  position: jax.Array  # Next slot to write.
  full: jax.Array  # Whether every slot has been written once.


def create(example_item: Any, capacity: int) -> RingBuffer:
  """An empty buffer for items shaped and typed like `example_item`."""
  items = jax.tree_util.tree_map(
      lambda x: jnp.zeros((capacity,) + jnp.shape(x), jnp.asarray(x).dtype), example_item)
  return RingBuffer(items=items, position=jnp.array(0, jnp.int32), full=jnp.array(False))


def capacity(buffer: RingBuffer) -> int:
  return jax.tree_util.tree_leaves(buffer.items)[0].shape[0]


def add(buffer: RingBuffer, item: Any, step: jax.Array) -> RingBuffer:
  """Writes `item` as the buffer's `step`-th item (0-based), overwriting the oldest once full.

  Items must be added once per step, from step 0. The slot comes from `step` rather than from
  the buffer's own position because under `vmap` every seed then writes at the same, unbatched
  slot: an in-place dynamic update, cheaper than the scatter that per-seed slots need.
  """
  size = capacity(buffer)
  slot = step % size
  items = jax.tree_util.tree_map(
      lambda store, x: jax.lax.dynamic_update_index_in_dim(store, jnp.asarray(x, store.dtype),
                                                            slot, 0),
      buffer.items, item)
  return RingBuffer(items=items, position=(slot + 1) % size,
                    full=buffer.full | (step + 1 >= size))


def size(buffer: RingBuffer) -> jax.Array:
  """How many items the buffer holds."""
  return jnp.where(buffer.full, capacity(buffer), buffer.position)


def sample(buffer: RingBuffer, key: jax.Array, batch_size: int) -> Any:
  """`batch_size` items drawn uniformly with replacement (the buffer must not be empty)."""
  indices = jax.random.randint(key, (batch_size,), 0, size(buffer))
  return jax.tree_util.tree_map(lambda store: store[indices], buffer.items)
