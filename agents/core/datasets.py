"""Reading learner batches from a Reverb table in a way that stays stoppable and loses nothing."""

import time
from typing import Iterator, Optional

from absl import logging
import numpy as np
import reverb
import tensorflow as tf
import tree

from agents.core import stopping


class ReverbBatchIterator(Iterator[reverb.ReplaySample]):
  """Yields batches of `batch_size` whole items of one table, stacked on axis 0 as numpy.

  It asks the server for a batch only once the table's own counters say that the items exist,
  so it never waits inside native code (Acme's `make_reverb_dataset` does, with no deadline, and
  a learner blocked there ignores a Launchpad stop) and needs no sampling timeout (a dataset
  that times out discards the samples it had in flight: from a queue, those items are gone).
  Meanwhile it checks for a Launchpad stop every `poll_s` and then ends (StopIteration).

  A table whose items are read once (a queue, `max_times_sampled == 1`) is ready when the items
  inserted minus those this iterator has taken make a batch: the one consumer of the queue
  keeps a whole batch in flight and still loses nothing. Any other table (a replay) is ready
  once its rate limiter lets it be sampled.
  """

  def __init__(self, server_address: str, table: str, batch_size: int, poll_s: float = 0.02,
               signature_timeout_s: float = 2.0, max_wait_s: Optional[float] = None):
    self._server_address = server_address
    self._table = table
    self._batch_size = batch_size
    self._poll_s = poll_s
    self._signature_timeout_s = signature_timeout_s
    self._max_wait_s = max_wait_s
    self._client = reverb.Client(server_address)
    self._taken = 0  # Items this iterator has asked the server for.
    self._iterator = None

  def __iter__(self):
    return self

  def ready(self) -> bool:
    """True when `next` will return a batch without waiting for more items to be written."""
    try:
      info = self._client.server_info(timeout=max(1, int(self._signature_timeout_s)))[
          self._table]
    except (KeyError, reverb.errors.DeadlineExceededError, RuntimeError, ValueError) as error:
      logging.info('no information on table %r yet: %s', self._table, error)
      return False
    if info.max_times_sampled == 1:
      return info.rate_limiter_info.insert_stats.completed - self._taken >= self._batch_size
    return info.current_size >= max(1, info.rate_limiter_info.min_size_to_sample)

  def _dataset_iterator(self):
    while True:
      try:
        dataset = reverb.TrajectoryDataset.from_table_signature(
            server_address=self._server_address, table=self._table,
            max_in_flight_samples_per_worker=self._batch_size, num_workers_per_iterator=1,
            get_signature_timeout_secs=int(self._signature_timeout_s))
        return iter(dataset.batch(self._batch_size))
      except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
              reverb.errors.DeadlineExceededError) as error:
        if stopping.stop_requested():  # The server is going away with the program.
          raise StopIteration from None
        logging.info('waiting for the signature of table %r: %s', self._table, error)

  def _wait_until_ready(self):
    started = time.monotonic()
    while not self.ready():
      if stopping.wait_for_stop(self._poll_s):
        raise StopIteration
      if self._max_wait_s is not None and time.monotonic() - started > self._max_wait_s:
        raise TimeoutError(f'no full batch in table {self._table!r} within '
                           f'{self._max_wait_s} s')

  def __next__(self) -> reverb.ReplaySample:
    self._wait_until_ready()
    if self._iterator is None:
      self._iterator = self._dataset_iterator()
    try:
      sample = next(self._iterator)
    except tf.errors.OpError:  # Typically the server went away.
      if stopping.stop_requested():
        raise StopIteration from None
      raise
    self._taken += self._batch_size
    return tree.map_structure(np.asarray, sample)
