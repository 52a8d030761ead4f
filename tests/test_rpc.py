"""Tests of the core's courier wrappers against a real courier server."""

import os
import subprocess
import sys
import textwrap

import courier
import portpicker

from agents.core import rpc

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
    future = node.client._client.futures.slow()
    collected = threading.Event()
    future.add_done_callback(lambda _: (gc.collect(), collected.set()))
    del node
    assert collected.wait(10)
    server.Stop()
    print('alive')
''')


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
  result = subprocess.run([sys.executable, '-c', _COLLECTED_IN_CALLBACK], capture_output=True,
                          text=True, timeout=60, check=False,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


def _run_automatic_collection(mode):
  return subprocess.run([sys.executable, '-c', _AUTOMATIC_COLLECTION_IN_CALLBACK, mode],
                        capture_output=True, text=True, timeout=60, check=False,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_node_processes_never_collect_garbage_in_courier_threads():
  unguarded = _run_automatic_collection('plain')
  assert unguarded.returncode == -6, 'the hazard did not show: the test proves nothing'
  assert 'terminate called without an active exception' in unguarded.stderr
  node = _run_automatic_collection('node')
  assert node.returncode == 0, node.stderr[-2000:]
  assert node.stdout.strip().endswith('alive')
