"""The learner's Reverb batch iterator: every queue item arrives once, in order, despite waits."""

import threading
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf

from agents.core import datasets

SIGNATURE = tf.TensorSpec([1], tf.int64, name='index')


@pytest.fixture
def server():
  server = reverb.Server([
      reverb.Table.queue('queue', 1000, signature=SIGNATURE),
      reverb.Table('replay', sampler=reverb.selectors.Uniform(),
                   remover=reverb.selectors.Fifo(), max_size=100,
                   rate_limiter=reverb.rate_limiters.MinSize(3), signature=SIGNATURE)],
                         port=None)
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


def test_a_replay_batch_is_ready_from_the_tables_minimum_size_and_leaves_the_items(server):
  client = reverb.Client(f'localhost:{server.port}')
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'replay', batch_size=4)
  _write(client, range(2), tables=('replay',))
  assert not iterator.ready()
  _write(client, [2], tables=('replay',))
  assert iterator.ready()
  for _ in range(3):
    assert set(next(iterator).data[:, 0].tolist()) <= {0, 1, 2}
  assert client.server_info()['replay'].current_size == 3
