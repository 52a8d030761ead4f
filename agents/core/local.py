"""The same builder in one process: an in-process Reverb server, one learner, one batched actor."""

from typing import Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers
import reverb

from agents.core import acting
from agents.core import builders


class SingleProcessAgent(acting.BatchedActor):
  """A batched actor that owns its learner, for debugging, tests and small runs.

  Actor and learner share one set of networks, so there are no weights to copy. After every
  batch step, `update` runs learner steps for as long as the learner's table has a full batch
  (with a queue table, every transition is learned from exactly once). With the same seed two
  runs are identical.
  """

  def __init__(self, builder: builders.ActorLearnerBuilder,
               environment_spec: specs.EnvironmentSpec, num_envs: int, seed: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None):
    tables = builder.make_replay_tables(environment_spec)
    self._tables = {table.name: table for table in tables}
    self._server = reverb.Server(tables, port=None)
    client = reverb.Client(f'localhost:{self._server.port}')
    self._builder = builder
    self.networks = builder.make_networks(environment_spec)
    learner_counter = counting.Counter(counter, prefix='learner') if counter else None
    self.learner = builder.make_learner(self.networks, builder.make_dataset_iterator(client),
                                        learner_counter, logger)
    self._adders = [builder.make_adder(client) for _ in range(num_envs)]
    self._actor = builder.make_actor(self.networks, None, self._adders, seed)

  def select_actions(self, observations):
    return self._actor.select_actions(observations)

  def observe_first(self, timesteps):
    self._actor.observe_first(timesteps)

  def observe(self, actions, next_timesteps):
    self._actor.observe(actions, next_timesteps)

  def update(self, wait: bool = False):
    del wait
    # Wait for every item written so far to reach the table, so that how many learner steps
    # run here depends only on the data (a seeded run is then reproducible), not on timing.
    for adder in self._adders:
      adder._writer.flush()  # pylint: disable=protected-access
    while self._builder.can_sample(self._tables):
      self.learner.step()

  def close(self):
    self._server.stop()
