"""Reading learner batches from a Reverb table in a way that stays stoppable and loses nothing."""

import contextlib
import os
import sys
import threading
import time
from typing import Iterator, Optional

from absl import logging
import numpy as np
import reverb
from reverb import reverb_types
from reverb.cc import schema_pb2
import tree

from agents.core import servers
from agents.core import stopping


_UNBOUNDED_DIFF = sys.float_info.max / 2  # A MinSize limiter's max_diff is float max.
_stderr_lock = threading.Lock()


@contextlib.contextmanager
def _native_stderr_silenced():
  """Sends what native code writes to stderr (fd 2) to /dev/null while entered.

  For Reverb's sampler of an in-process table, which logs 'Sampler and server are owned by the
  same process' at every creation (once per batch here) with no level to turn it off. Keep the
  block to the one native call: whatever another thread writes meanwhile is lost too.
  """
  with _stderr_lock:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
      os.dup2(devnull, 2)
      yield
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      os.close(devnull)


class ReverbBatchIterator(Iterator[reverb.ReplaySample]):
  """Yields batches of `batch_size` whole items of one table, stacked on axis 0 as numpy.

  It asks the server for a batch only once the table's own counters say that the items exist,
  so it never waits inside native code (Acme's `make_reverb_dataset` does, with no deadline, and
  a learner blocked there ignores a Launchpad stop) and needs no sampling timeout (a dataset
  that times out discards the samples it had in flight: from a queue, those items are gone).
  Meanwhile it checks for a Launchpad stop every `poll_s` and then ends (StopIteration).
  Each batch is one sampler of exactly `batch_size` items, so nothing is requested ahead: a
  `tf.data` Reverb dataset keeps samples in flight, and when its queue had run dry its iterator's
  destructor waited for them forever, so that a learner never exited.

  A table whose items are read once (a queue, `max_times_sampled == 1`) is ready when the items
  inserted minus those this iterator has taken make a batch: the one consumer of the queue
  keeps a whole batch in flight and still loses nothing. Any other table (a replay) is ready
  once its rate limiter lets it be sampled; one that never drops items below its minimum (every
  item sampled without limit, a `MinSize` limiter) stays ready, so it is asked only until then
  (each `server_info` call decodes every table's signature: about 5 ms, several per learner step).
  The question it does ask reads its own table's counters and decodes the signature once.
  """

  # False asks the server before every batch even then, through the client's `server_info`
  # (the behaviour before; benchmarks compare).
  remember_ready = True

  def __init__(self, server_address: str, table: str, batch_size: int, poll_s: float = 0.02,
               signature_timeout_s: float = 2.0, max_wait_s: Optional[float] = None,
               signature=None):
    """`signature`: the structure of an item's data, for a table that has no signature."""
    self._table = table
    self._batch_size = batch_size
    self._poll_s = poll_s
    self._signature_timeout_s = signature_timeout_s
    self._max_wait_s = max_wait_s
    self._client = reverb.Client(server_address)
    self._in_process = servers.in_process(server_address)
    self._taken = 0  # Items this iterator has asked the server for.
    self._given_signature = signature
    self._signature = None  # The table's signature, the structure of an item's data.
    self._stays_ready = False  # Set once a replay that cannot shrink was found sampleable.

  def __iter__(self):
    return self

  def ready(self) -> bool:
    """True when `next` will return a batch without waiting for more items to be written."""
    if self._stays_ready:
      return True
    try:
      info = self._table_info()
    except (KeyError, reverb.errors.DeadlineExceededError, RuntimeError, ValueError) as error:
      logging.info('no information on table %r yet: %s', self._table, error)
      return False
    if self._signature is None:
      raise ValueError(f'table {self._table!r} has no signature: give the iterator one')
    if info.max_times_sampled == 1:
      return info.rate_limiter_info.insert_stats.completed - self._taken >= self._batch_size
    ready = info.current_size >= max(1, info.rate_limiter_info.min_size_to_sample)
    # Items of such a table leave only when an insert evicts one at max_size, and a MinSize
    # limiter (unbounded sample-insert difference) then never blocks a sample again.
    self._stays_ready = self.remember_ready and ready and info.max_times_sampled <= 0 and (
        info.rate_limiter_info.max_diff >= _UNBOUNDED_DIFF)
    return ready

  def _table_info(self):
    """This table's `TableInfo` (KeyError if the server has no such table yet). Unless
    `remember_ready` is False, the raw proto: its signature is decoded the first time only."""
    timeout = max(1, int(self._signature_timeout_s))
    if not self.remember_ready:
      info = self._client.server_info(timeout=timeout)[self._table]
      self._signature = info.signature if info.signature is not None else self._given_signature
      return info
    for serialized in self._client._client.ServerInfo(timeout):  # pylint: disable=protected-access
      info = schema_pb2.TableInfo.FromString(serialized)
      if info.name == self._table:
        if self._signature is None:
          self._signature = (reverb_types.TableInfo.from_serialized_proto(serialized).signature
                             if info.HasField('signature') else self._given_signature)
        return info
    raise KeyError(self._table)

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
    try:
      samples = self._sample()
    except (reverb.errors.ReverbError, RuntimeError, ValueError):  # Typically the server went away.
      if stopping.stop_requested():
        raise StopIteration from None
      raise
    self._taken += self._batch_size
    columns = [np.stack(column) for column in zip(*(data for _, data in samples))]
    info = reverb.SampleInfo(*(np.asarray(values) for values in zip(*(i for i, _ in samples))))
    return reverb.ReplaySample(info, tree.unflatten_as(self._signature, columns))

  def _sample(self):
    """One sampler of exactly `batch_size` items (what `reverb.Client.sample` does), made with
    its log line silenced when the table is in this process."""
    maybe_silenced = (_native_stderr_silenced() if self._in_process
                      else contextlib.nullcontext())
    with maybe_silenced:
      sampler = self._client._client.NewSampler(  # pylint: disable=protected-access
          self._table, self._batch_size, 1)
    samples = []
    for _ in range(self._batch_size):
      key, probability, table_size, priority, *data = sampler.GetNextTrajectory()
      samples.append((reverb.SampleInfo(key=int(key), probability=float(probability),
                                        table_size=int(table_size), priority=float(priority)),
                      data))
    return samples
