"""Temporal Value Transport (spec section 3) on hand-built read histories."""

import numpy as np
import pytest

from agents.tvt import tvt_rewards


def _default_reads(steps, values=None):
  """One episode, one head, K = 3: at t the slots written at t-1, t-2, t+1, weights .5 .3 .2."""
  weights = np.tile([0.5, 0.3, 0.2], (steps, 1))
  indices = np.array([[t - 1, t - 2, t + 1] for t in range(steps)])
  strengths = np.full(steps, 0.5)
  values = np.arange(steps) / 10 if values is None else np.asarray(values, float)
  return weights, indices, strengths, values


def _tvt(weights, indices, strengths, values, gamma):
  """Adds the batch and head axes of a single episode read by a single head."""
  return tvt_rewards.compute_tvt_rewards(weights[None, :, None], indices[None, :, None],
                                         strengths[None, :, None], values[None], gamma)[0]


def test_spec_worked_example():
  # Spec 3.6: T = 30, gamma 0.9 (P = 10), V[t] = t / 10.
  weights, indices, strengths, values = _default_reads(30)
  for t, strength in zip((20, 21, 22), (2.5, 3.0, 2.2)):
    strengths[t], indices[t], weights[t] = strength, (3, 8, 15), (0.6, 0.3, 0.1)
  strengths[25], indices[25], weights[25] = 4.0, (20, 4, 26), (0.7, 0.2, 0.1)
  strengths[28], indices[28], weights[28] = 2.0, (1, 2, 3), (0.9, 0.05, 0.05)
  result = _tvt(weights, indices, strengths, values, gamma=0.9)
  expected = np.zeros(30)
  expected[3], expected[8] = 1.134, 0.567
  np.testing.assert_allclose(result, expected, atol=1e-6)


@pytest.mark.parametrize('gamma,period', [(0.92, 12), (0.96, 24), (0.9, 10), (1.0, 25),
                                          (0.5, 2)])
def test_no_transport_period(gamma, period):
  assert tvt_rewards.no_transport_period(gamma) == period


def test_each_run_of_strong_reads_is_one_event_and_an_open_run_counts():
  # Two runs (steps 20-21 and 27-29, the second still open at the end), negative values.
  weights, indices, strengths, _ = _default_reads(30)
  values = -np.ones(30)
  for t, strength in ((20, 5.0), (21, 4.0), (27, 3.0), (28, 6.0), (29, 6.0)):
    strengths[t], indices[t], weights[t] = strength, (2, 5, 25), (0.5, 0.4, 0.1)
  result = _tvt(weights, indices, strengths, values, gamma=0.9)
  # Events at 20 (first run's maximum) and 28 (first step of the second run's maximum).
  # Slot 25 is inadmissible for both (20 - 25 < 0, 28 - 25 <= 10).
  expected = np.zeros(30)
  expected[2] = 2 * 0.9 * 0.5 * -1.0
  expected[5] = 2 * 0.9 * 0.4 * -1.0
  np.testing.assert_allclose(result, expected, atol=1e-6)


def test_heads_add_up_and_episodes_of_a_batch_are_independent():
  weights, indices, strengths, values = _default_reads(30)
  strengths[25], indices[25], weights[25] = 3.0, (5, 6, 7), (1.0, 0.0, 0.0)
  quiet = _default_reads(30)
  batch_weights = np.stack([np.stack([weights, weights], 1), np.stack([quiet[0]] * 2, 1)])
  batch_indices = np.stack([np.stack([indices, indices], 1), np.stack([quiet[1]] * 2, 1)])
  batch_strengths = np.stack([np.stack([strengths, quiet[2]], 1),
                              np.stack([quiet[2]] * 2, 1)])
  result = tvt_rewards.compute_tvt_rewards(batch_weights, batch_indices, batch_strengths,
                                           np.stack([values, values]), 0.9)
  assert result.shape == (2, 30)
  assert result[0, 5] == pytest.approx(0.9 * 1.0 * 2.5)  # Only head 0 had an event.
  assert np.count_nonzero(result[0]) == 1 and not result[1].any()


def test_reads_of_recent_or_future_rows_never_transport():
  weights, indices, strengths, values = _default_reads(30)
  strengths[:] = 10.0  # Every read is strong, but every slot is within the period.
  assert not _tvt(weights, indices, strengths, values, gamma=0.9).any()
  indices[:] = 100  # Empty rows (index beyond the episode) as early top-k reads return.
  assert not _tvt(weights, indices, strengths, values, gamma=0.9).any()
