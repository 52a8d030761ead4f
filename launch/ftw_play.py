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
import numpy as np

import environments
from agents.core import cli
from environments import ctf
from environments.ctf import bots as bots_lib
from environments.ctf import game as game_lib
from environments.ctf import rendering
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

KEYS = {'w': game_lib.FORWARD, 's': game_lib.BACKWARD, 'a': game_lib.STRAFE_LEFT,
        'd': game_lib.STRAFE_RIGHT, 'q': game_lib.TURN_LEFT, 'e': game_lib.TURN_RIGHT,
        ' ': game_lib.TAG, '.': game_lib.NOOP}


class MemberSeat:
  """A checkpointed member acting for one seat from that seat's OAR observations."""

  def __init__(self, network, seat: int, seed: int):
    from agents.ftw import acting  # pylint: disable=g-import-not-at-top
    self._actor = acting.FtwActor(network, seed=seed)
    self._seat = seat
    self._first = True

  def act(self, timestep, previous_action: int, previous_events: np.ndarray) -> int:
    from agents.ftw import networks  # pylint: disable=g-import-not-at-top
    if self._first:
      self._actor.observe_first(timestep)
      self._first = False
    observation = networks.OAR(timestep.observation[self._seat], np.int32(previous_action),
                               previous_events)
    return int(self._actor.select_action(observation))


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
    players.update(_load_members(arena_id, members))
  return players


def _load_members(arena_id: str, members):
  import os  # pylint: disable=g-import-not-at-top
  from agents.ftw import config as config_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import evaluation  # pylint: disable=g-import-not-at-top
  run_config = evaluation.read_json(os.path.join(FLAGS.logdir, ftw_common.RUN_CONFIG))
  if run_config is None:
    cli.exit_with_usage_error(f'{FLAGS.logdir} holds no FTW run (no {ftw_common.RUN_CONFIG})')
  if run_config['arena'] != arena_id:
    cli.exit_with_usage_error(f'the members of {FLAGS.logdir} were trained on '
                              f'{run_config["arena"]}, not {arena_id}')
  agent_config = config_lib.FtwConfig(**{
      k: tuple(v) if isinstance(v, list) else v for k, v in run_config['agent'].items()})
  population = run_config['population_size']
  for member in members.values():
    if not 0 <= member < population:
      cli.exit_with_usage_error(f'member {member} is not in the population of {population}')
  factory = environments.make_factory(arena_id, **run_config['arena_kwargs'])
  try:
    policies = evaluation.restore_policies(FLAGS.logdir, factory, agent_config, population)
  except FileNotFoundError as error:
    cli.exit_with_usage_error(str(error))
  return {seat: MemberSeat(policies.network(member), seat, FLAGS.seed + seat)
          for seat, member in members.items()}


def play(arena: ctf.CaptureTheFlag, players, read_line, write):
  """The match loop: your keys for seat 0, `players` for the other seats."""
  timestep = arena.reset()
  previous = np.zeros(arena.num_players, np.int32)
  write(rendering.ascii_map(arena.game, seat=0))
  pending = []
  while not timestep.last():
    if not pending:
      line = read_line()
      if line is None or line.strip() == 'x':
        write('quit')
        return None
      line = line.rstrip('\n')
      unknown = sorted({k for k in line if k not in KEYS})
      if unknown:
        write(f'unknown keys {"".join(unknown)!r}; use w s a d q e, space, ., x')
        continue
      pending = [KEYS[k] for k in line] or [game_lib.NOOP]
    actions = np.zeros(arena.num_players, np.int32)
    actions[0] = pending.pop(0)
    for seat, player in players.items():
      if isinstance(player, MemberSeat):
        actions[seat] = player.act(timestep, previous[seat], timestep.reward[seat])
      else:
        actions[seat] = player(arena.game, seat)
    timestep = arena.step(actions)
    previous = actions
    events = game_lib.describe_events(timestep.reward[0])
    write(rendering.ascii_map(arena.game, seat=0) +
          (f'\nyour events: {", ".join(events)}' if events else ''))
  outcome = arena.get_outcome()
  result = {0.0: 'you won', 0.5: 'a draw', 1.0: 'you lost'}[outcome]
  write(f'final score {arena.scores[0]}:{arena.scores[1]}: {result}')
  return outcome


def main(argv):
  del argv
  arena_id = ftw_common.arena_id_from_flag(FLAGS.arena)
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

  play(arena, players, read_line, lambda text: print(text, flush=True))


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
