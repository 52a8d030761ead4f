"""Tests of the core's courier wrappers against a real courier server."""

import concurrent.futures
import os
import subprocess
import sys
import textwrap
import threading
import time

import courier
import portpicker
import pytest

from agents.core import rpc
from agents.core import stopping

# A node whose objects form a reference cycle holding a StopAwareClient, dropped while a call is
# in flight; the call's callback, in courier's own thread, then starts a garbage collection.
_COLLECTED_IN_CALLBACK = textwrap.dedent('''
    import gc, threading, time
    import courier, portpicker
    from agents.core import rpc

    port = portpicker.pick_unused_port()
    server = courier.Server(port=port)
    server.Bind('slow', lambda: time.sleep(0.3) or 1)
    server.Start()
    gc.disable()

    class Node:
      def __init__(self):
        self.client = rpc.StopAwareClient(courier.Client(f'localhost:{port}'))
        self.me = self

    node = Node()
    node.client.slow()
    future = rpc.call_async(node.client._client, 'slow')
    collected = threading.Event()
    future.add_done_callback(lambda _: (gc.collect(), collected.set()))
    del node
    assert collected.wait(10)
    server.Stop()
    print('alive')
''')


def _run_script(script: str, *args: str) -> subprocess.CompletedProcess:
  """Runs `script` in a fresh interpreter from the repository's root."""
  return subprocess.run([sys.executable, '-c', script, *args], capture_output=True, text=True,
                        timeout=60, check=False,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_call_returns_the_servers_result():
  port = portpicker.pick_unused_port()
  server = courier.Server(port=port)
  server.Bind('add', lambda a, b: a + b)
  server.Start()
  try:
    assert rpc.StopAwareClient(courier.Client(f'localhost:{port}')).add(2, b=3) == 5
  finally:
    server.Stop()


def test_a_client_dropped_with_a_call_in_flight_does_not_abort_the_process():
  result = _run_script(_COLLECTED_IN_CALLBACK)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().endswith('alive')


# A plain courier client (its synchronous method cache makes it a reference cycle) whose last
# outside reference goes in its own callback thread, which then allocates enough for the
# interpreter to start an automatic collection there, unless node processes collect elsewhere.
_AUTOMATIC_COLLECTION_IN_CALLBACK = textwrap.dedent('''
    import gc, sys, threading, time
    import courier, portpicker
    from agents.core import lifetime

    if sys.argv[1] == 'node':
      lifetime.collect_garbage_in_own_thread()
    port = portpicker.pick_unused_port()
    server = courier.Server(port=port)
    server.Bind('add_one', lambda x: time.sleep(0.3) or x + 1)  # Done after the callback's set.
    server.Start()
    gc.set_threshold(100, 1, 1)  # Every automatic collection soon reaches the client.
    holder = [courier.Client(f'localhost:{port}')]
    holder[0].add_one(1)
    finished = threading.Event()

    def callback(_):
      holder.clear()
      allocations = [[i] for i in range(20000)]
      finished.set()

    future = holder[0].futures.add_one(2)
    future.add_done_callback(callback)
    assert finished.wait(10)
    gc.collect()  # In the main thread now (where it is harmless) if no collector ran earlier.
    server.Stop()
    print('alive')
''')


def test_node_processes_never_collect_garbage_in_courier_threads():
  unguarded = _run_script(_AUTOMATIC_COLLECTION_IN_CALLBACK, 'plain')
  assert unguarded.returncode == -6, 'the hazard did not show: the test proves nothing'
  assert 'terminate called without an active exception' in unguarded.stderr
  node = _run_script(_AUTOMATIC_COLLECTION_IN_CALLBACK, 'node')
  assert node.returncode == 0, node.stderr[-2000:]
  assert node.stdout.strip().endswith('alive')


# A process that ends as soon as its asynchronous call is answered, while courier's thread has
# yet to let go of the call's callbacks, which takes the interpreter's lock: the main thread
# keeps the lock (no switch interval) until it first blocks, in finalisation (writing the
# buffered output). Unless the process waits for courier first, courier's thread then meets
# the finalising interpreter inside a destructor, and the process aborts.
_ENDS_AS_ITS_CALL_IS_ANSWERED = textwrap.dedent('''
    import sys, threading, time
    import courier, portpicker
    from agents.core import rpc

    sys.setswitchinterval(1000.0)
    port = portpicker.pick_unused_port()
    server = courier.Server(port=port)
    server.Bind('answer', lambda: time.sleep(0.2) or 42)
    server.Start()
    client = courier.Client(f'localhost:{port}')
    if sys.argv[1] == 'plain':
      future = client.futures.answer()
    else:
      future = rpc.call_async(client, 'answer')
    answered = threading.Event()
    future.add_done_callback(lambda _: answered.set())
    assert answered.wait(10)
    print(future.result())
''')


def test_a_process_ends_cleanly_as_soon_as_its_asynchronous_call_is_answered():
  # The race is lost now and then (one run in 5 to 25 on these machines): the hazard must show
  # in one of many plain runs (a fraction of a second each; at one in 25, 200 runs miss it
  # about once in 3,000), and no counted run may abort.
  for _ in range(200):
    unguarded = _run_script(_ENDS_AS_ITS_CALL_IS_ANSWERED, 'plain')
    if unguarded.returncode == -6:
      break
  assert unguarded.returncode == -6, 'the hazard did not show: the test proves nothing'
  assert 'terminate called without an active exception' in unguarded.stderr
  for _ in range(15):
    counted = _run_script(_ENDS_AS_ITS_CALL_IS_ANSWERED, 'counted')
    assert counted.returncode == 0, counted.stderr[-2000:]
    assert counted.stdout.split() == ['42']


def test_a_cancelled_call_is_let_go_and_raises_cancelled():
  port = portpicker.pick_unused_port()
  server = courier.Server(port=port)
  server.Bind('slow', lambda: time.sleep(0.5) or 1)
  server.Start()
  try:
    client = courier.Client(f'localhost:{port}')  # Dropping it would wait for its calls.
    future = rpc.call_async(client, 'slow')
    assert future.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
      future.result(timeout=5)
    assert rpc._wait_for_held_calls(timeout_s=5)  # pylint: disable=protected-access
    assert rpc.held_calls() == 0
  finally:
    server.Stop()


def test_the_programs_stop_ends_a_call_made_on_a_thread_launchpad_does_not_know(monkeypatch):
  """Launchpad gives its stop event to the node's thread only; a call made on a thread pool (as
  Acme's variable client makes them) to a node that never answers still ends at the stop."""
  event, node_thread = threading.Event(), threading.current_thread()

  def stop_event():
    if threading.current_thread() is not node_thread:
      raise RuntimeError('only from the node thread')
    return event

  monkeypatch.setattr(stopping.lp, 'stop_event', stop_event)
  monkeypatch.setattr(stopping, '_NODE_STOP', None)
  stopping.remember_node_stop_event()  # What lifetime.guard_node does in a node process.
  port = portpicker.pick_unused_port()
  server = courier.Server(port=port)
  server.Bind('never', lambda: time.sleep(5) or 1)  # A learner that died, say.
  server.Start()
  try:
    client = rpc.StopAwareClient(courier.Client(f'localhost:{port}'))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
      assert not pool.submit(stopping.stop_requested).result()
      call = pool.submit(client.never)
      time.sleep(0.5)
      started = time.monotonic()
      event.set()
      with pytest.raises(rpc.ProgramStopping):
        call.result(timeout=10)
      assert time.monotonic() - started < 2.0
      assert pool.submit(stopping.wait_for_stop, 5.0).result()
  finally:
    server.Stop()
