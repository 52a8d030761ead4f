"""Differentiable Neural Computer memory access (Graves et al. 2016) in TF2 / Sonnet 2 (spec 3.5).

`MemoryAccess` holds N words of width W, reads with R heads and writes with one (or more) heads:
content addressing by cosine similarity, dynamic allocation from usage, and temporal links for
forward/backward reads. `DNCWrapper` puts an LSTM controller in front of a (possibly shared)
memory; FTW's RPTH core threads one memory state through its slow and fast units.
"""

import collections
from typing import Optional

import sonnet as snt
import tensorflow as tf

EPSILON = 1e-6

TemporalLinkageState = collections.namedtuple('TemporalLinkageState',
                                              ['link', 'precedence_weights'])
AccessState = collections.namedtuple(
    'AccessState', ['memory', 'read_weights', 'write_weights', 'linkage', 'usage'])


def cosine_weights(memory: tf.Tensor, keys: tf.Tensor, strengths: tf.Tensor) -> tf.Tensor:
  """softmax_i(strength * cos(memory_i, key)) for each key: [B, N, W], [B, H, W], [B, H] -> [B, H, N]."""
  dot = tf.matmul(keys, memory, adjoint_b=True)
  memory_norm = tf.norm(memory + EPSILON, axis=-1)  # [B, N]
  key_norm = tf.norm(keys + EPSILON, axis=-1)  # [B, H]
  similarity = dot / (key_norm[:, :, None] * memory_norm[:, None, :] + EPSILON)
  return tf.nn.softmax(similarity * strengths[:, :, None], axis=-1)


def allocation_weights(usage: tf.Tensor) -> tf.Tensor:
  """a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], phi sorting the usage ascending: [B, N]."""
  usage = EPSILON + (1 - EPSILON) * usage
  nonusage = 1 - usage
  sorted_nonusage, indices = tf.nn.top_k(nonusage, k=usage.shape[-1])
  sorted_usage = 1 - sorted_nonusage
  product = tf.math.cumprod(sorted_usage, axis=-1, exclusive=True)
  sorted_allocation = sorted_nonusage * product
  inverse = tf.argsort(indices, axis=-1)  # The inverse permutation of each row.
  return tf.gather(sorted_allocation, inverse, batch_dims=1)


def updated_usage(usage, write_weights, free_gates, read_weights):
  """u <- (u + w - u w) prod_r (1 - f_r w^r): usage after last step's writes, minus freed slots.

  write_weights [B, Wn, N] and read_weights [B, R, N] are the previous step's; free_gates [B, R].
  """
  write = 1 - tf.reduce_prod(1 - write_weights, axis=1)
  usage = usage + (1 - usage) * write
  retention = tf.reduce_prod(1 - free_gates[:, :, None] * read_weights, axis=1)
  return usage * retention


def updated_linkage(linkage: TemporalLinkageState, write_weights: tf.Tensor) -> TemporalLinkageState:
  """L[i,j] <- (1 - w_i - w_j) L[i,j] + w_i p_j with a zero diagonal; p <- (1 - sum w) p + w."""
  w_i = write_weights[:, :, :, None]
  w_j = write_weights[:, :, None, :]
  p_j = linkage.precedence_weights[:, :, None, :]
  link = (1 - w_i - w_j) * linkage.link + w_i * p_j
  link = tf.linalg.set_diag(link, tf.zeros_like(write_weights))
  precedence = ((1 - tf.reduce_sum(write_weights, axis=2, keepdims=True)) *
                linkage.precedence_weights + write_weights)
  return TemporalLinkageState(link, precedence)


def directional_read_weights(link: tf.Tensor, read_weights: tf.Tensor, forward: bool):
  """Forward (L w) or backward (L^T w) weights of every read head for every write head.

  link [B, Wn, N, N], read_weights [B, R, N] -> [B, R, Wn, N].
  """
  expanded = tf.stack([read_weights] * link.shape[1], axis=1)  # [B, Wn, R, N]
  result = tf.matmul(expanded, link, adjoint_b=forward)
  return tf.transpose(result, [0, 2, 1, 3])


class MemoryAccess(snt.RNNCore):
  """Reads and writes an external memory from a controller output.

  `__call__(controller_output [B, D], state)` returns the read words [B, R, W] and the new
  `AccessState`; `output_size` is [R, W].
  """

  def __init__(self, memory_size: int = 128, word_size: int = 20, num_reads: int = 1,
               num_writes: int = 1, name: str = 'memory_access'):
    super().__init__(name=name)
    self._memory_size = memory_size
    self._word_size = word_size
    self._num_reads = num_reads
    self._num_writes = num_writes
    w, r, wn = word_size, num_reads, num_writes
    self._layers = {
        'read_keys': snt.Linear(r * w, name='read_keys'),
        'read_strengths': snt.Linear(r, name='read_strengths'),
        'write_keys': snt.Linear(wn * w, name='write_keys'),
        'write_strengths': snt.Linear(wn, name='write_strengths'),
        'erase_vectors': snt.Linear(wn * w, name='erase_vectors'),
        'write_vectors': snt.Linear(wn * w, name='write_vectors'),
        'free_gates': snt.Linear(r, name='free_gates'),
        'allocation_gates': snt.Linear(wn, name='allocation_gates'),
        'write_gates': snt.Linear(wn, name='write_gates'),
        'read_modes': snt.Linear(r * (1 + 2 * wn), name='read_modes'),
    }

  @property
  def output_size(self):
    return tf.TensorShape([self._num_reads, self._word_size])

  @property
  def state_size(self):
    n, r, wn, w = self._memory_size, self._num_reads, self._num_writes, self._word_size
    return AccessState(memory=tf.TensorShape([n, w]), read_weights=tf.TensorShape([r, n]),
                       write_weights=tf.TensorShape([wn, n]),
                       linkage=TemporalLinkageState(tf.TensorShape([wn, n, n]),
                                                    tf.TensorShape([wn, n])),
                       usage=tf.TensorShape([n]))

  def initial_state(self, batch_size: int, dtype=tf.float32) -> AccessState:
    return tf.nest.map_structure(lambda s: tf.zeros([batch_size] + s.as_list(), dtype),
                                 self.state_size)

  def _interface(self, inputs: tf.Tensor):
    b = tf.shape(inputs)[0]
    r, wn, w = self._num_reads, self._num_writes, self._word_size
    out = {k: layer(inputs) for k, layer in self._layers.items()}
    return {
        'read_keys': tf.reshape(out['read_keys'], [b, r, w]),
        'read_strengths': tf.nn.softplus(out['read_strengths']),
        'write_keys': tf.reshape(out['write_keys'], [b, wn, w]),
        'write_strengths': tf.nn.softplus(out['write_strengths']),
        'erase_vectors': tf.sigmoid(tf.reshape(out['erase_vectors'], [b, wn, w])),
        'write_vectors': tf.reshape(out['write_vectors'], [b, wn, w]),
        'free_gates': tf.sigmoid(out['free_gates']),
        'allocation_gates': tf.sigmoid(out['allocation_gates']),
        'write_gates': tf.sigmoid(out['write_gates']),
        'read_modes': tf.nn.softmax(tf.reshape(out['read_modes'], [b, r, 1 + 2 * wn]), -1),
    }

  def __call__(self, inputs: tf.Tensor, prev_state: AccessState):
    iface = self._interface(inputs)
    usage = updated_usage(prev_state.usage, prev_state.write_weights, iface['free_gates'],
                          prev_state.read_weights)
    # Write weights: each write head allocates from the usage left by the heads before it.
    content = cosine_weights(prev_state.memory, iface['write_keys'], iface['write_strengths'])
    alloc_gate = iface['allocation_gates'][:, :, None]
    allocations, planned_usage = [], usage
    for i in range(self._num_writes):
      allocation = allocation_weights(planned_usage)
      allocations.append(allocation)
      planned_usage += ((1 - planned_usage) * iface['write_gates'][:, i:i + 1] *
                        alloc_gate[:, i] * allocation)
    allocation = tf.stack(allocations, axis=1)  # [B, Wn, N]
    write_weights = iface['write_gates'][:, :, None] * (
        alloc_gate * allocation + (1 - alloc_gate) * content)
    # Erase then add: M <- M (1 - w^T e) + w^T v.
    erase = tf.reduce_prod(
        1 - write_weights[:, :, :, None] * iface['erase_vectors'][:, :, None, :], axis=1)
    memory = prev_state.memory * erase + tf.matmul(write_weights, iface['write_vectors'],
                                                   adjoint_a=True)
    linkage = updated_linkage(prev_state.linkage, write_weights)
    # Read weights: a mix of backward, forward and content-based addressing.
    content_read = cosine_weights(memory, iface['read_keys'], iface['read_strengths'])
    forward = directional_read_weights(linkage.link, prev_state.read_weights, forward=True)
    backward = directional_read_weights(linkage.link, prev_state.read_weights, forward=False)
    modes = iface['read_modes']
    wn = self._num_writes
    read_weights = (
        tf.reduce_sum(modes[:, :, :wn, None] * backward, axis=2) +
        tf.reduce_sum(modes[:, :, wn:2 * wn, None] * forward, axis=2) +
        modes[:, :, 2 * wn:2 * wn + 1] * content_read)
    read_words = tf.matmul(read_weights, memory)
    return read_words, AccessState(memory=memory, read_weights=read_weights,
                                   write_weights=write_weights, linkage=linkage, usage=usage)


class DNCWrapper(snt.Module):
  """An LSTM controller in front of a memory it may share with other controllers.

  `__call__(inputs, (lstm_state, prev_read_words), access_state)` feeds the controller
  [inputs, flatten(prev_read_words)], addresses the memory with its output and returns
  (output, (new lstm_state, read_words), new access_state); the output is a linear projection of
  [controller output, read words] when `output_layer` is given, else their concatenation.
  """

  def __init__(self, lstm: snt.LSTM, memory: MemoryAccess,
               output_layer: Optional[snt.Linear] = None,
               clip_value: Optional[float] = None, name: str = 'dnc_wrapper'):
    super().__init__(name=name)
    self._lstm = lstm
    self._memory = memory
    self._output_layer = output_layer
    self._clip_value = clip_value

  def _clip(self, x):
    if self._clip_value:
      return tf.clip_by_value(x, -self._clip_value, self._clip_value)
    return x

  def initial_state(self, batch_size: int):
    words = self._memory.output_size.as_list()
    return (self._lstm.initial_state(batch_size), tf.zeros([batch_size] + words))

  def __call__(self, inputs, state, access_state):
    lstm_state, prev_read_words = state
    flat_words = snt.flatten(prev_read_words)
    controller_output, lstm_state = self._lstm(tf.concat([inputs, flat_words], -1), lstm_state)
    controller_output = self._clip(controller_output)
    lstm_state = tf.nest.map_structure(self._clip, lstm_state)
    read_words, access_state = self._memory(controller_output, access_state)
    output = tf.concat([controller_output, snt.flatten(read_words)], -1)
    if self._output_layer is not None:
      output = self._clip(self._output_layer(output))
    return output, (lstm_state, read_words), access_state
