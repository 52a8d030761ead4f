"""TVT in one process: the release's batched synchronous A2C (spec 4.5).

B environments run in lockstep; every B finished episodes (one batch: they all end together,
after 120 steps) the learner takes one step on exactly those episodes, then acting resumes
with the new weights: zero policy lag, no replay.
"""

import dataclasses
from typing import Callable, Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers
import dm_env
import tensorflow as tf

from agents.core import distributed
from agents.core import environment_loop
from agents.core import runners
from agents.tvt import builder as builder_lib
from agents.tvt import config as config_lib
from agents.tvt import episodes


class TVT(episodes.EpisodeRecorder):
  """A batched RMA actor over `config.batch_size` environments that trains its own network.

  Drive it with `agents.core.environment_loop.BatchedEnvironmentLoop`. Episodes go from the
  actor to the learner through an in-process `EpisodeBuffer` (the same items the distributed
  actors write to Reverb); the learner steps whenever a batch of whole episodes is complete.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               config: Optional[config_lib.TVTConfig] = None, seed: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None,
               builder: Optional[builder_lib.TVTBuilder] = None):
    builder = builder or builder_lib.TVTBuilder(config or config_lib.TVTConfig())
    self._batch_size = builder.batch_size
    tf.random.set_seed(seed)  # The initial weights.
    self.networks = builder.make_networks(environment_spec)
    buffer = episodes.EpisodeBuffer(
        environment_spec, builder.extras_spec(environment_spec), builder.batch_size,
        builder.config.episode_length + 1)
    learner_counter = counting.Counter(counter, prefix='learner') if counter else None
    self.learner = builder.make_learner(self.networks, buffer.batches(self._batch_size),
                                        learner_counter, logger)
    super().__init__(builder.make_actor(self.networks, None, None, seed), buffer)

  def update(self, wait: bool = False):
    del wait
    while self.buffer.num_finished >= self._batch_size:
      self.learner.step()


@dataclasses.dataclass
class TrainingResult:
  learner_steps: int
  episodes: int
  env_steps: int


def train(environment_factory: Callable[[int], dm_env.Environment],
          config: config_lib.TVTConfig, num_iterations: Optional[int], seed: int = 0,
          run_dir: Optional[str] = None, logging_frequency: int = 1,
          logger: Optional[loggers.Logger] = None,
          checkpoint_period_minutes: float = 5.0) -> TrainingResult:
  """Runs batched A2C until the learner has taken `num_iterations` steps (None: forever).

  With `run_dir`, the learner is checkpointed into `run_dir/checkpoints/learner` (and restored
  from there, so the same call resumes a run) and TensorBoard scalars go to
  `run_dir/tensorboard` and `run_dir/progress.jsonl`. `logger` gets the learner's metrics every `logging_frequency` steps.
  """
  builder = builder_lib.TVTBuilder(config, run_dir, log_every=logging_frequency)
  probe = environment_factory(seed)
  spec = specs.make_environment_spec(probe)
  probe.close()
  agent = TVT(spec, seed=seed, counter=counting.Counter(), logger=logger, builder=builder)
  checkpointer = None
  if run_dir:
    checkpointer = runners.make_checkpointer({'learner': agent.learner.state}, run_dir,
                                             'learner', checkpoint_period_minutes)
  learner = agent.learner
  # A resumed run continues with fresh episodes rather than replaying the first ones.
  environment = distributed.make_batched_environment(environment_factory, config.batch_size,
                                                     seed, learner.num_steps)
  loop = environment_loop.BatchedEnvironmentLoop(
      environment, agent, observer_factory=builder.make_observers, log_period_s=float('inf'))
  try:
    while num_iterations is None or learner.num_steps < num_iterations:
      loop.run(num_episodes=config.batch_size)  # All B end together; the learner steps once.
      if checkpointer:
        checkpointer.save()
  finally:
    if checkpointer:
      checkpointer.save(force=True)  # The weights are never non-finite (see the learner).
  state = learner.state
  return TrainingResult(learner.num_steps, int(state['episodes'].numpy()),
                        int(state['env_steps'].numpy()))
