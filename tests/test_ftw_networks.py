"""FTW's networks: RPTH period gating, latent shapes and scales, gradient scaling, the DNC memory,
torso and embedding shapes, and the auxiliary heads (spec 8, items 1-5 and 10)."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow as tf

from agents.ftw import dnc
from agents.ftw import networks

B, INPUTS, HIDDEN, LATENT = 3, 6, 8, 4


def _rpth(period=5.0, scale=1.0, memory=None, **kwargs):
  period = tf.Variable(period, trainable=False)
  scale = tf.Variable(scale, trainable=False)
  core = networks.RPTH(period, hidden_size=HIDDEN, num_dimensions=LATENT,
                       scale_gradients_fast_to_slow=scale, shared_memory=memory, **kwargs)
  return core, period, scale


def _run(core, steps, state=None, inputs=None):
  state = core.initial_state(B) if state is None else state
  inputs = tf.ones([B, INPUTS]) if inputs is None else inputs
  outputs, states = [], []
  for _ in range(steps):
    output, state = core(inputs, state)
    outputs.append(output)
    states.append(state)
  return outputs, states


def test_the_slow_core_updates_only_every_period_steps():
  core, _, _ = _rpth(period=5.0)
  outputs, states = _run(core, 12)
  updated = [float(o.slow_core_updated[0]) for o in outputs]
  assert updated == [1.0 if t % 5 == 0 else 0.0 for t in range(12)]
  priors = [o.distribution_params[0].loc.numpy() for o in outputs]
  slow_hidden = [s.core_state.slow.hidden.numpy() for s in states]
  for t in range(1, 12):
    changed = not np.allclose(priors[t], priors[t - 1])
    assert changed == (t % 5 == 0), t
    assert (not np.allclose(slow_hidden[t], slow_hidden[t - 1])) == (t % 5 == 0), t
  assert [float(s.step[0]) for s in states] == list(range(1, 13))
  # The fast core (and the latent) changes every step.
  z = [o.z.numpy() for o in outputs]
  assert all(not np.allclose(z[t], z[t - 1]) for t in range(1, 12))


def test_changing_the_period_variable_changes_the_gating_of_a_compiled_step():
  core, period, _ = _rpth(period=5.0)
  _run(core, 1)  # Build the variables outside the compiled function.
  step = tf.function(core.__call__)
  state = core.initial_state(B)
  updates = []
  for t in range(8):
    if t == 4:
      period.assign(2.0)  # PBT changes the period; no retracing needed.
    output, state = step(tf.ones([B, INPUTS]), state)
    updates.append(float(output.slow_core_updated[0]))
  assert updates == [1, 0, 0, 0, 1, 0, 1, 0]
  assert step.experimental_get_tracing_count() == 1


def test_the_fixed_prior_kl_mask_starts_from_the_stored_step():
  core, _, _ = _rpth(period=5.0)
  _, states = _run(core, 3)  # The stored state of an unroll that starts at step 3.
  outputs, _ = _run(core, 10, state=states[-1])
  assert [float(o.slow_core_updated[0]) for o in outputs] == [
      1.0 if (3 + t) % 5 == 0 else 0.0 for t in range(10)]


def test_gradient_scale_zero_cuts_the_fast_to_slow_gradient():
  for scale, expect_gradient in ((0.0, False), (1.0, True)):
    core, _, _ = _rpth(period=1.0, scale=scale)
    _run(core, 1)  # Build the variables.
    slow_variables = core.slow.unit.trainable_variables
    with tf.GradientTape() as tape:
      outputs, _ = _run(core, 2)
      loss = tf.reduce_sum(outputs[-1].distribution_params[1].loc)  # A posterior-only loss.
    gradients = tape.gradient(loss, slow_variables)
    total = sum(float(tf.reduce_sum(tf.abs(g))) for g in gradients if g is not None)
    assert (total > 0) == expect_gradient, (scale, total)


def test_latent_scale_starts_at_init_scale_and_can_be_fixed():
  core, _, _ = _rpth(init_scale=0.1)
  outputs, _ = _run(core, 3)
  for output in outputs:
    for params in output.distribution_params:
      np.testing.assert_allclose(params.scale.numpy(), 0.1, rtol=0.02)
      assert params.loc.shape == (B, LATENT)
    assert output.z.shape == (B, LATENT)
  fixed, _, _ = _rpth(init_scale=0.3, fixed_scale=True)
  outputs, _ = _run(fixed, 2, inputs=tf.random.normal([B, INPUTS]) * 10)
  np.testing.assert_allclose(outputs[-1].distribution_params[1].scale.numpy(), 0.3)


def test_allocation_prefers_the_least_used_slots():
  usage = tf.constant([[0.5, 0.1, 0.9]])
  allocation = dnc.allocation_weights(usage).numpy()[0]
  # Ascending usage 0.1, 0.5, 0.9: a = (1 - 0.1), (1 - 0.5) 0.1, (1 - 0.9) 0.1 0.5.
  np.testing.assert_allclose(allocation, [0.05, 0.9, 0.005], atol=1e-5)


def test_content_weights_find_the_matching_word():
  memory = tf.constant([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
  weights = dnc.cosine_weights(memory, tf.constant([[[0.0, 2.0, 0.0]]]), tf.constant([[50.0]]))
  np.testing.assert_allclose(weights.numpy()[0, 0], [0.0, 1.0, 0.0], atol=1e-6)


def test_temporal_links_record_the_write_order():
  linkage = dnc.TemporalLinkageState(tf.zeros([1, 1, 3, 3]), tf.zeros([1, 1, 3]))
  linkage = dnc.updated_linkage(linkage, tf.constant([[[1.0, 0.0, 0.0]]]))  # Write slot 0,
  linkage = dnc.updated_linkage(linkage, tf.constant([[[0.0, 1.0, 0.0]]]))  # then slot 1.
  link = linkage.link.numpy()[0, 0]
  assert link[1, 0] == pytest.approx(1.0)  # L[i, j]: slot i was written right after slot j.
  assert np.count_nonzero(link) == 1
  forward = dnc.directional_read_weights(linkage.link, tf.constant([[[1.0, 0.0, 0.0]]]),
                                         forward=True)
  np.testing.assert_allclose(forward.numpy()[0, 0, 0], [0.0, 1.0, 0.0])


def _set_interface(access: dnc.MemoryAccess, word: np.ndarray):
  """Zero weights and chosen biases: write `word` (allocated, no erase), read it by content."""
  biases = {'write_vectors': word, 'write_keys': word, 'read_keys': word,
            'write_gates': [20.0], 'allocation_gates': [20.0], 'erase_vectors': [-20.0] * 3,
            'free_gates': [-20.0], 'read_strengths': [30.0], 'write_strengths': [1.0],
            'read_modes': [-20.0, -20.0, 20.0]}  # Backward, forward, content.
  for name, layer in access._layers.items():  # pylint: disable=protected-access
    layer.w.assign(tf.zeros_like(layer.w))
    layer.b.assign(np.asarray(biases[name], np.float32))


def test_memory_access_writes_a_word_and_reads_it_back():
  access = dnc.MemoryAccess(memory_size=5, word_size=3, num_reads=1, num_writes=1)
  state = access.initial_state(2)
  access(tf.zeros([2, 7]), state)  # Build the layers.
  word = np.array([0.3, -1.0, 2.0], np.float32)
  _set_interface(access, word)
  read_words, state = access(tf.zeros([2, 7]), state)
  memory = state.memory.numpy()
  written = np.argmax(state.write_weights.numpy()[0, 0])
  np.testing.assert_allclose(memory[0, written], word, atol=1e-3)
  assert np.allclose(np.delete(memory[0], written, axis=0), 0.0, atol=1e-3)
  np.testing.assert_allclose(read_words.numpy()[:, 0], [word, word], atol=1e-2)
  assert state.usage.numpy()[0].sum() == pytest.approx(0.0, abs=1e-6)  # Usage lags a step.
  _, state = access(tf.zeros([2, 7]), state)
  assert state.usage.numpy()[0, written] > 0.99


def test_rpth_with_a_shared_memory_threads_one_memory_through_both_units():
  memory = dnc.MemoryAccess(memory_size=6, word_size=4, num_reads=2)
  core, _, _ = _rpth(period=2.0, memory=memory)
  outputs, states = _run(core, 4)
  assert outputs[-1].z.shape == (B, LATENT)
  access = states[-1].core_state.memory
  assert access.memory.shape == (B, 6, 4) and access.linkage.link.shape == (B, 1, 6, 6)
  assert not np.allclose(access.memory.numpy(), 0.0)
  read_words = states[-1].core_state.fast[1]
  assert read_words.shape == (B, 2, 4)


def _oar(batch, shape=(11, 11, 3), num_events=13):
  reward_shape = [batch, num_events] if num_events else [batch]
  return networks.OAR(tf.zeros((batch,) + shape, tf.uint8), tf.zeros([batch], tf.int32),
                      tf.zeros(reward_shape))


def test_the_policy_network_and_its_unroll_have_the_documented_shapes():
  from hyperparameters import internal_rewards  # pylint: disable=g-import-not-at-top
  rewards = internal_rewards.InternalRewards(13, 0.5)
  torso = networks.FtwTorso(((8, 3, 1), (8, 3, 2)), ((8, 3, 1),), hidden_size=16)
  embed = networks.OAREmbedding(torso, 8, rewards)
  assert embed(_oar(2)).shape == (2, 16 + 8 + 1)
  core, _, _ = _rpth()
  network = networks.FtwNetwork(embed, core, num_actions=8, head_hidden_size=16)
  (logits, value, core_output), _ = network(_oar(B), network.initial_state(B))
  assert logits.shape == (B, 8) and value.shape == (B,) and core_output.z.shape == (B, LATENT)
  sequence = tf.nest.map_structure(lambda x: tf.stack([x] * 5), _oar(B))
  (logits, values, outputs), _ = network.unroll(sequence, network.initial_state(B))
  assert logits.shape == (5, B, 8) and values.shape == (5, B)
  assert outputs.slow_core_updated.shape == (5, B)
  # The reward-weights variable travels with the policy's variables (to the actors).
  assert any(v is rewards.variable for v in network.variables)


def test_uint8_pixels_are_scaled_before_the_torso():
  torso = networks.FtwTorso(((4, 3, 1),), (), hidden_size=5)
  pixels = np.random.default_rng(0).integers(0, 256, (2, 6, 6, 3)).astype(np.uint8)
  np.testing.assert_allclose(torso(tf.constant(pixels)).numpy(),
                             torso(tf.constant(pixels / 255.0, tf.float32)).numpy(), atol=1e-5)


def test_pixel_control_heads_cover_the_cell_grid():
  head = networks.PixelControl(num_actions=8, output_shape=(20, 20))
  assert head(tf.zeros([3, LATENT])).shape == (3, 20, 20, 8)  # 84x84 views, 4x4 cells.
  head = networks.PixelControl(num_actions=8, output_shape=(11, 11))
  assert head(tf.zeros([3, LATENT])).shape == (3, 11, 11, 8)  # 11x11 views, 1x1 cells.
  assert networks.pixel_control_grid((84, 84, 3), 4, 2) == (20, 20)
  # A side that is not a whole number of cells loses its remainder, the smaller half on top.
  assert networks.pixel_control_crop((11, 11, 3), 4, 0) == ((1, 2), (1, 2))
  assert networks.pixel_control_grid((11, 13, 3), 4, 0) == (2, 3)
  assert networks.pixel_control_crop((11, 13, 3), 4, 1) == ((1, 2), (2, 3))
  with pytest.raises(ValueError, match='holds no 4x4 cell'):
    networks.pixel_control_grid((5, 11, 3), 4, 1)
  core, _, _ = _rpth()
  embed = networks.OAREmbedding(networks.FtwTorso(((4, 3, 1),), (), 6), 8, None)
  pc = networks.RNNPixelControlNetwork(embed, networks.RPTHZWrapper(core), 8, (11, 11))
  sequence = tf.nest.map_structure(lambda x: tf.stack([x] * 4), _oar(2, num_events=0))
  q_values, _ = pc.unroll(sequence, pc.initial_state(2))
  assert q_values.shape == (4, 2, 11, 11, 8)
  with pytest.raises(ValueError, match='RPTH core'):
    networks.RPTHZWrapper(snt.LSTM(4))


@pytest.mark.parametrize('grid', [(11, 11), (20, 20)])
def test_the_fused_dueling_head_gives_the_q_values_and_gradients_of_the_two_deconvolutions(grid):
  """Q = V + A - mean(A) taken inside one deconvolution: the same Q values and gradients for
  the same variables (value and advantage kernels and biases) as the head before."""
  fused = networks.PixelControl(num_actions=5, output_shape=grid)
  features = tf.random.stateless_normal([7, LATENT], seed=[1, 2])
  fused(features)
  plain = networks.PixelControl(num_actions=5, output_shape=grid, fused_dueling=False)
  plain(features)
  for target, source in zip(plain.variables, fused.variables):
    target.assign(source + tf.random.stateless_normal(source.shape, seed=[3, 4]) * 0.1)
    source.assign(target)  # Non-zero biases too, so that every term of Q is exercised.
  assert [v.name for v in fused.trainable_variables] == [
      v.name for v in plain.trainable_variables]
  weights = tf.random.stateless_normal([7, *grid, 5], seed=[5, 6])
  results = []
  for head in (fused, plain):
    with tf.GradientTape() as tape:
      q_values = head(features)
      loss = tf.reduce_sum(weights * q_values)
    results.append((q_values, tape.gradient(loss, head.trainable_variables)))
  (fused_q, fused_grads), (plain_q, plain_grads) = results
  np.testing.assert_allclose(fused_q, plain_q, rtol=1e-5, atol=1e-5)
  assert float(tf.math.reduce_std(plain_q)) > 0.1
  for fused_grad, plain_grad in zip(fused_grads, plain_grads):
    np.testing.assert_allclose(fused_grad, plain_grad, rtol=1e-4, atol=1e-4)


def test_reward_prediction_classifies_three_frames():
  network = networks.RewardPredictionNetwork(networks.FtwTorso(((4, 3, 1),), (), 6))
  assert network(tf.zeros([5, 3, 11, 11, 3], tf.uint8)).shape == (5, 3)


def test_an_oar_embedding_cannot_be_wrapped_twice():
  embed = networks.OAREmbedding(networks.FtwTorso(((4, 3, 1),), (), 6), 8, None)
  with pytest.raises(ValueError, match='must not already be an OAREmbedding'):
    networks.OAREmbedding(embed, 8, None)
