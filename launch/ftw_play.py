r"""Play a seat of capture the flag in the terminal, against scripted bots or trained members.

  python -m launch.ftw_play                                   # you against the flag-rusher
  python -m launch.ftw_play --opponent=random --episode_length=100
  python -m launch.ftw_play --arena=ctf_2v2 --teammate=defender --opponent=rusher
  python -m launch.ftw_play --opponent=member:0 -l runs/ftw_local  # a checkpointed member

You are '@' (seat 0, team 0, base 'A'); the enemy base is 'B', flags lying on the ground are
'a' and 'b', other players are their seat numbers. Type keys and press Enter; each key is one
step: w forward, s back, a strafe left, d strafe right, q turn left, e turn right, space tag,
. wait; an empty line waits one step; x quits. Moves are relative to your facing (shown as
^ > v < on the status line). The score and your events are printed after every step.
"""

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
  print(__doc__.split('\n\n', 2)[2], flush=True)

  def read_line():
    line = sys.stdin.readline()
    return line if line else None

  play_lib.play(arena, players, read_line, lambda text: print(text, flush=True))


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
