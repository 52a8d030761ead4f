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
  """Yields batches of `batch_size` whole items from one table, stacked on axis 0 as numpy.

  Acme's `make_reverb_dataset` waits inside native code with no deadline, so a learner blocked
  on an empty queue ignores a Launchpad stop. Here each wait lasts at most `timeout_ms`; the
  dataset is then rebuilt and the items already collected for the batch are kept. Between
  waits it checks for a Launchpad stop and then ends (StopIteration), dropping a partial batch
  only then.

  A dataset that times out discards the samples it had in flight; from a queue those items are
  gone. So by default one sample is in flight at a time, which loses nothing. Replay tables,
  whose items stay in the table when sampled, can allow more (`max_in_flight_samples`) for speed.
  """

  def __init__(self, server_address: str, table: str, batch_size: int,
               timeout_ms: int = 1000, signature_timeout_s: float = 2.0,
               max_wait_s: Optional[float] = None, max_in_flight_samples: int = 1):
    self._server_address = server_address
    self._table = table
    self._batch_size = batch_size
    self._timeout_ms = timeout_ms
    self._signature_timeout_s = signature_timeout_s
    self._max_wait_s = max_wait_s
    self._max_in_flight_samples = max_in_flight_samples
    self._iterator = None

  def _dataset_iterator(self):
    while True:
      try:
        dataset = reverb.TrajectoryDataset.from_table_signature(
            server_address=self._server_address, table=self._table,
            max_in_flight_samples_per_worker=self._max_in_flight_samples,
            num_workers_per_iterator=1,
            rate_limiter_timeout_ms=self._timeout_ms,
            get_signature_timeout_secs=int(self._signature_timeout_s))
        return iter(dataset)
      except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
              reverb.errors.DeadlineExceededError) as error:
        if stopping.stop_requested():  # The server is going away with the program.
          raise StopIteration from None
        logging.info('waiting for the signature of table %r: %s', self._table, error)

  def __next__(self) -> reverb.ReplaySample:
    items = []
    started = time.time()
    while len(items) < self._batch_size:
      if self._iterator is None:
        self._iterator = self._dataset_iterator()
      try:
        items.append(next(self._iterator))
      except (StopIteration, tf.errors.OutOfRangeError):
        # The rate limiter timed out: the table had nothing to give for `timeout_ms`.
        self._iterator = None
        if stopping.stop_requested():
          raise StopIteration from None
        if self._max_wait_s is not None and time.time() - started > self._max_wait_s:
          raise TimeoutError(f'no full batch from table {self._table!r} within '
                             f'{self._max_wait_s} s ({len(items)} items)') from None
      except tf.errors.OpError:  # Typically the server went away.
        if stopping.stop_requested():
          raise StopIteration from None
        raise
    return tree.map_structure(lambda *xs: np.stack([np.asarray(x) for x in xs]), *items)
