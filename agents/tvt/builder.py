"""Builds every part of the TVT agent for the shared core (single process or distributed).

Actors write whole episodes, with the extras TVT needs (read weights, read indices, read
strengths, V_t) and the behaviour logits, into a Reverb FIFO queue; the learner takes batches
of episodes, computes the TVT rewards and trains (the "learner-side TVT" design of spec 7.3,
with the acting-time reads and values, as the release uses).
"""

import os
from typing import Iterator, List, Optional, Sequence

import acme
from acme import adders
from acme import specs
from acme.adders import reverb as reverb_adders
from acme.tf import variable_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import reverb

from agents.core import builders
from agents.core import datasets
from agents.tvt import acting
from agents.tvt import config as config_lib
from agents.tvt import learning
from agents.tvt import networks as networks_lib
from agents.tvt import observers
from agents.tvt import summaries

QUEUE = 'queue'


def _zeros(shape, dtype):
  return np.zeros(shape, dtype)


class TVTBuilder(builders.ActorLearnerBuilder):
  """A FIFO queue of whole episodes between batched RMA actors and the TVT learner.

  `run_dir`: if set, the learner also writes its metrics there, as TensorBoard scalars against
  episodes and environment steps (`tensorboard/learner`) and as JSON lines (`progress.jsonl`).
  `log_every`: learner steps between log writes.
  """

  def __init__(self, config: config_lib.TVTConfig, run_dir: Optional[str] = None,
               log_every: int = 1):
    config.validate()
    self._config = config
    self._run_dir = run_dir
    self._log_every = log_every

  @property
  def config(self) -> config_lib.TVTConfig:
    return self._config

  @property
  def batch_size(self) -> int:
    return self._config.batch_size

  def make_networks(self, environment_spec: specs.EnvironmentSpec):
    return networks_lib.make_network(self._config, environment_spec.observations,
                                     environment_spec.actions.num_values)

  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec) -> List[reverb.Table]:
    signature = reverb_adders.EpisodeAdder.signature(
        environment_spec, self.extras_spec(environment_spec),
        sequence_length=self._config.episode_length + 1)
    return [reverb.Table.queue(QUEUE, self._config.max_queue_size, signature=signature)]

  def make_dataset_iterator(self, replay_client: reverb.Client) -> Iterator:
    return datasets.ReverbBatchIterator(replay_client.server_address, QUEUE,
                                        self._config.batch_size)

  def make_adder(self, replay_client: reverb.Client) -> adders.Adder:
    # One item per episode: T + 1 rows (the last holds the final observation); a shorter
    # episode is padded with zeros, which the learner masks out.
    return reverb_adders.EpisodeAdder(
        replay_client, max_sequence_length=self._config.episode_length + 1,
        padding_fn=_zeros, priority_fns={QUEUE: None})

  def make_learner(self, networks, dataset: Iterator,
                   counter: Optional[counting.Counter] = None,
                   logger: Optional[loggers.Logger] = None) -> acme.Learner:
    if self._run_dir:
      destinations = [
          summaries.TwoAxisSummaryLogger(os.path.join(self._run_dir, 'tensorboard', 'learner')),
          summaries.JsonLinesLogger(os.path.join(self._run_dir, summaries.PROGRESS_FILE))]
      logger = loggers.Dispatcher(destinations + ([logger] if logger else []))
    return learning.TVTLearner(networks, dataset, self._config, counter, logger,
                               self._log_every)

  def make_actor(self, networks, variable_source: Optional[acme.VariableSource],
                 adders_per_env: Optional[Sequence[adders.Adder]], seed: int,
                 evaluation: bool = False) -> acting.TVTActor:
    client = None
    if variable_source is not None:
      client = variable_utils.VariableClient(
          variable_source, {'policy': networks.variables},
          update_period=1 if evaluation else self._config.variable_update_period)
    return acting.TVTActor(networks, adders_per_env, client, seed, self._config.jit_compile)

  def make_observers(self):
    return [observers.LastPhaseRewardObserver()]
