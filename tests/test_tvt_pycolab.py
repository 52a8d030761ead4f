"""The TVT pycolab tasks (spec section 1): phases, observations, crop, colours and rewards.

Scripted players find their way with a breadth-first search over the whole board
(`full_board`), then the tests check what the agent would see and receive.
"""

import collections

import dm_env
import numpy as np
import pytest

import environments
from environments.pycolab import env as pycolab_env
from environments.pycolab import objects

MOVES = {objects.NORTH: (-1, 0), objects.SOUTH: (1, 0), objects.WEST: (0, -1),
         objects.EAST: (0, 1)}
PLAYER_RGB = (228, 148, 109)
FLOOR_RGB = (204, 204, 204)
WALL_RGB = (25, 25, 25)


def path(env, goal, blocked):
  """Actions leading the player to `goal` without entering cells holding `blocked` characters."""
  board = env.full_board()
  start = env.player_position()
  previous = {start: None}
  queue = collections.deque([start])
  while queue:
    cell = queue.popleft()
    if cell == tuple(goal):
      break
    for action, (dr, dc) in MOVES.items():
      nxt = (cell[0] + dr, cell[1] + dc)
      inside = 0 <= nxt[0] < board.shape[0] and 0 <= nxt[1] < board.shape[1]
      if inside and nxt not in previous and (chr(board[nxt]) not in blocked or nxt == goal):
        previous[nxt] = (cell, action)
        queue.append(nxt)
  actions = []
  cell = tuple(goal)
  while previous[cell] is not None:
    cell, action = previous[cell]
    actions.append(action)
  return actions[::-1]


def find(env, character):
  cells = np.argwhere(env.full_board() == ord(character))
  return [tuple(c) for c in cells]


def run_to_phase(env, phase, timestep=None, action=objects.EAST):
  """Steps with `action` (bumping walls is fine) until the next action is taken in `phase`."""
  rewards = []
  while env.phase != phase:
    timestep = env.step(action)
    rewards.append(float(timestep.reward))
  return timestep, rewards


def play(env, actions):
  return [env.step(a) for a in actions]


@pytest.mark.parametrize('game', ['key_to_door', 'active_visual_match'])
def test_phases_last_15_90_15_steps_and_the_120th_step_is_last(game):
  env = environments.make(game, seed=3)
  first = env.reset()
  assert first.step_type == dm_env.StepType.FIRST
  assert first.reward == 0.0 and first.reward.dtype == np.float32
  rng = np.random.default_rng(0)
  phases, timestep = [], first
  for step in range(120):
    phases.append(env.phase)
    timestep = env.step(rng.integers(4))
    assert timestep.reward.dtype == np.float32 and timestep.discount.dtype == np.float32
    assert timestep.last() == (step == 119)
  assert phases == [0] * 15 + [1] * 90 + [2] * 15
  assert timestep.discount == 0.0
  assert env.step(0).first()  # The next call starts a new episode.


def test_observations_shapes_dtypes_and_specs():
  for game, crop, shape in [('key_to_door', True, (5, 5, 3)), ('key_to_door', False, (7, 11, 3)),
                            ('active_visual_match', True, (5, 5, 3))]:
    env = environments.make(game, crop=crop, seed=0)
    observation = env.reset().observation
    assert observation.shape == shape and observation.dtype == np.uint8
    assert env.observation_spec().shape == shape
    assert env.action_spec().num_values == 4
  with pytest.raises(ValueError, match='always cropped'):
    environments.make('active_visual_match', crop=False)


def test_crop_centres_the_player_and_pads_with_floor():
  env = environments.make('key_to_door', seed=5)
  timestep = env.reset()
  rng = np.random.default_rng(1)
  for _ in range(119):
    image = timestep.observation
    row, col = env.player_position()
    padded = np.pad(env.full_board(), 2, constant_values=ord(' '))
    window = padded[row:row + 5, col:col + 5]
    assert (env.board() == window).all()
    if chr(window[2, 2]) == objects.PLAYER:  # (The door is drawn over the player.)
      assert tuple(image[2, 2]) == PLAYER_RGB
    palette = env.colours
    for r in range(5):
      for c in range(5):
        assert tuple(image[r, c]) == palette[chr(window[r, c])]
    timestep = env.step(rng.integers(4))


def test_colour_table_is_the_release_conversion():
  colours = environments.make('key_to_door').colours
  assert colours['+'] == PLAYER_RGB and colours[' '] == FLOOR_RGB and colours['#'] == WALL_RGB
  assert colours['k'] == (159, 81, 44) and colours['d'] == (134, 206, 235)
  assert colours['a'] == (140, 178, 0) and colours['i'] == (255, 255, 255)


def test_key_to_door_with_the_key_the_door_pays_the_final_reward_once():
  env = environments.make('key_to_door', seed=11, crop=False)
  env.reset()
  (key,) = find(env, 'k')
  assert 1 <= key[0] <= 2 and 3 <= key[1] <= 7  # Always in the top room.
  assert 4 <= env.player_position()[0] <= 5  # The player starts in the bottom room.
  steps = play(env, path(env, key, '#i'))
  assert not find(env, 'k')
  # The white indicator on the top wall shows in exactly the frame after the pickup.
  assert tuple(steps[-1].observation[0, 5]) == (255, 255, 255)
  step = env.step(objects.SOUTH)
  assert tuple(step.observation[0, 5]) == WALL_RGB
  assert sum(float(s.reward) for s in steps) == 0.0  # No reward for the key.
  run_to_phase(env, 2)
  assert env.player_position() == (3, 5)
  north, onto_door = play(env, [objects.NORTH, objects.NORTH])
  assert float(north.reward) == 0.0 and float(onto_door.reward) == 10.0
  assert env.player_position() == (1, 5)
  assert onto_door.observation[1, 5].tolist() == [134, 206, 235]  # The door hides the player.
  rest = play(env, [objects.SOUTH, objects.NORTH])  # Back onto the door: no second reward.
  assert [float(s.reward) for s in rest] == [0.0, 0.0]
  while not rest[-1].last():
    rest.append(env.step(objects.WEST))
  assert env.last_phase_reward() == 10.0
  assert env.phase_rewards()[0] == 0.0


def test_key_to_door_without_the_key_the_door_is_a_wall():
  env = environments.make('key_to_door', seed=11)
  env.reset()
  run_to_phase(env, 2, action=objects.SOUTH)  # Never reaches the key from the bottom room.
  steps = play(env, [objects.NORTH] * 15)
  assert env.player_position() == (2, 5)
  assert steps[-1].last() and env.last_phase_reward() == 0.0
  assert all(float(s.reward) == 0.0 for s in steps)


def test_apples_pay_one_sampled_reward_per_episode_and_grow_back_after_21_frames():
  seen_values = set()
  for seed in range(8):
    env = environments.make('key_to_door', seed=seed, crop=False)
    env.reset()
    run_to_phase(env, 1)
    assert len(find(env, 'a')) == 10
    episode_values = set()
    (first_apple, *_) = find(env, 'a')
    for step in play(env, path(env, first_apple, '#')):
      if step.reward:
        episode_values.add(float(step.reward))
    assert first_apple not in find(env, 'a')
    frames_waited = 0
    while first_apple not in find(env, 'a'):
      action = objects.NORTH if env.player_position()[0] > 3 else objects.SOUTH
      step = env.step(action if env.player_position() != first_apple else objects.EAST)
      if step.reward:
        episode_values.add(float(step.reward))
      frames_waited += 1
    assert frames_waited == 21
    assert len(episode_values) == 1  # One value for every apple of the episode ...
    seen_values |= episode_values
  assert seen_values == {1.0, 10.0}  # ... either endpoint, never one in between.


def test_apple_rewards_drawn_per_apple_when_not_fixed():
  env = environments.make('key_to_door', seed=2, crop=False, fix_apple_reward_in_episode=False,
                          apple_reward_min=2.0, apple_reward_max=4.0, num_apples=22)
  env.reset()
  run_to_phase(env, 1)
  rewards = []
  for target in sorted(find(env, 'a'), key=lambda cell: cell[1])[:8]:
    for step in play(env, path(env, target, '#')):
      if step.reward:
        rewards.append(float(step.reward))
  assert len(set(rewards)) == len(rewards) >= 8
  assert all(2.0 <= r < 4.0 for r in rewards)


def _avm_to_reward_phase(seed):
  env = environments.make('active_visual_match', seed=seed)
  env.reset()
  (target,) = [s for s in objects.COLOUR_SQUARES if find(env, s)]
  cell = find(env, target)[0]
  assert env.full_board()[cell] == ord(target)  # In the wall ...
  run_to_phase(env, 2)
  return env, target


def test_active_visual_match_the_remembered_colour_pays_and_only_the_first_touch_counts():
  env, target = _avm_to_reward_phase(seed=4)
  assert env.player_position() == (5, 5)
  others = ''.join(s for s in objects.COLOUR_SQUARES if s != target)
  steps = play(env, path(env, find(env, target)[0], '#' + others))
  assert float(steps[-1].reward) == 10.0
  assert not any(find(env, s) for s in objects.COLOUR_SQUARES)  # All three vanished.
  while not steps[-1].last():
    steps.append(env.step(objects.SOUTH))
  assert env.last_phase_reward() == 10.0

  env, target = _avm_to_reward_phase(seed=4)
  wrong = next(s for s in objects.COLOUR_SQUARES if s != target)
  blocked = '#' + ''.join(s for s in objects.COLOUR_SQUARES if s != wrong)
  steps = play(env, path(env, find(env, wrong)[0], blocked))
  assert all(float(s.reward) == 0.0 for s in steps)
  assert not any(find(env, s) for s in objects.COLOUR_SQUARES)
  while not steps[-1].last():
    steps.append(env.step(objects.NORTH))
  assert env.last_phase_reward() == 0.0


def test_active_visual_match_colours_fixed_per_instance_target_per_episode():
  env = environments.make('active_visual_match', seed=7)
  colours = env.colours
  assert sorted(colours[s] for s in objects.COLOUR_SQUARES) == [(0, 0, 255), (0, 255, 0),
                                                                (255, 0, 0)]
  targets = set()
  for _ in range(12):
    env.reset()
    targets |= {s for s in objects.COLOUR_SQUARES if find(env, s)}
    assert env.colours == colours
  assert targets == set(objects.COLOUR_SQUARES)
  mappings = {tuple(environments.make('active_visual_match', seed=s).colours[c]
                    for c in objects.COLOUR_SQUARES) for s in range(10)}
  assert len(mappings) > 1  # Different instances, different colour orders.


def test_the_square_is_seen_only_near_it_and_blocks_the_player():
  env = environments.make('active_visual_match', seed=1)
  env.reset()
  (target,) = [s for s in objects.COLOUR_SQUARES if find(env, s)]
  row, col = find(env, target)[0]
  r, c = env.player_position()
  visible = abs(r - row) <= 2 and abs(c - col) <= 2
  assert (ord(target) in env.board()) == visible


def test_same_seed_same_episodes_different_seed_different():
  def episode(seed):
    env = environments.make('key_to_door', seed=seed)
    frames = [env.reset().observation]
    frames += [env.step(a).observation for a in [0, 1, 2, 3] * 30]
    return np.stack(frames)
  assert (episode(5) == episode(5)).all()
  assert not (episode(5) == episode(6)).all()


@pytest.mark.parametrize('kwargs,message', [
    (dict(apple_reward_min=5.0, apple_reward_max=1.0), 'must not exceed'),
    (dict(num_apples=23), 'num_apples must be between 0 and 22'),
])
def test_bad_parameters_are_rejected(kwargs, message):
  with pytest.raises(ValueError, match=message):
    environments.make('key_to_door', **kwargs)


def test_registry_and_python_310_compatibility():
  assert environments.canonical_id('key_to_door') == 'PycolabKeyToDoor-v0'
  assert environments.canonical_id('active_visual_match') == 'PycolabActiveVisualMatch-v0'
  with pytest.raises(environments.UnknownEnvironmentError, match='key_to_door'):
    environments.make('key_too_door')
  assert isinstance(environments.make('key_to_door'), pycolab_env.PycolabEnvironment)
  # The shim is local to pycolab: the interpreter's collections module is unchanged.
  assert not hasattr(collections, 'Mapping')
