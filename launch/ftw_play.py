r"""Play a seat of capture the flag in the terminal, against scripted bots or trained members.

  python -m launch.ftw_play                                   # you against the flag-rusher
  python -m launch.ftw_play --opponent=random --episode_length=100
  python -m launch.ftw_play --arena=ctf_2v2 --teammate=defender --opponent=rusher
  python -m launch.ftw_play --opponent=member:0 -l runs/ftw_local  # a checkpointed member

You are '@' (seat 0, team 0, base 'A'); the enemy base is 'B', flags lying on the ground are
'a' and 'b', other players are their seat numbers; a legend beside the map says so. Each key
press is one step: the arrow keys or w s a d move forward, back, strafe left and right
(relative to your facing, shown as ^ > v < on the status line), z and e turn left and right,
space tags, . waits, q quits. When the keys come from a pipe instead of a terminal, they are
read a line at a time: each key of a line is one step, an empty line waits a step, q or x quits.
"""

import curses
import sys

from absl import app
from absl import flags

import environments
from agents.core import cli
from agents.ftw import play as play_lib
from environments import ctf
from environments.ctf import bots as bots_lib
from launch import ftw_common

FLAGS = flags.FLAGS
flags.DEFINE_string('arena', 'CaptureTheFlag1v1-v0', 'ctf_1v1 or ctf_2v2.')
flags.DEFINE_string('opponent', 'rusher', 'A bot (random, rusher, defender) or member:<i>.')
flags.DEFINE_string('teammate', 'defender', 'In 2v2: your teammate, a bot or member:<i>.')
flags.DEFINE_string('logdir', 'runs/ftw_local', 'Run directory of the members (member:<i>).',
                    short_name='l')
flags.DEFINE_integer('episode_length', 300, 'Steps of the match.')
flags.DEFINE_list('map_size', ['11', '15'], 'Map side, or min,max.')
flags.DEFINE_integer('seed', 0, 'Seed of the map and the bots.')

def _players(arena: ctf.CaptureTheFlag, arena_id: str):
  """{seat: bot or member spec} for every seat but yours (seat 0)."""
  team_size = arena.team_size
  specs = {}
  for seat in range(1, arena.num_players):
    specs[seat] = FLAGS.teammate if seat < team_size else FLAGS.opponent
  members = {}
  for seat, spec in specs.items():
    if spec.startswith('member:'):
      try:
        members[seat] = int(spec.split(':', 1)[1])
      except ValueError:
        cli.exit_with_usage_error(f'bad member {spec!r}: use member:<index>')
    elif spec not in bots_lib.BOT_NAMES:
      cli.exit_with_usage_error(f'unknown player {spec!r}; valid: '
                                f'{", ".join(bots_lib.BOT_NAMES)} or member:<index>')
  players = {seat: bots_lib.make_bot(spec, FLAGS.seed + seat)
             for seat, spec in specs.items() if seat not in members}
  if members:
    try:
      players.update(play_lib.load_member_seats(FLAGS.logdir, arena_id, members, FLAGS.seed))
    except ValueError as error:
      cli.exit_with_usage_error(str(error))
  return players


def main(argv):
  del argv
  arena_id = ftw_common.arena_id_from_flag(FLAGS.arena)
  cli.check_flag('episode_length', 1)
  try:
    sizes = [int(v) for v in FLAGS.map_size]
    arena = environments.make(arena_id, episode_length=FLAGS.episode_length,
                              map_size=sizes[0] if len(sizes) == 1 else tuple(sizes),
                              seed=FLAGS.seed)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  players = _players(arena, arena_id)
  if sys.stdin.isatty() and sys.stdout.isatty():
    match = play_lib.Match(arena, players)
    try:
      outcome = curses.wrapper(play_lib.play_in_terminal, match)
    except KeyboardInterrupt:
      outcome = None
    print(match.map_text())  # The last screen's map stays in the terminal's scrollback.
    print(match.result() if outcome is not None else 'quit', flush=True)
    return
  print('\n'.join(play_lib.help_lines(arena)), flush=True)

  def read_line():
    line = sys.stdin.readline()
    return line if line else None

  play_lib.play(arena, players, read_line, lambda text: print(text, flush=True))


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
