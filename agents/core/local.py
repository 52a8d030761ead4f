"""The same builder in one process: an in-process Reverb server, one learner, one batched actor.

`SingleProcessAgent` is the agent; `run` is the one single-process training loop every family
uses: it checkpoints like the distributed program (same run-directory layout, so a run directory
resumes the same way in either mode), stops at a budget, and stops cleanly on SIGINT/SIGTERM.
A family whose Reverb writes cost much in one process may pass an `InProcessQueue` instead.
"""

import dataclasses
import signal
import threading
import time
from typing import Callable, Dict, Iterator, Optional, Protocol

import acme
from acme import adders as acme_adders
from acme import specs
from acme.utils import counting
from acme.utils import loggers
import dm_env
import numpy as np
import reverb
from reverb import reverb_types
from reverb.cc import schema_pb2
import tensorflow as tf
import tree

from agents.core import acting
from agents.core import builders
from agents.core import distributed
from agents.core import environment_loop
from agents.core import learning
from agents.core import runners
from agents.core import servers


class _OrderedAdder:
  """Waits for each write to reach the table before the next one, so items keep their order.

  Each adder streams to the server on its own connection; without this, items written by
  different environments in one step could land in the queue in any order and a seeded run
  would not repeat itself.
  """

  def __init__(self, adder):
    self._adder = adder

  def add_first(self, timestep):
    self._adder.add_first(timestep)

  def add(self, action, next_timestep, extras=()):
    self._adder.add(action, next_timestep, extras)
    self._adder._writer.flush()  # pylint: disable=protected-access

  def reset(self):
    self._adder.reset()


class InProcessQueue(Protocol):
  """A FIFO of whole items in this process, in place of the Reverb queue (an option).

  It must hold the items the builder's Reverb adders would write, in the same layout, so that
  the learner reads the same batches either way; each item is read once.
  """

  def make_adder(self) -> acme_adders.Adder:
    """An adder for one environment stream."""

  def make_batched_adder(self, num_envs: int) -> acting.BatchedAdder:
    """One adder for `num_envs` environment streams stepped together."""

  def batches(self, batch_size: int) -> Iterator[reverb.ReplaySample]:
    """The learner's dataset: the oldest `batch_size` unread items, stacked on axis 0."""

  @property
  def num_ready(self) -> int:
    """Items written and not yet read."""


def _unbatched(timestep: dm_env.TimeStep) -> bool:
  """Whether `timestep` is one environment's (a scalar step type), not a batch's."""
  return np.ndim(timestep.step_type) == 0


def _batch_of_one(nest, nest_spec=None):
  """`nest` with a leading batch axis of size 1 on every array, of `nest_spec`'s dtypes if
  given (an environment's float64 rewards where its spec says float32, say)."""
  if nest_spec is None:
    return tree.map_structure(lambda x: np.asarray(x)[None], nest)
  return tree.map_structure(lambda x, spec: np.asarray(x, spec.dtype)[None], nest, nest_spec)


def _timestep_batch_of_one(timestep: dm_env.TimeStep,
                           spec: specs.EnvironmentSpec) -> dm_env.TimeStep:
  """An unbatched timestep as a batch of one, in the dtypes of `spec` (a FIRST timestep's
  missing reward and discount as zeros, which adders ignore)."""
  return dm_env.TimeStep(
      step_type=np.asarray(timestep.step_type)[None],
      reward=_batch_of_one(0.0 if timestep.reward is None else timestep.reward, spec.rewards),
      discount=_batch_of_one(0.0 if timestep.discount is None else timestep.discount,
                              spec.discounts),
      observation=_batch_of_one(timestep.observation, spec.observations))


def _counts(table: reverb.Table) -> reverb_types.TableInfo:
  """`table.info` without its signature, whose decoding took most of its 1.3 ms: it is asked
  at every step of a single-process run."""
  proto = schema_pb2.TableInfo.FromString(table.internal_table.info())
  return reverb_types.TableInfo(**{
      field.name: None if field.name == 'signature' else getattr(proto, field.name)
      for field in dataclasses.fields(reverb_types.TableInfo)})


def restored_learner_steps(learner: acme.Learner) -> int:
  """The learner's own step count (`state['num_steps']`, restored with it); 0 if it has none."""
  return runners.learner_steps(learner)


class SingleProcessAgent(acting.BatchedActor, acme.Actor):
  """A batched actor that owns its learner, for debugging, tests and single-process runs.

  Actor and learner share one set of networks, so there are no weights to copy. After every
  batch step, `update` runs as many learner steps as the data written so far allows
  (`builder.learner_steps_ready`; with a queue table, every item is learned from once). With the
  same seed two runs are identical: the seed sets TensorFlow's global seed before the networks
  are built, and writes reach the table in a fixed order.

  It is also an `acme.Actor`: `acme.EnvironmentLoop(environment, agent)` drives it on one plain,
  unbatched environment (`select_action`, and `observe_first`/`observe` given unbatched
  timesteps), as Acme's own single-process agents are driven. `num_envs` None builds the actor
  at the first `observe_first`, for as many environments as that call brings (1 when unbatched).

  With `run_dir`, the learner is checkpointed into `<run_dir>/checkpoints/learner` and `counter`
  (if given) into `<run_dir>/checkpoints/counter`, as the distributed program's learner and
  counter nodes do; both are restored here, so the same call resumes a run. Saves happen at most
  every `checkpoint_period_minutes` after learner steps, and on `save(force=True)`.

  With `queue`, items go through it instead of a Reverb server, and the learner steps once per
  `builder.batch_size` unread items (a queue builder's schedule; tables are not made).
  """

  def __init__(self, builder: builders.ActorLearnerBuilder,
               environment_spec: specs.EnvironmentSpec, num_envs: Optional[int] = None,
               seed: int = 0, counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, run_dir: Optional[str] = None,
               checkpoint_period_minutes: float = 5.0,
               queue: Optional[InProcessQueue] = None,
               checkpoint_period_steps: Optional[int] = None):
    tf.random.set_seed(seed)  # The networks' initial weights depend on the seed alone:
    self.networks = builder.make_networks(environment_spec)  # built before anything else.
    self._queue = queue
    self._server = None
    self._client = None
    if queue is None:
      tables = builder.make_replay_tables(environment_spec)
      self._tables = {table.name: table for table in tables}
      self._server = servers.make_local_server(tables)
      self._client = reverb.Client(f'localhost:{self._server.port}')
      dataset = builder.make_dataset_iterator(self._client)
    else:
      dataset = queue.batches(builder.batch_size)
    self._builder = builder
    self._seed = seed
    self._environment_spec = environment_spec
    # Pushed at once, so that a checkpoint of `counter` holds every learner step taken.
    learner_counter = (counting.Counter(counter, prefix='learner', time_delta=0.0)
                       if counter else None)
    self.learner = builder.make_learner(self.networks, dataset, learner_counter, logger)
    self._learner_steps = 0  # Taken in this process (the table's inserts are this process's).
    self._checkpointers = []
    if run_dir:
      self._checkpointers.append(runners.make_checkpointer(
          builder.checkpoint_objects(self.learner), run_dir, 'learner',
          checkpoint_period_minutes, checkpoint_period_steps))
      if counter is not None:
        self._checkpointers.append(runners.make_checkpointer(
            {'counter': counter}, run_dir, 'counter', checkpoint_period_minutes,
            checkpoint_period_steps))
        # The counts then say the steps of the learner restored, whichever of the two
        # checkpoints was written last before a crash.
        runners.set_count(counter, 'learner_steps', restored_learner_steps(self.learner))
      # A learner serving a cached copy of its variables must refresh it after the restore.
      if isinstance(self.learner, learning.Learner):
        self.learner.after_restore()
    self._learner_steps_at_start = restored_learner_steps(self.learner)
    self._actor = None
    if num_envs is not None:
      self._make_actor(num_envs)

  def _make_actor(self, num_envs: int):
    if self._queue is None:
      adders = [_OrderedAdder(self._builder.make_adder(self._client)) for _ in range(num_envs)]
    else:
      adders = self._queue.make_batched_adder(num_envs)
    self._actor = self._builder.make_actor(self.networks, None, adders, self._seed)

  @property
  def learner_steps(self) -> int:
    """The learner's steps, those of the runs this one resumes included."""
    return self._learner_steps_at_start + self._learner_steps

  def select_actions(self, observations):
    return self._actor.select_actions(observations)

  def observe_first(self, timestep: dm_env.TimeStep):
    """`acme.Actor.observe_first`'s name; a batch of timesteps is taken too."""
    if _unbatched(timestep):
      timestep = _timestep_batch_of_one(timestep, self._environment_spec)
    if self._actor is None:
      self._make_actor(len(timestep.step_type))
    self._actor.observe_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    """`acme.Actor.observe`'s names; a batch of actions and timesteps is taken too."""
    if _unbatched(next_timestep):
      action = _batch_of_one(action)
      next_timestep = _timestep_batch_of_one(next_timestep, self._environment_spec)
    self._actor.observe(action, next_timestep)

  # acme.Actor, for one unbatched environment (observe_first/observe take either form).

  def select_action(self, observation):
    return self.select_actions(_batch_of_one(observation,
                                             self._environment_spec.observations))[0]

  def update(self, wait: bool = False):
    del wait
    if self._queue is not None:
      steps = self._queue.num_ready // self._builder.batch_size
    else:
      steps = self._builder.learner_steps_ready(
          {name: _counts(table) for name, table in self._tables.items()}, self._learner_steps)
    for _ in range(steps):
      self.learner.step()
      self._learner_steps += 1
    if steps > 0:
      self.save()

  def save(self, force: bool = False) -> bool:
    """Checkpoints the learner (then the counter) if a period has passed, or now if `force`.

    Never before this process's first learner step: optimizer slots are created, and restored
    from the checkpoint, at the first update, so an earlier save would replace the checkpoint
    with one that lacks them (re-running a finished run would delete its optimizer state). The
    counter is saved only with the learner, so that it never gets ahead of a refused learner
    save. True if the learner was saved.
    """
    if not self._learner_steps or not self._checkpointers:
      return False
    learner_checkpointer, *others = self._checkpointers
    if not learner_checkpointer.save(force=force, steps=self._learner_steps):
      return False
    for checkpointer in others:
      checkpointer.save(force=True)
    return True

  def close(self):
    if self._server is not None:
      self._server.stop()


@dataclasses.dataclass
class LocalConfig:
  """How long to run and where to write (the single-process counterpart of DistributedConfig)."""
  run_dir: Optional[str] = None  # None: no checkpoints (the run cannot be resumed).
  num_envs: int = 16  # Environments stepped with one batched network call.
  seed: int = 0
  max_learner_steps: Optional[int] = None  # Stop once the learner has taken this many steps.
  max_actor_steps: Optional[int] = None  # Stop once this many environment steps were taken.
  checkpoint_period_minutes: float = 5.0
  checkpoint_period_steps: Optional[int] = None  # Also every this many learner steps.
  log_period_s: float = 10.0  # Between the actor logger's writes.


@dataclasses.dataclass
class RunResult:
  """What `run` did: the counts (checkpointed ones included), and whether a signal ended it."""
  agent: SingleProcessAgent
  counts: Dict[str, float]
  interrupted: bool

  @property
  def learner_steps(self) -> int:
    return self.agent.learner_steps


class _StopOnSignals:
  """While entered, SIGINT and SIGTERM ask the run to stop after the current step.

  A second signal, `repeat_s` or more after the first, raises KeyboardInterrupt at once (the run
  still saves on its way out); closer ones are taken for copies of the first (a Ctrl-C reaches a
  whole process group, and a parent may forward it too). Outside the main thread, where Python
  cannot install handlers, signals are left alone.
  """

  def __init__(self, repeat_s: float = 2.0):
    self.requested = False
    self._repeat_s = repeat_s
    self._first_time = None
    self._previous = {}

  def _handle(self, signum, frame):
    del signum, frame
    if not self.requested:
      self.requested = True
      self._first_time = time.monotonic()
    elif time.monotonic() - self._first_time >= self._repeat_s:
      raise KeyboardInterrupt

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for signum in (signal.SIGINT, signal.SIGTERM):
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc_info):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)


def run(builder: builders.ActorLearnerBuilder,
        environment_factory: Callable[[int], dm_env.Environment], config: LocalConfig,
        logger: Optional[loggers.Logger] = None,
        actor_logger: Optional[loggers.Logger] = None,
        make_queue: Optional[Callable[[specs.EnvironmentSpec], InProcessQueue]] = None
        ) -> RunResult:
  """Trains `builder`'s agent in this process until a budget is reached or a signal arrives.

  The learner and a central counter are restored from `config.run_dir` (if it has
  checkpoints), checkpointed every `checkpoint_period_minutes` (and `checkpoint_period_steps`
  learner steps) and once more at the end, whatever ends the run, once the learner has taken a
  step in this run. `logger` gets the learner's metrics, `actor_logger` the episode
  averages every `log_period_s`. A resumed run continues with fresh episodes rather than
  replaying the first ones: the environments are seeded with the learner's step count.
  `make_queue(spec)`, if given, makes the `InProcessQueue` used instead of Reverb.
  """
  probe = environment_factory(config.seed)
  spec = specs.make_environment_spec(probe)
  probe.close()
  counter = counting.Counter()
  agent = SingleProcessAgent(builder, spec, config.num_envs, config.seed, counter, logger,
                             config.run_dir, config.checkpoint_period_minutes,
                             make_queue(spec) if make_queue else None,
                             config.checkpoint_period_steps)
  environment = distributed.make_batched_environment(
      environment_factory, config.num_envs, config.seed, agent.learner_steps)
  stop = _StopOnSignals()

  def budget_reached(counts) -> bool:
    return ((config.max_learner_steps is not None and
             agent.learner_steps >= config.max_learner_steps) or
            (config.max_actor_steps is not None and
             counts.get('actor_steps', 0) >= config.max_actor_steps))

  loop = environment_loop.BatchedEnvironmentLoop(
      environment, agent, counting.Counter(counter, prefix='actor', time_delta=0.0),
      actor_logger, observer_factory=builder.make_observers, log_period_s=config.log_period_s,
      should_stop=lambda counts: stop.requested or budget_reached(counts))
  with stop:
    try:
      if not budget_reached(counter.get_counts()):
        loop.run()
    finally:
      agent.save(force=True)
      agent.close()
      for env in environment.environments:
        env.close()
  return RunResult(agent, counter.get_counts(), stop.requested)
