"""Whether the Launchpad program this thread belongs to is stopping (False outside Launchpad)."""

import threading

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
