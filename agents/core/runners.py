"""Node bodies that checkpoint what they wrap, in their own thread, and once more at the end.

Acme's `CheckpointingRunner` saves from a signal handler, which can fire while the learner is
tracing a tf.function and then fails; these runners check for a stop between steps instead.
"""

import queue
import threading
import time
from typing import Any, List, Mapping, Optional, Sequence

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
  """Steps a learner until the program stops; serves its variables and runs calls made to it.

  TensorFlow runs only in the node's own thread (TF 2.8's op dispatch is not thread-safe): the
  variables served to actors are the learner's numpy copy, and `call` (a courier method, for
  example PBT reading or overwriting a member) queues the call to run between two steps.
  A `learning.Learner` steps only when it is `ready()`, so calls are served while it waits for
  data.
  """

  def __init__(self, learner: acme.Learner, run_dir: str, period_minutes: float,
               subdirectory: str = 'learner', call_timeout_s: float = 60.0,
               objects_to_save: Optional[Mapping[str, Any]] = None):
    self._learner = learner
    if objects_to_save is None:
      objects_to_save = {'learner': learner.state if isinstance(learner, savers.TFSaveable)
                                    else learner}
    self._checkpointer = make_checkpointer(objects_to_save, run_dir, subdirectory,
                                           period_minutes)
    self._finished = threading.Event()
    self._calls: 'queue.Queue' = queue.Queue()
    self._call_timeout_s = call_timeout_s
    # A learner that serves a cached copy of its variables must refresh it after the restore,
    # or the actors of a resumed run would act with its initial weights.
    if isinstance(learner, learning.Learner):
      learner.after_restore()

  def get_variables(self, names: Sequence[str]) -> List:
    return self._learner.get_variables(names)

  def call(self, method: str, *args, **kwargs):
    """Runs `learner.<method>(*args, **kwargs)` in the learning thread; returns its result."""
    done = threading.Event()
    result = {}
    self._calls.put((method, args, kwargs, done, result))
    deadline = time.monotonic() + self._call_timeout_s
    while not done.wait(0.1):
      if self._finished.is_set():  # No learning thread runs calls any more.
        raise RuntimeError(f'the learner has finished; {method} was not run')
      if time.monotonic() > deadline:
        raise TimeoutError(f'the learner did not run {method} within {self._call_timeout_s} s')
    if 'error' in result:
      raise result['error']
    return result.get('value')

  def _run_calls(self):
    while True:
      try:
        method, args, kwargs, done, result = self._calls.get_nowait()
      except queue.Empty:
        return
      try:
        result['value'] = getattr(self._learner, method)(*args, **kwargs)
      except Exception as error:  # pylint: disable=broad-except
        result['error'] = error
      done.set()

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
    is_core_learner = isinstance(self._learner, learning.Learner)
    ready = self._learner.ready if is_core_learner else lambda: True
    try:
      while not stopping.stop_requested():
        self._run_calls()
        if ready():
          self._learner.step()
          self._checkpointer.save()
        else:
          stopping.wait_for_stop(0.02)
    except StopIteration:  # The dataset ends when the program stops.
      pass
    finally:
      self._run_calls()
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
