"""Builds every part of the meta-RL agent for the shared core (single process or distributed)."""

from typing import Any, Callable, Iterator, List, Optional, Sequence

import acme
from acme import adders
from acme import specs
from acme.adders import reverb as reverb_adders
from acme.tf import utils as tf2_utils
from acme.tf import variable_utils
from acme.utils import counting
from acme.utils import loggers
import reverb
import sonnet as snt

from agents.core import builders
from agents.core import datasets
from agents.meta_rl import acting
from agents.meta_rl import config as config_lib
from agents.meta_rl import learning
from agents.meta_rl import networks as networks_lib
from agents.meta_rl import observers

QUEUE = 'queue'


class MetaRLBuilder(builders.ActorLearnerBuilder):
  """A FIFO queue of whole-episode sequences between the actors and a V-trace learner."""

  def __init__(self, config: config_lib.MetaRLConfig,
               make_torso: Optional[Callable[[Any], snt.Module]] = None):
    """`make_torso(observation_spec)`, if given, embeds an environment's observations instead
    of the default `torsos.ObservationTorso` (a picklable function, for distributed programs);
    the bandits' observations need none."""
    config.validate()
    self._config = config
    self._make_torso = make_torso

  @property
  def config(self) -> config_lib.MetaRLConfig:
    return self._config

  @property
  def batch_size(self) -> int:
    return self._config.batch_size

  def make_networks(self, environment_spec: specs.EnvironmentSpec):
    """The network for any environment: the bandits' inputs, or a default torso (`torso`)."""
    spec = networks_lib.input_spec(environment_spec)
    torso = None
    if self._make_torso is not None and networks_lib.OBSERVATION in spec.observations:
      torso = self._make_torso(spec.observations[networks_lib.OBSERVATION])
    network = networks_lib.make_network(self._config, spec, torso)
    tf2_utils.create_variables(network, [spec.observations])
    return network

  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec) -> List[reverb.Table]:
    # The actors store what the network reads: the environment's observation with the previous
    # action, reward and trial (`networks.input_spec`).
    signature = reverb_adders.SequenceAdder.signature(
        networks_lib.input_spec(environment_spec), self.extras_spec(environment_spec),
        sequence_length=self._config.unroll_length + 1)
    return [reverb.Table.queue(QUEUE, self._config.max_queue_size, signature=signature)]

  def make_dataset_iterator(self, replay_client: reverb.Client) -> Iterator:
    return datasets.ReverbBatchIterator(replay_client.server_address, QUEUE,
                                        self._config.batch_size)

  def make_adder(self, replay_client: reverb.Client) -> adders.Adder:
    # Sequences of unroll_length + 1 observations every unroll_length steps: consecutive
    # sequences share one observation, which bootstraps the earlier one.
    return reverb_adders.SequenceAdder(
        replay_client, sequence_length=self._config.unroll_length + 1,
        period=self._config.unroll_length, priority_fns={QUEUE: None})

  def make_learner(self, networks, dataset: Iterator,
                   counter: Optional[counting.Counter] = None,
                   logger: Optional[loggers.Logger] = None) -> acme.Learner:
    return learning.MetaRLLearner(networks, dataset, self._config, counter, logger)

  def make_actor(self, networks, variable_source: Optional[acme.VariableSource],
                 adders_per_env: Optional[Sequence[adders.Adder]], seed: int,
                 evaluation: bool = False) -> acting.MetaRLActor:
    client = None
    if variable_source is not None:
      client = variable_utils.VariableClient(
          variable_source, {'policy': networks.variables},
          update_period=1 if evaluation else self._config.variable_update_period)
    actor = acting.MetaRLActor(networks, adders_per_env, client, seed,
                               jit_compile=self._config.jit_compile)
    if networks.adds_previous_action_reward:
      return acting.PreviousActionRewardActor(actor, networks.num_actions)
    return actor

  def make_observers(self):
    return [observers.RegretObserver()]
