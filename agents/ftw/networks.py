"""FTW's networks (spec 3): torso, OAR embedding, the RPTH core (+ DNC), heads, auxiliary nets.

The policy network maps an OAR observation (pixels, previous action, previous events) and a
recurrent state to (logits, value, core output). Its core is `RPTH`: a slow LSTM that updates
every `period` steps and parameterises a Gaussian prior, and a fast LSTM that runs every step and
parameterises the posterior from which the latent z is sampled; the heads read z only. With
`shared_memory` both LSTMs become DNC controllers over one shared memory. The pixel-control
network shares the embedding and the core; the reward-prediction network shares the torso.
"""

import collections
from typing import Optional, Sequence, Tuple, Union

from acme.wrappers import observation_action_reward
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import acting as core_acting
from agents.core import sonnet_compat  # noqa: F401  # pylint: disable=unused-import
from agents.ftw import dnc

OAR = observation_action_reward.OAR
LocScaleDistributionParameters = collections.namedtuple('LocScaleDistributionParameters',
                                                        ['loc', 'scale'])
# core_state: RPTHCoreState; output: ((prior loc, prior scale), previous z); step: float32 [B].
PeriodicRNNState = collections.namedtuple('PeriodicRNNState', ['core_state', 'output', 'step'])
RPTHCoreState = collections.namedtuple('RPTHCoreState', ['slow', 'fast', 'memory'])
# distribution_params: (prior, posterior); slow_core_updated: float32 [B], 1 where the slow core
# took its new state this step (the mask of the fixed-prior KL term).
RPTHOutput = collections.namedtuple('RPTHOutput',
                                    ['z', 'distribution_params', 'slow_core_updated'])

FIXED_PRIOR_SCALE = 0.1  # The N(0, 0.1^2) of the extra KL term (hard-coded in the original).


def pixels_to_float(observation: tf.Tensor) -> tf.Tensor:
  """uint8 pixels to float32 in [0, 1]; floats pass through (fix of the original's defect D1)."""
  if observation.dtype == tf.uint8:
    return tf.cast(observation, tf.float32) / 255.0
  return tf.cast(observation, tf.float32)


@tf.custom_gradient
def scale_gradient(x, scale):
  """Identity forward; multiplies the gradient by `scale` (a tensor, so PBT can change it)."""

  def grad(dy):
    return dy * tf.cast(scale, dy.dtype), None

  return tf.identity(x), grad


class FtwTorso(snt.Module):
  """Convolutions, residual blocks, ReLU, flatten, linear (the paper's visual embedding).

  Every layer is ('filters', 'kernel', 'stride') with SAME padding. The first residual block adds
  conv(x) (its input is already rectified), later ones conv(relu(x)). uint8 input is scaled to
  [0, 1]. A 1-D input (symbolic observations) skips the convolutions.
  """

  def __init__(self, conv_filters=((32, 8, 4), (64, 4, 2)),
               residual_filters=((64, 3, 1), (64, 3, 1)), hidden_size: int = 256,
               activation=tf.nn.relu, activate_last: bool = False, name: str = 'ftw_torso'):
    super().__init__(name=name)
    self._convs = [snt.Conv2D(f, k, s, padding='SAME', name=f'conv_{i}')
                   for i, (f, k, s) in enumerate(conv_filters)]
    self._residuals = [snt.Conv2D(f, k, s, padding='SAME', name=f'residual_{i}')
                       for i, (f, k, s) in enumerate(residual_filters)]
    self._linear = snt.Linear(hidden_size, name='linear')
    self._activation = activation
    self._activate_last = activate_last

  def __call__(self, observation: tf.Tensor) -> tf.Tensor:
    x = pixels_to_float(observation)
    if x.shape.rank > 2:
      for conv in self._convs:
        x = self._activation(conv(x))
      for i, conv in enumerate(self._residuals):
        x = x + conv(x if i == 0 else self._activation(x))
      x = self._activation(x)
    x = self._linear(snt.flatten(x))
    return self._activation(x) if self._activate_last else x


class OAREmbedding(snt.Module):
  """[torso(o_t), one_hot(a_{t-1}), tanh(w . rho_{t-1})]: 257 + A features with a 256 torso.

  The internal-reward weights are an attribute, so they travel with the network's variables to
  the actors (spec 3.2); the trailing axis after the dot product fixes the original's defect D5.
  """

  def __init__(self, torso: snt.Module, num_actions: Union[int, Sequence[int]],
               internal_rewards=None, name: str = 'oar_embedding'):
    super().__init__(name=name)
    if isinstance(torso, OAREmbedding):
      raise ValueError('the torso must not already be an OAREmbedding')
    self.torso = torso
    self._num_actions = ([num_actions] if isinstance(num_actions, int) else list(num_actions))
    self.internal_rewards = internal_rewards
    if internal_rewards is not None:
      self.internal_reward_weights = internal_rewards.variable

  def __call__(self, inputs: OAR) -> tf.Tensor:
    features = [self.torso(inputs.observation)]
    actions = tf.reshape(tf.cast(inputs.action, tf.int32), [-1, len(self._num_actions)])
    for k, n in enumerate(self._num_actions):
      features.append(tf.one_hot(actions[:, k], n))
    reward = tf.cast(inputs.reward, tf.float32)
    if self.internal_rewards is not None:
      reward = self.internal_rewards.reward(reward)
    reward = tf.reshape(reward, [tf.shape(features[0])[0], 1])  # One (weighted) reward per row.
    features.append(tf.tanh(reward))
    return tf.concat(features, axis=-1)


class MultivariateNormalDiagLocScaleHead(snt.Module):
  """(mu, sigma) of a diagonal Gaussian: sigma = softplus(Wx) init_scale / softplus(0) + min_scale.

  The scale layer defaults to tiny weights so that sigma starts at `init_scale` (spec 3.3, test
  5); `fixed_scale` keeps sigma = init_scale.
  """

  def __init__(self, num_dimensions: int, init_scale: float = 0.3, min_scale: float = 1e-6,
               tanh_mean: bool = False, fixed_scale: bool = False, w_init=None, b_init=None,
               name: str = 'multivariate_normal_diag_loc_scale_head'):
    super().__init__(name=name)
    self._init_scale = init_scale
    self._min_scale = min_scale
    self._tanh_mean = tanh_mean
    self._fixed_scale = fixed_scale
    self._mean = snt.Linear(num_dimensions, w_init=w_init, b_init=b_init, name='mean')
    if not fixed_scale:
      self._scale = snt.Linear(
          num_dimensions, w_init=w_init or snt.initializers.VarianceScaling(1e-4),
          b_init=b_init, name='scale')

  def __call__(self, inputs: tf.Tensor) -> LocScaleDistributionParameters:
    mean = self._mean(inputs)
    if self._tanh_mean:
      mean = tf.tanh(mean)
    if self._fixed_scale:
      scale = tf.ones_like(mean) * self._init_scale
    else:
      scale = (tf.nn.softplus(self._scale(inputs)) * self._init_scale / tf.math.log(2.0) +
               self._min_scale)
    return LocScaleDistributionParameters(mean, scale)


class VariationalUnit(snt.Module):
  """An LSTM (or a DNC controller over `shared_memory`) followed by a Gaussian head.

  `__call__(inputs, state, memory_state)` -> (params, new state, new memory state).
  `summary(state)` is what the other unit of RPTH reads: the LSTM hidden state, plus the
  flattened read words with memory.
  """

  def __init__(self, hidden_size: int, num_dimensions: int,
               shared_memory: Optional[dnc.MemoryAccess] = None,
               dnc_clip_value: Optional[float] = None, use_dnc_linear_projection: bool = True,
               init_scale: float = 0.1, min_scale: float = 1e-6, tanh_mean: bool = False,
               fixed_scale: bool = False, w_init=None, b_init=None,
               name: str = 'variational_unit'):
    super().__init__(name=name)
    self._lstm = snt.LSTM(hidden_size, name='lstm')
    self._dnc = None
    if shared_memory is not None:
      projection = snt.Linear(hidden_size, name='dnc_output') if use_dnc_linear_projection else None
      self._dnc = dnc.DNCWrapper(self._lstm, shared_memory, projection, dnc_clip_value)
    self._head = MultivariateNormalDiagLocScaleHead(num_dimensions, init_scale, min_scale,
                                                    tanh_mean, fixed_scale, w_init, b_init)

  def initial_state(self, batch_size: int):
    if self._dnc is not None:
      return self._dnc.initial_state(batch_size)
    return self._lstm.initial_state(batch_size)

  def summary(self, state) -> tf.Tensor:
    if self._dnc is not None:
      lstm_state, read_words = state
      return tf.concat([lstm_state.hidden, snt.flatten(read_words)], -1)
    return state.hidden

  def __call__(self, inputs, state, memory_state=()):
    if self._dnc is not None:
      output, state, memory_state = self._dnc(inputs, state, memory_state)
    else:
      output, state = self._lstm(inputs, state)
    return self._head(output), state, memory_state


class PeriodicVariationalUnit(snt.Module):
  """A variational unit whose results are only taken at steps where step mod period == 0.

  The unit runs every step (so its graph is static); a select keeps the previous state, the
  previous parameters and the previous memory state on the other steps, which discards its memory
  writes there. `period` may be a tf.Variable that PBT changes between steps.
  """

  def __init__(self, period, *args, name: str = 'periodic_variational_unit', **kwargs):
    super().__init__(name=name)
    self.period = period
    self.unit = VariationalUnit(*args, **kwargs)

  def __call__(self, inputs, state, params, step, memory_state=()):
    new_params, new_state, new_memory = self.unit(inputs, state, memory_state)
    period = tf.cast(tf.convert_to_tensor(self.period), tf.float32)
    updated = tf.equal(tf.math.floormod(step, period), 0.0)
    keep = tf.logical_not(updated)
    # reset_where(keep, candidate, previous): the candidate rows, except the previous ones where
    # the slow core must keep its state.
    state, params, memory_state = core_acting.reset_where(
        keep, (new_state, new_params, new_memory), (state, params, memory_state))
    return params, state, memory_state, tf.cast(updated, tf.float32)


class RPTH(snt.RNNCore):
  """Recurrent processing with temporal hierarchy: slow prior core, fast posterior core, latent z.

  One step (spec 3.4): the slow unit reads the fast unit's previous summary and updates if
  step mod period == 0; the fast unit reads [inputs, g(slow summary, prior mu, prior sigma),
  z_{t-1}], where g is the identity forward and scales gradients by
  `scale_gradients_fast_to_slow`; z_t is sampled from the fast unit's posterior.
  """

  def __init__(self, period, hidden_size: int = 256, num_dimensions: int = 256,
               dnc_clip_value: Optional[float] = None, use_dnc_linear_projection: bool = True,
               init_scale: float = 0.1, min_scale: float = 1e-6, tanh_mean: bool = False,
               fixed_scale: bool = False, use_tfd_independent: bool = False, w_init=None,
               b_init=None, shared_memory: Optional[dnc.MemoryAccess] = None,
               strict_period_order: bool = True, scale_gradients_fast_to_slow=1.0,
               name: str = 'rpth'):
    super().__init__(name=name)
    del use_tfd_independent, strict_period_order  # One slow core; z is sampled directly.
    if isinstance(period, (list, tuple)):
      raise ValueError('RPTH supports one slow core: give a single period')
    self._num_dimensions = num_dimensions
    self._memory = shared_memory
    self._scale_gradients = scale_gradients_fast_to_slow
    unit_kwargs = dict(hidden_size=hidden_size, num_dimensions=num_dimensions,
                       shared_memory=shared_memory, dnc_clip_value=dnc_clip_value,
                       use_dnc_linear_projection=use_dnc_linear_projection,
                       init_scale=init_scale, min_scale=min_scale, tanh_mean=tanh_mean,
                       fixed_scale=fixed_scale, w_init=w_init, b_init=b_init)
    self.slow = PeriodicVariationalUnit(period, name='slow', **unit_kwargs)
    self.fast = VariationalUnit(name='fast', **unit_kwargs)

  @property
  def period(self):
    return self.slow.period

  def initial_state(self, batch_size: int, **unused_kwargs) -> PeriodicRNNState:
    zeros = tf.zeros([batch_size, self._num_dimensions])
    memory = self._memory.initial_state(batch_size) if self._memory is not None else ()
    core_state = RPTHCoreState(self.slow.unit.initial_state(batch_size),
                               self.fast.initial_state(batch_size), memory)
    return PeriodicRNNState(core_state, (LocScaleDistributionParameters(zeros, zeros), zeros),
                            tf.zeros([batch_size]))

  def __call__(self, inputs: tf.Tensor, state: PeriodicRNNState):
    slow_state, fast_state, memory = state.core_state
    prior, previous_z = state.output
    prior, slow_state, memory, updated = self.slow(
        self.fast.summary(fast_state), slow_state, prior, state.step, memory)
    slow_summary = tf.concat([self.slow.unit.summary(slow_state), prior.loc, prior.scale], -1)
    slow_summary = scale_gradient(slow_summary, tf.convert_to_tensor(self._scale_gradients))
    posterior, fast_state, memory = self.fast(
        tf.concat([inputs, slow_summary, previous_z], -1), fast_state, memory)
    z = posterior.loc + posterior.scale * tf.random.normal(tf.shape(posterior.loc))
    new_state = PeriodicRNNState(RPTHCoreState(slow_state, fast_state, memory), (prior, z),
                                 state.step + 1.0)
    return RPTHOutput(z, (prior, posterior), updated), new_state


class RPTHZWrapper(snt.RNNCore):
  """An RPTH core that outputs z only (what the pixel-control head reads)."""

  def __init__(self, rpth_core: RPTH, name: str = 'rpth_z_wrapper'):
    super().__init__(name=name)
    if not isinstance(rpth_core, RPTH):
      raise ValueError(f'RPTHZWrapper needs an RPTH core, got {type(rpth_core).__name__}')
    self._core = rpth_core

  def initial_state(self, batch_size: int, **kwargs):
    return self._core.initial_state(batch_size, **kwargs)

  def __call__(self, inputs, state):
    output, state = self._core(inputs, state)
    return output.z, state


class PolicyValueHead(snt.Module):
  """Policy logits and a scalar value, each from its own one-hidden-layer MLP."""

  def __init__(self, num_actions: int, hidden_size: int = 256, activation=tf.nn.relu,
               name: str = 'policy_value_head'):
    super().__init__(name=name)
    self._policy = snt.nets.MLP([hidden_size, num_actions], activation=activation,
                                name='policy')
    self._value = snt.nets.MLP([hidden_size, 1], activation=activation, name='value')

  def __call__(self, inputs) -> Tuple[tf.Tensor, tf.Tensor]:
    return self._policy(inputs), tf.squeeze(self._value(inputs), axis=-1)


class FtwNetwork(snt.RNNCore):
  """OAR embedding -> core -> policy/value head; `__call__` returns ((logits, value, core_output),
  new_state). With an RPTH core the head reads z; with a plain LSTM its output (defect D6)."""

  def __init__(self, embed: OAREmbedding, core: snt.RNNCore, num_actions: int,
               head_hidden_size: int = 256, name: str = 'simple_ftw_network'):
    super().__init__(name=name)
    self.embed = embed
    self.core = core
    self._head = PolicyValueHead(num_actions, head_hidden_size)

  def initial_state(self, batch_size: int, **unused_kwargs):
    return self.core.initial_state(batch_size)

  def _heads(self, core_output):
    features = core_output.z if isinstance(core_output, RPTHOutput) else core_output
    return self._head(features)

  def __call__(self, inputs: OAR, state):
    core_output, state = self.core(self.embed(inputs), state)
    logits, value = self._heads(core_output)
    return (logits, value, core_output), state

  def unroll(self, inputs: OAR, state, sequence_length=None):
    """Time-major [T, B, ...] inputs: embeddings in one batch, the core step by step, heads."""
    del sequence_length
    embeddings = snt.BatchApply(self.embed)(inputs)
    core_outputs, state = snt.static_unroll(self.core, embeddings, state)
    features = core_outputs.z if isinstance(core_outputs, RPTHOutput) else core_outputs
    logits, values = snt.BatchApply(self._head)(features)
    return (logits, values, core_outputs), state


class PixelControl(snt.Module):
  """Dueling Q-values over a grid of pixel-control cells from a feature vector: [B, h, w, A].

  Linear -> ReLU -> [h0, w0, 32] -> ConvTranspose(32) -> ReLU -> value and advantage deconvs;
  for a 20x20 grid this is the UNREAL/FTW head (7x7, kernel 9, stride 3). Q = V + A - mean(A) is
  linear in the two last deconvolutions' kernels and biases, so with `fused_dueling` (the
  default) one deconvolution with the combined kernel gives the same Q values (to float
  rounding) and gradients for the same variables, at about half the cost of the two.
  """

  def __init__(self, num_actions: int, output_shape=(20, 20), activation=tf.nn.relu,
               name: str = 'pixel_control', *, fused_dueling: bool = True):
    super().__init__(name=name)
    self._fused_dueling = fused_dueling
    self._output_shape = tuple(output_shape)
    self._stride = 3 if min(output_shape) >= 12 else 1
    self._base_shape = tuple(-(-s // self._stride) for s in output_shape)
    self._linear = snt.Linear(32 * self._base_shape[0] * self._base_shape[1], name='linear')
    self._deconv = snt.Conv2DTranspose(32, 3 * self._stride, stride=self._stride,
                                       output_shape=self._output_shape, padding='SAME',
                                       name='deconv')
    self._value = snt.Conv2DTranspose(1, 4, stride=1, padding='SAME', name='value')
    self._advantage = snt.Conv2DTranspose(num_actions, 4, stride=1, padding='SAME',
                                          name='advantage')
    self._activation = activation

  def __call__(self, features: tf.Tensor) -> tf.Tensor:
    x = self._activation(self._linear(features))
    x = tf.reshape(x, [-1, self._base_shape[0], self._base_shape[1], 32])
    x = self._activation(self._deconv(x))
    if not self._fused_dueling:
      value, advantage = self._value(x), self._advantage(x)
      return value + advantage - tf.reduce_mean(advantage, axis=-1, keepdims=True)
    if not hasattr(self._advantage, 'w'):  # Sonnet makes a deconvolution's variables at its
      self._value(x)  # first call; these calls' outputs are unused.
      self._advantage(x)
    value, advantage = self._value, self._advantage  # Kernels [k, k, out, in], biases [out].
    kernel = value.w + advantage.w - tf.reduce_mean(advantage.w, axis=2, keepdims=True)
    bias = value.b + advantage.b - tf.reduce_mean(advantage.b)
    q_values = tf.nn.conv_transpose(x, kernel, tf.concat([tf.shape(x)[:-1], [kernel.shape[2]]], 0),
                                    strides=1, padding='SAME')
    return tf.nn.bias_add(q_values, bias)


class RNNPixelControlNetwork(snt.RNNCore):
  """The shared embedding and core (z only) followed by the pixel-control head."""

  def __init__(self, embed: OAREmbedding, core: snt.RNNCore, num_actions: int,
               output_shape=(20, 20), activation=tf.nn.relu,
               name: str = 'rnn_pixel_control_network', *, fused_dueling: bool = True):
    super().__init__(name=name)
    self.embed = embed
    self.core = core
    self._head = PixelControl(num_actions, output_shape, activation, fused_dueling=fused_dueling)

  def initial_state(self, batch_size: int, **unused_kwargs):
    return self.core.initial_state(batch_size)

  def __call__(self, inputs: OAR, state):
    z, state = self.core(self.embed(inputs), state)
    return self._head(z), state

  def unroll(self, inputs: OAR, state, sequence_length=None):
    del sequence_length
    embeddings = snt.BatchApply(self.embed)(inputs)
    z, state = snt.static_unroll(self.core, embeddings, state)
    return snt.BatchApply(self._head)(z), state


class RewardPrediction(snt.Module):
  """Three-way classification (zero, negative, positive reward) from concatenated embeddings."""

  def __init__(self, hidden_size: int = 128, activation=tf.nn.relu,
               name: str = 'reward_prediction'):
    super().__init__(name=name)
    self._mlp = snt.nets.MLP([hidden_size, 3], activation=activation)

  def __call__(self, embeddings: tf.Tensor) -> tf.Tensor:
    return self._mlp(embeddings)


class RewardPredictionNetwork(snt.Module):
  """The shared torso on each of k frames ([B, k, H, W, C], batch-major), then the classifier."""

  def __init__(self, embed: snt.Module, hidden_size: int = 128, activation=tf.nn.relu,
               name: str = 'reward_prediction_network'):
    super().__init__(name=name)
    self.embed = embed
    self._head = RewardPrediction(hidden_size, activation)

  def __call__(self, frames: tf.Tensor) -> tf.Tensor:
    embeddings = snt.BatchApply(self.embed)(frames)  # [B, k, D]
    return self._head(snt.flatten(embeddings))


def pixel_control_crop(observation_shape, cell_size: int,
                       crop: int) -> Tuple[Tuple[int, int], Tuple[int, int]]:
  """((top, bottom), (left, right)): the pixels pixel control leaves out at each border.

  `crop` pixels at every border, plus, where the rest of a side is not a whole number of
  `cell_size` cells, the remainder: its smaller half at the top (left), the rest at the bottom
  (right). So an 11x11 view with 4x4 cells and no crop keeps its central 8x8 pixels (2x2 cells):
  ((1, 2), (1, 2)). Raises ValueError if not even one cell fits.
  """
  sides = []
  for size in observation_shape[:2]:
    inner = size - 2 * crop
    if inner < cell_size:
      raise ValueError(f'pixel control: a {tuple(observation_shape[:2])} view cropped by {crop} '
                       f'holds no {cell_size}x{cell_size} cell')
    remainder = inner % cell_size
    sides.append((crop + remainder // 2, crop + remainder - remainder // 2))
  return tuple(sides)


def pixel_control_grid(observation_shape, cell_size: int, crop: int) -> Tuple[int, int]:
  """The pixel-control grid: the whole cells of the view within `pixel_control_crop`."""
  (top, bottom), (left, right) = pixel_control_crop(observation_shape, cell_size, crop)
  return ((observation_shape[0] - top - bottom) // cell_size,
          (observation_shape[1] - left - right) // cell_size)


def is_image(spec) -> bool:
  """Whether an observation spec is one image, [H, W, C] (what the convolutional torso and pixel
  control read)."""
  return hasattr(spec, 'shape') and len(spec.shape) == 3


class MlpTorso(snt.Module):
  """Flatten, then an MLP with ReLUs: the default torso of vector and matrix observations."""

  def __init__(self, hidden_sizes: Sequence[int] = (256, 256), name: str = 'mlp_torso'):
    super().__init__(name=name)
    self._mlp = snt.nets.MLP(list(hidden_sizes), activate_final=True)

  def __call__(self, observation: tf.Tensor) -> tf.Tensor:
    x = tf.cast(observation, tf.float32)
    size = x.shape[1:].num_elements()
    return self._mlp(tf.reshape(x, [-1, size]))


class NestedTorso(snt.Module):
  """One torso per leaf of a nested observation; their features concatenated (leaf order of
  `tree.flatten`)."""

  def __init__(self, torsos: Sequence[snt.Module], name: str = 'nested_torso'):
    super().__init__(name=name)
    self._torsos = list(torsos)

  def __call__(self, observation) -> tf.Tensor:
    leaves = tree.flatten(observation)
    if len(leaves) != len(self._torsos):
      raise ValueError(f'NestedTorso has {len(self._torsos)} torsos but the observation has '
                       f'{len(leaves)} leaves')
    return tf.concat([torso(leaf) for torso, leaf in zip(self._torsos, leaves)], axis=-1)


def make_torso(observation_spec, hidden_size: int = 256,
               conv_filters=((32, 8, 4), (64, 4, 2)),
               residual_filters=((64, 3, 1), (64, 3, 1))) -> snt.Module:
  """The default torso for an observation spec (the observation part of an OAR, not the OAR).

  Images ([H, W, C]) get the convolutional `FtwTorso`; vectors, matrices and scalars an
  `MlpTorso` (flatten, two ReLU layers of `hidden_size`); a nest one of these per leaf, their
  features concatenated (`NestedTorso`).
  """

  def leaf_torso(spec):
    if is_image(spec):
      return FtwTorso(conv_filters, residual_filters, hidden_size)
    return MlpTorso((hidden_size, hidden_size))

  leaves = tree.flatten(observation_spec)
  if len(leaves) == 1 and not tree.is_nested(observation_spec):
    return leaf_torso(observation_spec)
  return NestedTorso([leaf_torso(spec) for spec in leaves])
