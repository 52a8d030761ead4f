"""The one interface through which an agent family plugs into the shared core."""

import abc
import copy
from typing import Any, Generic, Iterator, List, Mapping, Optional, Sequence, TypeVar

import acme
from acme import adders
from acme import specs
from acme.tf import savers
from acme.utils import counting
from acme.utils import loggers
from acme.utils.observers import base as observers_base
import reverb
from reverb import reverb_types

from agents.core import acting

Networks = TypeVar('Networks')


class ActorLearnerBuilder(abc.ABC, Generic[Networks]):
  """Builds every part of one agent from its config, the environment spec and its networks.

  The core calls these methods in whichever process needs the part: the Reverb node asks for
  tables, the learner node for a dataset and a learner, each actor node for adders and an actor.
  A builder must therefore be picklable (keep only its config dataclass as state).

  In a population (a program with P learners) the core asks `for_member(i)` for member i's
  builder: its tables are named through `table_name`, so that one Reverb server holds every
  member's tables, and `member` may seed what differs between members.
  """

  member: int = 0
  population_size: int = 1
  queue_table: str = 'queue'  # The learner's main table (see `learner_steps_ready`).

  def for_member(self, member: int, population_size: int) -> 'ActorLearnerBuilder':
    """This builder for member `member` of a population of `population_size`."""
    builder = copy.copy(self)
    builder.member, builder.population_size = member, population_size
    return builder

  def table_name(self, name: str) -> str:
    """The name of table `name` on the program's Reverb server: `name_<member>` in a population."""
    return name if self.population_size == 1 else f'{name}_{self.member}'

  @abc.abstractmethod
  def make_networks(self, environment_spec: specs.EnvironmentSpec) -> Networks:
    """Creates fresh networks with their variables built."""

  @abc.abstractmethod
  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec) -> List[reverb.Table]:
    """Creates the Reverb tables; the learner's main table comes first."""

  @abc.abstractmethod
  def make_dataset_iterator(self, replay_client: reverb.Client) -> Iterator[reverb.ReplaySample]:
    """Returns an iterator of learner batches read from the replay server."""

  @abc.abstractmethod
  def make_adder(self, replay_client: reverb.Client) -> adders.Adder:
    """Returns an adder for one environment stream (an actor with B environments gets B)."""

  @abc.abstractmethod
  def make_learner(self, networks: Networks, dataset: Iterator[reverb.ReplaySample],
                   counter: Optional[counting.Counter] = None,
                   logger: Optional[loggers.Logger] = None) -> acme.Learner:
    """Returns the learner; it must also be the `VariableSource` of the actors."""

  @abc.abstractmethod
  def make_actor(self, networks: Networks, variable_source: Optional[acme.VariableSource],
                 adders_per_env: Optional[Sequence[adders.Adder]], seed: int,
                 evaluation: bool = False) -> acting.BatchedActor:
    """Returns a batched actor; `evaluation=True` asks for the frozen-weights evaluation policy."""

  def learner_steps_ready(self, table_infos: Mapping[str, reverb_types.TableInfo],
                          steps_taken: int) -> int:
    """How many more learner steps the data written so far allows.

    Single-process runs step the learner this many times; distributed runs wait for it to
    reach zero before they stop, so that no collected data is dropped. `table_infos` maps table
    names to `TableInfo` (from `Table.info` or `Client.server_info()`). The default suits a
    queue whose items are each read once: every `batch_size` items inserted into the queue
    table make one step. It counts completed inserts rather than asking the table whether it
    can sample, because the learner's dataset prefetches items out of the table at times that
    depend on thread scheduling.
    """
    queue = table_infos[self.table_name(self.queue_table)]
    return queue.rate_limiter_info.insert_stats.completed // self.batch_size - steps_taken

  @property
  @abc.abstractmethod
  def batch_size(self) -> int:
    """Items per learner batch."""

  def extras_spec(self, environment_spec: specs.EnvironmentSpec):
    """What the actors store with each transition (for the table signatures): the extras of
    one dry step of a fresh actor, so that no family describes them by hand."""
    actor = self.make_actor(self.make_networks(environment_spec), None, None, seed=0)
    return acting.extras_spec(actor, environment_spec.observations)

  def checkpoint_objects(self, learner: acme.Learner) -> Mapping[str, Any]:
    """What the learner's checkpoint holds: by default its state, under the key 'learner'."""
    return {'learner': learner.state if isinstance(learner, savers.TFSaveable) else learner}

  def make_observers(self) -> Sequence[observers_base.EnvLoopObserver]:
    """Per-environment metric observers (one set per environment copy); none by default."""
    return ()
