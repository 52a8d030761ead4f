"""Where TVT's transported value lands: events, rewards by phase, the key and the colour.

A TVT run that learns (or fails to) is read through these batch figures, logged by the learner
beside its losses:

* `tvt_events`: TVT events (strong reads of old memories, per head) per episode;
* `transport_<read>_to_<credited>`: TVT reward per episode sent by reads in phase <read> to
  steps of phase <credited> (explore, distractor, reward);
* key_to_door only: `key_pickup_rate`; the TVT reward landing on the pickup (the action that
  took the key and the first step that shows it taken) and on the other explore steps, in
  episodes with the key, and on the explore steps of episodes without it; the value at the
  first step of the reward phase with and without the key;
* active_visual_match only: `colour_seen_rate` (the explore phase showed the colour square),
  and the rate of correct choices (the last phase paid) in episodes where it was seen and
  where it was not (a third is chance once a square is touched; an episode without a touch
  counts as wrong, since a choice itself is not observed).

Figures of a group with no episode in the batch (no pickup, say) are left out.
"""

from typing import Dict, Optional, Sequence

import numpy as np

from agents.tvt import tvt_rewards
from environments.pycolab import objects

PHASES = objects.PHASE_NAMES
# The indicator lights on the top wall in the one frame after the key is taken. The egocentric
# 5x5 view always shows it then: the key room's cells are within two rows and columns of it.
_INDICATOR_RGB = np.array(objects.to_uint8(objects.FIXED_COLOURS[objects.INDICATOR]), np.uint8)
# active_visual_match's squares take these colours; nothing else in its rooms does.
_SQUARE_RGBS = np.array([objects.to_uint8(c) for c in objects.PRIMARY_COLOURS], np.uint8)


def phase_of_steps(phase_lengths: Sequence[int], steps: int) -> np.ndarray:
  """[steps] the phase (0, 1, 2) of each step of an episode; padding counts as the last."""
  phases = np.repeat(np.arange(len(phase_lengths)), phase_lengths)[:steps]
  return np.concatenate([phases, np.full(steps - len(phases), len(phase_lengths) - 1)])


def transport_metrics(events: np.ndarray, rewards: np.ndarray,
                      phase_lengths: Sequence[int]) -> Dict[str, float]:
  """TVT events and rewards by (read phase, credited phase), per episode (batch means).

  Args:
    events: [B, T, H] the TVT events (`tvt_rewards.transport_matrix`).
    rewards: [B, T2, T1] TVT reward sent by the reads at t2 to step t1 (the same).
    phase_lengths: steps of each phase.
  """
  phases = phase_of_steps(phase_lengths, rewards.shape[1])
  metrics = {'tvt_events': float(events.sum((1, 2)).mean())}
  for read, read_name in enumerate(PHASES):
    for credited, credited_name in enumerate(PHASES[:read + 1]):
      block = rewards[:, phases == read][:, :, phases == credited]
      metrics[f'transport_{read_name}_to_{credited_name}'] = float(block.sum((1, 2)).mean())
  return metrics


def key_pickup_steps(images: np.ndarray, explore_steps: int) -> np.ndarray:
  """[B] for key_to_door episodes [B, T, H, W, 3] (uint8): the first step whose observation
  shows the lit indicator (the key was taken by the step before), -1 where none does.

  A key taken by the explore phase's very last action shows no indicator (the next frame is the
  apple room's), and counts as not taken.
  """
  window = images[:, 1:explore_steps]  # o_0 comes before any action.
  lit = np.all(window == _INDICATOR_RGB, axis=-1).any((2, 3))  # [B, explore_steps - 1]
  return np.where(lit.any(1), lit.argmax(1) + 1, -1)


def key_to_door_metrics(pickup_steps: np.ndarray, tvt_rewards: np.ndarray,
                        values: np.ndarray, phase_lengths: Sequence[int]) -> Dict[str, float]:
  """The key's figures (module docstring) from `key_pickup_steps`, the TVT rewards [B, T]
  (credited steps) and the acting-time values [B, T]."""
  explore, distractor = phase_lengths[0], phase_lengths[1]
  has_key = pickup_steps >= 0
  metrics = {'key_pickup_rate': float(has_key.mean())}
  on_pickup = np.zeros(tvt_rewards.shape, bool)
  rows = np.flatnonzero(has_key)
  on_pickup[rows, pickup_steps[rows]] = True
  on_pickup[rows, pickup_steps[rows] - 1] = True
  explore_rewards = tvt_rewards[:, :explore]
  pickup_rewards = np.where(on_pickup[:, :explore], explore_rewards, 0.0).sum(1)
  groups = {'transport_to_pickup_with_key': (has_key, pickup_rewards),
            'transport_to_other_explore_with_key': (
                has_key, explore_rewards.sum(1) - pickup_rewards),
            'transport_to_explore_without_key': (~has_key, explore_rewards.sum(1)),
            'value_reward_phase_start_with_key': (has_key, values[:, explore + distractor]),
            'value_reward_phase_start_without_key': (~has_key, values[:, explore + distractor])}
  for name, (episodes, figures) in groups.items():
    if episodes.any():
      metrics[name] = float(figures[episodes].mean())
  return metrics


def colour_seen(images: np.ndarray, explore_steps: int) -> np.ndarray:
  """[B] whether the explore phase of active_visual_match episodes [B, T, H, W, 3] (uint8)
  showed the colour square."""
  window = images[:, :explore_steps, :, :, None, :]  # Against each square colour.
  return np.all(window == _SQUARE_RGBS, axis=-1).any((1, 2, 3, 4))


def active_visual_match_metrics(seen: np.ndarray,
                                last_phase_rewards: np.ndarray) -> Dict[str, float]:
  """The colour's figures (module docstring) from `colour_seen` and each episode's last-phase
  reward [B] (positive: the right square was touched)."""
  correct = last_phase_rewards > 0
  metrics = {'colour_seen_rate': float(seen.mean())}
  for name, episodes in (('correct_choice_rate_seen', seen), ('correct_choice_rate_not_seen',
                                                              ~seen)):
    if episodes.any():
      metrics[name] = float(correct[episodes].mean())
  return metrics


def batch_metrics(extras: Dict[str, np.ndarray], images: Optional[np.ndarray], mask: np.ndarray,
                  phase_lengths: Sequence[int], task: Optional[str], gamma: float,
                  alpha: float, threshold: float,
                  last_phase_rewards: Optional[np.ndarray] = None) -> Dict[str, float]:
  """Every figure above for one batch: the acting-time `extras` [B, T, ...] (read weights,
  indices, strengths, values), the observations [B, T, ...], the mask [B, T] and each
  episode's last-phase reward [B] (for active_visual_match)."""
  events, rewards = tvt_rewards.transport_matrix(
      extras['read_weights'], extras['read_indices'],
      extras['read_strengths'] * mask[:, :, None], extras['value'], gamma, alpha, threshold)
  rewards = rewards * mask[:, None, :]
  metrics = transport_metrics(events, rewards, phase_lengths)
  if task == 'key_to_door' and images is not None:
    metrics.update(key_to_door_metrics(key_pickup_steps(images, phase_lengths[0]),
                                       rewards.sum(1), extras['value'], phase_lengths))
  if (task == 'active_visual_match' and images is not None and
      last_phase_rewards is not None):
    metrics.update(active_visual_match_metrics(colour_seen(images, phase_lengths[0]),
                                               last_phase_rewards))
  return metrics
