"""TVT's diagnostics on hand-built episodes: events, rewards by phase, key_to_door's key."""

import numpy as np
import pytest

from agents.tvt import diagnostics
from agents.tvt import tvt_rewards
from environments.pycolab import objects
from environments.pycolab import vectorised

GAMMA = 0.92  # No-transport period 12.
PHASES = (10, 10, 10)


def _episode_with_reads(reads, steps=30, slots=2):
  """One episode, one head: `reads` maps a read step t2 to (strength, [(row, weight)...]);
  every other step reads its own row (too recent to transport) weakly."""
  weights = np.zeros((1, steps, 1, slots))
  indices = np.tile(np.arange(steps)[None, :, None, None], (1, 1, 1, slots))
  strengths = np.zeros((1, steps, 1))
  weights[..., 0] = 1.0
  for t2, (strength, slots_read) in reads.items():
    strengths[0, t2, 0] = strength
    for k, (row, weight) in enumerate(slots_read):
      indices[0, t2, 0, k], weights[0, t2, 0, k] = row, weight
  return weights, indices, strengths


def test_a_read_sends_its_reward_to_the_steps_it_read_by_phase():
  # Step 25 (reward phase) reads row 5 (explore) with weight 0.75 and row 12 (distractor)
  # with 0.25, strongly: one event, 0.9 * V[25] split 3:1. Step 20 reads row 15 strongly, but
  # 5 steps back is within the no-transport period: no event, nothing sent.
  weights, indices, strengths = _episode_with_reads(
      {25: (3.0, [(5, 0.75), (12, 0.25)]), 20: (3.0, [(15, 1.0), (0, 0.0)])})
  values = np.zeros((1, 30))
  values[0, 25], values[0, 20] = 2.0, 5.0
  events, rewards = tvt_rewards.transport_matrix(weights, indices, strengths, values, GAMMA)
  assert events.sum() == 1 and events[0, 25, 0]
  assert rewards[0, 25, 5] == pytest.approx(0.9 * 0.75 * 2.0)
  assert rewards[0, 25, 12] == pytest.approx(0.9 * 0.25 * 2.0)
  assert np.count_nonzero(rewards) == 2
  np.testing.assert_allclose(
      rewards.sum(1), tvt_rewards.compute_tvt_rewards(weights, indices, strengths, values, GAMMA),
      rtol=1e-6)
  metrics = diagnostics.transport_metrics(events, rewards, PHASES)
  assert metrics['tvt_events'] == 1.0
  assert metrics['transport_reward_to_explore'] == pytest.approx(1.35)
  assert metrics['transport_reward_to_distractor'] == pytest.approx(0.45)
  for name in ('explore_to_explore', 'distractor_to_explore', 'distractor_to_distractor',
               'reward_to_reward'):
    assert metrics[f'transport_{name}'] == 0.0


def test_reads_after_the_end_of_a_short_episode_are_no_events():
  weights, indices, strengths = _episode_with_reads({25: (3.0, [(5, 1.0), (0, 0.0)])})
  mask = (np.arange(30) < 22).astype(np.float32)[None]  # The episode ended at step 21.
  metrics = diagnostics.batch_metrics(
      dict(read_weights=weights, read_indices=indices, read_strengths=strengths,
           value=np.ones((1, 30))), None, mask, PHASES, 'key_to_door', GAMMA, 0.9, 2.0)
  assert metrics['tvt_events'] == 0.0
  assert metrics['transport_reward_to_explore'] == 0.0
  assert 'key_pickup_rate' not in metrics  # No observations given.


def test_the_key_pickup_step_is_where_key_to_door_says_the_key_was_taken():
  batch = vectorised.VectorisedPycolabBatch('key_to_door', seeds=list(range(64)))
  explore, steps = batch.phase_lengths[0], batch.episode_length
  rng = np.random.RandomState(0)
  compared = taken = 0
  for _ in range(4):
    images = [batch.reset().observation]
    held = [batch._has_key.copy()]  # pylint: disable=protected-access  (the truth)
    for _ in range(steps):
      images.append(batch.step(rng.randint(objects.NUM_ACTIONS, size=64)).observation)
      held.append(batch._has_key.copy())  # pylint: disable=protected-access
    images, held = np.stack(images, 1), np.stack(held, 1)  # [B, T + 1, ...]
    truth = np.where(held.any(1), held.argmax(1), -1)  # First observation after the pickup.
    found = diagnostics.key_pickup_steps(images, explore)
    shown = truth != explore  # Taken by the last explore action: the indicator never shows.
    np.testing.assert_array_equal(found[shown], truth[shown])
    assert np.all(found[~shown] == -1)
    compared += shown.sum()
    taken += (truth[shown] > 0).sum()
  assert taken >= 20 and compared - taken >= 20  # Both kinds of episode were compared.


def test_key_figures_split_transport_and_values_by_the_key():
  pickups = np.array([4, 7, -1])  # Episodes 0 and 1 took the key; episode 2 did not.
  tvt = np.zeros((3, 30))
  tvt[0, 3], tvt[0, 4], tvt[0, 8] = 1.0, 2.0, 0.5  # Pickup steps 3-4, another explore step 8.
  tvt[1, 6], tvt[1, 12] = 4.0, 9.0  # Step 12 is in the distractor phase: not counted.
  tvt[2, 2] = 3.0
  values = np.zeros((3, 30))
  values[:, 20] = [6.0, 8.0, 1.0]  # The reward phase's first step.
  metrics = diagnostics.key_to_door_metrics(pickups, tvt, values, PHASES)
  assert metrics['key_pickup_rate'] == pytest.approx(2 / 3)
  assert metrics['transport_to_pickup_with_key'] == pytest.approx((3.0 + 4.0) / 2)
  assert metrics['transport_to_other_explore_with_key'] == pytest.approx(0.5 / 2)
  assert metrics['transport_to_explore_without_key'] == pytest.approx(3.0)
  assert metrics['value_reward_phase_start_with_key'] == pytest.approx(7.0)
  assert metrics['value_reward_phase_start_without_key'] == pytest.approx(1.0)
  no_key = diagnostics.key_to_door_metrics(np.array([-1]), tvt[2:], values[2:], PHASES)
  assert no_key['key_pickup_rate'] == 0.0 and 'transport_to_pickup_with_key' not in no_key


def test_the_colour_counts_as_seen_only_when_the_explore_phase_shows_its_square():
  batch = vectorised.VectorisedPycolabBatch('active_visual_match', seeds=list(range(64)))
  explore, distractor = batch.phase_lengths[:2]
  rng = np.random.RandomState(0)
  images = [batch.reset().observation]
  for _ in range(explore + distractor):
    images.append(batch.step(rng.randint(objects.NUM_ACTIONS, size=64)).observation)
  images = np.stack(images, 1)
  seen = diagnostics.colour_seen(images, explore)
  assert 0 < seen.sum() < 64  # A 5x5 view shows the square in some episodes only.
  # The apple room (nothing of the squares' colours) never counts.
  assert not diagnostics.colour_seen(images[:, explore:], distractor).any()
  square = np.zeros((2, explore, 5, 5, 3), np.uint8)
  square[0, 3, 1, 2] = objects.to_uint8(objects.PRIMARY_COLOURS[1])
  np.testing.assert_array_equal(diagnostics.colour_seen(square, explore), [True, False])
  metrics = diagnostics.active_visual_match_metrics(np.array([True, True, False, False]),
                                                    np.array([10.0, 0.0, 10.0, 0.0]))
  assert metrics == {'colour_seen_rate': 0.5, 'correct_choice_rate_seen': 0.5,
                     'correct_choice_rate_not_seen': 0.5}
