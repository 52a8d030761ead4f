"""Ties every node process of a local run to its launcher, and stops programs safely.

A `local_mp` node is a child process of the launcher. If the launcher dies (SIGKILL, a closed
terminal, the out-of-memory killer), nothing in Launchpad stops its nodes: they train on, and a
later run of the same directory meets them. So the launcher tells every node its PID and run
directory (`node_env`), and every node calls `guard_node()` first:

* a watchdog thread compares `os.getppid()` with the launcher's PID twice a second; a dead
  launcher means a new parent, whatever PID the system hands out meanwhile, so PID reuse cannot
  fool it. The node is then asked to stop (SIGTERM to itself: checkpoints are written) and
  ended by the kernel `ORPHAN_GRACE_S` seconds later if it has not;
* the node holds a shared lock on the run directory's node lock for its life (released by the
  kernel however it ends), so that a new launcher can wait for the last node of an earlier run
  to be gone before it starts its own (`run_dir.lock`).

`stop_program()` replaces `lp.stop()` in nodes: it signals the launcher only after checking,
through a pidfd, that the process signalled is this node's parent.
"""

import faulthandler
import fcntl
import gc
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional

from absl import logging
import launchpad as lp
from launchpad.launch import worker_manager

from agents.core import run_dir as run_dir_lib
from agents.core import stopping

LAUNCHER_PID_ENV = 'AGENTS_LAUNCHER_PID'
RUN_DIR_ENV = 'AGENTS_RUN_DIR'
ORPHAN_GRACE_S = 8  # Seconds an orphaned node may take to stop before the kernel ends it.
_WATCH_PERIOD_S = 0.5
# What a node sends its launcher when the program is done (SIGTERM means stopped from outside).
PROGRAM_DONE_SIGNAL = signal.SIGUSR2

_FULL_GC_S = 10.0  # The least time between two collections of the oldest generation.

_guarded = False
_collector_started = False
_orphaned = threading.Event()
_node_lock_fd: Optional[int] = None


def node_env(run_dir: str) -> Dict[str, str]:
  """Environment entries that let the nodes launched by this process guard themselves."""
  return {LAUNCHER_PID_ENV: str(os.getpid()), RUN_DIR_ENV: os.path.abspath(run_dir)}


def _launcher_pid() -> Optional[int]:
  value = os.environ.get(LAUNCHER_PID_ENV)
  return int(value) if value else None


def is_node_process() -> bool:
  """Whether this process is a `local_mp` node started by `launching.launch`."""
  return _launcher_pid() is not None and _launcher_pid() != os.getpid()


def guard_node():
  """In a node process: exit soon after the launcher dies; hold the run's node lock.

  Idempotent; does nothing outside a node process (a thread of `local_mt`, a test).
  """
  global _guarded, _node_lock_fd
  if _guarded or not is_node_process():
    return
  _guarded = True
  launcher = _launcher_pid()
  run_dir = os.environ.get(RUN_DIR_ENV)
  if run_dir:
    _node_lock_fd = os.open(os.path.join(run_dir, run_dir_lib.NODE_LOCK),
                            os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(_node_lock_fd, fcntl.LOCK_SH)
  # The launcher kills a node that does not stop in time, and names it; the node's own
  # Launchpad manager would kill it silently (after a countdown printed every second).
  try:
    worker_manager.get_worker_manager()._termination_notice_secs = -1  # pylint: disable=protected-access
  except RuntimeError:  # Not the node's main thread.
    pass
  stopping.remember_node_stop_event()
  if threading.current_thread() is threading.main_thread():
    # Ctrl-C and a closed terminal reach every process of the terminal's group; the launcher
    # answers them by stopping the nodes in order (`launching`), so the nodes ignore them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The orphan deadline (`_stop_orphan`). Launchpad's node manager times its own kill with
    # SIGALRM, which is off here (see above).
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
  # `kill -USR1 <pid>` writes every thread's stack to the node's log: where a stuck node is.
  faulthandler.register(signal.SIGUSR1, all_threads=True)
  collect_garbage_in_own_thread()
  if os.getppid() != launcher:  # Died before this node got here.
    _stop_orphan(launcher)
    return
  threading.Thread(target=_watch_launcher, args=(launcher,), name='launcher-watchdog',
                   daemon=True).start()


def collect_garbage_in_own_thread(poll_s: float = 0.05):
  """Moves this process's cyclic garbage collection into a Python thread of its own.

  An automatic collection runs in whichever thread allocates, courier's callback threads
  included; one that there collects a courier client (clients sit in reference cycles) makes
  the client join its own thread, and the process aborts ("terminate called without an active
  exception"). So automatic collection is off, and a daemon thread collects as often as the
  interpreter would have (its thresholds), the oldest generation at most once a `_FULL_GC_S`.
  Objects alive now (modules, TensorFlow's) are frozen out of collections. Idempotent.
  """
  global _collector_started
  if _collector_started:
    return
  _collector_started = True
  gc.freeze()
  gc.disable()
  threading.Thread(target=_collect_garbage, args=(poll_s,), name='garbage-collector',
                   daemon=True).start()


def _collect_garbage(poll_s: float):
  thresholds = gc.get_threshold()
  last_full = time.monotonic()
  while True:
    time.sleep(poll_s)
    counts = gc.get_count()
    if counts[0] < thresholds[0]:
      continue
    generation = 1 if counts[1] >= thresholds[1] else 0
    if counts[2] >= thresholds[2] and time.monotonic() - last_full >= _FULL_GC_S:
      generation, last_full = 2, time.monotonic()
    gc.collect(generation)


def _watch_launcher(launcher: int):
  while os.getppid() == launcher:
    time.sleep(_WATCH_PERIOD_S)
  _stop_orphan(launcher)


def _stop_orphan(launcher: int):
  """Stops this node (checkpoints are written on SIGTERM); the kernel ends it after the grace.

  The deadline is an alarm whose signal has its default action (set by `guard_node`), so it
  holds even while the interpreter is shutting down, when no Python thread runs any more.
  """
  _orphaned.set()
  print(f'the launcher (pid {launcher}) is gone; stopping this node (it is ended in '
        f'{ORPHAN_GRACE_S} s at the latest)', file=sys.stderr, flush=True)
  signal.alarm(ORPHAN_GRACE_S)
  os.kill(os.getpid(), signal.SIGTERM)


def orphaned() -> bool:
  """Whether this node is stopping because its launcher died (its peers stop at once too)."""
  return _orphaned.is_set()


def stop_program():
  """Asks the whole program to stop (a node's `lp.stop()`), signalling only a verified launcher.

  In a `local_mp` node the launcher is the parent: a pidfd is opened on the parent's PID and
  kept only if that PID is still the parent afterwards (so it names the launcher, not a process
  that reused its PID), and the signal goes through the pidfd. If the launcher is gone, this
  node stops by itself (its watchdog does the same). Elsewhere it is `lp.stop()`.
  """
  launcher = _launcher_pid()
  if not is_node_process():
    lp.stop()
    return
  try:
    pidfd = os.pidfd_open(launcher)
  except ProcessLookupError:
    pidfd = None
  if pidfd is None or os.getppid() != launcher:
    logging.warning('the launcher (pid %d) is gone; stopping this node only', launcher)
    if pidfd is not None:
      os.close(pidfd)
    os.kill(os.getpid(), signal.SIGTERM)
    return
  try:
    signal.pidfd_send_signal(pidfd, PROGRAM_DONE_SIGNAL)
  except ProcessLookupError:
    pass  # It ended just now; its nodes' watchdogs stop them.
  finally:
    os.close(pidfd)


def guarded(constructor: Callable[..., Any], *args) -> Any:
  """In the node's process: ties it to the launcher (`guard_node`), then builds its object."""
  guard_node()
  return constructor(*args)


def courier_node(constructor: Callable[..., Any], *args) -> lp.CourierNode:
  """`lp.CourierNode(constructor, *args)` whose process ends soon after its launcher's."""
  return lp.CourierNode(guarded, constructor, *args)
