"""The reset pool: vmapped resets draw mazes computed ahead, from the generator's distribution."""

import os

import jax
import numpy as np
import pytest
from scipy import stats

from agents.model_based import experiment
from environments.jax_envs import proc_maze
from environments.jax_envs import reset_pool
from tests import test_model_based_agents as agents_test
from tests import test_model_based_envs as envs_test

os.environ.setdefault('XLA_FLAGS', '--xla_backend_optimization_level=0')

SEEDS = 30
STEPS = 200
POOL = 8  # Small, so that the pools are refilled many times.
BLOCK = 4  # Steps between `ensure` calls, as the training loop's chunks.


def _pooled_resets(env, size, terminal_probability=0.5, steps=STEPS, seeds=SEEDS):
  """Every reset of `seeds` vmapped seeds over `steps` steps with random terminal flags, in
  scans of BLOCK steps, each after `ensure` (as the training loop does per chunk).

  Returns (terminal [seeds, steps], wall grids, positions and goals after each step, the
  seeds' reset keys, resets taken per seed).
  """

  def one_seed(key):
    pool_key, flags_key = jax.random.split(key)
    pool, state, obs = reset_pool.create(env, pool_key, size)
    terminal = jax.random.bernoulli(flags_key, terminal_probability, (steps // BLOCK, BLOCK))

    def step(carry, done):
      pool, state, obs = carry
      pool, state, obs = reset_pool.reset_where(env, pool, done, state, obs)
      return (pool, state, obs), state

    def block(carry, flags):
      pool, state, obs = carry
      pool = reset_pool.ensure(env, pool, BLOCK, axis_name='seeds')
      return jax.lax.scan(step, (pool, state, obs), flags)

    (pool, _, _), states = jax.lax.scan(block, (pool, state, obs), terminal)
    flat = lambda x: x.reshape((steps,) + x.shape[2:])
    return terminal.reshape(steps), jax.tree_util.tree_map(flat, states), pool.key, pool.taken

  keys = jax.random.split(jax.random.PRNGKey(7), seeds)
  return jax.device_get(jax.jit(jax.vmap(one_seed, axis_name='seeds'))(keys))


def _path_lengths(states):
  distances = jax.jit(jax.vmap(proc_maze.distances_to_goal))(states.wall_grid, states.goal)
  rows = np.arange(len(states.pos))
  return np.asarray(distances)[rows, states.pos[:, 0], states.pos[:, 1]]


def test_pooled_resets_are_the_generator_s_draws_in_order():
  """Reset n of a seed is reset(fold_in(key, n)), from a pool of 8 refilled many times (by
  `ensure` before each block of 4 steps, when any seed had fewer than 4 states left)."""
  env = proc_maze.ProcMaze(grid_size=4)
  terminal, states, keys, taken = _pooled_resets(env, POOL, steps=60, seeds=4)
  reset = jax.jit(env.reset)
  for seed in range(4):
    steps = np.flatnonzero(terminal[seed])
    assert taken[seed] == 1 + len(steps) > 20  # Reset 0 is the first state.
    for n, step in enumerate(steps, start=1):
      expected, _ = reset(jax.random.fold_in(keys[seed], n))
      for got, want in zip(jax.tree_util.tree_leaves(states), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_array_equal(got[seed, step], want)


def test_pooled_mazes_have_the_per_step_generator_s_distribution():
  """Thousands of mazes drawn through 30 vmapped pools against as many from reset itself."""
  env = proc_maze.ProcMaze(grid_size=4)
  terminal, states, _, _ = _pooled_resets(env, POOL)
  pooled = jax.tree_util.tree_map(lambda x: x[terminal], states)  # The states reset into.
  count = len(pooled.pos)
  assert count > 2500, count
  fresh, _ = jax.device_get(jax.jit(jax.vmap(env.reset))(
      jax.random.split(jax.random.PRNGKey(123), count)))
  assert all(envs_test._open_cells_are_a_tree(w) for w in pooled.wall_grid)  # pylint: disable=protected-access
  # Open cells per maze (7 to 12 of 16): the same histogram, by a chi-square test.
  sizes = [(~s.wall_grid).sum(axis=(1, 2)) for s in (pooled, fresh)]
  counts = np.array([np.bincount(s, minlength=17)[5:] for s in sizes])
  counts = counts[:, counts.sum(axis=0) > 0]
  assert stats.chi2_contingency(counts)[1] > 0.001, counts
  assert abs(sizes[0].mean() - 11.46) < 0.1  # Spec 1.2 [D].
  # Each cell is open as often (within 4 standard errors of the difference).
  for a, b in ((~pooled.wall_grid, ~fresh.wall_grid),
               ((pooled.pos == pooled.goal).all(axis=1), (fresh.pos == fresh.goal).all(axis=1))):
    p_a, p_b = a.mean(axis=0), b.mean(axis=0)
    p = (p_a + p_b) / 2
    assert np.all(np.abs(p_a - p_b) <= 4 * np.sqrt(2 * p * (1 - p) / count) + 1e-9)
  # Shortest paths from start to goal: the same distribution (mean 3.48 in spec 1.2).
  lengths = [_path_lengths(s) for s in (pooled, fresh)]
  assert stats.ks_2samp(*lengths).pvalue > 0.001
  assert abs(lengths[0].mean() - 3.48) < 0.15


def _outside_conds(jaxpr):
  """Names of the primitives of `jaxpr` and its sub-jaxprs that are not inside a cond."""
  names = []
  for eqn in jaxpr.eqns:
    names.append(eqn.primitive.name)
    if eqn.primitive.name == 'cond':
      continue
    for value in eqn.params.values():
      for sub in value if isinstance(value, (list, tuple)) else [value]:
        inner = getattr(sub, 'jaxpr', sub)
        if hasattr(inner, 'eqns'):
          names += _outside_conds(inner)
  return names


def test_a_vmapped_step_generates_no_maze_and_a_refill_stays_a_branch():
  """Under vmap a pooled reset has no maze loop (a while) at all, and `ensure` keeps it inside
  its cond; computed at the reset (size 0), it runs at every step, in a select's branch, as the
  release's loop did."""
  env = proc_maze.ProcMaze(grid_size=4)

  def traced(size, function):
    """The jaxpr of `function(pool, state, obs)` vmapped over SEEDS seeds with pools of `size`."""
    pool, state, obs = jax.eval_shape(jax.vmap(lambda k: reset_pool.create(env, k, size)),
                                      jax.random.split(jax.random.PRNGKey(0), SEEDS))
    return jax.make_jaxpr(jax.vmap(function, axis_name='seeds'))(pool, state, obs).jaxpr

  def step(pool, state, obs):
    return reset_pool.reset_where(env, pool, obs[0], state, obs)

  def ensure(pool, state, obs):
    del state, obs
    return reset_pool.ensure(env, pool, POOL, axis_name='seeds')

  assert 'while' not in _outside_conds(traced(POOL, step))
  assert 'while' in str(traced(POOL, ensure)) and 'while' not in _outside_conds(
      traced(POOL, ensure))
  assert 'while' in _outside_conds(traced(0, step))


def test_training_is_the_same_with_and_without_the_pool():
  """ER on ProcMaze: a pool of 20 states for 10-step chunks (refilled often) or a reset
  computed at every terminal step give the same evaluations and parameters."""
  config = agents_test.tiny_config('ER', num_steps=300, eval_frequency=10)
  runs = []
  for size in (0, 20):
    exp = experiment.Experiment(config, reset_pool_size=size)
    run = exp.start(seed=3)
    rates = [r.reward_rates for r in run]
    runs.append((rates, jax.device_get(run.state.agent_state.q_params),
                 np.asarray(run.state.resets.taken)))
  assert experiment.Experiment(config).reset_pool_size == 2 * config.eval_frequency
  with pytest.raises(ValueError, match='below eval_frequency'):
    experiment.Experiment(config, reset_pool_size=config.eval_frequency - 1)
  (rates, params, taken) = runs[0]
  assert np.all(taken > 3)  # Several episodes ended, so resets were drawn.
  for other_rates, other_params, other_taken in runs[1:]:
    np.testing.assert_array_equal(other_taken, taken)
    np.testing.assert_allclose(other_rates, rates, atol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(other_params), jax.tree_util.tree_leaves(params)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
