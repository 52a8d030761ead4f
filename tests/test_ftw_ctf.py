"""Capture-the-flag rules: capture, tags, respawn, flags, events, time limit, views, maps, bots."""

import numpy as np
import pytest

import environments
from environments.ctf import bots
from environments.ctf import game as game_lib
from environments.ctf import maps
from environments.ctf import rendering
from environments.ctf.game import (BACKWARD, FORWARD, NOOP, STRAFE_LEFT, STRAFE_RIGHT, TAG,
                                   TURN_LEFT, TURN_RIGHT)

# Team 0's base '1' on the left, team 1's base '2' on the right; a wall block in the middle.
CORRIDOR = [
    '#########',
    '#.......#',
    '#1.....2#',
    '#...#...#',
    '#########',
]


def _game(rows=CORRIDOR, team_size=1, **rules):
  return game_lib.Game(maps.parse_ascii(rows), team_size, game_lib.Rules(**rules))


def _place(game, seat, cell, facing):
  game.players[seat].position = cell
  game.players[seat].facing = facing


def _events(events, seat):
  return set(game_lib.describe_events(events[seat]))


def test_picking_up_and_capturing_the_enemy_flag():
  game = _game()
  _place(game, 0, (2, 6), facing=1)  # Next to team 1's base (2, 7), facing east.
  _place(game, 1, (1, 1), facing=3)
  events = game.step([FORWARD, NOOP])
  assert game.players[0].position == (2, 7) and game.players[0].carrying
  assert _events(events, 0) == {'i_picked_up_flag'}
  assert _events(events, 1) == {'opponent_picked_up_flag'}
  assert game.flags[1].state == game_lib.CARRIED
  _place(game, 0, (2, 2), facing=3)  # Carry it next to its own base (2, 1).
  events = game.step([FORWARD, NOOP])
  assert game.scores == [1, 0]
  assert _events(events, 0) == {'i_captured'}
  assert _events(events, 1) == {'opponent_captured'}
  assert not game.players[0].carrying
  assert game.flags[1].state == game_lib.AT_BASE and game.flags[1].position == (2, 7)
  assert game.outcome() == 0.0


def test_no_capture_while_the_own_flag_is_away():
  game = _game()
  game.flags[0].state, game.flags[0].carrier, game.flags[0].position = game_lib.CARRIED, 1, None
  game.players[1].carrying = True
  game.players[0].carrying = True
  game.flags[1].state, game.flags[1].carrier, game.flags[1].position = game_lib.CARRIED, 0, None
  _place(game, 0, (2, 2), facing=3)
  _place(game, 1, (1, 6), facing=3)
  events = game.step([FORWARD, NOOP])
  assert game.players[0].position == (2, 1)
  assert game.scores == [0, 0] and game.players[0].carrying
  assert not events.any()


def test_tagging_the_flag_carrier_drops_the_flag_and_respawns_the_carrier():
  game = _game(respawn_steps=3, flag_return_steps=40)
  _place(game, 0, (1, 2), facing=1)  # Facing east along row 1.
  _place(game, 1, (1, 5), facing=3)  # Three cells away: within range 4.
  game.players[1].carrying = True
  game.flags[0].state, game.flags[0].carrier, game.flags[0].position = game_lib.CARRIED, 1, None
  events = game.step([TAG, NOOP])
  assert _events(events, 0) == {'i_tagged_carrier'}
  assert _events(events, 1) == {'i_was_tagged_with_flag'}
  assert not game.players[1].alive and not game.players[1].carrying
  assert game.flags[0].state == game_lib.DROPPED and game.flags[0].position == (1, 5)
  # Dead for `respawn_steps` steps, then back on a spawn cell of its base, facing the enemy.
  game.step([NOOP, NOOP])
  assert not game.players[1].alive
  game.step([NOOP, NOOP])
  game.step([NOOP, NOOP])
  assert game.players[1].alive
  assert game.players[1].position in game.map.spawns[1]
  assert game.players[1].facing == 3
  # Team 0's player walks onto its dropped flag and returns it.
  _place(game, 0, (1, 4), facing=1)
  events = game.step([FORWARD, NOOP])
  assert _events(events, 0) == {'i_returned_flag'}
  assert _events(events, 1) == {'opponent_returned_flag'}
  assert game.flags[0].state == game_lib.AT_BASE


def test_a_tag_needs_range_and_line_of_sight_and_cools_down():
  game = _game(tag_cooldown=3)
  _place(game, 0, (1, 1), facing=1)
  _place(game, 1, (1, 6), facing=3)  # Five cells away: out of range 4.
  assert not game.step([TAG, NOOP]).any()
  assert game.players[1].alive
  _place(game, 1, (1, 4), facing=3)  # In range, but the cooldown of the missed tag is on.
  assert not game.step([TAG, NOOP]).any()
  game.step([NOOP, NOOP])
  events = game.step([TAG, NOOP])
  assert _events(events, 0) == {'i_tagged_opponent'}
  assert _events(events, 1) == {'i_was_tagged'}
  walled = _game()
  _place(walled, 0, (3, 3), facing=1)  # A wall at (3, 4) hides (3, 5).
  _place(walled, 1, (3, 5), facing=3)
  assert walled.tag_target(0) is None


def test_teammates_block_tags_and_see_team_events():
  rows = ['##########',
          '#........#',
          '#1......2#',
          '#........#',
          '##########']
  game = _game(rows, team_size=2)
  _place(game, 0, (1, 1), facing=1)
  _place(game, 1, (1, 2), facing=1)  # Seat 0's teammate stands in its line of fire.
  _place(game, 2, (1, 3), facing=3)
  _place(game, 3, (3, 5), facing=3)
  assert game.tag_target(0) is None
  assert game.tag_target(1) == 2
  _place(game, 1, (2, 7), facing=1)
  events = game.step([NOOP, FORWARD, NOOP, NOOP])  # Seat 1 steps onto team 1's flag.
  assert _events(events, 1) == {'i_picked_up_flag'}
  assert _events(events, 0) == {'teammate_picked_up_flag'}
  assert _events(events, 2) == _events(events, 3) == {'opponent_picked_up_flag'}


def test_a_dropped_flag_returns_by_itself():
  game = _game(flag_return_steps=5)
  game.flags[1].state, game.flags[1].position, game.flags[1].timer = game_lib.DROPPED, (1, 4), 5
  _place(game, 0, (3, 1), facing=1)
  _place(game, 1, (3, 7), facing=3)
  for _ in range(4):
    game.step([NOOP, NOOP])
    assert game.flags[1].state == game_lib.DROPPED
  game.step([NOOP, NOOP])
  assert game.flags[1].state == game_lib.AT_BASE and game.flags[1].position == (2, 7)


def test_moves_are_relative_to_facing_and_blocked_by_walls_and_players():
  game = _game()
  _place(game, 0, (2, 3), facing=1)  # Facing east.
  _place(game, 1, (1, 6), facing=3)
  game.step([STRAFE_LEFT, NOOP])  # Left of east is north.
  assert game.players[0].position == (1, 3)
  game.step([BACKWARD, NOOP])  # Behind east is west.
  assert game.players[0].position == (1, 2)
  game.step([TURN_RIGHT, NOOP])  # Now facing south.
  game.step([STRAFE_RIGHT, NOOP])  # Right of south is west.
  assert game.players[0].position == (1, 1) and game.players[0].facing == 2
  game.step([STRAFE_RIGHT, TURN_LEFT])  # Into the border wall: stays.
  assert game.players[0].position == (1, 1) and game.players[1].facing == 2
  _place(game, 1, (2, 1), facing=0)
  game.step([FORWARD, NOOP])  # Facing south onto the other player: stays.
  assert game.players[0].position == (1, 1)


def test_episodes_end_at_the_time_limit_with_float32_events_and_discounts():
  env = environments.make('ctf_1v1', episode_length=5, seed=3)
  timestep = env.reset()
  assert timestep.first() and timestep.observation.shape == (2, 11, 11, 3)
  assert timestep.reward.shape == (2, 13) and timestep.reward.dtype == np.float32
  steps = 0
  while not timestep.last():
    timestep = env.step([NOOP, NOOP])
    steps += 1
    assert timestep.discount.dtype == np.float32
    assert timestep.discount == (0.0 if steps == 5 else 1.0)
  assert steps == 5 and env.get_outcome() == 0.5
  assert env.step([NOOP, NOOP]).first()  # Then a new map.


def test_views_are_egocentric_and_team_relative():
  game = _game()
  _place(game, 0, (2, 6), facing=1)  # Facing east: team 1's base (2, 7) is straight ahead.
  _place(game, 1, (1, 2), facing=3)  # Facing west, team 0's base (2, 1) ahead and to its left.
  renderer = rendering.Renderer(view_size=5)
  renderer.reset(game)
  views = renderer.observations(game)
  assert views.shape == (2, 5, 5, 3) and views.dtype == np.uint8
  assert tuple(views[0, 2, 2]) == rendering.SELF
  assert tuple(views[0, 1, 2]) == rendering.ENEMY_FLAG  # What is ahead is drawn above.
  assert tuple(views[0, 0, 2]) == rendering.WALL  # Then the border, then off the map (wall).
  assert tuple(views[1, 1, 1]) == rendering.ENEMY_FLAG  # Team 0's flag is team 1's enemy flag.
  assert tuple(views[1, 0, 2]) == rendering.WALL
  _place(game, 1, (2, 5), facing=3)  # Back to back with seat 0.
  views = renderer.observations(game)
  assert tuple(views[0, 3, 2]) == rendering.OPPONENT  # Behind is drawn below.
  assert tuple(views[1, 3, 2]) == rendering.OPPONENT
  game.players[0].carrying = True
  assert tuple(renderer.observations(game)[1, 3, 2]) == rendering.OPPONENT_CARRIER
  assert tuple(renderer.observations(game)[0, 2, 2]) == rendering.SELF_CARRIER
  game.players[0].position = None
  assert not renderer.observations(game)[0].any()  # Waiting to respawn: black.


def test_views_scale_to_several_pixels_per_cell():
  env = environments.make('ctf_2v2', view_size=7, pixels_per_cell=3, seed=0)
  observation = env.reset().observation
  assert observation.shape == (4, 21, 21, 3)
  assert np.array_equal(observation[0, 9:12, 9:12].reshape(-1, 3),
                        np.tile(np.array(rendering.SELF, np.uint8), (9, 1)))


def test_generated_maps_are_mirrored_and_connected():
  rng = np.random.default_rng(0)
  for size in (7, 7, 7, 9, 11, 15, 25):
    ctf_map = maps.generate(rng, size)
    walls = ctf_map.walls
    assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()
    assert np.array_equal(walls, walls[:, ::-1])
    (r0, c0), (r1, c1) = ctf_map.bases
    assert r0 == r1 and c0 == size - 1 - c1
    distance = maps.distances_from(walls, ctf_map.bases[0])
    assert distance[ctf_map.bases[1]] > 0
    assert np.all((distance >= 0) == ~walls)  # Every open cell is reachable.
    for team in (0, 1):
      assert len(ctf_map.spawns[team]) >= 2
      assert all(not walls[cell] for cell in ctf_map.spawns[team])


def test_the_rusher_captures_against_a_standing_opponent():
  env = environments.make('ctf_1v1', episode_length=200, seed=5)
  rusher = bots.make_bot('rusher', seed=0)
  env.reset()
  timestep = None
  while timestep is None or not timestep.last():
    timestep = env.step([rusher(env.game, 0), NOOP])
  assert env.scores[0] >= 2 and env.scores[1] == 0
  assert env.get_outcome() == 0.0


def test_the_defender_turns_to_an_intruder_and_tags_it():
  game = _game()
  _place(game, 1, (2, 6), facing=0)  # Team 1's defender by its base, facing north.
  _place(game, 0, (2, 3), facing=1)  # An intruder three cells to its west.
  defender = bots.make_bot('defender', seed=0)
  action = defender(game, 1)
  assert action == TURN_LEFT
  game.step([NOOP, action])
  action = defender(game, 1)
  assert action == TAG
  game.step([NOOP, action])
  assert not game.players[0].alive


def test_unknown_bots_are_named():
  with pytest.raises(ValueError, match='unknown bot'):
    bots.make_bot('camper')
