"""The learner's Reverb batch iterator: every queue item arrives once, in order, despite waits."""

import threading
import time

import numpy as np
import reverb
import tensorflow as tf

from agents.core import datasets


def test_queue_items_survive_sampling_timeouts_in_order():
  signature = tf.TensorSpec([1], tf.int64, name='index')
  server = reverb.Server([reverb.Table.queue('queue', 1000, signature=signature)], port=None)
  client = reverb.Client(f'localhost:{server.port}')
  total = 200
  pauses = np.random.default_rng(0).uniform(0.07, 0.13, size=total)

  def write():
    with client.trajectory_writer(num_keep_alive_refs=1) as writer:
      for i in range(total):
        writer.append(np.int64(i))
        writer.create_item('queue', 1.0, writer.history[-1:])
        writer.flush()
        time.sleep(pauses[i])  # Items arrive around the moment the sampling wait times out.

  writer_thread = threading.Thread(target=write)
  writer_thread.start()
  iterator = datasets.ReverbBatchIterator(f'localhost:{server.port}', 'queue', batch_size=4,
                                          timeout_ms=100, max_wait_s=30)
  received = []
  while len(received) < total:
    received += next(iterator).data[:, 0].tolist()
  writer_thread.join()
  server.stop()
  assert received == list(range(total))
