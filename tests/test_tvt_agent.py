"""The RMA agent (spec sections 2 and 4): sizes, causality, the data path, the learner, and
single-process training through the core (reproducible, resumable)."""

import dataclasses
import os
import shutil
import signal
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf
import tree

from acme import specs
import environments
from agents.core import distributed
from agents.core import environment_loop
from agents.core import local
from agents.core import servers
from agents.tvt import agent as agent_lib
from agents.tvt import builder as builder_lib
from agents.tvt import config as config_lib
from agents.tvt import episodes
from agents.tvt import learning
from agents.tvt import networks
from agents.tvt import summaries


@pytest.mark.parametrize('kwargs,image_shape,count', [
    ({}, (5, 5, 3), 3_111_876),
    ({'with_memory': False}, (5, 5, 3), 2_442_537),
    ({}, (7, 11, 3), 4_278_340),
])
def test_parameter_counts_match_the_spec(kwargs, image_shape, count):
  network = networks.make_network(config_lib.TVTConfig(**kwargs), image_shape, 4)
  assert networks.count_parameters(network) == count


def _inputs(rng, steps, batch):
  return networks.RMAInputs(
      tf.constant(rng.integers(0, 256, size=(steps, batch, 5, 5, 3)), tf.uint8),
      tf.constant(rng.integers(0, 4, size=(steps, batch)), tf.int32),
      tf.constant(rng.normal(size=(steps, batch)), tf.float32))


def test_outputs_depend_only_on_the_past():
  """Changing the inputs from step 6 on leaves steps 0..5 unchanged (memory included)."""
  tf.random.set_seed(0)
  network = networks.make_network(config_lib.TVTConfig(episode_length=12), (5, 5, 3), 4)
  rng = np.random.default_rng(0)
  a, b = _inputs(rng, 12, 2), _inputs(rng, 12, 2)
  mixed = tree.map_structure(lambda x, y: tf.concat([x[:6], y[6:]], 0), a, b)
  out_a = network.unroll(a, network.initial_state(2))
  out_mixed = network.unroll(mixed, network.initial_state(2))
  np.testing.assert_allclose(out_a.value[:6], out_mixed.value[:6], atol=1e-6)
  np.testing.assert_allclose(out_a.logits[:6], out_mixed.logits[:6], atol=1e-6)
  assert np.abs(out_a.value[6:].numpy() - out_mixed.value[6:].numpy()).max() > 1e-4
  # Reads at step t only find rows written before t: the rest are the empty rows t, t+1, ...
  indices, weights = out_a.core.read_indices.numpy(), out_a.core.read_weights.numpy()
  assert indices.shape == (12, 2, 3, 50) and weights.shape == (12, 2, 3, 50)
  for t in range(12):
    written = indices[t][indices[t] < t]
    assert len(np.unique(written)) <= t
    np.testing.assert_allclose(weights[t].sum(-1), 1.0, rtol=1e-5)
  np.testing.assert_allclose(out_a.core.read_vectors[0], 0.0)  # Nothing written yet at t = 0.


def test_gradient_at_logits_and_value_is_clipped_to_10():
  x = tf.Variable([1.0, 2.0])
  with tf.GradientTape() as tape:
    y = networks.clip_gradient(x, 10.0)
    loss = tf.reduce_sum(y * tf.constant([100.0, -0.5]))
  np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
  np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [10.0, -0.5])


class _BothAdders:
  """Hands every write to both adders (Reverb's and the in-process queue's)."""

  def __init__(self, *adders):
    self._adders = adders

  def add_first(self, timestep):
    for adder in self._adders:
      adder.add_first(timestep)

  def add(self, action, next_timestep, extras=()):
    for adder in self._adders:
      adder.add(action, next_timestep, extras)

  def reset(self):
    for adder in self._adders:
      adder.reset()


@pytest.fixture(scope='module')
def episodes_both_ways():
  """Two key_to_door episodes, written by Reverb's EpisodeAdder and by the EpisodeQueue."""
  tf.random.set_seed(1)
  config = config_lib.TVTConfig(batch_size=2, last_phase_steps=15)
  builder = builder_lib.TVTBuilder(config)
  environment = distributed.make_batched_environment(
      environments.make_factory('key_to_door'), 2, 0)
  spec = specs.make_environment_spec(environment.environments[0])
  server = servers.make_local_server(builder.make_replay_tables(spec))
  client = reverb.Client(f'localhost:{server.port}')
  network = builder.make_networks(spec)
  queue = episodes.EpisodeQueue(spec, builder.extras_spec(spec), 121)
  ordered = local._OrderedAdder  # pylint: disable=protected-access
  adders = [_BothAdders(ordered(builder.make_adder(client)), queue.make_adder())
            for _ in range(2)]
  actor = builder.make_actor(network, None, adders, 0)
  loop = environment_loop.BatchedEnvironmentLoop(environment, actor,
                                                 observer_factory=builder.make_observers)
  result = loop.run(num_episodes=2)
  from_reverb = next(builder.make_dataset_iterator(client)).data
  server.stop()
  return dict(network=network, config=config, reverb=from_reverb,
              queue=queue.pop_batch(2).data, loop_result=result)


def test_episodes_arrive_whole_with_what_tvt_needs(episodes_both_ways):
  data = episodes_both_ways['reverb']
  assert data.observation.shape == (2, 121, 5, 5, 3) and data.observation.dtype == np.uint8
  assert data.action.shape == (2, 121) and data.reward.dtype == np.float32
  assert data.start_of_episode[:, 0].all() and not data.start_of_episode[:, 1:].any()
  np.testing.assert_array_equal(data.discount[:, :119], 1.0)
  np.testing.assert_array_equal(data.discount[:, 119:], 0.0)  # Last transition, final row.
  assert data.extras['read_weights'].shape == (2, 121, 3, 50)
  assert data.extras['read_indices'].dtype == np.int32
  assert data.extras['read_strengths'].shape == (2, 121, 3)
  assert data.extras['value'].shape == (2, 121) and data.extras['logits'].shape == (2, 121, 4)


def test_episode_queue_items_equal_the_reverb_episode_adder_items(episodes_both_ways):
  a, b = episodes_both_ways['reverb'], episodes_both_ways['queue']
  tree.map_structure(np.testing.assert_array_equal, a, b)


def test_batched_episode_writer_items_equal_the_reverb_episode_adder_items(episodes_both_ways):
  # The same two episodes again (same network, environment seed and actor seed), written with
  # one adder for both environments.
  builder = builder_lib.TVTBuilder(episodes_both_ways['config'])
  environment = distributed.make_batched_environment(
      environments.make_factory('key_to_door'), 2, 0)
  spec = specs.make_environment_spec(environment.environments[0])
  queue = episodes.EpisodeQueue(spec, builder.extras_spec(spec), 121)
  actor = builder.make_actor(episodes_both_ways['network'], None, queue.make_batched_adder(2), 0)
  environment_loop.BatchedEnvironmentLoop(environment, actor).run(num_episodes=2)
  assert queue.num_ready == 2
  tree.map_structure(np.testing.assert_array_equal, episodes_both_ways['reverb'],
                     queue.pop_batch(2).data)


def test_learner_unroll_reproduces_the_actors_values_and_reads(episodes_both_ways):
  config, network = episodes_both_ways['config'], episodes_both_ways['network']
  data = episodes_both_ways['reverb']
  learner = learning.TVTLearner(network, iter(()), config)
  batch = learner.prepare_batch(data)
  inputs = networks.RMAInputs(batch['observations'], learning.previous(batch['actions']),
                              learning.previous(batch['env_rewards']))
  outputs = network.unroll(inputs, network.initial_state(2))
  np.testing.assert_allclose(outputs.value.numpy().T, data.extras['value'][:, :120], atol=1e-5)
  np.testing.assert_allclose(np.swapaxes(outputs.logits.numpy(), 0, 1),
                             data.extras['logits'][:, :120], atol=1e-5)
  np.testing.assert_allclose(np.swapaxes(outputs.core.read_strengths.numpy(), 0, 1),
                             data.extras['read_strengths'][:, :120], rtol=1e-5)


def test_learner_metrics_match_the_environment(episodes_both_ways):
  config, data = episodes_both_ways['config'], episodes_both_ways['reverb']
  learner = learning.TVTLearner(episodes_both_ways['network'], iter(()), config)
  metrics = learner._episode_metrics(learner.prepare_batch(data))  # pylint: disable=protected-access
  result = episodes_both_ways['loop_result']
  assert metrics['reward'] == pytest.approx(result['episode_return'])
  assert metrics['last_phase_reward'] == pytest.approx(result['last_phase_reward'])
  assert 'tvt_events' not in metrics  # No phases configured: no diagnostics.
  # With the task's phases the learner also says where TVT rewards land, all of them.
  learner = learning.TVTLearner(episodes_both_ways['network'], iter(()), dataclasses.replace(
      config, phase_lengths=(15, 90, 15), task='key_to_door'))
  metrics = learner._episode_metrics(learner.prepare_batch(data))  # pylint: disable=protected-access
  by_phase = sum(v for k, v in metrics.items() if k.startswith('transport_') and '_to_' in k
                 and 'key' not in k)
  assert by_phase == pytest.approx(metrics['tvt_reward'], abs=1e-4)
  assert 0.0 <= metrics['key_pickup_rate'] <= 1.0 and metrics['tvt_events'] >= 0.0


def _weights(network):
  return [v.numpy().copy() for v in network.trainable_variables]


def test_learner_fits_a_fixed_batch_and_refuses_a_nan_loss(episodes_both_ways):
  """Twenty steps on the same two episodes lower the loss; a NaN reward changes nothing."""
  tf.random.set_seed(2)
  config = config_lib.TVTConfig(batch_size=2, learning_rate=1e-3)
  network = networks.make_network(config, (5, 5, 3), 4)
  data = episodes_both_ways['reverb']
  recorded = []

  class Logger:
    def write(self, values):
      recorded.append(values)

  sample = reverb.ReplaySample(info=None, data=data)
  learner = learning.TVTLearner(network, iter([sample] * 20), config, logger=Logger())
  for _ in range(20):
    learner.step()
  first, last = recorded[0], recorded[-1]
  # The reconstructions, which a fixed batch can be fitted to, improve steadily.
  assert last['recon_loss_image'] < 0.9 * first['recon_loss_image']
  assert last['recon_loss_action'] < 0.85 * first['recon_loss_action']
  assert last['total_loss'] < 0.9 * first['total_loss']
  assert set(learning.LOSS_KEYS) <= set(recorded[-1])
  assert recorded[-1]['episodes'] == 40 and recorded[-1]['env_steps'] == 40 * 120

  bad = data._replace(reward=np.where(np.arange(121) == 50, np.nan, data.reward))
  before = _weights(network)
  learner = learning.TVTLearner(network, iter([reverb.ReplaySample(None, bad)]), config)
  with pytest.raises(FloatingPointError, match='no update was applied'):
    learner.step()
  for old, new in zip(before, _weights(network)):
    np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize('kwargs,zero_terms', [
    ({'with_memory': False}, ['read_reg_strength_loss', 'tvt_reward']),
    ({'with_reconstruction': False}, ['recon_loss_image', 'recon_loss_action',
                                      'recon_loss_reward']),
])
def test_variants_without_memory_or_reconstruction_train(episodes_both_ways, kwargs,
                                                         zero_terms):
  config = config_lib.TVTConfig(batch_size=2, **kwargs)
  network = networks.make_network(config, (5, 5, 3), 4)
  data = episodes_both_ways['reverb']
  recorded = []

  class Logger:
    def write(self, values):
      recorded.append(values)

  before = _weights(network)
  learner = learning.TVTLearner(network, iter([reverb.ReplaySample(None, data)]), config,
                                logger=Logger())
  learner.step()
  for term in zero_terms:
    assert recorded[0][term] == 0.0, term
  assert np.isfinite(recorded[0]['total_loss'])
  assert any((a != b).any() for a, b in zip(before, _weights(network)))


# Seven-step episodes (2 + 3 + 2 frames) keep the single-process runs below short.
_TINY_FRAMES = {'explore': 2, 'distractor': 3, 'reward': 2}


def _train_tiny(seed, max_learner_steps, run_dir=None, in_process_queue=True):
  """Batched A2C on two seven-step key_to_door environments through the core's local path."""
  config = config_lib.TVTConfig(batch_size=2, episode_length=7, last_phase_steps=2)
  factory = environments.make_factory('key_to_door', max_frames_per_phase=_TINY_FRAMES)
  builder = builder_lib.TVTBuilder(config, run_dir)
  return local.run(builder, factory,
                   local.LocalConfig(run_dir=run_dir, num_envs=2, seed=seed,
                                     max_learner_steps=max_learner_steps),
                   make_queue=agent_lib.make_episode_queue(builder) if in_process_queue else None)


def test_single_process_runs_are_reproducible_with_either_queue():
  """Same seed, same weights, whether episodes go through the in-process queue or Reverb."""
  first = _train_tiny(0, 2)
  assert first.learner_steps == 2 and first.counts['actor_steps'] == 2 * 2 * 7
  assert not first.interrupted
  for run in (_train_tiny(0, 2), _train_tiny(0, 2, in_process_queue=False)):
    for a, b in zip(_weights(first.agent.networks), _weights(run.agent.networks)):
      np.testing.assert_array_equal(a, b)
  other = _train_tiny(1, 2)
  assert any((a != b).any() for a, b in zip(_weights(first.agent.networks),
                                            _weights(other.agent.networks)))


def test_single_process_run_resumes_from_its_checkpoints(tmp_path):
  run_dir = str(tmp_path)
  first = _train_tiny(0, 1, run_dir)
  assert os.listdir(tmp_path / 'checkpoints') and first.learner_steps == 1
  weights = _weights(first.agent.networks)
  done = _train_tiny(0, 1, run_dir)  # Its budget is reached: it only restores.
  assert done.learner_steps == 1 and done.counts['actor_steps'] == 2 * 7
  for a, b in zip(weights, _weights(done.agent.networks)):
    np.testing.assert_array_equal(a, b)
  resumed = _train_tiny(0, 3, run_dir)
  assert resumed.learner_steps == 3 and resumed.counts['actor_steps'] == 3 * 2 * 7
  records = summaries.read_json_lines(str(tmp_path / summaries.PROGRESS_FILE))
  assert [r['learner_steps'] for r in records] == [1, 2, 3]
  assert [r['episodes'] for r in records] == [2, 4, 6]
  # A run directory from before the counter was checkpointed (learner only) resumes too.
  shutil.rmtree(tmp_path / 'checkpoints' / 'counter')
  older = _train_tiny(0, 4, run_dir)
  assert older.learner_steps == 4 and older.counts['actor_steps'] == 2 * 7


def test_a_signal_asks_the_single_process_run_to_stop_and_a_later_one_interrupts():
  previous = signal.getsignal(signal.SIGINT)
  with local._StopOnSignals(repeat_s=0.5) as stop:  # pylint: disable=protected-access
    assert not stop.requested
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.requested
    os.kill(os.getpid(), signal.SIGTERM)  # A copy of the first: ignored.
    time.sleep(0.6)
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
  assert signal.getsignal(signal.SIGINT) is previous
