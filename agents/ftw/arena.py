"""Playing matches: population members (batched network calls) and scripted bots in lockstep.

An arena plays several matches at once. Every seat is filled either by a member of the
population (an int) or by a bot (a callable `bot(game, seat) -> action`). At each step the seats
of one member, across all matches, are acted for by one batched call of that member's policy
(`agents.core.acting.BatchedRecurrentActor`), each seat with its own adders when the match is
for training. Every seat sees an OAR observation: its view, its previous action and its previous
events (the original's `ObservationActionRewardMarlWrapper`).
"""

import dataclasses
import functools
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

from absl import logging
from acme import specs
from acme.tf import variable_utils
from acme.utils import counting
import dm_env
import numpy as np

from agents.core import acting as core_acting
from agents.core import distributed as core_distributed
from agents.core import logging_utils
from agents.core import rpc
from agents.core import stopping
from agents.ftw import acting
from agents.ftw import adders as ftw_adders
from agents.ftw import agent as agent_lib
from agents.ftw import config as config_lib
from agents.ftw import networks as ftw_networks
from environments import ctf
from environments.ctf import bots as bots_lib
from environments.ctf import game as game_lib

Seat = Union[int, Callable]  # A member index, or a bot.
ARENA_STREAM = 2_000_000  # Seed key of the arenas, apart from every other stream.
LOGGED_EVENTS = {'pickups': game_lib.PICKUP, 'captures': game_lib.CAPTURE,
                 'returns': game_lib.RETURN, 'tags': game_lib.TAG_OPPONENT,
                 'carrier_tags': game_lib.TAG_CARRIER, 'tagged': game_lib.TAGGED}


def event_means(events: np.ndarray) -> Dict[str, float]:
  """Mean counts per seat and match of the events worth watching (captures, tags, ...)."""
  return {f'mean_{name}': float(events[index]) for name, index in LOGGED_EVENTS.items()}


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
      self._policies[member] = acting.make_policy(network, self._config.jit_compile)
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


class ArenaWorker:
  """The actor node of the FTW program: plays training matches chosen by the controller.

  It plays `matches_per_arena` matches at a time, writes every member seat's experience to that
  member's tables, reports each outcome to the controller (Elo) and counts the environment
  steps as the program's actor steps; it stops by itself at the step budget.
  """

  def __init__(self, context: core_distributed.ProgramContext, index: int,
               config: config_lib.ProgramConfig):
    logging.set_verbosity(logging.WARNING)
    seed = core_distributed.derive_seed(config.seed, ARENA_STREAM, index)
    self._environments = [context.environment_factory(core_distributed.derive_seed(seed, m))
                          for m in range(config.matches_per_arena)]
    self._policies = MemberPolicies(
        context.environment_spec, context.builder.config,
        [rpc.ResilientVariableSource(context.variable_source(index, member))
         for member in range(config.population_size)],
        config.variable_update_period, seed)
    self._context = context
    self._controller = rpc.stop_aware(context.controller)
    self._pools: Dict[int, List] = {}
    self._index = index
    self._counter = counting.Counter(rpc.ResilientCounter(context.counter), prefix='actor')
    self._logger = logging_utils.make_logger(f'arena_{index}', config.run_dir,
                                             config.log_period_s, steps_key='arena_steps',
                                             print_to_console=index == 0)
    self._budget = config.max_env_steps
    self._steps = 0
    self._matches = 0
    self._rng = np.random.default_rng(seed)
    self._bot_match_fraction = config.bot_match_fraction
    self._training_bots = config.training_bots

  def _take_adder(self, member: int, taken: List):
    pool = self._pools.setdefault(member, [])
    adder = (pool.pop() if pool else
             self._context.member_builder(member).make_adder(self._context.replay))
    taken.append((member, adder))
    return adder

  def _call(self, call, what: str, attempts: int = 5):
    return rpc.call_with_retries(call, f'arena {self._index}: {what}', attempts)

  def _budget_reached(self, counts) -> bool:
    return self._budget is not None and counts.get('actor_steps', 0) >= self._budget

  def run(self):
    counts = self._counter.get_counts()
    while not stopping.stop_requested() and not self._budget_reached(counts):
      lineups = [self._call(self._controller.get_match, 'get_match')
                 for _ in self._environments]
      if any(lineup is None for lineup in lineups):
        continue
      lineups = [self._maybe_against_bots(lineup) for lineup in lineups]
      taken = []
      started = time.time()
      try:
        results = play_matches(self._environments, lineups, self._policies,
                               make_adder=lambda m: self._take_adder(m, taken))
      except ftw_adders.AdderStopped:  # The program stopped while a write waited for room.
        results = None
      for member, adder in taken:
        self._pools[member].append(adder)
      if results is None:
        break
      for result in results:
        if all(isinstance(seat, int) for seat in result.seats):
          report = functools.partial(self._controller.report, result.seats, result.outcome,
                                     result.steps)
        else:  # Matches against bots count towards the budget but not towards Elo.
          report = functools.partial(self._controller.report_steps, result.steps)
        self._call(report, 'report')
        self._steps += result.steps
        self._matches += 1
      counts = self._counter.increment(steps=sum(r.steps for r in results))
      self._log(results, time.time() - started)
    if stopping.stop_requested():
      stopping.discard_pending_writes(adder for pool in self._pools.values() for adder in pool)
      return
    # Push the last counts at once (Acme's Counter pushes at most once a second), so that the
    # coordinator sees the budget this arena saw.
    self._counter.restore(self._counter.save())
    self._counter.get_counts()

  def _maybe_against_bots(self, lineup: List[int]) -> List:
    """With probability `bot_match_fraction`, one team of the match is scripted bots.

    The controller picks the bot so that the game is likely to be even (uniformly at random if
    the controller cannot be reached).
    """
    if self._rng.uniform() >= self._bot_match_fraction:
      return lineup
    half = len(lineup) // 2
    bot = self._call(lambda: self._controller.choose_bot(lineup[:half], self._training_bots),
                     'choose_bot', attempts=1)
    bot = bot or str(self._rng.choice(self._training_bots))
    bots = [bots_lib.make_bot(bot, int(self._rng.integers(2**31 - 1))) for _ in range(half)]
    return lineup[:half] + bots if self._rng.uniform() < 0.5 else bots + lineup[:half]

  def _log(self, results: List[MatchResult], elapsed: float):
    events = np.mean([r.events.mean(axis=0) for r in results], axis=0)
    data = event_means(events)
    data.update(arena_steps=self._steps, matches=self._matches,
                env_steps_per_second=sum(r.steps for r in results) / max(elapsed, 1e-9),
                draw_rate=float(np.mean([r.outcome == 0.5 for r in results])),
                mean_captures=float(np.mean([sum(r.scores) for r in results])))
    self._logger.write(data)
