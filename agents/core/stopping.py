"""Whether the Launchpad program of this thread, or of this node process, is stopping (False
outside Launchpad)."""

import threading
import time
from typing import Iterable

import launchpad as lp


_LOCAL_STOP = threading.Event()
# A node process's Launchpad stop event, for its threads that Launchpad does not know (see
# `remember_node_stop_event`); None elsewhere.
_NODE_STOP = None


def remember_node_stop_event():
  """Called in a node process's Launchpad thread: lets every thread of the process see the
  program's stop. Launchpad gives its stop event to its node's thread only, so a call made on a
  thread pool (Acme's variable client pulls weights on one) never saw the stop: at a learner's
  death an arena then waited for its call's whole deadline instead of stopping."""
  global _NODE_STOP
  _NODE_STOP = _program_stop_event()


def _program_stop_event():
  try:
    return lp.stop_event()
  except RuntimeError:  # Not a Launchpad node thread: a single-process run, a test, a pool.
    return _NODE_STOP


def request_local_stop():
  """Makes `stop_requested` true in this process only (a node asked to finish before the rest)."""
  _LOCAL_STOP.set()


def stop_requested() -> bool:
  """True once the program (or this process) was asked to stop; callable from any thread."""
  if _LOCAL_STOP.is_set():
    return True
  event = _program_stop_event()
  return event is not None and event.is_set()


def wait_for_stop(timeout_s: float) -> bool:
  """Sleeps up to `timeout_s`; True as soon as the program is stopping."""
  event = _program_stop_event()
  if event is None:
    time.sleep(timeout_s)
    return False
  return event.wait(timeout_s)


def discard_pending_writes(adders: Iterable[object]):
  """Closes the Reverb writers of Acme adders without flushing them, for a node that stops.

  An Acme adder flushes its writer when it is deleted, waiting up to 10 s per adder; at a stop
  the queue may be full (its learner gone) and the flush only delays the node's end by that
  much, for an unfinished sequence that no session would learn from.
  """
  for adder in adders:
    writer = getattr(adder, '_ReverbAdder__writer', None)  # Acme keeps it private.
    if writer is not None:
      writer.close()
      adder._ReverbAdder__writer = None  # pylint: disable=protected-access
