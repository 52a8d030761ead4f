"""The original package's helpers (spec 2.5): tables, datasets, adders, hyperparameters, rewards.

Names, positional parameters and defaults follow `ftw.agents.tf.ftw.utils` (spec 2.5), so the
original's calls work unchanged. Keyword-only arguments beyond the original's: the shapes of the
table signatures (without them tables have none, and the datasets take the shapes from their
own arguments instead), a `table_suffix` so that one Reverb server holds the tables of a whole
population, and random generators.
"""

import collections
from typing import Optional, Sequence, Tuple

from acme import specs
import numpy as np
import reverb

from agents.core import datasets as core_datasets
from agents.ftw import adders as ftw_adders
from hyperparameters import base as hyper_base
from hyperparameters import internal_rewards as internal_rewards_lib

QUEUE = 'queue'
PIXEL_CONTROL = 'uniform_replay_buffer_pixel_control'
NONZERO_REWARD_PREDICTION = 'replay_buffer_nonzero_reward_prediction'
ZERO_REWARD_PREDICTION = 'replay_buffer_zero_reward_prediction'

TableNames = collections.namedtuple('TableNames', ['queue', 'pixel_control', 'nonzero_reward',
                                                   'zero_reward'])


def table_names(suffix: str = '') -> TableNames:
  return TableNames(QUEUE + suffix, PIXEL_CONTROL + suffix, NONZERO_REWARD_PREDICTION + suffix,
                    ZERO_REWARD_PREDICTION + suffix)


def create_reverb_tables(batch_size: int, max_queue_size: int, use_pixel_control: bool = False,
                         use_reward_prediction: bool = False,
                         max_pixel_control_buffer_size: int = 100,
                         max_reward_pred_buffer_size: int = 800, *,
                         environment_spec: Optional[specs.EnvironmentSpec] = None,
                         extras_spec=None, sequence_length: Optional[int] = None,
                         reward_prediction_sequence_length: int = 3, table_suffix: str = ''):
  """(tables, can_sample_queue, can_sample_auxiliary) with the sizes and limiters of spec 5.1.

  The queue hands each unroll to the learner exactly once (writers wait when it is full); the
  pixel-control replay keeps the last unrolls for uniform sampling; the two reward-prediction
  replays keep recent windows with and without events. The `can_sample` functions read the
  in-process tables (learners ask their datasets instead: `ReverbBatchIterator.ready`).
  With `environment_spec`, `extras_spec` and `sequence_length` the tables get signatures
  (the unroll tables need all three); without, none, as the original's.
  """
  names = table_names(table_suffix)
  sequence_signature = window_signature = None
  if environment_spec is not None:
    window_signature = ftw_adders.RewardWindowAdder.signature(
        environment_spec, reward_prediction_sequence_length)
    if extras_spec is not None and sequence_length is not None:
      sequence_signature = ftw_adders.FirstStateSequenceAdder.signature(
          environment_spec, extras_spec, sequence_length)
  tables = [reverb.Table.queue(names.queue, max_queue_size, signature=sequence_signature)]
  if use_pixel_control:
    tables.append(reverb.Table(
        names.pixel_control, sampler=reverb.selectors.Uniform(), remover=reverb.selectors.Fifo(),
        max_size=max_pixel_control_buffer_size, rate_limiter=reverb.rate_limiters.MinSize(
            batch_size), signature=sequence_signature))
  if use_reward_prediction:
    for name in (names.nonzero_reward, names.zero_reward):
      tables.append(reverb.Table(
          name, sampler=reverb.selectors.Uniform(), remover=reverb.selectors.Fifo(),
          max_size=max_reward_pred_buffer_size,
          rate_limiter=reverb.rate_limiters.MinSize(max(1, batch_size // 2)),
          signature=window_signature))
  by_name = {t.name: t for t in tables}
  needs = auxiliary_requirements(batch_size, use_pixel_control, use_reward_prediction,
                                 table_suffix)

  def can_sample_queue() -> bool:
    return by_name[names.queue].can_sample(batch_size)

  def can_sample_auxiliary() -> bool:
    return bool(needs) and all(by_name[n].can_sample(k) for n, k in needs.items())

  return tables, can_sample_queue, can_sample_auxiliary


def auxiliary_requirements(batch_size: int, use_pixel_control: bool, use_reward_prediction: bool,
                           table_suffix: str = ''):
  """{table: items it must hold} before the auxiliary tasks can run (both RP tables: fix D3)."""
  names = table_names(table_suffix)
  needs = {}
  if use_pixel_control:
    needs[names.pixel_control] = batch_size
  if use_reward_prediction:
    needs[names.nonzero_reward] = batch_size // 2
    needs[names.zero_reward] = batch_size // 2
  return needs


def inserted_items(table_or_client, table: str, timeout_s: int = 5) -> Optional[int]:
  """Items ever inserted into `table` (None if the server did not answer).

  Learners schedule their steps on this count rather than on whether the table can be sampled
  now, because their datasets prefetch items out of the queue at unpredictable times.
  """
  if isinstance(table_or_client, reverb.Table):
    info = table_or_client.info
  else:
    try:
      info = table_or_client.server_info(timeout=max(1, int(timeout_s)))[table]
    except Exception:  # pylint: disable=broad-except
      return None
  return info.rate_limiter_info.insert_stats.completed


def create_datasets(learner_client, environment_spec: specs.EnvironmentSpec, batch_size: int,
                    sequence_length: int, extra_spec=None, use_pixel_control: bool = False,
                    use_reward_prediction: bool = False,
                    reward_prediction_sequence_length: int = 3, *, table_suffix: str = ''):
  """(queue, pixel control, nonzero RP, zero RP) batch iterators; None for disabled tasks.

  Each is an `agents.core.datasets.ReverbBatchIterator` yielding numpy batches [B, ...] (B / 2
  for the reward-prediction tables), the queue's in FIFO order and losslessly, and each says
  whether it can give a batch now (`ready()`). An item's structure is its table's signature;
  for tables without one (the original's), the one `environment_spec`, `sequence_length` and
  `extra_spec` (logits and core state, without batch axes) give.
  """
  address = getattr(learner_client, 'server_address', learner_client)
  names = table_names(table_suffix)
  sequence_signature = window_signature = None
  if environment_spec is not None:
    window_signature = ftw_adders.RewardWindowAdder.signature(
        environment_spec, reward_prediction_sequence_length)
    if extra_spec is not None:
      sequence_signature = ftw_adders.FirstStateSequenceAdder.signature(
          environment_spec, extra_spec, sequence_length)

  def iterator(table, size, signature):
    return core_datasets.ReverbBatchIterator(address, table, size, signature=signature)

  queue = iterator(names.queue, batch_size, sequence_signature)
  pixel_control = (iterator(names.pixel_control, batch_size, sequence_signature)
                   if use_pixel_control else None)
  nonzero = zero = None
  if use_reward_prediction:
    nonzero = iterator(names.nonzero_reward, batch_size // 2, window_signature)
    zero = iterator(names.zero_reward, batch_size // 2, window_signature)
  return queue, pixel_control, nonzero, zero


def create_adders(server_address, sequence_length: int, use_pixel_control: bool = False,
                  use_reward_prediction: bool = False, reward_prediction_sequence_length: int = 3,
                  reward_prediction_sequence_period: int = 1, pad_end_of_episode: bool = False,
                  delta_encoded: bool = True, *, table_suffix: str = ''):
  """(unroll adder, reward-prediction adder or None) writing to the tables of `table_suffix`.

  `server_address` may also be a `reverb.Client`. No transition is dropped at an episode's end:
  the rows after the last full unroll are written as the episode's last `sequence_length` rows
  or, with `pad_end_of_episode` (and for episodes shorter than one unroll), followed by padding
  rows that the learner leaves out (see `adders.FirstStateSequenceAdder`). Reverb's trajectory
  writer chooses its own chunk encoding, so `delta_encoded` has no effect.
  """
  del delta_encoded
  client = (server_address if isinstance(server_address, reverb.Client)
            else reverb.Client(server_address))
  names = table_names(table_suffix)
  priority_fns = {names.queue: None}
  if use_pixel_control:
    priority_fns[names.pixel_control] = None
  adder = ftw_adders.FirstStateSequenceAdder(client, sequence_length, priority_fns,
                                             pad_end_of_episode=pad_end_of_episode)
  rp_adder = None
  if use_reward_prediction:
    rp_adder = ftw_adders.RewardWindowAdder(client, names.nonzero_reward, names.zero_reward,
                                            reward_prediction_sequence_length,
                                            zero_period=reward_prediction_sequence_period)
  return adder, rp_adder


def initialize_hypers(slow_core_period_min_max: Tuple[int, int] = (5, 20),
                      slow_core_period_init_value: Optional[int] = None,
                      learning_rate=(1e-5, 5e-3), entropy_cost=(5e-4, 1e-2),
                      reward_prediction_cost=(0.1, 1.0), pixel_control_cost=(0.01, 0.1),
                      kld_prior_fixed_cost=(1e-4, 0.1), kld_prior_posterior_cost=(1e-3, 1.0),
                      scale_grads_fast_to_slow=(0.1, 1.0), *,
                      perturb_probability: float = 1.0, perturb_max_pct_change: float = 0.20,
                      rng: Optional[np.random.Generator] = None):
  """The evolved hyperparameters: the slow-core period under key 'period', floats by name."""
  rng = rng if rng is not None else np.random.default_rng()
  hypers = {'period': hyper_base.IntHyperparameter(
      *slow_core_period_min_max, initial_value=slow_core_period_init_value,
      perturb_probability=perturb_probability, name='slow_core_period', rng=rng)}
  floats = dict(learning_rate=learning_rate, entropy_cost=entropy_cost,
                reward_prediction_cost=reward_prediction_cost,
                pixel_control_cost=pixel_control_cost, kld_prior_fixed_cost=kld_prior_fixed_cost,
                kld_prior_posterior_cost=kld_prior_posterior_cost,
                scale_grads_fast_to_slow=scale_grads_fast_to_slow)
  for name, value in floats.items():
    hypers[name] = hyper_base.FloatHyperparameter(
        value, perturb_probability=perturb_probability,
        perturb_max_pct_change=perturb_max_pct_change, name=name, rng=rng)
  return hypers


def initialize_internal_rewards(num_events: int = 1, init_value_or_range=(0.1, 1.0), *,
                                scales: Optional[Sequence[float]] = None,
                                initial_weights: Optional[Sequence[float]] = None,
                                perturb_probability: float = 1.0,
                                perturb_max_pct_change: float = 0.20,
                                rng: Optional[np.random.Generator] = None):
  """The internal-reward weights, one per environment event."""
  return internal_rewards_lib.InternalRewards(
      num_events, init_value_or_range, perturb_probability=perturb_probability,
      perturb_max_pct_change=perturb_max_pct_change, scales=scales,
      initial_weights=initial_weights, rng=rng)
