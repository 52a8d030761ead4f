"""Node bodies that checkpoint what they wrap, in their own thread, and once more at the end.

Acme's `CheckpointingRunner` saves from a signal handler, which can fire while the learner is
tracing a tf.function and then fails; these runners check for a stop between steps instead.
"""

import threading
from typing import List, Sequence

import acme
from acme.tf import savers
from acme.utils import counting
import tensorflow as tf

from agents.core import learning
from agents.core import stopping


def make_checkpointer(objects, run_dir: str, subdirectory: str,
                      period_minutes: float) -> savers.Checkpointer:
  """A checkpointer in `run_dir/checkpoints/subdirectory` that restores the latest save now."""
  return savers.Checkpointer(objects_to_save=objects, directory=run_dir,
                             subdirectory=subdirectory, add_uid=False,
                             time_delta_minutes=period_minutes)


class LearnerRunner:
  """Steps a learner until the program stops; serves its variables to the actors."""

  def __init__(self, learner: acme.Learner, run_dir: str, period_minutes: float):
    self._learner = learner
    state = learner.state if isinstance(learner, savers.TFSaveable) else learner
    self._checkpointer = make_checkpointer({'learner': state}, run_dir, 'learner',
                                           period_minutes)
    self._finished = threading.Event()
    # A learner that serves a cached copy of its variables must refresh it after the restore,
    # or the actors of a resumed run would act with its initial weights.
    if isinstance(learner, learning.Learner):
      learner.after_restore()

  def get_variables(self, names: Sequence[str]) -> List:
    return self._learner.get_variables(names)

  def finish(self):
    """Asks the learner to stop after its current step and save (a courier call).

    The program's coordinator calls it before stopping everything, so that the final checkpoint
    is written while the replay server is still up (a learner waiting on a server that has gone
    can hang past the termination notice and be killed before saving).
    """
    stopping.request_local_stop()

  def finished(self) -> bool:
    """Whether `run` has written its final checkpoint (a courier call)."""
    return self._finished.is_set()

  def run(self):
    # A fresh run checkpoints its initial weights at once, so that a checkpoint exists as soon
    # as the learner is up. A resumed run must not: optimizer slots are created (and restored
    # from the checkpoint) at the first update, and saving first would delete that checkpoint.
    if tf.train.latest_checkpoint(self._checkpointer.directory) is None:
      self._checkpointer.save(force=True)
    try:
      while not stopping.stop_requested():
        self._learner.step()
        self._checkpointer.save()
    except StopIteration:  # The dataset ends when the program stops.
      pass
    finally:
      self._checkpointer.save(force=True)
      self._finished.set()


class CounterRunner(counting.Counter):
  """The program's central counter, checkpointed so that a resumed run keeps its step budget."""

  def __init__(self, run_dir: str, period_minutes: float):
    super().__init__()
    self._checkpointer = make_checkpointer({'counter': self}, run_dir, 'counter', period_minutes)

  def run(self):
    while not stopping.wait_for_stop(1.0):
      self._checkpointer.save()
    self._checkpointer.save(force=True)
