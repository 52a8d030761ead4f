"""Node bodies that checkpoint what they wrap, in their own thread, and once more at the end.

Acme's `CheckpointingRunner` saves from a signal handler, which can fire while the learner is
tracing a tf.function and then fails; these runners check for a stop between steps instead.

Checkpoints never regress: `Checkpointer` writes each one under a temporary name, reads every
tensor back and checks it is finite before giving it its final name (a save that fails is
removed and refused), keeps the last few, and restores the newest readable one, saying which.
A learner is saved only once it has taken a step in this session (optimizer slots are created,
and restored from the checkpoint, at the first update: a save before it would write a
checkpoint without them), every `period_steps` steps and `period_minutes` minutes, and at the
end.
"""

import math
import os
import queue
import re
import shutil
import threading
import time
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from absl import logging
import acme
from acme import core as acme_core
from acme.tf import savers
from acme.utils import counting
import numpy as np
import tensorflow as tf

from agents.core import learning
from agents.core import run_dir as run_dir_lib
from agents.core import stopping

_CHECKPOINT = re.compile(r'^ckpt-(\d+)\.index$')
_STEP_KEY = re.compile(r'(^|/)num_steps/\.ATTRIBUTES/VARIABLE_VALUE$')  # A learner's count.
_TEMPORARY = 'tmp-ckpt-'  # Prefix of a checkpoint being written and verified.
_STATE_FILE = 'checkpoint'  # TensorFlow's record of the latest checkpoint (latest_checkpoint).


def checkpoint_directory(run_dir: str, subdirectory: str) -> str:
  """Where the checkpoints of `subdirectory` (learner, member_<i>, counter) live."""
  return os.path.join(run_dir, 'checkpoints', subdirectory)


def _checkpoint_numbers(directory: str) -> List[int]:
  """The numbers N of the `ckpt-N` checkpoints in `directory` (whole or not), newest first."""
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return []
  return sorted((int(m.group(1)) for m in map(_CHECKPOINT.match, names) if m), reverse=True)


def verify_checkpoint(prefix: str) -> Optional[int]:
  """Reads every tensor of checkpoint `prefix` and checks each numeric one is finite.

  Returns the learner step it holds (its `num_steps` variable; None if it has none). Raises
  ValueError naming a non-finite tensor; a missing or damaged file raises what TensorFlow's
  reader raises (a tf.errors.OpError, an IndexError for a truncated file).
  """
  reader = tf.train.load_checkpoint(prefix)
  step_key, step = None, None
  for key, dtype in sorted(reader.get_variable_to_dtype_map().items()):
    value = reader.get_tensor(key)
    if (dtype.is_floating or dtype.is_complex) and not np.all(np.isfinite(value)):
      raise ValueError(f'{key} holds non-finite values')
    # The shallowest `num_steps` variable is the learner's own count.
    if (dtype.is_integer and _STEP_KEY.search(key) and
        (step_key is None or key.count('/') < step_key.count('/'))):
      step_key, step = key, int(value)
  return step


class FoundCheckpoint(NamedTuple):
  prefix: str  # The path without the .index / .data suffixes.
  step: Optional[int]  # The learner step it holds, if it holds one.


def newest_readable_checkpoint(directory: str) -> Optional[FoundCheckpoint]:
  """The newest checkpoint of `directory` that reads back whole and finite (None if none)."""
  for number in _checkpoint_numbers(directory):
    prefix = os.path.join(directory, f'ckpt-{number}')
    try:
      return FoundCheckpoint(prefix, verify_checkpoint(prefix))
    except Exception as error:  # pylint: disable=broad-except
      # The reader raises OpErrors, IndexError (a truncated file), ValueError (ours), ...
      logging.warning('skipping checkpoint %s, which cannot be restored: %s', prefix, error)
  return None


def _remove_checkpoint_files(prefix: str):
  """Removes a checkpoint's index first (so it is never listed half-removed), then its data."""
  directory, name = os.path.split(prefix)
  paths = [prefix + '.index'] + [os.path.join(directory, f) for f in os.listdir(directory)
                                 if f.startswith(name + '.data-')]
  for path in paths:
    try:
      os.remove(path)
    except FileNotFoundError:
      pass


def _fsync_directory(directory: str):
  try:
    descriptor = os.open(directory, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(descriptor)
  except OSError:
    pass
  finally:
    os.close(descriptor)


class Checkpointer:
  """Checkpoints `objects` into `<run_dir>/checkpoints/<subdirectory>` and restores them now.

  The layout is TensorFlow's and Acme's (`ckpt-N.index`, `ckpt-N.data-*`, and a `checkpoint`
  file naming the latest), so run directories written before resume. What differs from Acme's
  `Checkpointer` (whose `tf.train.CheckpointManager` records a save before anyone could check
  it):

  * a save is written as `tmp-ckpt-N`, read back whole (every tensor, each numeric one finite)
    and only then renamed to `ckpt-N` and recorded; one that fails is removed, logged as an
    error and refused (`save` returns False), so no checkpoint ever holds a NaN;
  * the newest `max_to_keep` saves are kept;
  * `restore` takes the newest checkpoint that reads back whole and finite, falling back to
    older ones, and prints one line saying which (with its learner step) or that it starts
    fresh.

  `save()` saves when `period_minutes` have passed since the last save, or `period_steps`
  steps (the `steps` argument, steps taken so far) since it; `save(force=True)` saves now.
  """

  def __init__(self, objects: Mapping[str, Any], run_dir: str, subdirectory: str,
               period_minutes: float, period_steps: Optional[int] = None,
               max_to_keep: int = 3):
    if not (math.isfinite(period_minutes) and period_minutes >= 0):
      raise ValueError(f'the checkpoint period must be a finite number of minutes >= 0, got '
                       f'{period_minutes}')
    if period_steps is not None and period_steps < 1:
      raise ValueError(f'the checkpoint period in steps must be at least 1, got {period_steps}')
    if max_to_keep < 1:
      raise ValueError(f'max_to_keep must be at least 1, got {max_to_keep}')
    # Acme's Saveables (a counter) are checkpointed through Acme's adapter, as Acme does.
    self._checkpoint = tf.train.Checkpoint(**{
        key: savers.SaveableAdapter(value) if isinstance(value, acme_core.Saveable) else value
        for key, value in objects.items()})
    self.directory = checkpoint_directory(run_dir, subdirectory)
    self._label = f'checkpoints/{subdirectory}'
    self._period_s = 60.0 * period_minutes
    self._period_steps = period_steps
    self._max_to_keep = max_to_keep
    self._kept: List[int] = []  # Numbers of the checkpoints kept, oldest first.
    self._last_saved_time = 0.0  # The first periodic save comes at once.
    self._steps_at_last_save = 0
    self.restored: Optional[FoundCheckpoint] = None
    os.makedirs(self.directory, exist_ok=True)
    self.restore()

  def restore(self) -> Optional[FoundCheckpoint]:
    """Restores the newest readable checkpoint (None: there is none, the objects stay fresh)."""
    for name in os.listdir(self.directory):  # Saves cut short by a crash.
      path = os.path.join(self.directory, name)
      if name.startswith(_TEMPORARY) and os.path.isdir(path):  # TensorFlow's shard folder.
        shutil.rmtree(path, ignore_errors=True)
      elif name.startswith(_TEMPORARY):
        _remove_checkpoint_files(os.path.join(self.directory, name.split('.')[0]))
    found = newest_readable_checkpoint(self.directory)
    if found is None:
      print(f'[{self._label}] no readable checkpoint in {self.directory}: starting fresh',
            flush=True)
      self._kept = []
    else:
      # Optimizer slots, made at the first update, are restored then (a deferred restore).
      self._checkpoint.restore(found.prefix)
      number = int(found.prefix.rsplit('-', 1)[1])
      self._kept = sorted(n for n in _checkpoint_numbers(self.directory) if n <= number)
      step = '' if found.step is None else f' (learner step {found.step})'
      print(f'[{self._label}] restored {found.prefix}{step}', flush=True)
    self.restored = found
    return found

  def due(self, steps: Optional[int] = None) -> bool:
    """Whether a periodic save is due (`steps`: steps taken so far, if counted)."""
    if time.time() - self._last_saved_time >= self._period_s:
      return True
    return (self._period_steps is not None and steps is not None and
            steps - self._steps_at_last_save >= self._period_steps)

  def save(self, force: bool = False, steps: Optional[int] = None) -> bool:
    """Saves if `force` or a save is `due(steps)`. True if a checkpoint was written and kept."""
    if not force and not self.due(steps):
      return False
    self._last_saved_time = time.time()  # A refused save is not retried at every step.
    if steps is not None:
      self._steps_at_last_save = steps
    number = max(_checkpoint_numbers(self.directory) + self._kept + [0]) + 1
    temporary = os.path.join(self.directory, f'{_TEMPORARY}{number}')
    try:
      self._checkpoint.write(temporary)
      verify_checkpoint(temporary)
    except Exception as error:  # pylint: disable=broad-except
      _remove_checkpoint_files(temporary)
      logging.error('checkpoint refused, nothing saved in %s: %s', self.directory, error)
      return False
    final = os.path.join(self.directory, f'ckpt-{number}')
    data = [name for name in os.listdir(self.directory)
            if name.startswith(f'{_TEMPORARY}{number}.data-')]
    for name in data:  # The data first: a checkpoint exists once its index does.
      os.replace(os.path.join(self.directory, name),
                 final + name[len(f'{_TEMPORARY}{number}'):])
    os.replace(temporary + '.index', final + '.index')
    _fsync_directory(self.directory)
    self._kept.append(number)
    dropped, self._kept = self._kept[:-self._max_to_keep], self._kept[-self._max_to_keep:]
    self._write_state()
    for old in set(dropped) | (set(_checkpoint_numbers(self.directory)) - set(self._kept)):
      _remove_checkpoint_files(os.path.join(self.directory, f'ckpt-{old}'))
    return True

  def _write_state(self):
    """Atomically rewrites the `checkpoint` file (what tf.train.latest_checkpoint reads)."""
    lines = [f'model_checkpoint_path: "ckpt-{self._kept[-1]}"']
    lines += [f'all_model_checkpoint_paths: "ckpt-{n}"' for n in self._kept]
    run_dir_lib.write_atomically(os.path.join(self.directory, _STATE_FILE),
                                 '\n'.join(lines) + '\n')


def make_checkpointer(objects, run_dir: str, subdirectory: str, period_minutes: float,
                      period_steps: Optional[int] = None) -> Checkpointer:
  """A checkpointer in `run_dir/checkpoints/subdirectory` that restores the newest save now."""
  return Checkpointer(objects, run_dir, subdirectory, period_minutes, period_steps)


def learner_steps(learner: acme.Learner) -> int:
  """The learner's own step count (`state['num_steps']`, restored with it); 0 if it has none."""
  state = getattr(learner, 'state', None)
  if isinstance(state, Mapping) and 'num_steps' in state:
    return int(state['num_steps'].numpy())
  return 0


class LearnerRunner:
  """Steps a learner until the program stops; serves its variables and runs calls made to it.

  TensorFlow runs only in the node's own thread (TF 2.8's op dispatch is not thread-safe): the
  variables served to actors are the learner's numpy copy, and `call` (a courier method, for
  example PBT reading or overwriting a member) queues the call to run between two steps.
  A `learning.Learner` steps only when it is `ready()`, so calls are served while it waits for
  data.

  The learner is restored at construction and checkpointed every `period_steps` steps and
  `period_minutes` minutes, and once more when the run ends (a stop, SIGTERM, an error) — but
  only once it has taken a step in this session: optimizer slots are created, and restored from
  the checkpoint, at the first update, so an earlier save would replace the checkpoint with one
  that lacks them (re-running a finished run would delete its optimizer state).
  """

  def __init__(self, learner: acme.Learner, run_dir: str, period_minutes: float,
               subdirectory: str = 'learner', call_timeout_s: float = 60.0,
               objects_to_save: Optional[Mapping[str, Any]] = None,
               period_steps: Optional[int] = None):
    self._learner = learner
    if objects_to_save is None:
      objects_to_save = {'learner': learner.state if isinstance(learner, savers.TFSaveable)
                                    else learner}
    self._checkpointer = make_checkpointer(objects_to_save, run_dir, subdirectory,
                                           period_minutes, period_steps)
    self._steps = 0  # Taken in this session.
    self._finished = threading.Event()
    self._calls: 'queue.Queue' = queue.Queue()
    self._call_timeout_s = call_timeout_s
    # A learner that serves a cached copy of its variables must refresh it after the restore,
    # or the actors of a resumed run would act with its initial weights.
    if isinstance(learner, learning.Learner):
      learner.after_restore()

  @property
  def restored(self) -> Optional[FoundCheckpoint]:
    """The checkpoint restored at construction (None: the learner started fresh)."""
    return self._checkpointer.restored

  def get_variables(self, names: Sequence[str]) -> List:
    return self._learner.get_variables(names)

  def get_variables_with_step(self, names: Sequence[str]) -> Tuple[int, List]:
    """The learner step of the served weights and the weights (step -1: a learner that does
    not say, any `acme.Learner`)."""
    with_step = getattr(self._learner, 'get_variables_with_step', None)
    return with_step(names) if with_step else (-1, self._learner.get_variables(names))

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

  def save(self, force: bool = False) -> bool:
    """Checkpoints if due (or now if `force`), never before this session's first step."""
    if not self._steps:
      return False
    return self._checkpointer.save(force=force, steps=self._steps)

  def run(self):
    is_core_learner = isinstance(self._learner, learning.Learner)
    ready = self._learner.ready if is_core_learner else lambda: True
    try:
      while not stopping.stop_requested():
        self._run_calls()
        if ready():
          self._learner.step()
          self._steps += 1
          self.save()
        else:
          stopping.wait_for_stop(0.02)
    except StopIteration:  # The dataset ends when the program stops.
      pass
    finally:
      self._run_calls()
      self.save(force=True)  # Refused (and logged) if the learner's state is not finite.
      self._finished.set()


def set_count(counter: counting.Counter, key: str, value: float) -> Dict[str, float]:
  """Makes `counter.get_counts()[key]` equal `value` (one increment, negative if need be)."""
  delta = value - counter.get_counts().get(key, 0)
  return counter.increment(**{key: delta}) if delta else counter.get_counts()


class CounterRunner(counting.Counter):
  """The program's central counter, checkpointed so that a resumed run keeps its step budget.

  `learner_checkpoints` maps a learner's count (`learner_steps`, `learner_<i>_steps`) to its
  checkpoint subdirectory: after the restore, each count is set to the step of the checkpoint
  that learner will restore (the newest readable one), so that the counts the coordinator and
  the console read are the learners' own from the start, whichever of the counter and learner
  checkpoints was written last before a crash. The counter saves only when its counts changed.
  """

  def __init__(self, run_dir: str, period_minutes: float,
               learner_checkpoints: Optional[Mapping[str, str]] = None):
    super().__init__()
    self._checkpointer = make_checkpointer({'counter': self}, run_dir, 'counter',
                                           period_minutes)
    for key, subdirectory in (learner_checkpoints or {}).items():
      found = newest_readable_checkpoint(checkpoint_directory(run_dir, subdirectory))
      steps = found.step if found is not None and found.step is not None else 0
      if steps != self.get_counts().get(key, 0):
        print(f'[counter] {key} set to {steps}, the step of the learner checkpoint to be '
              f'restored (was {self.get_counts().get(key, 0):.0f})', flush=True)
        set_count(self, key, steps)
    self._saved = self._current()

  def _current(self):
    with self._lock:  # Courier threads increment meanwhile.
      return {name: dict(values) for name, values in self.save().items()}

  def set_count(self, key: str, value: float) -> Dict[str, float]:
    """Sets one count (a courier call: a learner aligns its step count after a restore)."""
    return set_count(self, key, value)

  def _save(self, force: bool = False):
    if self._current() == self._saved:
      return
    if self._checkpointer.save(force=force):
      self._saved = self._current()

  def run(self):
    while not stopping.wait_for_stop(1.0):
      self._save()
    self._save(force=True)
