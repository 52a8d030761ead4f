"""The RMA's external memory (spec 2.5): writes, top-k content reads, and the compact storage."""

import numpy as np
import tensorflow as tf

from agents.tvt import memory


def test_write_puts_the_latent_in_the_counter_row_without_gradient():
  mem = tf.zeros([2, 4, 3])
  latent = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
  with tf.GradientTape() as tape:
    new, counter = memory.write(mem, tf.constant([0, 2]), latent)
    total = tf.reduce_sum(new)
  assert new.shape == (2, 4, 3) and counter.numpy().tolist() == [1, 3]
  np.testing.assert_array_equal(new.numpy()[0], [[1, 2, 3], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
  np.testing.assert_array_equal(new.numpy()[1], [[0, 0, 0], [0, 0, 0], [4, 5, 6], [0, 0, 0]])
  assert tape.gradient(total, latent) is None  # Writes are gradient-stopped.
  wrapped, _ = memory.write(new, tf.constant([4, 5]), latent)  # Row = counter mod rows.
  np.testing.assert_array_equal(wrapped.numpy()[0, 0], [1, 2, 3])
  np.testing.assert_array_equal(wrapped.numpy()[1, 1], [4, 5, 6])


def test_read_weights_are_a_softmax_over_the_top_k_scores_by_hand():
  # Rows: e1, e2, -e1, 2 e1 + 2 e2 (cosine with key e1: 1, 0, -1, 1/sqrt 2). Strength 3.
  rows = np.array([[1, 0], [0, 1], [-1, 0], [2, 2]], np.float32)
  result = memory.read(tf.constant(rows[None]), tf.constant([[[1.0, 0.0]]]),
                       tf.constant([[3.0]]), top_k=2)
  assert result.read_vectors.shape == (1, 1, 2) and result.weights.shape == (1, 1, 2)
  assert result.indices.dtype == tf.int32
  assert sorted(result.indices.numpy()[0, 0].tolist()) == [0, 3]  # The two most similar rows.
  scores = np.array([3.0, 3.0 / np.sqrt(2.0)])
  weights = np.exp(scores) / np.exp(scores).sum()
  order = np.argsort(result.indices.numpy()[0, 0])
  np.testing.assert_allclose(result.weights.numpy()[0, 0][order], weights, rtol=1e-5)
  # The read is the weighted sum of the raw (not normalised) rows.
  np.testing.assert_allclose(result.read_vectors.numpy()[0, 0],
                             weights[0] * rows[0] + weights[1] * rows[3], rtol=1e-5)


def test_read_gradient_reaches_keys_and_strengths_but_not_memory():
  mem = tf.Variable(np.random.default_rng(0).normal(size=(2, 6, 4)).astype(np.float32))
  keys = tf.Variable(np.ones((2, 3, 4), np.float32))
  strengths = tf.Variable(np.full((2, 3), 2.0, np.float32))
  with tf.GradientTape() as tape:
    result = memory.read(mem, keys, strengths, top_k=3)
    total = tf.reduce_sum(result.read_vectors ** 2)
  grad_mem, grad_keys, grad_strengths = tape.gradient(total, [mem, keys, strengths])
  assert grad_mem is None
  assert np.abs(grad_keys.numpy()).sum() > 0 and np.abs(grad_strengths.numpy()).sum() > 0


def test_compact_memory_reads_exactly_what_the_full_1000_row_memory_reads():
  """Stored rows + virtual empty rows == the release's 1000 rows, half of them never written."""
  rng = np.random.default_rng(1)
  batch, heads, width, written, stored, top_k = 3, 3, 8, 40, 121, 50
  full = np.zeros((batch, 1000, width), np.float32)
  full[:, :written] = rng.normal(size=(batch, written, width))
  keys = tf.constant(rng.normal(size=(batch, heads, width)), tf.float32)
  strengths = tf.constant(rng.uniform(0.5, 8.0, size=(batch, heads)), tf.float32)
  reference = memory.read(tf.constant(full), keys, strengths, top_k)
  compact = memory.read(tf.constant(full[:, :stored]), keys, strengths, top_k,
                        memory.virtual_empty_rows(1000, stored, top_k))
  np.testing.assert_allclose(compact.read_vectors.numpy(), reference.read_vectors.numpy(),
                             atol=1e-6)
  np.testing.assert_allclose(compact.weights.numpy(), reference.weights.numpy(), atol=1e-7)
  # The written rows read are the same; empty rows report indices >= the rows written.
  for c, r in zip(compact.indices.numpy().reshape(-1, top_k),
                  reference.indices.numpy().reshape(-1, top_k)):
    assert set(c[c < written]) == set(r[r < written])
    assert ((c >= written) == (r >= written)).all()
  assert memory.virtual_empty_rows(1000, 121, 50) == 50
  assert memory.virtual_empty_rows(60, 40, 50) == 20
  assert memory.virtual_empty_rows(121, 121, 50) == 0
