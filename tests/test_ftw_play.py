"""A person playing a seat of capture the flag: on a pseudo-terminal with real key presses
(arrows move, q quits), from lines of keys, and what the screen shows (a legend, '@' on top)."""

import curses
import re
import subprocess
import sys

import environments
from agents.ftw import play
from environments.ctf import bots
from tests import commands

ARGS = ('--episode_length=12', '--map_size=9', '--opponent=random')
POSITION = r'you: row (\d+) column (\d+) facing ([\^>v<])'


def _position(screen_text):
  row, column, facing = re.findall(POSITION, screen_text)[-1]
  return int(row), int(column), facing


def test_arrow_keys_move_and_q_quits_on_a_terminal():
  terminal = commands.Terminal('launch.ftw_play', *ARGS)
  try:
    start = _position(terminal.read(POSITION, timeout=90))
    assert 'your base: bring the enemy flag here' in terminal.screen  # The legend.
    assert 'turn left, right' in terminal.screen  # The keys.
    terminal.press('\x1b[A')  # Up, from a terminal in cursor mode: forward.
    moved = _position(terminal.read(rf'step 1  score[\s\S]*{POSITION}'))
    assert moved[:2] != start[:2] and moved[2] == start[2]
    terminal.press('\x1bOC')  # Right, in keypad mode (what curses asks xterm for): strafe.
    strafed = _position(terminal.read(rf'step 2  score[\s\S]*{POSITION}'))
    assert strafed[:2] != moved[:2] and strafed[2] == moved[2]
    terminal.press('z')  # Turn left (q before q quit).
    turned = _position(terminal.read(rf'step 3  score[\s\S]*{POSITION}'))
    assert turned[:2] == strafed[:2] and turned[2] == '^>v<'['^>v<'.index(strafed[2]) - 1]
    terminal.press('x')  # Quit in lines of keys; on the screen too near `z` to quit.
    terminal.read(r"unknown key 'x'")
    terminal.press('q')
    assert terminal.process.wait(timeout=30) == 0
    terminal.read(r'\nquit\r?\n', timeout=10)
    assert 'Traceback' not in terminal.screen
  finally:
    terminal.close()


def test_q_quits_and_z_turns_left_in_lines_of_keys():
  result = subprocess.run([sys.executable, '-m', 'launch.ftw_play', *ARGS], cwd=commands.ROOT,
                          input='z\nwq\nw\n', capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'your base: bring the enemy flag here' in result.stdout  # The legend, first.
  assert "unknown keys" not in result.stdout
  assert 'step 2  score' in result.stdout and 'step 3  score' not in result.stdout
  assert result.stdout.rstrip().endswith('quit')


def _match(arena_id='CaptureTheFlag1v1-v0'):
  arena = environments.make(arena_id, episode_length=12, map_size=9, seed=0)
  players = {seat: bots.make_bot('random', seat) for seat in range(1, arena.num_players)}
  return play.Match(arena, players)


def test_the_screen_shows_a_legend_and_you_on_top_of_your_flag():
  match = _match()
  game = match.arena.game
  you = game.players[0]
  you.position = game.map.bases[0]  # On your base, where your flag lies.
  row, column = you.position
  assert match.map_text().split('\n')[row][column] == '@'

  screen = commands.FakeScreen()
  play._draw(screen, match, '')  # pylint: disable=protected-access
  lines = screen.lines()
  assert lines[2 + row][column] == '@'
  assert screen.attributes[(2 + row, column)] & curses.A_REVERSE
  text = '\n'.join(lines)
  for symbol, meaning in play.legend(match.arena):
    assert re.search(rf'{re.escape(symbol)} +{re.escape(meaning)}', text), (symbol, text)
  assert f'you: row {row} column {column} facing' in text
  assert 'z e     turn left, right' in text and 'q       quit' in text


def test_the_legend_names_teammates_in_2v2():
  legend = dict(play.legend(_match('CaptureTheFlag2v2-v0').arena))
  assert legend['1'] == 'your teammates, by seat'
  assert legend['2 3'] == 'opponents, by seat'
