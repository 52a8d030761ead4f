"""The one interface through which an agent family plugs into the shared core."""

import abc
from typing import Generic, Iterator, List, Mapping, Optional, Sequence, TypeVar

import acme
from acme import adders
from acme import specs
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
  """

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
    queue whose items are each read once: every `batch_size` items inserted into the first
    table make one step. It counts completed inserts rather than asking the table whether it
    can sample, because the learner's dataset prefetches items out of the table at times that
    depend on thread scheduling.
    """
    first = next(iter(table_infos.values()))
    return first.rate_limiter_info.insert_stats.completed // self.batch_size - steps_taken

  @property
  @abc.abstractmethod
  def batch_size(self) -> int:
    """Items per learner batch."""

  def make_observers(self) -> Sequence[observers_base.EnvLoopObserver]:
    """Per-environment metric observers (one set per environment copy); none by default."""
    return ()
