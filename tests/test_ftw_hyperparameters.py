"""PBT's pieces: hyperparameter init and perturbation, internal rewards, Elo, matchmaking, and the
controller's readiness, exploit and explore semantics (spec 8, items 6-8 and 13-15)."""

import numpy as np
import pytest
import tensorflow as tf

from hyperparameters import base
from hyperparameters import elo
from hyperparameters import internal_rewards
from hyperparameters import matchmaking
from hyperparameters import population


def test_float_hyperparameters_start_log_uniform_in_range_and_perturb_by_at_most_20_percent():
  rng = np.random.default_rng(0)
  values = [base.FloatHyperparameter((1e-5, 5e-3), rng=rng).get() for _ in range(2000)]
  assert min(values) >= 1e-5 * (1 - 1e-6) and max(values) <= 5e-3 * (1 + 1e-6)
  # Log-uniform: the median is the geometric mean of the bounds (an arithmetic median would be
  # near 2.5e-3).
  assert np.median(values) == pytest.approx(np.sqrt(1e-5 * 5e-3), rel=0.15)
  hyper = base.FloatHyperparameter(0.5, rng=rng)
  assert hyper.get() == pytest.approx(0.5)
  ratios = []
  for _ in range(500):
    before = hyper.get()
    ratios.append(hyper.perturb() / before)
  assert min(ratios) >= 0.8 - 1e-6 and max(ratios) <= 1.2 + 1e-6
  assert max(ratios) > 1.15 and min(ratios) < 0.85  # It does move, both ways.


def test_perturbation_probability_zero_keeps_the_value():
  hyper = base.FloatHyperparameter(0.3, perturb_probability=0.0,
                                   rng=np.random.default_rng(1))
  for _ in range(20):
    hyper.perturb()
  assert hyper.get() == pytest.approx(0.3)


def test_int_hyperparameters_stay_in_range_and_resample_when_perturbed():
  rng = np.random.default_rng(2)
  period = base.IntHyperparameter(5, 20, rng=rng)
  assert period.variable.dtype == tf.float32
  seen = {period.perturb() for _ in range(400)}
  assert seen == set(range(5, 21))
  fixed = base.IntHyperparameter(5, 20, initial_value=7, rng=rng)
  assert fixed.get() == 7


@pytest.mark.parametrize('make, message', [
    (lambda: base.FloatHyperparameter((5e-3, 1e-5), name='learning_rate'),
     'learning_rate range has min 0.005 above max 1e-05'),
    (lambda: base.FloatHyperparameter((0.0, 1.0), name='cost'), 'positive'),
    (lambda: base.IntHyperparameter(20, 5, name='period'), 'min 20 above max 5'),
    (lambda: internal_rewards.InternalRewards(3, scales=[1, -1]), '2 scales for 3 events'),
])
def test_bad_ranges_are_refused_with_their_name(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def test_a_container_round_trips_and_ignores_unknown_keys():
  rng = np.random.default_rng(3)
  source = base.HyperparametersContainer({
      'learning_rate': base.FloatHyperparameter((1e-4, 1e-3), rng=rng),
      'period': base.IntHyperparameter(5, 20, rng=rng)})
  target = base.HyperparametersContainer({
      'learning_rate': base.FloatHyperparameter(0.5, rng=rng),
      'period': base.IntHyperparameter(5, 20, initial_value=5, rng=rng)})
  target.set(dict(source.get(), unknown=3.0))
  assert target.get() == pytest.approx(source.get())
  target.set(target.get())
  assert target.get() == pytest.approx(source.get())


def test_internal_rewards_weight_events():
  scalar = internal_rewards.InternalRewards(1, 0.5)
  np.testing.assert_allclose(scalar.reward(np.array([2.0, -1.0], np.float32)), [1.0, -0.5])
  vector = internal_rewards.InternalRewards(3, initial_weights=[1.0, -2.0, 0.5])
  events = np.array([[1, 0, 0], [1, 1, 1], [0, 0, 0]], np.float32)
  np.testing.assert_allclose(vector.reward(events), [1.0, -0.5, 0.0])
  with pytest.raises(ValueError, match='events have 2 entries, expected 3'):
    vector.reward(np.ones((4, 2), np.float32))
  with pytest.raises(ValueError, match='scalar events'):
    vector.reward(np.float32(1.0))


def test_scaled_internal_rewards_keep_their_signs_when_perturbed():
  rng = np.random.default_rng(4)
  rewards = internal_rewards.InternalRewards(4, (0.1, 1.0), scales=[1, -1, 2, -0.5], rng=rng)
  weights = rewards.get()
  assert np.all(np.sign(weights) == [1, -1, 1, -1])
  magnitudes = np.abs(weights) / [1, 1, 2, 0.5]
  assert np.all((magnitudes >= 0.1) & (magnitudes <= 1.0))
  perturbed = rewards.perturb()
  ratios = perturbed / weights
  assert np.all((ratios >= 0.8) & (ratios <= 1.2))
  assert len(set(np.round(ratios, 6))) == 4  # Each weight gets its own factor.


def test_elo_win_probabilities_are_complementary_and_updates_zero_sum():
  assert elo.win_probability(1200, 1000) + elo.win_probability(1000, 1200) == pytest.approx(1)
  assert elo.win_probability(1000 + 400, 1000) == pytest.approx(10 / 11)
  ratings = np.array([1000.0, 1000.0, 1100.0])
  after = elo.update(ratings, [0, 2], outcome=0.0, k=16)  # Member 0 (team 1) beats member 2.
  expected_gain = 16 * (1 - elo.win_probability(1000, 1100))
  assert after[0] - 1000 == pytest.approx(expected_gain)
  assert after[2] - 1100 == pytest.approx(-expected_gain)
  assert after.sum() == pytest.approx(ratings.sum())
  draw = elo.update(np.array([1000.0, 1000.0]), [0, 1], outcome=0.5)
  np.testing.assert_allclose(draw, [1000.0, 1000.0])


def test_team_elo_uses_the_sum_of_each_teams_ratings():
  ratings = np.array([1000.0, 1100.0, 1050.0, 1050.0])
  after = elo.update(ratings, [0, 1, 2, 3], outcome=1.0, k=10)  # Team 2 wins.
  delta = 10 * (0 - elo.win_probability(2100, 2100))
  np.testing.assert_allclose(after - ratings, [delta, delta, -delta, -delta])


def test_fitted_ratings_order_players_by_their_results():
  results = ([('strong', 'random', 1.0)] * 9 + [('strong', 'random', 0.0)] +
             [('weak', 'random', 1.0)] * 5 + [('weak', 'random', 0.0)] * 5)
  ratings = elo.fit_ratings(results, {'random': 1000.0})
  assert ratings['random'] == 1000.0
  assert ratings['weak'] == pytest.approx(1000.0, abs=30)
  # 9 wins in 10 is about 380 points above the anchor (shrunk a little by the prior).
  assert 250 < ratings['strong'] - 1000 < 400


def test_matchmaking_favours_even_matches_and_never_repeats_a_member():
  ratings = np.array([1000.0, 1000.0, 1400.0, 600.0])
  weights = matchmaking.pairing_weights(ratings, 0, [1, 2, 3])
  assert weights[0] > weights[1] and weights[0] > weights[2]
  assert weights[1] == pytest.approx(weights[2])  # +-400 are equally uneven.
  rng = np.random.default_rng(0)
  counts = np.zeros((4, 4))
  for _ in range(4000):
    seats = matchmaking.sample_match(ratings, team_size=1, rng=rng)
    assert seats[0] != seats[1]
    counts[seats[0], seats[1]] += 1
  # Member 0's opponents follow the Gaussian weights over win probability.
  observed = counts[0, 1:] / counts[0, 1:].sum()
  np.testing.assert_allclose(observed, weights, atol=0.04)
  # Seat 0 is uniform over members.
  np.testing.assert_allclose(counts.sum(axis=1) / 4000, 0.25, atol=0.03)


def test_bot_opponents_follow_the_even_game_weights_over_expected_score():
  scores = {'random': 0.5, 'rusher': 0.0, 'defender': 0.75}
  # N(score; 0.5, 1/6) up to normalisation: 1, exp(-4.5), exp(-1.125).
  expected = np.array([np.exp(-1.125), 1.0, np.exp(-4.5)])  # defender, random, rusher.
  expected /= expected.sum()
  rng = np.random.default_rng(2)
  draws = [matchmaking.sample_bot(scores, rng) for _ in range(5000)]
  observed = [draws.count(name) / len(draws) for name in ('defender', 'random', 'rusher')]
  np.testing.assert_allclose(observed, expected, atol=0.02)
  with pytest.raises(ValueError, match='no bots'):
    matchmaking.sample_bot({}, rng)


def test_the_controller_moves_a_member_to_the_bot_it_can_no_longer_beat_easily(tmp_path):
  members = [FakeMember({}, {}, [], 0) for _ in range(2)]
  path = str(tmp_path / 'population.json')
  controller = population.PopulationController(members, 1, population.PbtConfig(), seed=3,
                                               state_path=path)
  bots = ('random', 'rusher')
  share = lambda m: np.mean([controller.choose_bot([m], bots) == 'rusher' for _ in range(2000)])
  assert abs(share(0) - 0.5) < 0.05  # Nothing measured yet: both count as even.
  # Untrained: draws against random (score 0.5), loses to the rusher (score 0).
  controller.report_bot_scores({'0': {'random': 0.5, 'rusher': 0.0},
                                '1': {'random': 1.0, 'rusher': 0.3}})
  assert share(0) < 0.03
  # Beats random every time and sometimes holds the rusher: mostly the rusher now.
  assert share(1) > 0.9
  controller.save()
  restored = population.PopulationController(members, 1, population.PbtConfig(), seed=3,
                                             state_path=path)
  assert restored.bot_scores == {0: {'random': 0.5, 'rusher': 0.0},
                                 1: {'random': 1.0, 'rusher': 0.3}}


def test_matchmaking_fills_big_teams_from_small_populations():
  seats = matchmaking.sample_match(np.full(3, 1000.0), team_size=2,
                                   rng=np.random.default_rng(1))
  assert len(seats) == 4 and set(seats) == {0, 1, 2}


class FakeMember:
  """A member with the learner's PBT interface, holding plain values."""

  def __init__(self, weights, hypers, rewards, step):
    self.weights, self.hypers, self.rewards, self.step = weights, hypers, rewards, step
    self.perturbed = 0

  def get_step(self):
    return self.step

  def set_step(self, step):
    self.step = step

  def get_weights(self):
    return {k: list(v) for k, v in self.weights.items()}

  def set_weights(self, weights):
    self.weights = weights

  def get_hypers(self):
    return dict(self.hypers)

  def set_hypers(self, hypers):
    self.hypers = dict(hypers)

  def get_rewards(self):
    return list(self.rewards)

  def set_rewards(self, rewards):
    self.rewards = list(rewards)

  def perturb(self):
    self.perturbed += 1
    self.hypers = {k: v * 1.2 for k, v in self.hypers.items()}
    self.rewards = [r * 0.8 for r in self.rewards]
    return {'hypers': self.hypers, 'rewards': self.rewards}


def _controller(members, **pbt_kwargs):
  config = population.PbtConfig(**pbt_kwargs)
  return population.PopulationController(members, team_size=1, config=config, seed=0,
                                         stop_condition=None)


def test_exploit_copies_the_stronger_member_and_explore_changes_only_the_child():
  weak = FakeMember({'policy': [np.zeros(2)]}, {'learning_rate': 1e-3}, [0.1], step=500)
  strong = FakeMember({'policy': [np.ones(2)]}, {'learning_rate': 5e-4}, [0.7], step=900)
  controller = _controller([weak, strong], ready_steps=100)
  controller.ratings = np.array([900.0, 1200.0])  # P(strong beats weak) = 0.85.
  controller.report_bot_scores({0: {'random': 0.5}, 1: {'random': 0.9}})
  event = controller.check_member(0)
  assert event['decision'] == 'exploit' and event['candidate'] == 1
  np.testing.assert_array_equal(weak.weights['policy'][0], np.ones(2))
  assert weak.step == 900
  assert weak.hypers == {'learning_rate': pytest.approx(5e-4 * 1.2)}  # Copied, then perturbed.
  assert weak.rewards == [pytest.approx(0.7 * 0.8)]
  assert controller.ratings[0] == 1200.0  # The child inherits its parent's rating.
  assert controller.bot_scores[0] == {'random': 0.9}  # ... and its scores against the bots.
  assert strong.perturbed == 0 and strong.hypers == {'learning_rate': 5e-4}
  assert strong.rewards == [0.7]
  np.testing.assert_array_equal(strong.weights['policy'][0], np.ones(2))
  # Readiness restarts from the copied step.
  assert controller.check_member(0) is None
  weak.step = 1000
  assert controller.check_member(0) is not None


def test_no_exploit_below_the_threshold_or_before_readiness():
  a = FakeMember({'w': [np.zeros(1)]}, {'x': 1.0}, [1.0], step=50)
  b = FakeMember({'w': [np.ones(1)]}, {'x': 2.0}, [2.0], step=50)
  controller = _controller([a, b], ready_steps=100, exploit_threshold=0.7)
  controller.ratings = np.array([1000.0, 1100.0])  # P(b beats a) = 0.64 < 0.7.
  assert controller.check_member(0) is None  # Not ready: 50 < 100 learner steps.
  a.step = 150
  event = controller.check_member(0)
  assert event['decision'] == 'keep' and a.hypers == {'x': 1.0} and a.perturbed == 0


def test_reports_update_the_ratings_and_the_state_survives_a_restart(tmp_path):
  members = [FakeMember({}, {}, [], 0) for _ in range(3)]
  path = str(tmp_path / 'population.json')
  config = population.PbtConfig()
  controller = population.PopulationController(members, 1, config, state_path=path)
  controller.report([0, 1], outcome=0.0, steps=300)
  controller.report([2, 1], outcome=1.0, steps=300)
  assert controller.ratings[0] > 1000 and controller.ratings[1] == pytest.approx(1000.0, abs=1)
  assert controller.total_steps == 600 and list(controller.matches) == [1, 2, 1]
  controller.snapshot()
  controller.save()
  restored = population.PopulationController(members, 1, config, state_path=path)
  np.testing.assert_allclose(restored.ratings, controller.ratings)
  assert restored.total_matches == 2 and len(restored.history) == 1


def test_an_evolution_check_cut_short_by_the_stop_is_not_reported_as_a_failure(monkeypatch):
  """At the end of every run the members' servers stop while a check may be calling them: the
  controller says nothing then, but does warn of a failed check while the program runs."""

  class StoppedMember(FakeMember):

    def get_step(self):
      raise RuntimeError('get_step cancelled: the program is stopping')

  members = [StoppedMember({}, {}, [], 0) for _ in range(2)]
  controller = _controller(members)
  warnings = []
  monkeypatch.setattr(population.logging, 'warning', lambda *args: warnings.append(args))
  assert controller.evolve(stop_requested=lambda: True) == []
  assert not warnings
  assert controller.evolve() == []
  assert len(warnings) == 2 and 'failed' in warnings[0][0]


def test_the_controller_needs_two_members():
  with pytest.raises(ValueError, match='at least 2 members'):
    population.PopulationController([FakeMember({}, {}, [], 0)], 1, population.PbtConfig())
