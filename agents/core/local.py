"""The same builder in one process: an in-process Reverb server, one learner, one batched actor."""

from typing import Optional

from acme import specs
from acme.utils import counting
from acme.utils import loggers
import reverb
import tensorflow as tf

from agents.core import acting
from agents.core import builders


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


class SingleProcessAgent(acting.BatchedActor):
  """A batched actor that owns its learner, for debugging, tests and small runs.

  Actor and learner share one set of networks, so there are no weights to copy. After every
  batch step, `update` runs as many learner steps as the data written so far allows
  (`builder.learner_steps_ready`; with a queue, every transition is learned from once). With the same seed two
  runs are identical: the seed sets TensorFlow's global seed before the networks are built,
  and writes reach the table in a fixed order.
  """

  def __init__(self, builder: builders.ActorLearnerBuilder,
               environment_spec: specs.EnvironmentSpec, num_envs: int, seed: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None):
    tf.random.set_seed(seed)  # The networks' initial weights depend on the seed alone.
    tables = builder.make_replay_tables(environment_spec)
    self._tables = {table.name: table for table in tables}
    self._server = reverb.Server(tables, port=None)
    client = reverb.Client(f'localhost:{self._server.port}')
    self._builder = builder
    self.networks = builder.make_networks(environment_spec)
    learner_counter = counting.Counter(counter, prefix='learner') if counter else None
    self.learner = builder.make_learner(self.networks, builder.make_dataset_iterator(client),
                                        learner_counter, logger)
    self._learner_steps = 0
    adders = [_OrderedAdder(builder.make_adder(client)) for _ in range(num_envs)]
    self._actor = builder.make_actor(self.networks, None, adders, seed)

  def select_actions(self, observations):
    return self._actor.select_actions(observations)

  def observe_first(self, timesteps):
    self._actor.observe_first(timesteps)

  def observe(self, actions, next_timesteps):
    self._actor.observe(actions, next_timesteps)

  def update(self, wait: bool = False):
    del wait
    for _ in range(self._builder.learner_steps_ready(
        {name: table.info for name, table in self._tables.items()}, self._learner_steps)):
      self.learner.step()
      self._learner_steps += 1

  def close(self):
    self._server.stop()
