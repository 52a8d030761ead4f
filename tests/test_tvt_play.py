"""A person playing the TVT pycolab tasks in a terminal (a real pseudo-terminal, real key
presses), and what the screen shows: the view with the player on top, and a legend."""

import pytest

import environments
from environments.pycolab import objects
from environments.pycolab import play
from tests import commands
from tests import test_tvt_pycolab

UP, DOWN = '\x1bOA', '\x1bOB'  # xterm's arrow keys in keypad (application) mode.
CURSOR_UP = '\x1b[A'  # The same key from a terminal in cursor mode.


def test_play_key_to_door_in_a_terminal_and_quit_with_q():
  terminal = commands.Terminal('environments.pycolab.play', 'key_to_door', '--seed=3')
  try:
    first = terminal.read(r'phase 1/3: explore +step 0/15')
    assert 'door (phase 3): with the key, the final reward' in first  # The legend.
    terminal.press(UP)
    terminal.read(r'step 1/15')
    terminal.press(CURSOR_UP)
    terminal.read(r'step 2/15')
    terminal.press(DOWN * 13)  # Explore ends after 15 steps: the apples come next.
    terminal.read(r'phase 2/3: distractor +step 0/90')
    terminal.press(' ' * 90)  # Waiting also advances the frame.
    terminal.read(r'phase 3/3: reward +step 0/15')
    terminal.press(UP * 2)  # Without the key the door stays shut.
    terminal.read(r'step 2/15')
    terminal.press(' ' * 13)
    terminal.read(r'episode over: reward [0-9.]+, last-phase reward 0')
    terminal.press('q')
    assert terminal.process.wait(timeout=30) == 0
    terminal.read(r'episode 1: reward [0-9.]+, last-phase reward 0', timeout=10)
    assert 'Traceback' not in terminal.screen
  finally:
    terminal.close()


@pytest.mark.parametrize('crop', [False, True])
def test_the_player_is_drawn_on_the_opened_door_and_the_legend_beside(crop):
  env = environments.make('key_to_door', seed=11, crop=crop)
  game = play.Game(env)
  (key,) = test_tvt_pycolab.find(env, objects.KEY)
  for action in test_tvt_pycolab.path(env, key, '#i'):
    game.act(action)
  while env.phase != 2:
    game.act(objects.EAST)
  game.act(objects.NORTH)
  game.act(objects.NORTH)  # Onto the door, holding the key: the final reward.
  assert env.last_phase_reward() == 10.0 and env.player_position() == (1, 5)
  row, column = env.player_view_position()
  assert chr(env.board()[row, column]) == objects.DOOR  # The agent sees the door, not itself.
  assert play.shown_board(env)[row][column] == objects.PLAYER

  screen = commands.FakeScreen()
  play._draw(screen, game, {}, 'title')  # pylint: disable=protected-access
  lines = screen.lines()
  assert lines[2 + row][2 + 2 * column] == objects.PLAYER
  legend = '\n'.join(lines[2:2 + len(play.LEGENDS['key_to_door'])])
  for symbol, meaning in play.LEGENDS['key_to_door']:
    assert f'{symbol}     {meaning}' in legend


def test_active_visual_match_shows_its_own_legend():
  env = environments.make('active_visual_match', seed=0)
  screen = commands.FakeScreen()
  play._draw(screen, play.Game(env), {}, 'title')  # pylint: disable=protected-access
  text = '\n'.join(screen.lines())
  assert 'b c e colour squares: remember the one in a wall' in text
  assert 'apple (phase 2): a reward' in text
  assert '+' in ''.join(play.shown_board(env))
