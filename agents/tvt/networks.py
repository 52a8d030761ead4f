"""The Reconstructive Memory Agent's networks (spec section 2), in Sonnet 2.

Split so that only the recurrence runs step by step: the observation encoder, the policy and
value heads and the decoders have no recurrent input, so the learner applies them to a whole
batch of episodes at once and unrolls only `RMACore` (z encoder, two LSTMs, memory).

Observations. A uint8 image (one H x W x C array, as the pycolab and DMLab tasks give) gets the
release's convolutional encoder and image decoder (`ImageEncoder`, `Decoders`). Any other
observation spec (vectors, matrices, float images, nests of them) gets the default torso of
`agents.core.torsos` as its encoder and an MLP decoder of its flattened leaves
(`ObservationDecoders`), so that the RMA's reconstruction loss applies to it too.
"""

from typing import Any, NamedTuple, Optional, Sequence, Tuple

from acme import specs
import numpy as np
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import sonnet_compat  # noqa: F401  # pylint: disable=unused-import
from agents.core import torsos
from agents.tvt import config as config_lib
from agents.tvt import memory as memory_lib


class RMAInputs(NamedTuple):
  """What the agent sees at step t: o_t, a_{t-1} (0 at t = 0) and r_t (0 at t = 0)."""
  observation: Any  # [B, H, W, 3] uint8 for the pycolab tasks; any nest of [B, ...] arrays.
  last_action: tf.Tensor  # [B] int32.
  last_reward: tf.Tensor  # [B] float32.


class RMAState(NamedTuple):
  controller_output: tf.Tensor  # [B, 2 * lstm_units]: h_{t-1}.
  lstm: Tuple[snt.LSTMState, snt.LSTMState]
  memory: tf.Tensor  # [B, stored_rows, num_latents] (0 rows without memory).
  normalised_memory: tf.Tensor  # memory_lib.normalise(memory), updated row by row.
  read_vectors: tf.Tensor  # [B, num_reads * num_latents]: m_{t-1} (0 wide without memory).
  write_counter: tf.Tensor  # [B] int32: rows written this episode.


class CoreOutputs(NamedTuple):
  latent: tf.Tensor  # z_t [B, num_latents].
  controller_output: tf.Tensor  # h_t [B, 2 * lstm_units].
  read_vectors: tf.Tensor  # m_t [B, num_reads * num_latents].
  read_weights: tf.Tensor  # [B, num_reads, top_k].
  read_indices: tf.Tensor  # [B, num_reads, top_k] int32 (= write times).
  read_strengths: tf.Tensor  # [B, num_reads], softplus, as used in the read.


class RMAOutputs(NamedTuple):
  """One step (or, with a leading time axis, a sequence) of the whole agent."""
  logits: tf.Tensor
  value: tf.Tensor
  core: CoreOutputs


def clip_gradient(x: tf.Tensor, limit: float) -> tf.Tensor:
  """Identity forward; the gradient arriving at `x` is clipped element-wise to [-limit, limit]."""

  @tf.custom_gradient
  def identity(y):
    return tf.identity(y), lambda dy: tf.clip_by_value(dy, -limit, limit)

  return identity(x)


def is_image_spec(observation_spec) -> bool:
  """Whether observations are one uint8 image [H, W, C], which the release's encoder and image
  decoder take; any other spec gets `ObservationEncoder` and `ObservationDecoders`."""
  return (isinstance(observation_spec, specs.Array) and len(observation_spec.shape) == 3 and
          np.dtype(observation_spec.dtype) == np.uint8)


def observation_size(observation_spec) -> int:
  """Numbers in one observation: the width of its flattened leaves, concatenated."""
  return int(sum(np.prod(spec.shape, dtype=int) for spec in tree.flatten(observation_spec)))


def flatten_observation(observation, num_dims: int = 1) -> tf.Tensor:
  """A nest of [*lead, ...] arrays (`num_dims` leading axes) -> float32 [*lead, size]: the
  leaves flattened and concatenated (the targets of `ObservationDecoders`)."""
  leaves = [tf.convert_to_tensor(leaf) for leaf in tree.flatten(observation)]
  lead = tf.shape(leaves[0])[:num_dims]
  flat = [tf.reshape(tf.cast(leaf, tf.float32), tf.concat([lead, [-1]], 0)) for leaf in leaves]
  return tf.concat(flat, axis=-1)


def preprocess_image(image: tf.Tensor) -> tf.Tensor:
  """uint8 pixels to floats in [0, 1] (also the targets of the image decoder)."""
  return tf.cast(image, tf.float32) / 255.0


class ImageEncoder(snt.Module):
  """Conv 3x3 16 + ReLU, conv 3x3 32 (no activation), flatten, linear to the image code."""

  def __init__(self, code_size: int, name: str = 'image_encoder'):
    super().__init__(name=name)
    self._convs = [snt.Conv2D(16, 3, padding='SAME'), snt.Conv2D(32, 3, padding='SAME')]
    self._linear = snt.Linear(code_size)

  def __call__(self, image: tf.Tensor) -> tf.Tensor:
    x = tf.nn.relu(self._convs[0](preprocess_image(image)))
    x = self._convs[1](x)
    return self._linear(snt.Flatten()(x))


class ObservationEncoder(snt.Module):
  """The code of any observation: `torsos.ObservationTorso` (convolutions for images, the rest
  flattened, then an MLP), followed by a linear layer to the code size as in `ImageEncoder`."""

  def __init__(self, observation_spec, code_size: int, name: str = 'observation_encoder'):
    super().__init__(name=name)
    self._torso = torsos.ObservationTorso(observation_spec, mlp_sizes=(code_size,))
    self._linear = snt.Linear(code_size)

  def __call__(self, observation) -> tf.Tensor:
    return self._linear(self._torso(observation))


class Decoders(snt.Module):
  """Reconstructs the inputs of step t from z_t: image logits, a_{t-1} logits and r_t."""

  def __init__(self, image_shape: Sequence[int], num_actions: int, name: str = 'decoders'):
    super().__init__(name=name)
    height, width, channels = image_shape
    self._conv_shape = (height, width, 32)
    self._image_linear = snt.Linear(height * width * 32)
    self._deconvs = [snt.Conv2DTranspose(16, 3, padding='SAME'),
                     snt.Conv2DTranspose(channels, 3, padding='SAME')]
    self._action = snt.Linear(num_actions)
    self._reward = snt.Linear(1)

  def __call__(self, latent: tf.Tensor):
    """latent [N, num_latents] -> (image logits [N, H, W, C], action logits [N, A], reward [N])."""
    x = tf.nn.relu(self._image_linear(latent))
    x = tf.reshape(x, (-1,) + self._conv_shape)
    x = tf.nn.relu(self._deconvs[0](x))
    image_logits = self._deconvs[1](x)
    return image_logits, self._action(latent), tf.squeeze(self._reward(latent), -1)


class ObservationDecoders(snt.Module):
  """As `Decoders` for any observation: the flattened observation (`flatten_observation`) is
  predicted by an MLP and scored by squared error."""

  def __init__(self, observation_spec, num_actions: int, hidden_size: int,
               name: str = 'decoders'):
    super().__init__(name=name)
    self._observation = snt.nets.MLP([hidden_size, observation_size(observation_spec)])
    self._action = snt.Linear(num_actions)
    self._reward = snt.Linear(1)

  def __call__(self, latent: tf.Tensor):
    """latent [N, num_latents] -> (observation [N, size], action logits [N, A], reward [N])."""
    return (self._observation(latent), self._action(latent),
            tf.squeeze(self._reward(latent), -1))


class RMACore(snt.RNNCore):
  """z encoder MLP, two 256-unit LSTMs with skip connections, and the external memory.

  Step: z_t = MLP([e_t, h_{t-1}, m_{t-1}]); h_t = controller(z_t); the read head on h_t gives 3
  keys and softplus strengths; m_t = read(memory of rows 0..t-1); then z_t is written.
  `inputs` is e_t, the concatenated image code, one-hot a_{t-1} and r_t.
  """

  def __init__(self, config: config_lib.TVTConfig, name: str = 'rma_core'):
    super().__init__(name=name)
    self._config = config
    self._z_mlp = snt.Sequential([snt.Linear(config.z_hidden), tf.tanh,
                                  snt.Linear(config.num_latents)])
    self._controller = snt.deep_rnn_with_skip_connections(
        [snt.LSTM(config.lstm_units), snt.LSTM(config.lstm_units)])
    self._with_memory = config.with_memory
    if self._with_memory:
      self._read_head = snt.Linear((config.num_latents + 1) * config.memory_num_reads)
      self._stored_rows = config.stored_memory_rows
      self._virtual_rows = memory_lib.virtual_empty_rows(
          config.memory_size, self._stored_rows, config.memory_top_k)
    else:
      self._stored_rows = 0

  def initial_state(self, batch_size: int, **unused_kwargs) -> RMAState:
    c = self._config
    reads_width = c.memory_num_reads * c.num_latents if self._with_memory else 0
    zeros = lambda *shape: tf.zeros((batch_size,) + shape, tf.float32)
    return RMAState(
        controller_output=zeros(2 * c.lstm_units),
        lstm=self._controller.initial_state(batch_size),
        memory=zeros(self._stored_rows, c.num_latents),
        normalised_memory=zeros(self._stored_rows, c.num_latents),
        read_vectors=zeros(reads_width),
        write_counter=tf.zeros((batch_size,), tf.int32))

  def __call__(self, inputs: tf.Tensor, state: RMAState) -> Tuple[CoreOutputs, RMAState]:
    c = self._config
    batch_size = tf.shape(inputs)[0]
    latent = self._z_mlp(tf.concat([inputs, state.controller_output, state.read_vectors], -1))
    controller_output, lstm_state = self._controller(latent, state.lstm)
    if not self._with_memory:
      empty = tf.zeros((batch_size, c.memory_num_reads, c.memory_top_k))
      outputs = CoreOutputs(latent, controller_output, state.read_vectors, empty,
                            tf.cast(empty, tf.int32), empty[:, :, 0])
      return outputs, RMAState(controller_output, lstm_state, state.memory,
                               state.normalised_memory, state.read_vectors,
                               state.write_counter + 1)
    head = self._read_head(controller_output)
    keys = tf.reshape(head[:, :c.memory_num_reads * c.num_latents],
                      (-1, c.memory_num_reads, c.num_latents))
    strengths = tf.nn.softplus(head[:, c.memory_num_reads * c.num_latents:])
    read = memory_lib.read(state.memory, keys, strengths, c.memory_top_k, self._virtual_rows,
                           state.normalised_memory)
    read_vectors = tf.reshape(read.read_vectors, (-1, c.memory_num_reads * c.num_latents))
    memory, counter = memory_lib.write(state.memory, state.write_counter, latent)
    normalised_memory, _ = memory_lib.write(state.normalised_memory, state.write_counter,
                                            memory_lib.normalise(latent))
    outputs = CoreOutputs(latent, controller_output, read_vectors, read.weights, read.indices,
                          strengths)
    return outputs, RMAState(controller_output, lstm_state, memory, normalised_memory,
                             read_vectors, counter)


class RMANetwork(snt.Module):
  """The whole agent: encoder, core, policy and value heads, decoders (if reconstructing).

  `observation_spec`: a uint8 image's spec (or its shape) takes the release's image encoder
  and decoder; any other spec the generic ones (see the module's docstring).
  """

  def __init__(self, config: config_lib.TVTConfig, observation_spec, num_actions: int,
               name: str = 'rma'):
    super().__init__(name=name)
    observation_spec = as_observation_spec(observation_spec)
    self._config = config
    self._num_actions = num_actions
    self.observation_spec = observation_spec
    self.is_image = is_image_spec(observation_spec)
    if self.is_image:
      self.encoder = ImageEncoder(config.image_code_size)
    else:
      self.encoder = ObservationEncoder(observation_spec, config.image_code_size)
    self.core = RMACore(config)
    self._policy = snt.Sequential([snt.Linear(config.policy_hidden), tf.tanh,
                                   snt.Linear(num_actions)], name='policy')
    self._value = snt.Sequential([snt.Linear(config.policy_hidden), tf.tanh, snt.Linear(1)],
                                 name='value')
    self.decoders = None
    if config.with_reconstruction:
      self.decoders = (Decoders(observation_spec.shape, num_actions) if self.is_image else
                       ObservationDecoders(observation_spec, num_actions, config.z_hidden))

  def initial_state(self, batch_size: int) -> RMAState:
    return self.core.initial_state(batch_size)

  def embed(self, inputs: RMAInputs, image_code: Optional[tf.Tensor] = None) -> tf.Tensor:
    """e_t = [observation code, one-hot a_{t-1}, r_t] for a batch of steps."""
    if image_code is None:
      image_code = self.encoder(inputs.observation)
    return tf.concat([image_code, tf.one_hot(inputs.last_action, self._num_actions),
                      tf.cast(inputs.last_reward, tf.float32)[..., None]], -1)

  def heads(self, core: CoreOutputs) -> Tuple[tf.Tensor, tf.Tensor]:
    """Policy logits from [z, h, m]; the value from [z, stop_gradient(logits)] (spec 2.6)."""
    logits = self._policy(tf.concat([core.latent, core.controller_output, core.read_vectors],
                                    -1))
    value = self._value(tf.concat([core.latent, tf.stop_gradient(logits)], -1))
    limit = self._config.output_gradient_clip
    return clip_gradient(logits, limit), clip_gradient(tf.squeeze(value, -1), limit)

  def step(self, inputs: RMAInputs, state: RMAState) -> Tuple[RMAOutputs, RMAState]:
    """One step for a batch of environments (the actor)."""
    core, state = self.core(self.embed(inputs), state)
    logits, value = self.heads(core)
    return RMAOutputs(logits, value, core), state

  def unroll(self, inputs: RMAInputs, state: RMAState) -> RMAOutputs:
    """A time-major [T, B, ...] sequence from `state` (the learner); only the core loops."""
    inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)  # BatchApply skips numpy.
    image_code = snt.BatchApply(self.encoder)(inputs.observation)
    core, _ = unroll_core(self.core, self.embed(inputs, image_code), state)
    logits, value = snt.BatchApply(self.heads, num_dims=2)(core)
    return RMAOutputs(logits, value, core)


def unroll_core(core: snt.RNNCore, inputs: tf.Tensor, state):
  """Runs `core` over the time-major `inputs` [T, B, ...] with a plain tf.while_loop.

  (Sonnet's dynamic_unroll builds its loop through AutoGraph. Its gradient inside the learner's
  tf.function failed at times in TF 2.8 with "Op type not registered
  '..._while_cond_..._rewritten'"; the same error with this loop was later traced to importing
  TensorFlow only after absl.app.run had started, see benchmarks/tvt_throughput.py.)
  """
  steps = inputs.shape[0] or tf.shape(inputs)[0]  # Static where known, as XLA needs.
  # Steps are read from a TensorArray: the gradient of a read is one step's slice, where that of
  # tf.gather(inputs, t) is a dense [T, ...] tensor summed into an accumulator at every step.
  step_inputs = tf.TensorArray(inputs.dtype, size=steps,
                               element_shape=inputs.shape[1:]).unstack(inputs)
  outputs, state = core(step_inputs.read(0), state)
  arrays = tree.map_structure(
      lambda o: tf.TensorArray(o.dtype, size=steps, element_shape=o.shape).write(0, o), outputs)

  def body(t, state, arrays):
    outputs, state = core(step_inputs.read(t), state)
    return t + 1, state, tree.map_structure(lambda a, o: a.write(t, o), arrays, outputs)

  _, state, arrays = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(1), state, arrays),
                                  maximum_iterations=steps)
  return tree.map_structure(lambda a: a.stack(), arrays), state


def as_observation_spec(observation_spec):
  """A spec as is; a shape (a sequence of ints) as the spec of a uint8 image of that shape."""
  if isinstance(observation_spec, (tuple, list)) and all(
      isinstance(n, (int, np.integer)) for n in observation_spec):
    return specs.Array(tuple(observation_spec), np.uint8, 'image')
  return observation_spec


def make_network(config: config_lib.TVTConfig, observation_spec,
                 num_actions: int) -> RMANetwork:
  """An RMA network with its variables built (by one step on a dummy batch).

  `observation_spec`: the environment's observation spec, or a uint8 image's shape.
  """
  network = RMANetwork(config, observation_spec, num_actions)
  dummy = RMAInputs(
      tree.map_structure(lambda s: tf.zeros((1,) + tuple(s.shape), s.dtype),
                         network.observation_spec),
      tf.zeros((1,), tf.int32), tf.zeros((1,), tf.float32))
  outputs, _ = network.step(dummy, network.initial_state(1))
  if network.decoders is not None:
    network.decoders(outputs.core.latent)
  return network


def count_parameters(module: snt.Module) -> int:
  return int(sum(np.prod(v.shape) for v in module.trainable_variables))
