"""The pure-JAX environments against the rules and sanity values of the spec (section 1)."""

import collections
import os

import dm_env
import jax
from jax import numpy as jnp
import numpy as np
import pytest

import environments
from agents.model_based import experiment
from environments import jax_envs
from environments.jax_envs import button_grid
from environments.jax_envs import proc_maze

# Compilation dominates these tests: XLA's backend optimisations cost far more time than they
# save on tiny networks (it takes effect if no JAX computation ran earlier in this process).
os.environ.setdefault('XLA_FLAGS', '--xla_backend_optimization_level=0')

NOOP, UP, LEFT, DOWN, RIGHT = range(5)


def _keys(n, seed=0):
  return jax.random.split(jax.random.PRNGKey(seed), n)


def _uniform_random(num_actions):
  return lambda key, env_state, obs: jax.random.randint(key, (), 0, num_actions)


def _metric(env, policy, runs, seed=0):
  """The evaluation metric of spec 4.3 (100 steps per run) for `policy`, over `runs` runs."""
  evaluate = jax.jit(lambda key: experiment.evaluate_policy(env, policy, key, runs, 100,
                                                            env.episodic))
  return float(evaluate(jax.random.PRNGKey(seed)))


# ProcMaze.

@pytest.fixture(scope='module')
def mazes():
  env = proc_maze.ProcMaze(grid_size=4)
  states, obs = jax.jit(jax.vmap(env.reset))(_keys(3000))
  return env, jax.device_get(states), np.asarray(obs)


def _open_cells_are_a_tree(walls):
  open_cells = {(r, c) for r in range(walls.shape[0]) for c in range(walls.shape[1])
                if not walls[r, c]}
  edges = sum((r + 1, c) in open_cells for r, c in open_cells)
  edges += sum((r, c + 1) in open_cells for r, c in open_cells)
  start = next(iter(open_cells))
  seen, frontier = {start}, collections.deque([start])
  while frontier:
    r, c = frontier.popleft()
    for n in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
      if n in open_cells and n not in seen:
        seen.add(n)
        frontier.append(n)
  return edges == len(open_cells) - 1 and seen == open_cells


def test_proc_maze_mazes_are_connected_trees_of_the_right_size(mazes):
  _, states, _ = mazes
  walls = states.wall_grid
  assert all(_open_cells_are_a_tree(w) for w in walls)
  open_counts = (~walls).sum(axis=(1, 2))
  assert abs(open_counts.mean() - 11.46) < 0.15  # [D] 3000 mazes: mean 11.46, min 7, max 12.
  assert open_counts.min() >= 6 and open_counts.max() == 12
  assert not walls[np.arange(len(walls)), states.pos[:, 0], states.pos[:, 1]].any()
  assert not walls[np.arange(len(walls)), states.goal[:, 0], states.goal[:, 1]].any()
  assert abs((states.pos == states.goal).all(axis=1).mean() - 0.089) < 0.02


def test_proc_maze_observation_channels(mazes):
  _, states, obs = mazes
  assert obs.shape == (3000, 64) and obs.dtype == bool
  grid = obs.reshape(3000, 4, 4, 4)  # (row * g + col) * C + channel.
  rows = np.arange(3000)
  assert (grid[..., 0].sum(axis=(1, 2)) == 1).all()
  assert grid[rows, states.pos[:, 0], states.pos[:, 1], 0].all()
  assert grid[rows, states.goal[:, 0], states.goal[:, 1], 1].all()
  np.testing.assert_array_equal(grid[..., 2], states.wall_grid)
  np.testing.assert_array_equal(grid[..., 3], ~states.wall_grid)


def _corridor_state():
  """A 4x4 maze whose only open cells are row 1; agent at (1, 0), goal at (1, 3)."""
  walls = np.ones((4, 4), bool)
  walls[1] = False
  return proc_maze.ProcMazeState(goal=jnp.array([1, 3], jnp.int32), wall_grid=jnp.asarray(walls),
                                 pos=jnp.array([1, 0], jnp.int32))


def test_proc_maze_step_rules():
  env = proc_maze.ProcMaze(grid_size=4, spontaneous_termination=False)
  key = jax.random.PRNGKey(0)
  state = _corridor_state()
  for action, expected in ((UP, [1, 0]), (LEFT, [1, 0]), (DOWN, [1, 0]), (RIGHT, [1, 1])):
    moved, _, reward, terminal, info = env.step(key, state, action)
    np.testing.assert_array_equal(moved.pos, expected)  # Walls and the border block moves.
    assert reward == -1.0 and reward.dtype == jnp.float32 and not terminal and info == {}
  # Arriving on the goal is not terminal; the next step is (and still costs -1).
  state = state._replace(pos=jnp.array([1, 2], jnp.int32))
  state, _, reward, terminal, _ = env.step(key, state, RIGHT)
  assert not terminal and reward == -1.0
  state, obs, reward, terminal, _ = env.step(key, state, LEFT)
  assert terminal and reward == -1.0
  np.testing.assert_array_equal(state.pos, [1, 2])  # The terminal step still moves.
  assert obs.reshape(4, 4, 4)[1, 2, 0]


def test_proc_maze_spontaneous_events():
  assert proc_maze.ProcMaze(grid_size=4).teleport_probability == pytest.approx(0.01)
  assert proc_maze.ProcMaze(grid_size=6).teleport_probability == pytest.approx(0.1 / 21)
  assert proc_maze.ProcMaze(grid_size=10).teleport_probability == pytest.approx(0.1 / 55)
  state = _corridor_state()
  keys = _keys(20000)
  teleporting = proc_maze.ProcMaze(grid_size=4)
  moved = jax.jit(jax.vmap(teleporting.step, in_axes=(0, None, None)))(keys, state, NOOP)
  at_goal = np.asarray((moved[0].pos == state.goal).all(axis=1))
  assert abs(at_goal.mean() - 0.01) < 0.003 and not np.asarray(moved[3]).any()
  ending = proc_maze.ProcMaze(grid_size=4, teleport_on_termination=False)
  moved = jax.jit(jax.vmap(ending.step, in_axes=(0, None, None)))(keys, state, NOOP)
  terminal = np.asarray(moved[3])
  assert abs(terminal.mean() - 0.01) < 0.003
  assert not (moved[0].pos == state.goal).all(axis=1).any()


def test_proc_maze_optimal_and_random_values():
  env = proc_maze.ProcMaze(grid_size=4)
  optimal = _metric(env, lambda key, state, obs: proc_maze.shortest_path_action(env, state),
                    4000)
  assert optimal == pytest.approx(-4.40, abs=0.15)  # [D] spec 1.6.
  random_value = _metric(env, _uniform_random(5), 8000, seed=1)
  assert random_value == pytest.approx(-35.6, abs=1.5)


# ButtonGrid.

def _buttons(pos, rows, cols, states):
  return button_grid.ButtonGridState(
      pos=jnp.array(pos, jnp.int32), button_rows=jnp.array(rows, jnp.int32),
      button_cols=jnp.array(cols, jnp.int32), button_states=jnp.array(states))


def test_button_grid_reset_and_observation():
  env = button_grid.ButtonGrid(grid_size=4, num_buttons=3)
  states, obs = jax.jit(jax.vmap(env.reset))(_keys(500))
  cells = np.asarray(states.button_rows * 4 + states.button_cols)
  assert all(len(set(c)) == 3 for c in cells)  # Distinct cells.
  assert not np.asarray(states.button_states).any()
  grid = np.asarray(obs).reshape(500, 4, 4, 3)
  assert (grid[..., 0].sum(axis=(1, 2)) == 1).all()
  assert (grid[..., 2].sum(axis=(1, 2)) == 3).all() and not grid[..., 1].any()
  state = _buttons([0, 0], [0, 3, 2], [1, 3, 2], [True, False, True])
  grid = np.asarray(env.observation(state)).reshape(4, 4, 3)
  assert grid[0, 1, 1] and not grid[0, 1, 2] and grid[3, 3, 2] and grid[2, 2, 1]


def test_button_grid_toggling_and_delayed_reward():
  env = button_grid.ButtonGrid(grid_size=4, num_buttons=3, spontaneous_reset=False)
  key = jax.random.PRNGKey(0)
  state = _buttons([0, 0], [0, 0, 3], [1, 2, 3], [False, False, False])
  state, _, reward, terminal, _ = env.step(key, state, RIGHT)  # Onto button 0: on.
  assert list(state.button_states) == [True, False, False] and reward == 0 and not terminal
  state, *_ = env.step(key, state, NOOP)  # Standing still toggles nothing.
  assert list(state.button_states) == [True, False, False]
  state, *_ = env.step(key, state, UP)  # Bumping the border toggles nothing.
  assert list(state.button_states) == [True, False, False]
  state, *_ = env.step(key, state, RIGHT)  # Onto button 1.
  state, *_ = env.step(key, state, LEFT)  # Back onto button 0: off again.
  assert list(state.button_states) == [False, True, False]
  state = _buttons([3, 2], [0, 0, 3], [1, 2, 3], [True, True, False])
  state, _, reward, _, _ = env.step(key, state, RIGHT)  # All on now, no reward yet.
  assert bool(state.button_states.all()) and reward == 0
  new_state, obs, reward, _, _ = env.step(key, state, NOOP)  # Reward one step later...
  assert reward == 1.0
  assert not new_state.button_states.any()  # ...and a fresh layout, all off.
  np.testing.assert_array_equal(obs, env.observation(new_state))


def test_button_grid_spontaneous_activation():
  env = button_grid.ButtonGrid(grid_size=4)
  assert env.event_probability == pytest.approx(1 / 160)
  state = _buttons([0, 0], [1, 2, 3], [1, 2, 3], [False, False, False])
  moved = jax.jit(jax.vmap(env.step, in_axes=(0, None, None)))(_keys(40000), state, NOOP)
  activated = np.asarray(moved[0].button_states.all(axis=1))
  assert abs(activated.mean() - 1 / 160) < 0.0015
  resetting = button_grid.ButtonGrid(grid_size=4, activate_on_reset=False)
  moved = jax.jit(jax.vmap(resetting.step, in_axes=(0, None, None)))(_keys(40000), state, NOOP)
  relocated = np.asarray((moved[0].button_rows != state.button_rows).any(axis=1))
  assert not np.asarray(moved[0].button_states).any()
  assert 0.003 < relocated.mean() < 0.0095


@pytest.mark.parametrize('grid_size,expected,tolerance', [(4, 0.011, 0.002),
                                                          (10, 0.0012, 0.0004)])
def test_button_grid_random_policy_value(grid_size, expected, tolerance):
  env = button_grid.ButtonGrid(grid_size=grid_size)
  assert _metric(env, _uniform_random(5), 4000) == pytest.approx(expected, abs=tolerance)


# PanFlute.

def _rewards_of(env, actions, key=jax.random.PRNGKey(0)):
  state, _ = env.reset(key)
  rewards = []
  for action in actions:
    state, _, reward, terminal, _ = env.step(key, state, action)
    assert not terminal
    rewards.append(float(reward))
  return rewards


def test_pan_flute_rewards_the_descending_sequence():
  env = jax_envs.PanFlute(spontaneous_reward=False)
  assert _rewards_of(env, [4, 3, 2, 1, 0, 0]) == [0, 0, 0, 0, 0, 1]
  assert _rewards_of(env, [4, 3, 2, 0, 1, 0]) == [0] * 6
  assert _rewards_of(env, [0, 4, 3, 2, 1, 0, 4]) == [0] * 6 + [1]


def test_pan_flute_state_and_observation():
  env = jax_envs.PanFlute()
  assert env.observation_size() == 15 and env.num_actions() == 5
  assert env.event_probability == pytest.approx(0.04)
  state, obs = env.reset(jax.random.PRNGKey(0))
  assert obs.shape == (15,) and not obs.any()
  quiet = jax_envs.PanFlute(spontaneous_reward=False)
  for action in (2, 4):
    state, obs, *_ = quiet.step(jax.random.PRNGKey(0), state, action)
  # After actions 2 then 4, entry k of pipe i is [a_{t-k} == i].
  pipes = [obs[0:1], obs[1:3], obs[3:6], obs[6:10], obs[10:15]]
  assert [list(map(int, p)) for p in pipes] == [[0], [0, 0], [0, 1, 0], [0, 0, 0, 0],
                                                [1, 0, 0, 0, 0]]


def _sequence_rate(env, actions, runs):
  """Reward per step of playing `actions` from reset, averaged over `runs` runs."""

  def run(key):
    state, _ = env.reset(key)

    def step(state, inputs):
      key, action = inputs
      state, _, reward, _, _ = env.step(key, state, action)
      return state, reward

    return jax.lax.scan(step, state, (jax.random.split(key, len(actions)), actions))[1].mean()

  return float(jax.jit(jax.vmap(run))(_keys(runs)).mean())


def test_pan_flute_reference_values():
  cycle = jnp.asarray([4, 3, 2, 1, 0] * 20)
  assert _sequence_rate(jax_envs.PanFlute(spontaneous_reward=False), cycle, 1) == pytest.approx(0.19, abs=1e-6)
  env = jax_envs.PanFlute()
  assert _sequence_rate(env, cycle, 4000) == pytest.approx(0.222, abs=0.004)
  assert _sequence_rate(env, jnp.zeros(100, jnp.int32), 4000) == pytest.approx(0.039, abs=0.003)
  assert _metric(env, _uniform_random(5), 4000) == pytest.approx(0.040, abs=0.003)


# OpenGrid.

def test_open_grid_rules():
  env = jax_envs.OpenGrid(grid_size=5)
  assert env.teleport_probability == pytest.approx(0.02) and env.observation_size() == 25
  pos, obs = env.reset(jax.random.PRNGKey(3))
  assert obs.sum() == 1 and obs[pos[0] * 5 + pos[1]]
  quiet = jax_envs.OpenGrid(grid_size=5, spontaneous_termination=False)
  key = jax.random.PRNGKey(0)
  pos, _, reward, terminal, _ = quiet.step(key, jnp.array([3, 4], jnp.int32), DOWN)
  assert list(pos) == [4, 4] and reward == -1.0 and not terminal
  pos, _, _, terminal, _ = quiet.step(key, pos, RIGHT)
  assert list(pos) == [4, 4] and terminal


# The common interface: jit, vmap and dm_env.

@pytest.mark.parametrize('name,params', [('ProcMaze', {'grid_size': 4}), ('ButtonGrid', {}),
                                         ('PanFlute', {}), ('OpenGrid', {})])
def test_reset_and_step_jit_and_vmap(name, params):
  env = jax_envs.make(name, **params)
  keys = _keys(8)
  states, obs = jax.jit(jax.vmap(env.reset))(keys)
  assert obs.shape == (8, env.observation_size()) and obs.dtype == bool
  actions = jnp.arange(8) % env.num_actions()
  batched = jax.jit(jax.vmap(env.step))(keys, states, actions)
  for i in range(8):  # The vmapped step equals stepping each copy on its own.
    state_i = jax.tree_util.tree_map(lambda x, i=i: x[i], states)
    single = env.step(keys[i], state_i, actions[i])
    for a, b in zip(jax.tree_util.tree_leaves(single[:4]), jax.tree_util.tree_leaves(batched[:4])):
      np.testing.assert_array_equal(a, b[i])
  assert batched[2].dtype == jnp.float32 and batched[3].dtype == bool


def test_dm_env_adapters_through_the_registry():
  maze = environments.make('ProcMaze-v0', grid_size=4, seed=7)
  assert maze.observation_spec().shape == (64,) and maze.action_spec().num_values == 5
  again = environments.make('ProcMaze', grid_size=4, seed=7)
  timestep = maze.reset()
  assert timestep.first() and timestep.observation.dtype == np.float32
  np.testing.assert_array_equal(timestep.observation, again.reset().observation)
  steps = 0
  while not timestep.last():
    timestep = maze.step(np.random.randint(5))
    steps += 1
    assert timestep.reward == -1.0 and timestep.reward.dtype == np.float32
  assert timestep.discount == 0.0 and timestep.discount.dtype == np.float32
  assert maze.step(0).first()  # Stepping after the end starts a new episode.
  flute = environments.make('PanFlute-v0', seed=0)
  timestep, steps = flute.reset(), 0
  while not timestep.last():
    timestep = flute.step(0)
    steps += 1
  assert steps == jax_envs.CONTINUING_EPISODE_STEPS and timestep.discount == 1.0
  assert isinstance(environments.make('ButtonGrid-v0', grid_size=4), dm_env.Environment)


def test_bad_parameters_are_named():
  with pytest.raises(ValueError, match="unknown environment 'ProcMase'"):
    jax_envs.make('ProcMase')
  with pytest.raises(ValueError, match="PanFlute has no parameter 'grid_size'"):
    jax_envs.make('PanFlute', grid_size=4)
  with pytest.raises(ValueError, match="parameter 'grid_size' must be int, got str"):
    jax_envs.make('ProcMaze', grid_size='4')
