"""Playing matches: population members (batched network calls) and scripted bots in lockstep.

An arena plays several matches at once. Every seat is filled either by a member of the
population (an int) or by a bot (a callable `bot(game, seat) -> action`). At each step the seats
of one member, across all matches, are acted for by one batched call of that member's policy
(`agents.core.acting.BatchedRecurrentActor`), each seat with its own adders when the match is
for training. Every seat sees an OAR observation: its view, its previous action and its previous
events (the original's `ObservationActionRewardMarlWrapper`).
"""

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence, Union

from acme import specs
from acme.tf import variable_utils
import dm_env
import numpy as np

from agents.core import acting as core_acting
from agents.core import stopping
from agents.ftw import acting
from agents.ftw import agent as agent_lib
from agents.ftw import config as config_lib
from agents.ftw import networks as ftw_networks
from environments import ctf
from environments.ctf import game as game_lib

Seat = Union[int, Callable]  # A member index, or a bot.


def seat_environment_spec(arena: ctf.CaptureTheFlag) -> specs.EnvironmentSpec:
  """What one member sees and does in `arena`: the spec its networks are built for."""
  return specs.EnvironmentSpec(
      observations=ftw_networks.OAR(arena.seat_observation_spec(), arena.seat_action_spec(),
                                    arena.seat_reward_spec()),
      actions=arena.seat_action_spec(), rewards=arena.seat_reward_spec(),
      discounts=arena.discount_spec())


class MemberPolicies:
  """For every member: a policy network, its compiled policy and (optionally) a variable client.

  `sources[m]` is member m's variable source (a learner, or a courier client of one); without
  sources the networks keep whatever weights they are given (evaluation of checkpoints).
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, config: config_lib.FtwConfig,
               sources: Optional[Sequence] = None, update_period: int = 10, seed: int = 0):
    self._spec = environment_spec
    self._config = config
    self._sources = sources
    self._update_period = update_period
    self._rng = np.random.default_rng(seed)
    self._networks: Dict[int, ftw_networks.FtwNetwork] = {}
    self._policies = {}
    self._clients: Dict[int, variable_utils.VariableClient] = {}

  def network(self, member: int) -> ftw_networks.FtwNetwork:
    if member not in self._networks:
      hypers, rewards = agent_lib.make_hypers_and_rewards(self._config, self._rng)
      config = dataclasses.replace(self._config, use_pixel_control=False,
                                   use_reward_prediction=False)
      network = agent_lib.make_networks(self._spec, config, hypers, rewards).policy
      self._networks[member] = network
      self._policies[member] = acting.make_policy(network)
      if self._sources is not None:
        client = variable_utils.VariableClient(self._sources[member],
                                               {'policy': network.variables},
                                               update_period=self._update_period)
        client.update_and_wait()  # Never act with a fresh network's random weights.
        self._clients[member] = client
    return self._networks[member]

  def refresh(self, member: int):
    """Fetches member's current weights now (before an evaluation round)."""
    self.network(member)
    if member in self._clients:
      self._clients[member].update_and_wait()

  def actor(self, member: int, adders=None) -> core_acting.BatchedRecurrentActor:
    network = self.network(member)
    return core_acting.BatchedRecurrentActor(
        self._policies[member], network.initial_state, adders, self._clients.get(member),
        seed=int(self._rng.integers(2**31 - 1)))


@dataclasses.dataclass
class MatchResult:
  seats: List[Seat]
  outcome: float  # 0 team 1 (seats of the first half) won, 0.5 draw, 1 team 2 won.
  scores: tuple
  events: np.ndarray  # Sum of every seat's events over the match, [num_seats, E].
  steps: int


class _OARTracker:
  """Every seat's previous action and previous events, to build OAR observations."""

  def __init__(self, num_matches: int, num_seats: int):
    self.actions = np.zeros((num_matches, num_seats), np.int32)
    self.events = np.zeros((num_matches, num_seats, game_lib.NUM_EVENTS), np.float32)


def _group_timestep(timesteps: Sequence[dm_env.TimeStep], rows, tracker: _OARTracker):
  """The stacked seat timesteps of `rows` [(match, seat)] with OAR observations."""
  matches, seats = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
  pixels = np.stack([timesteps[m].observation[s] for m, s in rows])
  observation = ftw_networks.OAR(pixels, tracker.actions[matches, seats],
                                 tracker.events[matches, seats])
  return dm_env.TimeStep(
      step_type=np.array([timesteps[m].step_type for m, _ in rows]),
      reward=np.stack([timesteps[m].reward[s] for m, s in rows]),
      discount=np.array([timesteps[m].discount for m, _ in rows], np.float32),
      observation=observation)


def play_matches(environments: Sequence[ctf.CaptureTheFlag], lineups: Sequence[Sequence[Seat]],
                 policies: MemberPolicies,
                 make_adder: Optional[Callable[[int], object]] = None,
                 update_weights: bool = True) -> Optional[List[MatchResult]]:
  """Plays one match per environment to its end; returns None if the program stopped meanwhile.

  `make_adder(member)` gives a fresh adder for a training seat (None: nothing is written).
  """
  num_matches = len(environments)
  num_seats = environments[0].num_players
  for lineup in lineups:
    if len(lineup) != num_seats:
      raise ValueError(f'a lineup needs {num_seats} seats, got {len(lineup)}')
  groups: Dict[int, List] = {}
  for m, lineup in enumerate(lineups):
    for s, player in enumerate(lineup):
      if isinstance(player, (int, np.integer)):
        groups.setdefault(int(player), []).append((m, s))
  actors = {member: policies.actor(member, [make_adder(member) for _ in rows]
                                   if make_adder else None)
            for member, rows in groups.items()}
  tracker = _OARTracker(num_matches, num_seats)
  timesteps = [env.reset() for env in environments]
  for member, rows in groups.items():
    actors[member].observe_first(_group_timestep(timesteps, rows, tracker))
  totals = np.zeros((num_matches, num_seats, game_lib.NUM_EVENTS), np.float32)
  steps = 0
  while not timesteps[0].last():
    if stopping.stop_requested():
      return None
    actions = np.zeros((num_matches, num_seats), np.int32)
    group_actions = {}
    for member, rows in groups.items():
      group_actions[member] = actors[member].select_actions(
          _group_timestep(timesteps, rows, tracker).observation)
      for (m, s), action in zip(rows, group_actions[member]):
        actions[m, s] = action
    for m, lineup in enumerate(lineups):
      for s, player in enumerate(lineup):
        if not isinstance(player, (int, np.integer)):
          actions[m, s] = player(environments[m].game, s)
    timesteps = [env.step(a) for env, a in zip(environments, actions)]
    steps += 1
    tracker.actions = actions
    tracker.events = np.stack([t.reward for t in timesteps])
    totals += tracker.events
    for member, rows in groups.items():
      actors[member].observe(group_actions[member], _group_timestep(timesteps, rows, tracker))
      if update_weights:
        actors[member].update()
  return [MatchResult(list(lineup), env.get_outcome(), env.scores, totals[m], steps)
          for m, (env, lineup) in enumerate(zip(environments, lineups))]
