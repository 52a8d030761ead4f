"""The RMA's external memory (spec 2.5): content-based top-k reads, one gradient-stopped write a step.

Memory size and stored rows. The release's memory has 1000 rows, but an episode writes only one
row per step (120 + 1 for pycolab), and a row never written is all zeros: its cosine similarity
to any key is 0 and reading it adds nothing. So the memory here stores only the rows an episode
can write (`stored_rows`); the other `memory_size - stored_rows` rows are stood in for by
`virtual_empty_rows` extra candidates of score 0 in the top-k. The reads, read weights and
read indices (empty rows report indices >= stored_rows, i.e. "not yet written") are then those of
the full-size memory, at a fraction of the cost. Row index == write time as long as an episode
fits the stored rows, which is what TVT relies on.
"""

from typing import NamedTuple, Optional

import tensorflow as tf


class ReadResult(NamedTuple):
  read_vectors: tf.Tensor  # [B, H, D]: per head, the weighted sum of the rows read.
  weights: tf.Tensor  # [B, H, K]: softmax over the top-k scores.
  indices: tf.Tensor  # [B, H, K] int32: the rows read (= their write times).


def virtual_empty_rows(memory_size: int, stored_rows: int, top_k: int) -> int:
  """How many never-written rows beyond the stored ones the top-k could pick."""
  return max(0, min(top_k, memory_size - stored_rows))


def normalise(rows: tf.Tensor) -> tf.Tensor:
  """Rows scaled to unit length (zero rows stay zero): what the cosine similarity compares."""
  return tf.math.l2_normalize(rows, axis=-1, epsilon=1e-12)


def read(memory: tf.Tensor, keys: tf.Tensor, strengths: tf.Tensor, top_k: int,
         num_virtual_empty_rows: int = 0,
         normalised_memory: Optional[tf.Tensor] = None) -> ReadResult:
  """Reads `memory` [B, R, D] with `keys` [B, H, D] and `strengths` [B, H] (spec 2.5, steps 2-5).

  Scores are strength times the cosine similarity of key and row; the top_k rows by score get
  softmax weights, the others 0. Gradients flow into keys and strengths, not into the memory
  (whose rows are written gradient-stopped anyway). `normalised_memory`, if given, is
  `normalise(memory)` kept up to date by the caller (normalising every row at every read cost
  the learner more than the rest of the read).
  """
  stored_rows = memory.shape[1]
  # Memory rows hold gradient-stopped latents: cut the memory out of the backward pass here, so
  # the learner does not carry a useless [B, R, D] gradient back through every step.
  memory = tf.stop_gradient(memory)
  normalised_keys = normalise(keys)
  normalised_rows = tf.stop_gradient(
      normalise(memory) if normalised_memory is None else normalised_memory)
  similarity = tf.matmul(normalised_keys, normalised_rows, transpose_b=True)  # [B, H, R]
  scores = strengths[:, :, None] * similarity
  if num_virtual_empty_rows:
    scores = tf.pad(scores, [[0, 0], [0, 0], [0, num_virtual_empty_rows]])
  top_scores, indices = tf.math.top_k(scores, k=top_k)
  weights = tf.nn.softmax(top_scores, axis=-1)
  stored = tf.cast(indices < stored_rows, weights.dtype)  # Virtual rows hold zeros.
  rows = tf.gather(memory, tf.minimum(indices, stored_rows - 1), batch_dims=1)  # [B, H, K, D]
  read_vectors = tf.squeeze(tf.matmul((weights * stored)[:, :, None, :], rows), 2)  # [B, H, D]
  return ReadResult(read_vectors, weights, indices)


def write(memory: tf.Tensor, counter: tf.Tensor, latent: tf.Tensor):
  """Overwrites row `counter mod R` of each memory with stop_gradient(latent); counter + 1.

  memory [B, R, D], counter [B] int32, latent [B, D]. Returns (new memory, new counter).
  """
  stored_rows = memory.shape[1]
  rows = tf.stack([tf.range(tf.shape(counter)[0], dtype=counter.dtype), counter % stored_rows],
                  axis=1)
  memory = tf.tensor_scatter_nd_update(memory, rows, tf.stop_gradient(latent))
  return memory, counter + 1
