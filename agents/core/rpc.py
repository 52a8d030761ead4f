"""Wrappers around courier clients so that actors neither hang nor die when a peer is slow or gone.

Launchpad's courier clients wait forever by default; every handle the core hands to a node is
given a call deadline, and these wrappers decide what a missed deadline means.
"""

import atexit
import concurrent.futures
import functools
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from absl import logging
import acme
from courier.python import client as courier_client

from agents.core import stopping


# Courier clients that made asynchronous calls, kept alive for the life of the process. Such a
# client owns the thread that runs its calls' callbacks; were it garbage-collected in that
# thread (a collection can start there), its shutdown would join the thread from itself and
# abort the process ("terminate called without an active exception").
_ASYNC_CLIENTS: Dict[int, Any] = {}


# Asynchronous calls whose callbacks courier still holds (see `_Callbacks`), and how long a
# process that ends waits for courier to let go of them.
_held_calls = 0
_held_calls_changed = threading.Condition()
EXIT_WAIT_S = 10.0


class _Callbacks:
  """The result and error callbacks of one asynchronous courier call, counted while held.

  Courier lets go of them in its own thread, taking the interpreter's lock to do so; were the
  interpreter already finalising then (the node's work done, its last call just answered), the
  thread would be ended inside C++ and the process abort ("terminate called without an active
  exception"). So a process waits at exit until courier holds none (`_wait_for_held_calls`).
  """

  def __init__(self, future: concurrent.futures.Future):
    global _held_calls
    self._future = future
    with _held_calls_changed:
      _held_calls += 1

  def set_result(self, value):
    try:
      self._future.set_result(value)
    except concurrent.futures.InvalidStateError:
      pass  # Cancelled meanwhile.

  def set_exception(self, status):
    try:
      self._future.set_exception(courier_client.translate_status(status))
    except concurrent.futures.InvalidStateError:
      pass

  def __del__(self):
    global _held_calls
    with _held_calls_changed:
      _held_calls -= 1
      _held_calls_changed.notify_all()


def held_calls() -> int:
  """How many asynchronous calls' callbacks courier holds now (answered calls included)."""
  return _held_calls


@atexit.register
def _wait_for_held_calls(timeout_s: Optional[float] = None) -> bool:
  """Waits (before the interpreter finalises) until courier holds no callbacks of ours."""
  timeout_s = EXIT_WAIT_S if timeout_s is None else timeout_s
  with _held_calls_changed:
    done = _held_calls_changed.wait_for(lambda: _held_calls == 0, timeout_s)
  if not done:
    logging.warning('%d courier calls still unanswered after %.0f s at exit', _held_calls,
                    timeout_s)
  return done


def call_async(client, method: str, *args, **kwargs) -> concurrent.futures.Future:
  """`client.futures.<method>(*args, **kwargs)` of a courier client, made safe to end after.

  Its callbacks are counted until courier lets go of them (`_Callbacks`); cancelling the
  future cancels the call.
  """
  future = concurrent.futures.Future()
  callbacks = _Callbacks(future)
  canceller = client._client.AsyncPyCall(  # pylint: disable=protected-access
      method, list(args), kwargs, callbacks.set_result, callbacks.set_exception,
      client._wait_for_ready, client._call_timeout,  # pylint: disable=protected-access
      client._compress)  # pylint: disable=protected-access
  future.add_done_callback(lambda done: done.cancelled() and canceller.Cancel())
  return future


class ProgramStopping(Exception):
  """A call was not made, or was cancelled, because the program is stopping."""


class StopAwareClient:
  """A courier client whose calls end as soon as the program stops.

  A call to a node that died waits for its whole deadline (up to a minute), and a stopping node
  cannot end before its calls have; through courier's asynchronous client each call is polled
  and cancelled at the stop, raising ProgramStopping, as is a call made once stopping.
  """

  def __init__(self, client, poll_s: float = 0.1):
    _ASYNC_CLIENTS.setdefault(id(client), client)
    self._client = client
    self._poll_s = poll_s

  def __getattr__(self, method: str):
    if method.startswith('_'):
      raise AttributeError(method)
    return functools.partial(self._call, method)

  def _call(self, method: str, *args, **kwargs):
    if stopping.stop_requested():
      raise ProgramStopping(f'{method} not called: the program is stopping')
    future = call_async(self._client, method, *args, **kwargs)
    while True:
      try:
        return future.result(timeout=self._poll_s)
      except concurrent.futures.TimeoutError:
        if stopping.stop_requested():
          future.cancel()
          raise ProgramStopping(f'{method} cancelled: the program is stopping') from None


def stop_aware(client):
  """`client` as a StopAwareClient (unchanged if it is one already)."""
  return client if isinstance(client, StopAwareClient) else StopAwareClient(client)


class ResilientVariableSource(acme.VariableSource):
  """A learner's (or weight cache's) `get_variables` that keeps the last weights when a call
  fails, and knows the learner step of the weights it holds (`learner_step`).

  Only the first fetch must succeed; it is retried until `first_fetch_timeout_s` (the learner
  may still be importing TensorFlow). Later failures keep the actor on its current weights.
  """

  def __init__(self, client, first_fetch_timeout_s: float = 300.0):
    self._client = stop_aware(client)
    self._first_fetch_timeout_s = first_fetch_timeout_s
    self._last: Optional[List] = None
    self.learner_step = -1  # Of the weights last fetched (-1: none yet, or not said).
    self.fetches = 0  # Successful fetches so far.

  def get_variables(self, names: Sequence[str]) -> List:
    if self._last is not None and stopping.stop_requested():
      return self._last  # No call that could wait on a learner gone at the stop.
    started = time.time()
    while True:
      try:
        self.learner_step, self._last = self._client.get_variables_with_step(names)
        self.fetches += 1
        return self._last
      except ProgramStopping:
        if self._last is None:
          raise
        return self._last
      except Exception as error:  # pylint: disable=broad-except
        if self._last is not None:
          logging.warning('variable fetch failed, keeping current weights: %s', error)
          return self._last
        if time.time() - started > self._first_fetch_timeout_s:
          raise RuntimeError(f'the learner served no variables within '
                             f'{self._first_fetch_timeout_s} s: {error}') from error
        time.sleep(0.5)


class ResilientCounter:
  """A parent counter for `acme.utils.counting.Counter` whose failed increments are resent."""

  def __init__(self, client):
    self._client = stop_aware(client)
    self._pending: Dict[str, float] = {}
    self._last: Dict[str, float] = {}

  def increment(self, **counts) -> Dict[str, float]:
    for key, value in counts.items():
      self._pending[key] = self._pending.get(key, 0) + value
    try:
      self._last = self._client.increment(**self._pending)
      self._pending = {}
    except ProgramStopping:
      pass  # The counts of a stopping node's last moments are not worth waiting for.
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('counter increment failed, will resend: %s', error)
    return self._last

  def get_counts(self) -> Dict[str, float]:
    return self.increment()


def call_with_retries(call: Callable[[], Any], what: str, attempts: int = 5,
                      pause_s: float = 1.0) -> Optional[Any]:
  """`call()`, retried after failures; None (with a warning) once all failed or at a stop."""
  for attempt in range(attempts):
    try:
      return call()
    except Exception as error:  # pylint: disable=broad-except
      if stopping.stop_requested() or attempt == attempts - 1:
        logging.warning('%s failed: %s', what, error)
        return None
      time.sleep(pause_s)


class LearnerCalls:
  """A learner node's methods, run in its learning thread (`LearnerRunner.call`), as attributes.

  For example `LearnerCalls(client).get_weights()`; what PBT uses to read and write members.
  """

  def __init__(self, client):
    self._client = stop_aware(client)

  def __getattr__(self, method: str):
    if method.startswith('_'):
      raise AttributeError(method)
    return functools.partial(self._client.call, method)
