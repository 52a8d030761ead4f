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
