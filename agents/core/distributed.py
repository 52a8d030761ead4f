"""Turns any `ActorLearnerBuilder` and an environment factory into a Launchpad program.

Nodes: `replay` (Reverb), `counter`, `learner` (also the variable source), `coordinator` (ends
the program at the step budget), `actor` x N (batched environments, Acme adders, a variable
client to the learner) and `evaluator` (frozen-weight episodes, never writes to Reverb).
"""

import dataclasses
import functools
import os
import time
from typing import Callable, Optional

from absl import logging
from acme import specs
from acme.utils import counting
import dm_env
import launchpad as lp
import numpy as np

from agents.core import builders
from agents.core import environment_loop
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
  num_actors: int = 2
  envs_per_actor: int = 16
  max_actor_steps: Optional[int] = None  # None: run until stopped.
  seed: int = 0
  with_evaluator: bool = True
  evaluation_envs: int = 100  # Episodes per evaluation round, played in one batch.
  evaluation_period_s: float = 30.0
  variable_update_period: int = 1  # Actor batch steps between weight pulls.
  log_period_s: float = 10.0
  checkpoint_period_minutes: float = 1.0
  rpc_timeout_s: float = 10.0
  step_limit_poll_s: float = 1.0
  # How long the step limit waits, at most, for the learner to consume the collected data.
  drain_timeout_s: float = 120.0

  def validate(self):
    """Raises ValueError naming the first field with an impossible value."""
    if self.num_actors < 1:
      raise ValueError(f'num_actors must be at least 1, got {self.num_actors}')
    if self.envs_per_actor < 1:
      raise ValueError(f'envs_per_actor must be at least 1, got {self.envs_per_actor}')
    if self.max_actor_steps is not None and self.max_actor_steps < 1:
      raise ValueError(f'max_actor_steps must be positive, got {self.max_actor_steps}')
    if self.evaluation_envs < 1:
      raise ValueError(f'evaluation_envs must be at least 1, got {self.evaluation_envs}')


def derive_seed(*keys: int) -> int:
  """A 31-bit seed determined by `keys`, well mixed so that neighbouring keys do not collide."""
  return int(np.random.SeedSequence([k & 0xFFFFFFFF for k in keys]).generate_state(1)[0] >> 1)


def make_batched_environment(environment_factory: EnvironmentFactory, batch_size: int,
                             *seed_keys: int) -> batched.BatchedEnvironment:
  """B copies, copy i seeded with derive_seed(*seed_keys, i)."""
  return batched.BatchedEnvironment.from_factory(
      lambda i: environment_factory(derive_seed(*seed_keys, i)), batch_size)


EVALUATION_STREAM = 1_000_000  # Seed key of the evaluator, apart from every actor id.


def _replay_tables(builder: builders.ActorLearnerBuilder, spec: specs.EnvironmentSpec):
  return builder.make_replay_tables(spec)


def _counter(config: DistributedConfig):
  return runners.CounterRunner(config.run_dir, config.checkpoint_period_minutes)


def _learner(builder: builders.ActorLearnerBuilder, spec: specs.EnvironmentSpec,
             replay_client, counter_client, config: DistributedConfig):
  networks = builder.make_networks(spec)
  dataset = builder.make_dataset_iterator(replay_client)
  # Every step is pushed at once: the step limit compares it with the data written.
  counter = counting.Counter(rpc.ResilientCounter(counter_client), prefix='learner',
                             time_delta=0.0)
  logger = logging_utils.make_logger('learner', config.run_dir, config.log_period_s,
                                     steps_key='learner_steps')
  learner = builder.make_learner(networks, dataset, counter, logger)
  return runners.LearnerRunner(learner, config.run_dir, config.checkpoint_period_minutes)


class StepLimiter:
  """Stops the program once the actors have taken `max_steps` environment steps.

  Before stopping it lets the learner consume what the actors wrote (the builder's
  `learner_steps_ready` reaches zero), for at most `drain_timeout_s`, so that a slow learner
  (still tracing its step on a loaded machine, say) loses none of the collected data; then it
  has the learner write its final checkpoint, and only then stops the program.
  """

  def __init__(self, builder: builders.ActorLearnerBuilder, counter_client, replay_client,
               learner_client, max_steps: int, poll_s: float, drain_timeout_s: float):
    self._builder = builder
    self._counter = counter_client
    self._learner = learner_client
    self._replay = replay_client
    self._max_steps = max_steps
    self._poll_s = poll_s
    self._drain_timeout_s = drain_timeout_s

  def _counts(self):
    try:
      return self._counter.get_counts()
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('step limiter could not read the counter: %s', error)
      return None

  def _learner_steps_ready(self, learner_steps_at_start: int) -> Optional[int]:
    counts = self._counts()
    try:
      table_infos = self._replay.server_info(timeout=int(self._poll_s) + 2)
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('step limiter could not read the replay server: %s', error)
      return None
    if counts is None:
      return None
    # The insert counts are this session's (a fresh Reverb server), the learner's steps are
    # cumulative across resumed sessions.
    return self._builder.learner_steps_ready(
        table_infos, counts.get('learner_steps', 0) - learner_steps_at_start)

  def run(self):
    learner_steps_at_start = None
    while not stopping.wait_for_stop(self._poll_s):
      counts = self._counts()
      if counts is None:
        continue
      if learner_steps_at_start is None:
        learner_steps_at_start = counts.get('learner_steps', 0)
      steps = counts.get('actor_steps', 0)
      if steps >= self._max_steps:
        print(f'[coordinator] step budget reached: {steps} >= {self._max_steps} actor steps; '
              'letting the learner finish the collected data', flush=True)
        self._drain(learner_steps_at_start)
        self._finish_learner()
        lp.stop()
        return

  def _finish_learner(self):
    """Has the learner write its final checkpoint while the replay server is still up."""
    try:
      self._learner.finish()
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('could not ask the learner to finish: %s', error)
      return
    deadline = time.monotonic() + self._drain_timeout_s
    while time.monotonic() < deadline:
      try:
        if self._learner.finished():
          return
      except Exception:  # pylint: disable=broad-except
        return  # The learner node has ended.
      if stopping.wait_for_stop(0.5):
        return

  def _drain(self, learner_steps_at_start: int):
    # The actors stop by themselves at the budget; give them a moment to finish their writes.
    deadline = time.monotonic() + self._drain_timeout_s
    if stopping.wait_for_stop(min(3.0, self._drain_timeout_s)):
      return
    while time.monotonic() < deadline:
      ready = self._learner_steps_ready(learner_steps_at_start)
      if ready is not None and ready <= 0:
        print('[coordinator] the learner has consumed the collected data; stopping the program',
              flush=True)
        return
      if stopping.wait_for_stop(self._poll_s):
        return
    print(f'[coordinator] the learner did not consume the collected data within '
          f'{self._drain_timeout_s:.0f} s; stopping the program anyway', flush=True)


class ActorWorker:
  """One actor node: B environments, B adders, batched inference, weights from the learner."""

  def __init__(self, builder: builders.ActorLearnerBuilder,
               environment_factory: EnvironmentFactory, spec: specs.EnvironmentSpec,
               replay_client, learner_client, counter_client, actor_id: int,
               config: DistributedConfig):
    self._actor_id = actor_id
    environment = make_batched_environment(environment_factory, config.envs_per_actor,
                                           config.seed, actor_id)
    networks = builder.make_networks(spec)
    adders = [builder.make_adder(replay_client) for _ in range(config.envs_per_actor)]
    actor = builder.make_actor(networks, rpc.ResilientVariableSource(learner_client), adders,
                               seed=derive_seed(config.seed, actor_id, 7))
    counter = counting.Counter(rpc.ResilientCounter(counter_client), prefix='actor')
    self._counter = counter
    logger = logging_utils.make_logger(
        f'actor_{actor_id}', config.run_dir, config.log_period_s, steps_key='actor_steps',
        print_to_console=actor_id == 0)
    self._actor = actor
    budget = config.max_actor_steps
    self._loop = environment_loop.BatchedEnvironmentLoop(
        environment, actor, counter, logger, observer_factory=builder.make_observers,
        log_period_s=config.log_period_s,
        should_stop=lambda counts: budget is not None and counts.get('actor_steps', 0) >= budget)

  def run(self):
    self._actor.update(wait=True)  # Never act with untrained initial weights of our own.
    self._loop.run()
    # Send the counts not yet pushed to the central counter (Acme's Counter pushes at most
    # once a second; restoring its own state makes the next read push), so that the
    # coordinator sees the budget this actor saw.
    self._counter.restore(self._counter.save())
    self._counter.get_counts()


class EvaluatorWorker:
  """Plays `evaluation_envs` frozen-weight episodes every `evaluation_period_s` and logs them."""

  def __init__(self, builder: builders.ActorLearnerBuilder,
               environment_factory: EnvironmentFactory, spec: specs.EnvironmentSpec,
               learner_client, counter_client, config: DistributedConfig):
    environment = make_batched_environment(environment_factory, config.evaluation_envs,
                                           config.seed, EVALUATION_STREAM)
    networks = builder.make_networks(spec)
    self._actor = builder.make_actor(networks, rpc.ResilientVariableSource(learner_client),
                                     None, seed=derive_seed(config.seed, EVALUATION_STREAM),
                                     evaluation=True)
    self._counter = counting.Counter(rpc.ResilientCounter(counter_client), prefix='evaluator')
    self._logger = logging_utils.make_logger('evaluator', config.run_dir, print_period_s=0.0,
                                             summary_period_s=0.0, steps_key='actor_steps')
    self._loop = environment_loop.BatchedEnvironmentLoop(
        environment, self._actor, self._counter, should_update=False,
        observer_factory=builder.make_observers, log_period_s=float('inf'))
    self._config = config

  def run(self):
    while True:
      self._actor.update(wait=True)
      result = self._loop.run(num_episodes=self._config.evaluation_envs)
      if stopping.stop_requested():
        return
      self._logger.write(result)
      if stopping.wait_for_stop(self._config.evaluation_period_s):
        return


class LingeringReverbNode(lp.ReverbNode):
  """A Reverb node that keeps serving `linger_s` seconds after the program is told to stop.

  Every node gets the stop request at once. A learner that has a sample in flight when the
  server goes away waits in native code that never returns, and is killed at the end of the
  termination notice without its final checkpoint; with the server still up for a few seconds
  it finishes the step it is in and saves.
  """

  def __init__(self, priority_tables_fn, linger_s: float = 10.0):
    super().__init__(priority_tables_fn)
    self._linger_s = linger_s

  def run(self):
    super().run()  # Returns at the stop request.
    time.sleep(self._linger_s)


def make_program(builder: builders.ActorLearnerBuilder,
                 environment_factory: EnvironmentFactory, config: DistributedConfig,
                 name: str = 'agent') -> lp.Program:
  """The whole distributed agent as one Launchpad program (launch it with `launching.launch`)."""
  config.validate()
  os.makedirs(config.run_dir, exist_ok=True)
  spec = specs.make_environment_spec(environment_factory(0))
  program = lp.Program(name)

  with program.group('replay'):
    replay = program.add_node(LingeringReverbNode(functools.partial(_replay_tables, builder,
                                                                    spec)))
  with program.group('counter'):
    counter = program.add_node(lp.CourierNode(_counter, config))
  with program.group('learner'):
    learner = program.add_node(
        lp.CourierNode(_learner, builder, spec, replay, counter, config))
  for handle in (counter, learner):
    handle.set_client_kwargs(call_timeout=config.rpc_timeout_s)
  if config.max_actor_steps is not None:
    with program.group('coordinator'):
      program.add_node(lp.CourierNode(StepLimiter, builder, counter, replay, learner,
                                      config.max_actor_steps, config.step_limit_poll_s,
                                      config.drain_timeout_s))
  if config.with_evaluator:
    with program.group('evaluator'):
      program.add_node(lp.CourierNode(EvaluatorWorker, builder, environment_factory, spec,
                                      learner, counter, config))
  with program.group('actor'):
    for actor_id in range(config.num_actors):
      program.add_node(lp.CourierNode(ActorWorker, builder, environment_factory, spec,
                                      replay, learner, counter, actor_id, config))
  return program
