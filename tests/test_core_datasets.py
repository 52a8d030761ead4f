"""The learner's Reverb batch iterator: every queue item arrives once, in order, despite waits."""

import threading
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf

from agents.core import datasets
from agents.core import servers

SIGNATURE = tf.TensorSpec([1], tf.int64, name='index')


@pytest.fixture
def server():
  server = servers.make_local_server([
      reverb.Table.queue('queue', 1000, signature=SIGNATURE),
      reverb.Table('replay', sampler=reverb.selectors.Uniform(),
                   remover=reverb.selectors.Fifo(), max_size=100,
                   rate_limiter=reverb.rate_limiters.MinSize(3), signature=SIGNATURE)])
  yield server
  server.stop()


def _write(client, indices, tables=('queue',), pauses=None):
  with client.trajectory_writer(num_keep_alive_refs=1) as writer:
    for k, i in enumerate(indices):
      writer.append(np.int64(i))
      for table in tables:
        writer.create_item(table, 1.0, writer.history[-1:])
      writer.flush()
      if pauses is not None:
        time.sleep(pauses[k])


def test_queue_items_arrive_once_and_in_order_while_written_with_pauses(server):
  client = reverb.Client(f'localhost:{server.port}')
  total = 120
  pauses = np.random.default_rng(0).uniform(0.0, 0.04, size=total)  # Around the poll period.
  writer = threading.Thread(target=_write, args=(client, range(total)),
                            kwargs=dict(pauses=pauses))
  writer.start()
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'queue', batch_size=4,
                                          max_wait_s=30)
  received = []
  while len(received) < total:
    received += next(iterator).data[:, 0].tolist()
  writer.join()
  assert received == list(range(total))


def test_a_queue_batch_is_ready_only_once_its_items_are_written_and_none_is_lost(server):
  client = reverb.Client(f'localhost:{server.port}')
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'queue', batch_size=3,
                                          max_wait_s=2)
  _write(client, range(2))
  assert not iterator.ready()
  with pytest.raises(TimeoutError, match='no full batch'):
    next(iterator)
  _write(client, range(2, 7))
  assert iterator.ready()
  assert next(iterator).data[:, 0].tolist() == [0, 1, 2]
  assert iterator.ready()
  time.sleep(1.5)  # A pause longer than any sampling deadline: the batch in flight survives.
  assert next(iterator).data[:, 0].tolist() == [3, 4, 5]
  assert not iterator.ready()  # One item left: not a batch.
  _write(client, [7, 8])
  assert next(iterator).data[:, 0].tolist() == [6, 7, 8]


def test_a_queue_batch_takes_its_items_only_so_nothing_is_in_flight_at_a_stop(server):
  # A tf.data Reverb dataset requested items ahead; once its queue ran dry, its iterator's
  # destructor waited for them forever and the learner never exited.
  client = reverb.Client(f'localhost:{server.port}')
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'queue', batch_size=3)
  _write(client, range(7))
  assert next(iterator).data[:, 0].tolist() == [0, 1, 2]
  time.sleep(0.5)
  assert client.server_info()['queue'].current_size == 4
  assert next(iterator).data[:, 0].tolist() == [3, 4, 5]
  time.sleep(0.5)
  assert client.server_info()['queue'].current_size == 1


def test_a_replay_batch_is_ready_from_the_tables_minimum_size_and_leaves_the_items(server):
  client = reverb.Client(f'localhost:{server.port}')
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'replay', batch_size=4)
  _write(client, range(2), tables=('replay',))
  assert not iterator.ready()
  _write(client, [2], tables=('replay',))
  assert iterator.ready()
  assert iterator._stays_ready  # pylint: disable=protected-access  # MinSize: never asked again.
  for _ in range(3):
    assert set(next(iterator).data[:, 0].tolist()) <= {0, 1, 2}
  assert client.server_info()['replay'].current_size == 3


_LOOPBACK = {'0100007F',  # 127.0.0.1 in /proc/net/tcp
             '0000000000000000FFFF00000100007F',  # ::ffff:127.0.0.1 in /proc/net/tcp6
             '00000000000000000000000001000000'}  # ::1


def _listening_addresses(port):
  """The local addresses (hex, as /proc/net/tcp* writes them) listening on `port`."""
  addresses = []
  for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    with open(table) as f:
      for line in f.readlines()[1:]:
        fields = line.split()
        address, local_port = fields[1].split(':')
        if int(local_port, 16) == port and fields[3] == '0A':  # 0A: LISTEN.
          addresses.append(address)
  return addresses


def test_the_in_process_reverb_server_listens_on_loopback_only(server):
  addresses = _listening_addresses(server.port)
  assert addresses, f'nothing listens on port {server.port}'
  assert set(addresses) <= _LOOPBACK, addresses  # Not [::] or 0.0.0.0: no other host reaches it.


def test_without_the_shim_one_warning_says_how_to_keep_the_server_on_loopback(monkeypatch):
  from absl import logging  # pylint: disable=g-import-not-at-top
  warnings = []
  monkeypatch.setattr(servers.loopback, 'active_in_this_process', lambda: False)
  monkeypatch.setattr(servers, '_warned', False)
  monkeypatch.setattr(logging, 'warning', lambda message, *args: warnings.append(message))
  for _ in range(2):
    servers.make_local_server([reverb.Table.queue('queue', 10)]).stop()
  assert len(warnings) == 1 and 'reexec_with_shim()' in warnings[0], warnings
