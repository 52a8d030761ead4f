"""TVT in one process: the release's batched synchronous A2C (spec 4.5), on the core's path.

B environments run in lockstep; every B finished episodes (one batch: they all end together,
after 120 steps) the learner takes one step on exactly those episodes, then acting resumes
with the new weights: zero policy lag, no replay. It runs on the core's single-process path
(`agents.core.local`); by default the episodes go to the learner through an in-process
`EpisodeQueue` rather than the Reverb queue, which gives the same batches for less CPU time.
"""

import dataclasses
from typing import Callable, Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers
import dm_env

from agents.core import local
from agents.tvt import builder as builder_lib
from agents.tvt import config as config_lib
from agents.tvt import episodes


def make_episode_queue(builder: builder_lib.TVTBuilder) -> Callable[[specs.EnvironmentSpec],
                                                                   episodes.EpisodeQueue]:
  """`spec -> EpisodeQueue` holding the items the builder's Reverb adders would write."""
  return lambda spec: episodes.EpisodeQueue(spec, builder.extras_spec(spec),
                                            builder.config.episode_length + 1)


class TVT(local.SingleProcessAgent):
  """The RMA agent with TVT, training its own network whenever a batch of episodes is complete.

  An `acme.Actor`: `acme.EnvironmentLoop(environment, TVT(spec, config))` runs it on one plain
  `dm_env` environment with any observation spec (a uint8 image gets the release's encoder and
  decoder, anything else a default torso and a flat decoder; see `networks`) and episodes of
  up to `config.episode_length` steps; the learner steps once every `config.batch_size`
  finished episodes. For the release's synchronous A2C, drive it over `config.batch_size`
  environments at once with `agents.core.environment_loop.BatchedEnvironmentLoop` (`num_envs`:
  their number; None takes it from the first `observe_first`). `in_process_queue=False` sends
  the episodes through an in-process Reverb server instead (same batches, slower).
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               config: Optional[config_lib.TVTConfig] = None, seed: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None,
               builder: Optional[builder_lib.TVTBuilder] = None,
               in_process_queue: bool = True, num_envs: Optional[int] = None):
    builder = builder or builder_lib.TVTBuilder(config or config_lib.TVTConfig())
    queue = make_episode_queue(builder)(environment_spec) if in_process_queue else None
    super().__init__(builder, environment_spec, num_envs, seed, counter, logger, queue=queue)


@dataclasses.dataclass
class TrainingResult:
  learner_steps: int
  episodes: int
  env_steps: int
  interrupted: bool = False  # SIGINT or SIGTERM ended the run (after a final checkpoint).


def train(environment_factory: Callable[[int], dm_env.Environment],
          config: config_lib.TVTConfig, num_iterations: Optional[int], seed: int = 0,
          run_dir: Optional[str] = None, logging_frequency: int = 1,
          logger: Optional[loggers.Logger] = None,
          checkpoint_period_minutes: float = 5.0,
          in_process_queue: bool = True) -> TrainingResult:
  """Runs batched A2C until the learner has taken `num_iterations` steps (None: forever).

  `agents.core.local.run` with TVT's budget: with `run_dir`, the learner is checkpointed into
  `run_dir/checkpoints/learner` (and restored from there, so the same call resumes a run) and
  TensorBoard scalars go to `run_dir/tensorboard` and `run_dir/progress.jsonl`. `logger` gets
  the learner's metrics every `logging_frequency` steps. SIGINT or SIGTERM end the run after
  the current step, with a final checkpoint (`interrupted` in the result).
  `in_process_queue=False`: through the in-process Reverb server instead.
  """
  builder = builder_lib.TVTBuilder(config, run_dir, log_every=logging_frequency)
  result = local.run(builder, environment_factory, local.LocalConfig(
      run_dir=run_dir, num_envs=config.batch_size, seed=seed, max_learner_steps=num_iterations,
      checkpoint_period_minutes=checkpoint_period_minutes), logger=logger,
      make_queue=make_episode_queue(builder) if in_process_queue else None)
  state = result.agent.learner.state
  return TrainingResult(result.learner_steps, int(state['episodes'].numpy()),
                        int(state['env_steps'].numpy()), result.interrupted)
