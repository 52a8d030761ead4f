"""The meta-RL agent in one process: actor, learner and Reverb queue side by side."""

from typing import Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers

from agents.core import local
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib


class MetaRL(local.SingleProcessAgent):
  """A batched actor over `num_envs` bandits that trains its own LSTM as episodes complete.

  Drive it with `agents.core.environment_loop.BatchedEnvironmentLoop`; `network` is the policy.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               config: Optional[config_lib.MetaRLConfig] = None, num_envs: int = 16,
               seed: int = 0, counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None):
    super().__init__(builder_lib.MetaRLBuilder(config or config_lib.MetaRLConfig()),
                     environment_spec, num_envs, seed, counter, logger)

  @property
  def network(self):
    return self.networks
