"""Reverb adders of FTW (spec 5.2-5.3): learner unrolls, and reward-prediction windows.

`FirstStateSequenceAdder` writes unrolls of T rows every T - 1 rows (consecutive unrolls share
their boundary row, so every transition is trained on; fix of defect D10) to every table of
`priority_fns`, storing the recurrent core state of the first row only (a DNC state is ~1 MB per
row). Row t holds o_t (an OAR), a_t, the events rho_t that followed a_t, the discount and the
behaviour logits; an episode of L steps gives L + 1 rows, the last one only a bootstrap
observation. No transition is dropped at an episode's end: the rows after the last full unroll
are written as one more unroll, either the episode's last T rows (overlapping the previous
unroll by more than one row; `pad_end_of_episode=False`) or the remaining rows followed by
padding rows (`pad_end_of_episode=True`). An episode shorter than one unroll is always padded.
`extras['mask']` marks the rows whose transition is real (1) against the bootstrap row and the
padding rows (0); the learner trains on masked rows only.

`RewardWindowAdder` offers, after every step, the last k frames with their events to one of two
tables: the non-zero table if the last step had any event (fix of defect D7), else the zero
table (only every `zero_period` steps, since zero windows are plentiful).

Both wait for a full queue in slices of `flush_timeout_ms`, so that a stop request is noticed.
"""

import time
from typing import Mapping, Optional

from absl import logging

from acme import adders
from acme import specs
from acme.adders.reverb import base as reverb_base
import dm_env
import numpy as np
import reverb
import tensorflow as tf
import tree

from agents.core import acting as core_acting
from agents.core import stopping


class AdderStopped(Exception):
  """The program stopped while the adder waited for room in a full table."""


def _new_writer(client: reverb.Client, num_keep_alive_refs: int, timeout_s: float = 300.0):
  """A trajectory writer, waiting (stoppably) for a server that is still building its tables."""
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      return client.trajectory_writer(num_keep_alive_refs=num_keep_alive_refs)
    except (RuntimeError, reverb.errors.DeadlineExceededError) as error:
      if 'Deadline' not in str(error) and not isinstance(error,
                                                          reverb.errors.DeadlineExceededError):
        raise
      if stopping.stop_requested():
        raise AdderStopped() from None
      if time.monotonic() > deadline:
        raise
      logging.info('the replay server is not ready yet: %s', error)


def _wait(operation, timeout_ms: int):
  """Runs a blocking writer operation in deadline slices until it succeeds or the program stops."""
  while True:
    try:
      return operation(timeout_ms)
    except reverb.errors.DeadlineExceededError:
      if stopping.stop_requested():
        raise AdderStopped() from None


class FirstStateSequenceAdder(adders.Adder):
  """Unrolls of `sequence_length` rows every `period` rows (default T - 1), first core state only.

  `extras` given to `add` must hold 'logits' and 'core_state' (the state before the step), and
  may hold the learner step of the acting weights (`core_acting.WEIGHTS_STEP`; an unroll keeps
  its first row's). At an episode's end the rows not yet in an unroll are written too (see the
  module docstring): as the episode's last T rows, or with `pad_end_of_episode` as a padded
  unroll.
  """

  def __init__(self, client: reverb.Client, sequence_length: int,
               priority_fns: Mapping[str, Optional[reverb_base.PriorityFn]],
               period: Optional[int] = None, max_in_flight_items: int = 2,
               flush_timeout_ms: int = 1000, pad_end_of_episode: bool = False):
    if sequence_length < 2:
      raise ValueError(f'sequence_length must be at least 2, got {sequence_length}')
    self._client = client
    self._length = sequence_length
    self._period = period or sequence_length - 1
    if not 1 <= self._period <= sequence_length:
      raise ValueError(f'period must be in [1, {sequence_length}], got {self._period}')
    self._tables = dict(priority_fns)
    self._max_in_flight_items = max_in_flight_items
    self._flush_timeout_ms = flush_timeout_ms
    self._pad_end_of_episode = pad_end_of_episode
    self._writer = None
    self._observation = None
    self._rows = 0
    self._written_until = 0  # Rows [0, this) of the episode are in unrolls already.

  def _ensure_writer(self):
    if self._writer is None:
      self._writer = _new_writer(self._client, self._length)

  def add_first(self, timestep: dm_env.TimeStep):
    if not timestep.first():
      raise ValueError('add_first needs a FIRST timestep')
    self._ensure_writer()
    self._observation = timestep.observation
    self._rows = 0
    self._written_until = 0

  def _append_row(self, action, reward, discount, logits, core_state, weights_step,
                  mask: bool = True):
    # Rows that may start an unroll keep their core state (None leaves are not stored): every
    # period-th row; without padding every row, since an episode's last T rows may start anywhere.
    stores_state = self._rows % self._period == 0 or not self._pad_end_of_episode
    self._writer.append({
        'observation': self._observation,
        'action': action,
        'reward': reward,
        'discount': discount,
        'start_of_episode': self._rows == 0,
        # Only rows that start an unroll keep their core state (None leaves are not stored).
        'extras': {'logits': logits, 'mask': np.bool_(mask),
                   'core_state': (core_state if stores_state
                                  else tree.map_structure(lambda _: None, core_state)),
                   core_acting.WEIGHTS_STEP: np.int32(weights_step)},
    })
    self._rows += 1
    if self._rows >= self._length and (self._rows - self._length) % self._period == 0:
      self._create_items()

  def _create_items(self):
    """Writes the last T rows appended as one unroll to every table."""
    self._written_until = self._rows
    history = self._writer.history
    window = slice(-self._length, None)
    first = slice(-self._length, -self._length + 1)
    trajectory = reverb_base.Step(
        observation=tree.map_structure(lambda c: c[window], history['observation']),
        action=history['action'][window],
        reward=history['reward'][window],
        discount=history['discount'][window],
        start_of_episode=history['start_of_episode'][window],
        extras={'logits': history['extras']['logits'][window],
                'mask': history['extras']['mask'][window],
                'core_state': tree.map_structure(lambda c: c[first],
                                                 history['extras']['core_state']),
                core_acting.WEIGHTS_STEP: history['extras'][core_acting.WEIGHTS_STEP][first]})
    for table, priority_fn in self._tables.items():
      priority = 1.0 if priority_fn is None else priority_fn(trajectory)
      self._writer.create_item(table, priority, trajectory)
    _wait(lambda t: self._writer.flush(self._max_in_flight_items, timeout_ms=t),
          self._flush_timeout_ms)

  def add(self, action, next_timestep: dm_env.TimeStep, extras=()):
    if self._observation is None:
      raise ValueError('add_first must be called before add')
    action = np.asarray(action, np.int32)
    self._append_row(action, np.asarray(next_timestep.reward, np.float32),
                     np.asarray(next_timestep.discount, np.float32), extras['logits'],
                     extras['core_state'], extras.get(core_acting.WEIGHTS_STEP, -1))
    self._observation = next_timestep.observation
    if next_timestep.last():
      # The final row carries only the last observation (its value bootstraps nothing, since the
      # discount before it is 0, but it lets the last transition be trained on).
      blank = (np.zeros_like(action), np.zeros_like(next_timestep.reward, np.float32),
               np.float32(0.0), np.zeros_like(extras['logits']),
               tree.map_structure(np.zeros_like, extras['core_state']), -1)
      self._append_row(*blank, mask=False)
      self._write_tail(blank)
      self.reset()

  def _write_tail(self, blank):
    """Writes the rows after the last unroll (if any transition is among them) as one unroll."""
    if self._written_until == self._rows:
      return  # The last unroll ended on the bootstrap row: every transition is in one.
    if self._rows >= self._length and not self._pad_end_of_episode:
      self._create_items()  # The episode's last T rows.
      return
    # Padding rows repeat the bootstrap observation with blank fields, until the tail unroll,
    # which starts at the first row not yet trained on as a transition, is T rows long.
    start = max(self._written_until - 1, 0)
    while self._rows - start < self._length:
      self._append_row(*blank, mask=False)
    if self._written_until != self._rows:  # (The last padding row may have completed it.)
      self._create_items()

  def reset(self):
    if self._writer is not None:
      _wait(lambda t: self._writer.end_episode(clear_buffers=True, timeout_ms=t),
            self._flush_timeout_ms)
    self._observation = None
    self._rows = 0
    self._written_until = 0

  def flush(self):
    """Waits until every item created so far has reached its tables."""
    if self._writer is not None:
      _wait(lambda t: self._writer.flush(timeout_ms=t), self._flush_timeout_ms)

  @classmethod
  def signature(cls, environment_spec: specs.EnvironmentSpec, extras_spec,
                sequence_length: int) -> reverb_base.Step:
    """Table signature: every field [T, ...] except the core state, [1, ...]."""

    def spec(leading, s):
      return tf.TensorSpec([leading] + list(s.shape), tf.as_dtype(s.dtype))

    full = lambda s: spec(sequence_length, s)  # pylint: disable=unnecessary-lambda-assignment
    return reverb_base.Step(
        observation=tree.map_structure(full, environment_spec.observations),
        # The dtypes the adder writes, whatever the environment's (dm_env's discounts are float64).
        action=spec(sequence_length, specs.Array(environment_spec.actions.shape, np.int32)),
        reward=spec(sequence_length, specs.Array(environment_spec.rewards.shape, np.float32)),
        discount=spec(sequence_length, specs.Array(environment_spec.discounts.shape, np.float32)),
        start_of_episode=tf.TensorSpec([sequence_length], tf.bool),
        extras={'logits': full(extras_spec['logits']),
                'mask': tf.TensorSpec([sequence_length], tf.bool),
                'core_state': tree.map_structure(lambda s: spec(1, s),
                                                 extras_spec['core_state']),
                core_acting.WEIGHTS_STEP: tf.TensorSpec([1], tf.int32)})

  def __del__(self):
    if self._writer is not None:
      try:
        self._writer.close()
      except Exception:  # pylint: disable=broad-except
        pass


class RewardWindowAdder(adders.Adder):
  """Windows of the last `sequence_length` frames and events, routed by the last step's events."""

  def __init__(self, client: reverb.Client, nonzero_table: str, zero_table: str,
               sequence_length: int = 3, zero_period: int = 1, flush_timeout_ms: int = 1000):
    if sequence_length < 1 or zero_period < 1:
      raise ValueError(f'sequence_length and zero_period must be positive, got '
                       f'{sequence_length}, {zero_period}')
    self._client = client
    self._nonzero_table = nonzero_table
    self._zero_table = zero_table
    self._length = sequence_length
    self._zero_period = zero_period
    self._flush_timeout_ms = flush_timeout_ms
    self._writer = None
    self._frame = None
    self._rows = 0
    self._zero_windows = 0

  def add_first(self, timestep: dm_env.TimeStep):
    if self._writer is None:
      self._writer = _new_writer(self._client, self._length)
    self._frame = _pixels(timestep.observation)
    self._rows = 0

  def add(self, action, next_timestep: dm_env.TimeStep, extras=()):
    del action, extras
    events = np.asarray(next_timestep.reward, np.float32)
    self._writer.append({'observation': self._frame, 'reward': events})
    self._rows += 1
    self._frame = _pixels(next_timestep.observation)
    if self._rows >= self._length:
      nonzero = bool(np.any(events != 0))
      if not nonzero:
        self._zero_windows += 1
      if nonzero or self._zero_windows % self._zero_period == 0:
        history = self._writer.history
        window = slice(-self._length, None)
        self._writer.create_item(
            self._nonzero_table if nonzero else self._zero_table, 1.0,
            {'observation': tree.map_structure(lambda c: c[window], history['observation']),
             'reward': history['reward'][window]})
    if next_timestep.last():
      self.reset()

  def reset(self):
    if self._writer is not None:
      _wait(lambda t: self._writer.end_episode(clear_buffers=True, timeout_ms=t),
            self._flush_timeout_ms)
    self._rows = 0

  def flush(self):
    if self._writer is not None:
      _wait(lambda t: self._writer.flush(timeout_ms=t), self._flush_timeout_ms)

  @classmethod
  def signature(cls, environment_spec: specs.EnvironmentSpec, sequence_length: int = 3):
    frames = _pixels(environment_spec.observations)  # The observation part of an OAR (a nest).
    return {'observation': tree.map_structure(
                lambda s: tf.TensorSpec([sequence_length] + list(s.shape), tf.as_dtype(s.dtype)),
                frames),
            'reward': tf.TensorSpec([sequence_length] + list(environment_spec.rewards.shape),
                                    tf.float32)}

  def __del__(self):
    if self._writer is not None:
      try:
        self._writer.close()
      except Exception:  # pylint: disable=broad-except
        pass


def _pixels(observation):
  """The observation part of an OAR (the whole observation otherwise)."""
  return getattr(observation, 'observation', observation)

