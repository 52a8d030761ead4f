"""Temporal Value Transport (spec section 3): fictitious rewards from strong memory reads.

When a memory read at step t2 is strong (read strength above the threshold) and mostly reads a
memory older than the discount horizon, alpha * V[t2] is sent back to the steps at which the
memories read were written, split by the read weights. A pure numpy function of the acting-time
read weights, read indices (= write times), read strengths and values.
"""

import numpy as np

ALPHA = 0.9
READ_STRENGTH_THRESHOLD = 2.0


def no_transport_period(gamma: float) -> int:
  """int(1 / (1 - gamma)) with the float's truncation (12 for 0.92, 24 for 0.96); 25 for 1."""
  return int(1.0 / (1.0 - gamma)) if gamma < 1.0 else 25


def _event_mask(strengths: np.ndarray, threshold: float) -> np.ndarray:
  """[..., T] bool: per maximal run of steps with strength > threshold, its first argmax."""
  above = strengths > threshold
  events = np.zeros(strengths.shape, bool)
  best = np.full(strengths.shape[:-1], -np.inf)
  best_step = np.full(strengths.shape[:-1], -1)
  for t in range(strengths.shape[-1] + 1):
    in_run = above[..., t] if t < strengths.shape[-1] else np.zeros_like(best, bool)
    ended = ~in_run & (best_step >= 0)  # A run stopped at t - 1 (or at the end).
    events[ended.nonzero() + (best_step[ended],)] = True
    best[ended], best_step[ended] = -np.inf, -1
    if t < strengths.shape[-1]:
      better = in_run & (strengths[..., t] > best)  # Strict: the first step of the maximum.
      best[better], best_step[better] = strengths[..., t][better], t
  return events


def _transport(read_weights, read_indices, read_strengths, values, gamma, alpha,
               read_strength_threshold):
  """(events [B, T, H], transported [B, T2, H, K], destinations [B, T2, H, K]): the TVT events,
  the reward each slot read at step t2 sends back, and the step it is sent to."""
  period = no_transport_period(gamma)
  steps = values.shape[1]
  times = np.arange(steps)[None, :, None, None]
  age = times - read_indices  # How long before the read each slot was written.
  admissible_weights = np.where(age > period, read_weights, 0.0)
  # Strength counts only if the slot read most is old enough (a strong read of a recent
  # memory never transports).
  dominant = np.take_along_axis(read_indices, read_weights.argmax(-1)[..., None], -1)[..., 0]
  old_enough = (np.arange(steps)[None, :, None] - dominant) > period
  cut_strengths = np.where(old_enough, read_strengths, 0.0)
  events = _event_mask(np.moveaxis(cut_strengths, 1, -1), read_strength_threshold)  # [B, H, T]
  events = np.moveaxis(events, -1, 1)  # [B, T, H]
  transported = (alpha * admissible_weights * events[..., None] *
                 values[:, :, None, None])  # [B, T2, H, K]
  destinations = np.clip(read_indices, 0, steps - 1)  # Inadmissible slots carry 0 anyway.
  return events, transported, destinations


def compute_tvt_rewards(read_weights: np.ndarray, read_indices: np.ndarray,
                        read_strengths: np.ndarray, values: np.ndarray, gamma: float,
                        alpha: float = ALPHA,
                        read_strength_threshold: float = READ_STRENGTH_THRESHOLD) -> np.ndarray:
  """TVT rewards [B, T] for B episodes of T steps, summed over the read heads.

  Args:
    read_weights: [B, T, H, K] softmax weights of the K slots each head read at each step.
    read_indices: [B, T, H, K] memory rows of those slots (= their write times).
    read_strengths: [B, T, H] read strengths.
    values: [B, T] value estimates V[t] (the acting-time ones in the release).
    gamma: the agent's discount; sets the no-transport period P = no_transport_period(gamma).
    alpha: the fraction of V[t2] transported.
    read_strength_threshold: reads at least this strong (strictly above) are events.

  Returns:
    tvt[b, t1] = sum over events (head h, step t2) and slots k written at t1 with t2 - t1 > P
    of alpha * read_weights[b, t2, h, k] * values[b, t2]. Add it to the reward after step t1.
  """
  _, transported, destinations = _transport(
      read_weights, read_indices, read_strengths, values, gamma, alpha, read_strength_threshold)
  batch, steps = values.shape
  flat = (np.arange(batch)[:, None, None, None] * steps + destinations).ravel()
  tvt = np.bincount(flat, weights=transported.ravel(), minlength=batch * steps)
  return tvt.reshape(batch, steps).astype(np.float32)


def transport_matrix(read_weights: np.ndarray, read_indices: np.ndarray,
                     read_strengths: np.ndarray, values: np.ndarray, gamma: float,
                     alpha: float = ALPHA,
                     read_strength_threshold: float = READ_STRENGTH_THRESHOLD):
  """Where TVT rewards come from and go to: (events [B, T, H] bool, rewards [B, T2, T1]).

  rewards[b, t2, t1] is the TVT reward that the reads at step t2 send to step t1 (summed over
  heads; summed over t2 it is `compute_tvt_rewards`); arguments as there.
  """
  events, transported, destinations = _transport(
      read_weights, read_indices, read_strengths, values, gamma, alpha, read_strength_threshold)
  batch, steps = values.shape
  sources = np.arange(batch)[:, None] * steps + np.arange(steps)[None, :]  # b * T + t2.
  flat = (sources[:, :, None, None] * steps + destinations).ravel()
  rewards = np.bincount(flat, weights=transported.ravel(), minlength=batch * steps * steps)
  return events, rewards.reshape(batch, steps, steps).astype(np.float32)
