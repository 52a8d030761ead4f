"""Whether the Launchpad program this thread belongs to is stopping (False outside Launchpad)."""

import threading
from typing import Iterable

import launchpad as lp


_LOCAL_STOP = threading.Event()


def request_local_stop():
  """Makes `stop_requested` true in this process only (a node asked to finish before the rest)."""
  _LOCAL_STOP.set()


def stop_requested() -> bool:
  """True once the program (or this process) was asked to stop; callable from any thread."""
  if _LOCAL_STOP.is_set():
    return True
  try:
    return lp.stop_event().is_set()
  except RuntimeError:  # Not a Launchpad node thread: a single-process run or a test.
    return False


def wait_for_stop(timeout_s: float) -> bool:
  """Sleeps up to `timeout_s`; True as soon as the program is stopping."""
  try:
    return lp.wait_for_stop(timeout_s)
  except RuntimeError:
    import time  # pylint: disable=g-import-not-at-top
    time.sleep(timeout_s)
    return False


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
