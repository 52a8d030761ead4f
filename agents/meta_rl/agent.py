"""The meta-RL agent in one process: actor, learner and Reverb queue side by side."""

from typing import Any, Callable, Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers
import sonnet as snt

from agents.core import local
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib


class MetaRL(local.SingleProcessAgent):
  """The meta-RL LSTM agent, training itself as its sequences complete; `network` is the policy.

  An `acme.Actor`: `acme.EnvironmentLoop(environment, MetaRL(spec))` runs it on one environment,
  any `dm_env` one (observations beyond the bandits' get a default torso; the agent adds the
  previous action, reward and trial itself). For speed, drive it over a batch of environments
  with `agents.core.environment_loop.BatchedEnvironmentLoop` (`num_envs`: their number; None
  takes it from the first `observe_first`).
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               config: Optional[config_lib.MetaRLConfig] = None,
               num_envs: Optional[int] = None,
               seed: int = 0, counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None,
               make_torso: Optional[Callable[[Any], snt.Module]] = None):
    """`make_torso(observation_spec)` replaces the default torso (see `MetaRLBuilder`)."""
    super().__init__(
        builder_lib.MetaRLBuilder(config or config_lib.MetaRLConfig(), make_torso),
        environment_spec, num_envs, seed, counter, logger)

  @property
  def network(self):
    return self.networks
