"""Playing capture the flag in the terminal against bots and trained members.

`play` runs the match loop (keys for seat 0, bots or checkpointed members in the other seats);
`load_member_seats` restores members of an FTW run directory to fill seats.
"""

from typing import Dict

import numpy as np

import environments
from agents.core import run_dir as run_dir_lib
from environments import ctf
from environments.ctf import game as game_lib
from environments.ctf import rendering

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


def load_member_seats(run_dir: str, arena_id: str, members: Dict[int, int],
                      seed: int) -> Dict[int, MemberSeat]:
  """{seat: member's checkpointed policy} for `members` {seat: member index} of `run_dir`.

  Raises ValueError (with one line for the user) when the run directory cannot provide them.
  """
  from agents.ftw import config as config_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import evaluation  # pylint: disable=g-import-not-at-top
  run_config = run_dir_lib.read_config(run_dir)
  if run_config is None:
    raise ValueError(f'{run_dir} holds no FTW run (no {run_dir_lib.RUN_CONFIG})')
  if run_config['arena'] != arena_id:
    raise ValueError(f'the members of {run_dir} were trained on {run_config["arena"]}, not '
                     f'{arena_id}')
  agent_config = config_lib.FtwConfig(**{
      k: tuple(v) if isinstance(v, list) else v for k, v in run_config['agent'].items()
      if k != 'uint_pixels_to_float'})  # A field of older runs' configs.
  population = run_config['population_size']
  for member in members.values():
    if not 0 <= member < population:
      raise ValueError(f'member {member} is not in the population of {population}')
  factory = environments.make_factory(arena_id, **run_config['arena_kwargs'])
  try:
    policies = evaluation.restore_policies(run_dir, factory, agent_config, population)
  except FileNotFoundError as error:
    raise ValueError(str(error)) from None
  return {seat: MemberSeat(policies.network(member), seat, seed + seat)
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
