"""Whether the Launchpad program this thread belongs to is stopping (False outside Launchpad)."""

import launchpad as lp


def stop_requested() -> bool:
  """True once the program was asked to stop; callable from any node's own thread."""
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
