"""One function builds every Launchpad program of the project from a builder and node factories.

Every program has a `replay` node (Reverb, every member's tables), a `counter`, one `learner`
per member of the population (each also its actors' variable source, checkpointed in its own
directory) and, with a step budget or a wall-clock limit, a `coordinator` that ends the program
once the learners have consumed what the actors wrote. Node factories add the rest: the
`actor` nodes (by default `envs_per_actor` batched environments each, with Acme adders and a
variable client), the `evaluator` (by default frozen-weight episodes, never writing to Reverb)
and, optionally, a `controller` (FTW's population-based training) whose handle the actors and
the evaluator receive.
"""

import dataclasses
import functools
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from absl import logging
from acme import specs
from acme.utils import counting
from acme.utils import loggers
import dm_env
import launchpad as lp
import numpy as np

from agents.core import builders
from agents.core import cli
from agents.core import environment_loop
from agents.core import lifetime
from agents.core import logging_utils
from agents.core import rpc
from agents.core import runners
from agents.core import stopping
from environments import batched

# environment_factory(seed) -> a fresh dm_env.Environment seeded with `seed`.
EnvironmentFactory = Callable[[int], dm_env.Environment]


@dataclasses.dataclass
class DistributedConfig:
  """How many of each node, how long to run, and where to write."""
  run_dir: str
  population_size: int = 1  # Learners, each with its own tables and checkpoint.
  num_actors: int = 2
  envs_per_actor: int = 16
  max_actor_steps: Optional[int] = None  # None: no step budget.
  max_wall_s: Optional[float] = None  # Wall-clock limit of this launch (None: none).
  seed: int = 0
  with_evaluator: bool = True
  evaluation_envs: int = 100  # Episodes per evaluation round, played in one batch.
  evaluation_period_s: float = 30.0  # At least this long between evaluation rounds.
  # If set, a round starts only once the evaluation's environment steps, the round included,
  # stay within this share of the training steps (`actor_steps`): evaluation then costs at most
  # that share of the environment steps (the first round waits until it is affordable).
  evaluation_share: Optional[float] = None
  log_period_s: float = 10.0
  checkpoint_period_minutes: float = 1.0
  # A learner also checkpoints every this many steps (None: by time only), so that a crash
  # loses at most one interval of either kind.
  checkpoint_period_steps: Optional[int] = 100
  rpc_timeout_s: float = 10.0
  step_limit_poll_s: float = 1.0
  # How long the step limit waits, at most, for the learners to consume the collected data.
  drain_timeout_s: float = 120.0
  # Weight caches (`VariableCache`): for each learner, one per this many actors pulls its
  # weights every `cache_period_s` and serves them to those actors (and the evaluator), so
  # that a learner serves a bounded number of pulls whatever the number of actors. None:
  # caches once there are more than CACHE_THRESHOLD actors, one per CACHE_THRESHOLD; 0: none.
  actors_per_cache: Optional[int] = None
  cache_period_s: float = 1.0

  @property
  def num_caches(self) -> int:
    """Weight cache nodes per learner (0: actors pull from the learners)."""
    per_cache = self.actors_per_cache
    if per_cache is None:
      if self.num_actors <= CACHE_THRESHOLD:
        return 0
      per_cache = CACHE_THRESHOLD
    return -(-self.num_actors // per_cache) if per_cache else 0

  def validate(self):
    """Raises ValueError naming the first field with an impossible value (NaN included)."""
    for name in ('population_size', 'num_actors', 'envs_per_actor', 'evaluation_envs'):
      cli.check_number(name, getattr(self, name), 1, integer=True)
    cli.check_number('max_actor_steps', self.max_actor_steps, 1, integer=True, optional=True)
    cli.check_number('checkpoint_period_steps', self.checkpoint_period_steps, 1, integer=True,
                     optional=True)
    cli.check_number('seed', self.seed, integer=True)
    cli.check_number('max_wall_s', self.max_wall_s, 0, min_inclusive=False, optional=True)
    cli.check_number('evaluation_share', self.evaluation_share, 0, 1, min_inclusive=False,
                     optional=True)
    for name in ('evaluation_period_s', 'log_period_s', 'checkpoint_period_minutes',
                 'rpc_timeout_s', 'step_limit_poll_s', 'drain_timeout_s', 'cache_period_s'):
      cli.check_number(name, getattr(self, name), 0, min_inclusive=False)
    cli.check_number('actors_per_cache', self.actors_per_cache, 0, integer=True, optional=True)
    if not self.run_dir:
      raise ValueError('run_dir must not be empty')


def member_label(label: str, member: int, population_size: int) -> str:
  """A node's label (logs, TensorBoard, counter prefix): `label_<member>` in a population."""
  return label if population_size == 1 else f'{label}_{member}'


def checkpoint_subdirectory(member: int, population_size: int) -> str:
  """Where member `member`'s learner checkpoints, under `<run_dir>/checkpoints`."""
  return 'learner' if population_size == 1 else f'member_{member}'


def derive_seed(*keys: int) -> int:
  """A 31-bit seed determined by `keys`, well mixed so that neighbouring keys do not collide."""
  return int(np.random.SeedSequence([k & 0xFFFFFFFF for k in keys]).generate_state(1)[0] >> 1)


def make_batched_environment(environment_factory: EnvironmentFactory, batch_size: int,
                             *seed_keys: int) -> batched.BatchedEnvironment:
  """B copies, copy i seeded with derive_seed(*seed_keys, i).

  A factory with a `make_batched(seeds)` method builds all B at once with it (a vectorised
  environment with the `BatchedEnvironment` interface, e.g. TVT's pycolab tasks in numpy).
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be at least 1, got {batch_size}')
  make_batched = getattr(environment_factory, 'make_batched', None)
  if make_batched is not None:
    return make_batched([derive_seed(*seed_keys, i) for i in range(batch_size)])
  return batched.BatchedEnvironment.from_factory(
      lambda i: environment_factory(derive_seed(*seed_keys, i)), batch_size)


EVALUATION_STREAM = 1_000_000  # Seed key of the evaluator, apart from every actor id.


class ProgramContext(NamedTuple):
  """What every worker node is built from: the builder, the spec, the config, the core nodes.

  A NamedTuple, so that Launchpad finds the node handles inside it and gives each node clients.
  """
  builder: builders.ActorLearnerBuilder
  environment_factory: EnvironmentFactory
  environment_spec: specs.EnvironmentSpec
  config: DistributedConfig
  replay: Any
  counter: Any
  learners: Tuple[Any, ...]  # One per member of the population.
  controller: Any = None  # The controller node's handle, if the program has one.
  # The weight caches' handles, if the program has any: member m's are `caches[m]`.
  caches: Tuple[Tuple[Any, ...], ...] = ()

  def member_builder(self, member: int) -> builders.ActorLearnerBuilder:
    return self.builder.for_member(member, self.config.population_size)

  def variable_source(self, actor_index: int, member: int = 0):
    """Where actor `actor_index` pulls member `member`'s weights: its group's cache of that
    member, else the member's learner."""
    if not self.caches:
      return self.learners[member]
    caches = self.caches[member]
    per_cache = -(-self.config.num_actors // len(caches))
    return caches[min(actor_index // per_cache, len(caches) - 1)]


@dataclasses.dataclass(frozen=True)
class NodeFactory:
  """`count` nodes in group `group`, node i running `worker(context, i, *args)`.

  `worker` is a class (or a function returning an object) whose `run()` is the node's body;
  `count` is a number or a function of the `DistributedConfig`.
  """
  group: str
  worker: Callable[..., Any]
  count: Union[int, Callable[[DistributedConfig], int]] = 1
  args: Tuple[Any, ...] = ()

  def add_to(self, program: lp.Program, context: ProgramContext) -> List[Any]:
    count = self.count(context.config) if callable(self.count) else self.count
    with program.group(self.group):
      return [program.add_node(lifetime.courier_node(self.worker, context, index, *self.args))
              for index in range(count)]


def _replay_tables(builder: builders.ActorLearnerBuilder, spec: specs.EnvironmentSpec,
                   population_size: int):
  lifetime.guard_node()  # Called first thing in the replay node's process.
  return [table for member in range(population_size)
          for table in builder.for_member(member, population_size).make_replay_tables(spec)]


def _counter(config: DistributedConfig):
  # Each learner's count starts at the step of the checkpoint that learner will restore.
  population_size = config.population_size
  return runners.CounterRunner(
      config.run_dir, config.checkpoint_period_minutes,
      learner_checkpoints={f'{member_label("learner", m, population_size)}_steps':
                           checkpoint_subdirectory(m, population_size)
                           for m in range(population_size)})


def _learner(builder: builders.ActorLearnerBuilder, spec: specs.EnvironmentSpec,
             replay_client, counter_client, config: DistributedConfig):
  logging.set_verbosity(logging.WARNING)  # No per-call INFO lines of courier and savers.
  member, population_size = builder.member, builder.population_size
  label = member_label('learner', member, population_size)
  networks = builder.make_networks(spec)
  dataset = builder.make_dataset_iterator(replay_client)
  # Every step is pushed at once: the step limit compares it with the data written.
  counter = counting.Counter(rpc.ResilientCounter(counter_client), prefix=label,
                             time_delta=0.0)
  logger = logging_utils.make_logger(label, config.run_dir, config.log_period_s,
                                     steps_key=f'{label}_steps', print_to_console=member == 0)
  learner = builder.make_learner(networks, dataset, counter, logger)
  runner = runners.LearnerRunner(learner, config.run_dir, config.checkpoint_period_minutes,
                                 checkpoint_subdirectory(member, population_size),
                                 call_timeout_s=config.rpc_timeout_s,
                                 objects_to_save=builder.checkpoint_objects(learner),
                                 period_steps=config.checkpoint_period_steps)
  # The counter's figure for this learner must be the restored learner's own step count (the
  # counter node sets it from the same checkpoint; this covers a counter that could not read
  # it). Nothing else writes this key, and the learner has taken no step yet.
  steps = runners.learner_steps(learner)
  rpc.call_with_retries(lambda: counter_client.set_count(f'{label}_steps', steps),
                        f'setting {label}_steps to the restored {steps}', attempts=10)
  return runner


class StepLimiter:
  """Stops the program at the step budget (actor steps on the counter) or the wall-clock limit.

  Before stopping it lets every learner consume what the actors wrote (the builder's
  `learner_steps_ready` reaches zero), for at most `drain_timeout_s`, so that a slow learner
  (still tracing its step on a loaded machine, say) loses none of the collected data; then it
  has the learners write their final checkpoints, and only then stops the program.
  """

  def __init__(self, builder: builders.ActorLearnerBuilder, counter_client, replay_client,
               learner_clients, config: DistributedConfig):
    self._builders = [builder.for_member(m, config.population_size)
                      for m in range(config.population_size)]
    self._counter = rpc.stop_aware(counter_client)
    self._learners = [rpc.stop_aware(learner) for learner in learner_clients]
    self._replay = replay_client
    self._max_steps = config.max_actor_steps
    self._max_wall_s = config.max_wall_s
    self._poll_s = config.step_limit_poll_s
    self._drain_timeout_s = config.drain_timeout_s
    self._step_keys = [f'{member_label("learner", m, config.population_size)}_steps'
                       for m in range(config.population_size)]

  def _counts(self):
    try:
      return self._counter.get_counts()
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('step limiter could not read the counter: %s', error)
      return None

  def _learner_steps_ready(self, steps_at_start: List[int]) -> Optional[int]:
    """The most steps any learner may still take on the data written (None: unknown now)."""
    counts = self._counts()
    try:
      table_infos = self._replay.server_info(timeout=int(self._poll_s) + 2)
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('step limiter could not read the replay server: %s', error)
      return None
    if counts is None:
      return None
    # The insert counts are this session's (a fresh Reverb server), the learners' steps are
    # cumulative across resumed sessions.
    return max(builder.learner_steps_ready(table_infos, counts.get(key, 0) - start)
               for builder, key, start in zip(self._builders, self._step_keys, steps_at_start))

  def _reason_to_stop(self, counts: Mapping[str, float], started: float) -> Optional[str]:
    steps = counts.get('actor_steps', 0)
    if self._max_steps is not None and steps >= self._max_steps:
      return f'step budget reached: {steps:.0f} >= {self._max_steps} actor steps'
    if self._max_wall_s is not None and time.monotonic() - started >= self._max_wall_s:
      return f'wall-clock limit of {self._max_wall_s:.0f} s reached'
    return None

  def run(self):
    started = time.monotonic()
    steps_at_start = None
    while not stopping.wait_for_stop(self._poll_s):
      counts = self._counts()
      if counts is None:
        continue
      if steps_at_start is None:
        steps_at_start = [counts.get(key, 0) for key in self._step_keys]
      reason = self._reason_to_stop(counts, started)
      if reason:
        print(f'[coordinator] {reason}; letting the learners finish the collected data',
              flush=True)
        self._drain(steps_at_start)
        self._finish_learners()
        lifetime.stop_program()
        return

  def _finish_learners(self):
    """Has the learners write their final checkpoints while the replay server is still up."""
    waiting = []
    for learner in self._learners:
      try:
        learner.finish()
        waiting.append(learner)
      except Exception as error:  # pylint: disable=broad-except
        logging.warning('could not ask a learner to finish: %s', error)
    deadline = time.monotonic() + self._drain_timeout_s
    while waiting and time.monotonic() < deadline:
      try:
        waiting = [learner for learner in waiting if not learner.finished()]
      except Exception:  # pylint: disable=broad-except
        return  # A learner node has ended.
      if stopping.wait_for_stop(0.5):
        return

  def _drain(self, steps_at_start: List[int]):
    # The actors stop by themselves at the budget; give them a moment to finish their writes.
    deadline = time.monotonic() + self._drain_timeout_s
    if stopping.wait_for_stop(min(3.0, self._drain_timeout_s)):
      return
    while time.monotonic() < deadline:
      ready = self._learner_steps_ready(steps_at_start)
      if ready is not None and ready <= 0:
        print('[coordinator] the learners have consumed the collected data; stopping the '
              'program', flush=True)
        return
      if stopping.wait_for_stop(self._poll_s):
        return
    print(f'[coordinator] the learners did not consume the collected data within '
          f'{self._drain_timeout_s:.0f} s; stopping the program anyway', flush=True)


CACHE_THRESHOLD = 16  # Actors beyond which weight caches are on by default, and per cache.
_MAX_FIRST_UPDATES = 1000  # Calls of an actor's `update` that must bring its first weights.


class VariableCache:
  """A weight cache node: pulls one learner's weights every period and serves them to a group
  of actors (Acme's later releases have `lp.CacherNode`; Launchpad 0.5.0 does not).

  A set of variable names is fetched from the learner at its first request and refreshed every
  `cache_period_s` after; each pull logs `weights_learner_step` (TensorBoard, `cache_<i>`, or
  `cache_<i>_<member>` in a population).
  """

  def __init__(self, context: ProgramContext, index: int, member: int = 0):
    config = context.config
    self._learner = rpc.stop_aware(context.learners[member])
    self._period_s = config.cache_period_s
    self._served: Dict[Tuple[str, ...], Tuple[int, List]] = {}
    self._lock = threading.Lock()  # One pull (and TensorFlow summary write) at a time.
    self._pulls = 0
    self._logger = logging_utils.make_logger(
        member_label(f'cache_{index}', member, config.population_size), config.run_dir,
        steps_key='cache_pulls', print_to_console=False)

  def get_variables_with_step(self, names: List[str]) -> Tuple[int, List]:
    served = self._served.get(tuple(names))
    return served if served is not None else self._pull(tuple(names))

  def get_variables(self, names: List[str]) -> List:
    return self.get_variables_with_step(names)[1]

  def _pull(self, names: Tuple[str, ...]) -> Tuple[int, List]:
    with self._lock:
      step, variables = self._learner.get_variables_with_step(list(names))
      self._served[names] = (step, variables)
      self._pulls += 1
      self._logger.write({'cache_pulls': self._pulls, 'weights_learner_step': step})
      return step, variables

  def run(self):
    while not stopping.wait_for_stop(self._period_s):
      for names in list(self._served):
        try:
          self._pull(names)
        except rpc.ProgramStopping:
          return
        except Exception as error:  # pylint: disable=broad-except
          logging.warning('weight cache: a pull failed, serving the last weights: %s', error)


class _WithWeightsStep(loggers.Logger):
  """Adds the learner step of the actor's weights (`weights_learner_step`) to every write."""

  def __init__(self, logger: loggers.Logger, source: rpc.ResilientVariableSource):
    self._logger = logger
    self._source = source

  def write(self, values: loggers.LoggingData):
    self._logger.write({**values, 'weights_learner_step': self._source.learner_step})

  def close(self):
    self._logger.close()


class ActorWorker:
  """One actor node: B environments, B adders, batched inference, weights from the learner
  (or from its group's weight cache)."""

  def __init__(self, context: ProgramContext, actor_id: int):
    config, builder = context.config, context.builder
    environment = make_batched_environment(context.environment_factory, config.envs_per_actor,
                                           config.seed, actor_id)
    networks = builder.make_networks(context.environment_spec)
    adders = [builder.make_adder(context.replay) for _ in range(config.envs_per_actor)]
    self._adders = adders
    source = rpc.ResilientVariableSource(context.variable_source(actor_id))
    actor = builder.make_actor(networks, source, adders,
                               seed=derive_seed(config.seed, actor_id, 7))
    counter = counting.Counter(rpc.ResilientCounter(context.counter), prefix='actor')
    self._counter = counter
    logger = _WithWeightsStep(logging_utils.make_logger(
        f'actor_{actor_id}', config.run_dir, config.log_period_s, steps_key='actor_steps',
        print_to_console=actor_id == 0), source)
    self._actor = actor
    self._source = source
    budget = config.max_actor_steps
    self._loop = environment_loop.BatchedEnvironmentLoop(
        environment, actor, counter, logger, observer_factory=builder.make_observers,
        log_period_s=config.log_period_s,
        should_stop=lambda counts: budget is not None and counts.get('actor_steps', 0) >= budget)

  def run(self):
    # Never act with untrained initial weights of our own. Acme's VariableClient fetches only
    # once every `update_period` calls, waiting or not: call until it has fetched.
    for _ in range(_MAX_FIRST_UPDATES):
      self._actor.update(wait=True)
      if self._source.fetches:
        break
    try:
      self._loop.run()
    except Exception:  # pylint: disable=broad-except
      if not stopping.stop_requested():
        raise
      logging.info('an environment step failed during the stop', exc_info=True)
    if stopping.stop_requested():
      stopping.discard_pending_writes(self._adders)
      return
    # Send the counts not yet pushed to the central counter (Acme's Counter pushes at most
    # once a second; restoring its own state makes the next read push), so that the
    # coordinator sees the budget this actor saw.
    self._counter.restore(self._counter.save())
    self._counter.get_counts()


EVALUATION_STEPS = 'evaluator_steps'  # The counter's key of evaluation environment steps.


def evaluation_affordable(counts: Mapping[str, float], round_steps: float, share: float) -> bool:
  """Whether an evaluation round of `round_steps` environment steps keeps the evaluation's steps
  within `share` of the training steps counted so far."""
  return counts.get(EVALUATION_STEPS, 0) + round_steps <= share * counts.get('actor_steps', 0)


class EvaluatorWorker:
  """Evaluates until the program stops and logs each result: every `evaluation_period_s`, and
  with `evaluation_share` only while evaluation stays within that share of the training steps.

  Subclasses say how (`evaluate`), count their environment steps in the central counter under
  `EVALUATION_STEPS`, and say how many a round takes (`round_steps`); the default,
  `EpisodeEvaluator`, plays batched episodes.
  """

  def __init__(self, config: DistributedConfig, counter=None, steps_key: str = 'actor_steps'):
    self._period_s = config.evaluation_period_s
    self._share = config.evaluation_share
    self._counter = rpc.stop_aware(counter) if counter is not None else None
    self._logger = logging_utils.make_logger('evaluator', config.run_dir, print_period_s=0.0,
                                             summary_period_s=0.0, steps_key=steps_key)

  def evaluate(self) -> Optional[Mapping[str, Any]]:
    """One evaluation round's metrics; None if the program stopped meanwhile."""
    raise NotImplementedError

  def round_steps(self) -> float:
    """About how many environment steps a round takes (what the evaluation share budgets)."""
    raise NotImplementedError

  def _wait_until_affordable(self) -> bool:
    """Waits until the next round fits the evaluation share; False if the program stopped."""
    if self._share is None or self._counter is None:
      return True
    while True:
      try:
        if evaluation_affordable(self._counter.get_counts(), self.round_steps(), self._share):
          return True
      except rpc.ProgramStopping:
        return False
      except Exception as error:  # pylint: disable=broad-except
        logging.warning('evaluator: no counts from the counter: %s', error)
      if stopping.wait_for_stop(1.0):
        return False

  def run(self):
    while not stopping.stop_requested():
      if not self._wait_until_affordable():
        return
      result = self.evaluate()
      if result is None or stopping.stop_requested():
        return
      self._logger.write(result)
      if stopping.wait_for_stop(self._period_s):
        return


class EpisodeEvaluator(EvaluatorWorker):
  """Plays `evaluation_envs` frozen-weight episodes in one batch; never writes to Reverb."""

  def __init__(self, context: ProgramContext, index: int = 0):
    del index  # One evaluator.
    config, builder = context.config, context.member_builder(0)
    super().__init__(config, context.counter)
    environment = make_batched_environment(context.environment_factory, config.evaluation_envs,
                                           config.seed, EVALUATION_STREAM)
    networks = builder.make_networks(context.environment_spec)
    self._actor = builder.make_actor(networks,
                                     rpc.ResilientVariableSource(context.variable_source(0)),
                                     None,
                                     seed=derive_seed(config.seed, EVALUATION_STREAM),
                                     evaluation=True)
    counter = counting.Counter(rpc.ResilientCounter(context.counter), prefix='evaluator')
    self._loop = environment_loop.BatchedEnvironmentLoop(
        environment, self._actor, counter, should_update=False,
        observer_factory=builder.make_observers, log_period_s=float('inf'))
    self._episodes = config.evaluation_envs
    self._round_steps = 0.0  # Measured by the first round (which waits for no share).

  def round_steps(self) -> float:
    return self._round_steps

  def evaluate(self):
    self._actor.update(wait=True)
    result = self._loop.run(num_episodes=self._episodes)
    if 'episode_length' in result:
      self._round_steps = max(self._round_steps, result['episode_length'] * self._episodes)
    return result


ORPHANED_REPLAY_LINGER_S = 3.0


class ReplayNode(lp.ReverbNode):
  """A Reverb node whose server stops as soon as the node is told to stop.

  The launcher stops the replay node last, once the actors and learners have ended (or had
  their time), so no sample or insert is cut short; stopping the server at once then ends the
  calls of any client that is still blocked on it (an actor whose queue is full because its
  learner died) instead of leaving them waiting until the process exits. Without a launcher
  (it died) every node stops at once, and the server lingers a little for the learners.
  """

  def run(self):
    super().run()  # Returns at the stop request.
    if lifetime.orphaned():  # Every node stops at once: let the learners end their steps.
      time.sleep(ORPHANED_REPLAY_LINGER_S)
    self._server.stop()


def _one_member_actors(config: DistributedConfig) -> int:
  if config.population_size != 1:
    raise ValueError('the default actors act for one learner; a population needs actor nodes '
                     'of its own')
  return config.num_actors


ACTORS = NodeFactory('actor', ActorWorker, count=_one_member_actors)
EVALUATOR = NodeFactory('evaluator', EpisodeEvaluator)


def make_program(builder: builders.ActorLearnerBuilder,
                 environment_factory: EnvironmentFactory, config: DistributedConfig,
                 name: str = 'agent', *,
                 environment_spec: Optional[specs.EnvironmentSpec] = None,
                 actors: NodeFactory = ACTORS, evaluator: NodeFactory = EVALUATOR,
                 controller: Optional[NodeFactory] = None) -> lp.Program:
  """The whole distributed agent as one Launchpad program (launch it with `launching.launch`).

  `environment_spec` defaults to the spec of `environment_factory(0)`. The evaluator is added
  when `config.with_evaluator`; the controller, if any (one node), comes before the actors and
  the evaluator, which find its handle in their `ProgramContext`.
  """
  config.validate()  # Writes nothing: `launching.launch` makes the run directory.
  spec = environment_spec or specs.make_environment_spec(environment_factory(0))
  program = lp.Program(name)
  population_size = config.population_size

  with program.group('replay'):
    replay = program.add_node(ReplayNode(functools.partial(
        _replay_tables, builder, spec, population_size)))
  with program.group('counter'):
    counter = program.add_node(lifetime.courier_node(_counter, config))
  learners = []
  with program.group('learner'):
    for member in range(population_size):
      learners.append(program.add_node(lifetime.courier_node(
          _learner, builder.for_member(member, population_size), spec, replay, counter,
          config)))
  for handle in [counter] + learners:
    handle.set_client_kwargs(call_timeout=config.rpc_timeout_s)
  context = ProgramContext(builder, environment_factory, spec, config, replay, counter,
                           tuple(learners))
  if config.num_caches:
    with program.group('cache'):
      caches = tuple(tuple(program.add_node(lifetime.courier_node(VariableCache, context, index,
                                                                   member))
                           for index in range(config.num_caches))
                     for member in range(population_size))
    for handle in (handle for member_caches in caches for handle in member_caches):
      handle.set_client_kwargs(call_timeout=config.rpc_timeout_s)
    context = context._replace(caches=caches)
  if controller is not None:
    (handle,) = controller.add_to(program, context)
    handle.set_client_kwargs(call_timeout=config.rpc_timeout_s)
    context = context._replace(controller=handle)
  if config.max_actor_steps is not None or config.max_wall_s is not None:
    with program.group('coordinator'):
      program.add_node(lifetime.courier_node(StepLimiter, builder, counter, replay, learners,
                                             config))
  if config.with_evaluator:
    evaluator.add_to(program, context)
  actors.add_to(program, context)
  return program
