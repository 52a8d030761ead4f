"""The FTW population as one Launchpad program (spec 6.6).

Nodes:
* `replay`: one Reverb server holding every member's four tables (suffix `_<member>`).
* `learner` x P: member i's `FTWWithoutActor` (networks, hyperparameters, internal rewards,
  learner), checkpointed to `<run_dir>/checkpoints/member_<i>`; it serves the actors' variables
  and the controller's PBT calls.
* `controller`: Elo ratings, matchmaking, readiness, exploit/explore (hyperparameters/
  population.py); it stops the program at the step budget or the wall-clock limit.
* `arena` x K: each plays `matches_per_arena` training matches at once, seats filled by the
  controller's matchmaking, writing every seat's experience to its member's tables.
* `evaluator`: every `evaluation_period_s`, every member against the scripted bots (frozen
  weights, nothing written to Reverb); win rates and an evaluation Elo anchored on the random bot.

Launch it with `agents.core.launching.launch`. Everything in the program is plain config values
and picklable factories, so the same program runs on other Launchpad launch types.
"""

import dataclasses
import functools
import json
import os
import queue
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from absl import logging
import dm_env
import launchpad as lp
import numpy as np

from agents.core import distributed as core_distributed
from agents.core import logging_utils
from agents.core import rpc
from agents.core import runners
from agents.core import stopping
from agents.ftw import acting
from agents.ftw import agent as agent_lib
from agents.ftw import arena as arena_lib
from agents.ftw import config as config_lib
from agents.ftw import evaluation
from agents.ftw import utils
from environments.ctf import bots as bots_lib
from hyperparameters import population

ArenaFactory = Callable[[int], dm_env.Environment]  # seed -> a multi-player arena.
ARENA_STREAM, EVALUATION_STREAM = 2_000_000, 3_000_000
ProgramConfig = config_lib.ProgramConfig


def _quiet_node():
  """Keeps a node's console to its own progress lines (no per-RPC binding or saver INFO logs)."""
  logging.set_verbosity(logging.WARNING)


def member_suffix(member: int) -> str:
  return f'_{member}'


def members_dir(run_dir: str) -> str:
  return os.path.join(run_dir, 'members')


def _write_json(path: str, data):
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(data, f, indent=1)
  os.replace(temporary, path)


def _replay_tables(agent_config: config_lib.FtwConfig, spec, extras_spec, population_size: int):
  tables = []
  for member in range(population_size):
    tables += utils.create_reverb_tables(
        agent_config.batch_size, agent_config.max_queue_size, agent_config.use_pixel_control,
        agent_config.use_reward_prediction, agent_config.max_pixel_control_buffer_size,
        agent_config.max_reward_pred_buffer_size, environment_spec=spec,
        extras_spec=extras_spec, sequence_length=agent_config.sequence_length,
        reward_prediction_sequence_length=agent_config.reward_prediction_sequence_length,
        table_suffix=member_suffix(member))[0]
  return tables


class MemberLearner:
  """Learner node of one member: trains whenever its queue holds a batch, checkpoints, serves.

  TensorFlow runs only in the node's own thread: the PBT calls that arrive on courier threads
  (weights, hyperparameters, rewards, step, perturb) are queued and run between learner steps,
  and `get_variables` returns the numpy copy refreshed after every step.
  """

  def __init__(self, member: int, agent_config: config_lib.FtwConfig,
               arena_factory: ArenaFactory, replay_client, config: ProgramConfig):
    _quiet_node()
    spec = arena_lib.seat_environment_spec(arena_factory(0))
    logger = logging_utils.make_logger(f'learner_{member}', config.run_dir, config.log_period_s,
                                       steps_key='steps', print_to_console=member == 0)
    self._member_index = member
    self._member = agent_lib.FTWWithoutActor(
        spec, agent_config.sequence_length, agent_id=member, logger=logger,
        config=agent_config, replay_client=replay_client, table_suffix=member_suffix(member),
        seed=core_distributed.derive_seed(config.seed, member))
    self._checkpointer = runners.make_checkpointer(
        self._member.checkpoint_state, config.run_dir, f'member_{member}',
        config.checkpoint_period_minutes)
    self._member.learner.refresh_served_variables()  # Actors get the restored weights.
    self._summary_path = os.path.join(members_dir(config.run_dir), f'member_{member}.json')
    os.makedirs(members_dir(config.run_dir), exist_ok=True)
    self._commands: 'queue.Queue' = queue.Queue()
    self._timeout_s = config.rpc_timeout_s
    self._step = self._member.get_step()
    self._last_summary = 0.0

  # Served on courier threads.
  def get_variables(self, names: Sequence[str]) -> List:
    return self._member.learner.get_variables(names)

  def get_step(self) -> int:
    return self._step

  def _call(self, function):
    done = threading.Event()
    result = {}
    self._commands.put((function, done, result))
    if not done.wait(self._timeout_s):
      raise TimeoutError(f'learner {self._member_index} did not serve the call within '
                         f'{self._timeout_s} s')
    if 'error' in result:
      raise result['error']
    return result.get('value')

  def get_weights(self):
    return self._call(self._member.get_weights)

  def set_weights(self, weights):
    self._call(lambda: self._member.set_weights(weights))

  def get_hypers(self) -> Dict[str, float]:
    return self._call(lambda: self._member.get_hypers().get())

  def set_hypers(self, hypers: Dict[str, float]):
    self._call(lambda: self._member.set_hypers(hypers))

  def get_rewards(self) -> List[float]:
    return self._call(lambda: self._member.get_rewards().get().tolist())

  def set_rewards(self, rewards):
    self._call(lambda: self._member.set_rewards(np.asarray(rewards, np.float32)))

  def set_step(self, step: int):
    self._call(lambda: self._member.set_step(step))

  def perturb(self) -> Dict:
    return self._call(self._member.perturb)

  # The node's own thread.
  def _run_commands(self):
    while True:
      try:
        function, done, result = self._commands.get_nowait()
      except queue.Empty:
        return
      try:
        result['value'] = function()
      except Exception as error:  # pylint: disable=broad-except
        result['error'] = error
      self._step = self._member.get_step()
      done.set()

  def _write_summary(self, force: bool = False):
    now = time.time()
    if not force and now - self._last_summary < 10.0:
      return
    self._last_summary = now
    _write_json(self._summary_path, {
        'member': self._member_index, 'learner_steps': self._member.get_step(),
        'hypers': self._member.get_hypers().get(),
        'internal_rewards': self._member.get_rewards().get().tolist()})

  def run(self):
    self._checkpointer.save(force=True)
    try:
      while not stopping.stop_requested():
        self._run_commands()
        if self._member.can_sample():
          self._member.step_learner()
          self._step = self._member.get_step()
          self._checkpointer.save()
        else:
          stopping.wait_for_stop(0.02)
        self._write_summary()
    except StopIteration:  # A dataset noticed the stop first.
      pass
    finally:
      self._run_commands()
      self._checkpointer.save(force=True)
      self._write_summary(force=True)


class Controller(population.PopulationController):
  """The PBT controller node: writes `population.json` and stops the program at the budget."""

  def __init__(self, learners: Sequence, team_size: int, config: ProgramConfig):
    _quiet_node()
    self._budget = config.max_env_steps
    self._max_wall_s = config.max_wall_s
    super().__init__(
        learners, team_size, config.pbt, seed=core_distributed.derive_seed(config.seed, 99),
        state_path=os.path.join(config.run_dir, 'population.json'),
        events_path=os.path.join(config.run_dir, 'evolution.jsonl'),
        stop_condition=self._should_stop, on_stop=lp.stop,
        logger=logging_utils.make_logger('controller', config.run_dir, print_period_s=1e9,
                                         steps_key='total_steps', print_to_console=False),
        print_period_s=config.log_period_s * 2)

  def _should_stop(self, controller) -> Optional[str]:
    del controller
    if self._budget is not None and self.total_steps >= self._budget:
      return f'step budget reached: {self.total_steps} >= {self._budget} environment steps'
    if self._max_wall_s is not None and self.run_time_s() >= self._max_wall_s:
      return f'wall-clock limit of {self._max_wall_s:.0f} s reached'
    return None

  def run(self):  # pylint: disable=arguments-differ
    super().run(stop_requested=stopping.stop_requested, wait=stopping.wait_for_stop)


class ArenaWorker:
  """Plays training matches chosen by the controller, `matches_per_arena` at a time."""

  def __init__(self, index: int, agent_config: config_lib.FtwConfig,
               arena_factory: ArenaFactory, replay_client, learners: Sequence, controller,
               config: ProgramConfig):
    _quiet_node()
    seed = core_distributed.derive_seed(config.seed, ARENA_STREAM, index)
    self._environments = [arena_factory(core_distributed.derive_seed(seed, m))
                          for m in range(config.matches_per_arena)]
    spec = arena_lib.seat_environment_spec(self._environments[0])
    self._policies = arena_lib.MemberPolicies(
        spec, agent_config, [rpc.ResilientVariableSource(l) for l in learners],
        config.variable_update_period, seed)
    self._agent_config = agent_config
    self._replay_client = replay_client
    self._controller = controller
    self._pools: Dict[int, List] = {}
    self._index = index
    self._logger = logging_utils.make_logger(f'arena_{index}', config.run_dir,
                                             config.log_period_s, steps_key='arena_steps',
                                             print_to_console=index == 0)
    self._steps = 0
    self._matches = 0
    self._rng = np.random.default_rng(seed)
    self._bot_match_fraction = config.bot_match_fraction
    self._training_bots = config.training_bots

  def _take_adder(self, member: int, taken: List):
    pool = self._pools.setdefault(member, [])
    if pool:
      adder = pool.pop()
    else:
      config = self._agent_config
      adder = utils.create_adders(
          self._replay_client, config.sequence_length, config.use_pixel_control,
          config.use_reward_prediction, config.reward_prediction_sequence_length,
          config.reward_prediction_sequence_period, table_suffix=member_suffix(member))
      adder = acting.CombinedAdder(*adder)
    taken.append((member, adder))
    return adder

  def _rpc(self, call, what: str, attempts: int = 5):
    for attempt in range(attempts):
      try:
        return call()
      except Exception as error:  # pylint: disable=broad-except
        if stopping.stop_requested() or attempt == attempts - 1:
          logging.warning('arena %d: %s failed: %s', self._index, what, error)
          return None
        time.sleep(1.0)

  def run(self):
    while not stopping.stop_requested():
      lineups = [self._rpc(self._controller.get_match, 'get_match')
                 for _ in self._environments]
      if any(lineup is None for lineup in lineups):
        continue
      lineups = [self._maybe_against_bots(lineup) for lineup in lineups]
      taken = []
      started = time.time()
      results = arena_lib.play_matches(self._environments, lineups, self._policies,
                                       make_adder=lambda m: self._take_adder(m, taken))
      for member, adder in taken:
        self._pools[member].append(adder)
      if results is None:
        return
      for result in results:
        if all(isinstance(seat, int) for seat in result.seats):
          report = functools.partial(self._controller.report, result.seats, result.outcome,
                                     result.steps)
        else:  # Matches against bots count towards the budget but not towards Elo.
          report = functools.partial(self._controller.report_steps, result.steps)
        self._rpc(report, 'report')
        self._steps += result.steps
        self._matches += 1
      self._log(results, time.time() - started)

  def _maybe_against_bots(self, lineup: List[int]) -> List:
    """With probability `bot_match_fraction`, one team of the match is scripted bots.

    The controller picks the bot so that the game is likely to be even (uniformly at random if
    the controller cannot be reached).
    """
    if self._rng.uniform() >= self._bot_match_fraction:
      return lineup
    half = len(lineup) // 2
    bot = self._rpc(lambda: self._controller.choose_bot(lineup[:half], self._training_bots),
                    'choose_bot', attempts=1)
    bot = bot or str(self._rng.choice(self._training_bots))
    bots = [bots_lib.make_bot(bot, int(self._rng.integers(2**31 - 1))) for _ in range(half)]
    return lineup[:half] + bots if self._rng.uniform() < 0.5 else bots + lineup[:half]

  def _log(self, results: List[arena_lib.MatchResult], elapsed: float):
    events = np.mean([r.events.mean(axis=0) for r in results], axis=0)
    data = evaluation.event_means(events)
    data.update(arena_steps=self._steps, matches=self._matches,
                env_steps_per_second=sum(r.steps for r in results) / max(elapsed, 1e-9),
                draw_rate=float(np.mean([r.outcome == 0.5 for r in results])),
                mean_captures=float(np.mean([sum(r.scores) for r in results])))
    self._logger.write(data)


class EvaluatorWorker:
  """Every member against every scripted bot, with frozen weights, every evaluation period."""

  def __init__(self, agent_config: config_lib.FtwConfig, arena_factory: ArenaFactory,
               learners: Sequence, controller, config: ProgramConfig):
    _quiet_node()
    self._config = config
    self._evaluator = evaluation.BotEvaluator(
        arena_factory, agent_config, [rpc.ResilientVariableSource(l) for l in learners],
        config.evaluation_bots, config.evaluation_matches,
        seed=core_distributed.derive_seed(config.seed, EVALUATION_STREAM))
    self._controller = controller
    self._logger = logging_utils.make_logger('evaluator', config.run_dir, print_period_s=0.0,
                                             summary_period_s=0.0, steps_key='total_steps')
    self._path = os.path.join(config.run_dir, 'evaluation.jsonl')

  def run(self):
    members = range(self._config.population_size)
    while not stopping.stop_requested():
      started = time.time()
      report = self._evaluator.evaluate(members)
      if report is None:
        return
      try:
        self._controller.report_bot_scores(evaluation.expected_scores(report))
        summary = self._controller.get_summary()
      except Exception as error:  # pylint: disable=broad-except
        logging.warning('evaluator: no controller summary: %s', error)
        summary = {}
      report.update(time=time.time(), duration_s=time.time() - started,
                    total_steps=summary.get('total_steps'),
                    total_matches=summary.get('total_matches'),
                    training_elo=summary.get('ratings'), elapsed_s=summary.get('elapsed_s'))
      with open(self._path, 'a') as f:
        f.write(json.dumps(report) + '\n')
      self._logger.write(evaluation.flat_metrics(report))
      if stopping.wait_for_stop(self._config.evaluation_period_s):
        return


def make_program(agent_config: config_lib.FtwConfig, arena_factory: ArenaFactory,
                 team_size: int, config: ProgramConfig, name: str = 'ftw') -> lp.Program:
  """The whole population as one program (launch it with `agents.core.launching.launch`)."""
  config.validate()
  agent_config.validate()
  os.makedirs(config.run_dir, exist_ok=True)
  spec = arena_lib.seat_environment_spec(arena_factory(0))
  # The extras' shapes follow from the network's initial state (built once, here).
  policies = arena_lib.MemberPolicies(spec, agent_config)
  extras = agent_lib.extras_spec(policies.network(0), spec.actions.num_values)
  program = lp.Program(name)
  with program.group('replay'):
    replay = program.add_node(core_distributed.LingeringReverbNode(functools.partial(
        _replay_tables, agent_config, spec, extras, config.population_size)))
  learners = []
  with program.group('learner'):
    for member in range(config.population_size):
      learners.append(program.add_node(lp.CourierNode(
          MemberLearner, member, agent_config, arena_factory, replay, config)))
  with program.group('controller'):
    controller = program.add_node(lp.CourierNode(Controller, learners, team_size, config))
  for handle in learners + [controller]:
    handle.set_client_kwargs(call_timeout=config.rpc_timeout_s)
  if config.with_evaluator:
    with program.group('evaluator'):
      program.add_node(lp.CourierNode(EvaluatorWorker, agent_config, arena_factory, learners,
                                      controller, config))
  with program.group('arena'):
    for index in range(config.num_arenas):
      program.add_node(lp.CourierNode(ArenaWorker, index, agent_config, arena_factory, replay,
                                      learners, controller, config))
  return program
