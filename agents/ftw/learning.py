"""The FTW learner: V-trace actor-critic with the RPTH KL terms, pixel control, reward prediction.

One `step()` (spec 4.7): a main update on a batch of unrolls from the queue, then, if the
auxiliary tables can be sampled, one pixel-control update and one reward-prediction update, each
with its own RMSProp. Every cost and the learning rate are read from (hyperparameter) variables
inside the compiled update, so a PBT change takes effect at the next step (fix of defect D4).
A non-finite loss raises FloatingPointError before any weight changes (the core learner base's
in-graph check; the base also serves the policy's weights and counts the steps).
"""

import threading
from typing import Callable, Dict, Iterator, List, Optional, Union

from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import learning
from agents.core import losses as core_losses
from agents.ftw import losses
from agents.ftw import networks as ftw_networks

Scalar = Union[float, tf.Variable]


def _variable(value: Scalar, name: str) -> tf.Variable:
  if isinstance(value, tf.Variable):
    return value
  return tf.Variable(float(value), dtype=tf.float32, trainable=False, name=name)


def _as_predicate(value, default: bool) -> Callable[[], bool]:
  if value is None:
    return lambda: default
  if callable(value):
    return value
  return lambda: bool(value)


def _time_major(tree_of_arrays):
  return tf2_utils.batch_to_sequence(tree_of_arrays)


def _ready(dataset) -> bool:
  """Whether `next(dataset)` returns at once; False for a dataset that cannot tell."""
  ready = getattr(dataset, 'ready', None)
  return bool(ready()) if ready is not None else False


class FtwLearner(learning.Learner):
  """Trains the policy network (and the auxiliary networks that share its layers).

  `can_sample` is accepted for the original's API and ignored: the caller steps the learner.
  `uint_pixels_to_float` likewise: the torso scales uint8 pixels itself. Without
  `can_sample_auxiliary`, the auxiliary updates run when all their datasets are `ready()`.
  """

  def __init__(self, policy_network: ftw_networks.FtwNetwork, dataset: Iterator,
               learning_rate: Scalar, slow_core_period: Scalar, internal_rewards,
               pixel_control_network: Optional[ftw_networks.RNNPixelControlNetwork] = None,
               reward_prediction_network: Optional[ftw_networks.RewardPredictionNetwork] = None,
               pixel_control_dataset: Optional[Iterator] = None,
               nonzero_reward_prediction_dataset: Optional[Iterator] = None,
               zero_reward_prediction_dataset: Optional[Iterator] = None,
               entropy_cost: Scalar = 0.0, kld_prior_fixed_cost: Scalar = 1e-4,
               kld_prior_posterior_cost: Scalar = 1e-3, pixel_control_cost: Scalar = 0.01,
               reward_prediction_cost: Scalar = 0.1, baseline_cost: float = 0.5,
               discount: float = 0.99, max_abs_reward: Optional[float] = None,
               max_gradient_norm: Optional[float] = None, rms_prop_epsilon: float = 0.01,
               learning_rate_decay_steps: int = 0, can_sample=None, can_sample_auxiliary=None,
               uint_pixels_to_float: bool = True, learner_id: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, *, pixel_control_cell_size: int = 4,
               pixel_control_crop: int = 2, pixel_control_discount: float = 0.9,
               jit_compile: bool = False, sample_auxiliary_in_background: bool = True,
               fused_rms_prop: bool = True):
    if not hasattr(policy_network, 'unroll'):
      raise ValueError('the policy network must have an `unroll` method')
    if pixel_control_network is not None and not hasattr(pixel_control_network, 'unroll'):
      raise ValueError('the pixel-control network must have an `unroll` method')
    if (nonzero_reward_prediction_dataset is None) != (zero_reward_prediction_dataset is None):
      raise ValueError('give both reward-prediction datasets or neither')
    # The core reads its own period variable; the others are kept for the original's API too.
    del slow_core_period, can_sample, uint_pixels_to_float
    super().__init__(f'FTW learner {learner_id}', policy_network, dataset, counter,
                     logger or loggers.TerminalLogger(f'learner_{learner_id}', time_delta=1.0))
    self._network = policy_network
    self._internal_rewards = internal_rewards
    self._pc_network = pixel_control_network if pixel_control_dataset is not None else None
    self._pc_dataset = pixel_control_dataset
    self._rp_network = (reward_prediction_network
                        if nonzero_reward_prediction_dataset is not None else None)
    self._rp_datasets = (zero_reward_prediction_dataset, nonzero_reward_prediction_dataset)
    self._learning_rate = _variable(learning_rate, 'learning_rate')
    self._costs = {
        'entropy': _variable(entropy_cost, 'entropy_cost'),
        'kld_prior_fixed': _variable(kld_prior_fixed_cost, 'kld_prior_fixed_cost'),
        'kld_prior_posterior': _variable(kld_prior_posterior_cost, 'kld_prior_posterior_cost'),
        'pixel_control': _variable(pixel_control_cost, 'pixel_control_cost'),
        'reward_prediction': _variable(reward_prediction_cost, 'reward_prediction_cost'),
    }
    self._baseline_cost = baseline_cost
    self._discount = discount
    self._max_abs_reward = float('inf') if max_abs_reward is None else max_abs_reward
    self._max_gradient_norm = 1e10 if max_gradient_norm is None else max_gradient_norm
    self._decay_steps = learning_rate_decay_steps
    self._pc_cell_size = pixel_control_cell_size
    self._pc_crop = pixel_control_crop
    self._pc_discount = pixel_control_discount
    if can_sample_auxiliary is None:
      auxiliary = ([self._pc_dataset] if self._pc_network is not None else []) + (
          list(self._rp_datasets) if self._rp_network is not None else [])
      can_sample_auxiliary = lambda: bool(auxiliary) and all(map(_ready, auxiliary))
    self._can_sample_auxiliary = _as_predicate(can_sample_auxiliary, False)
    self._sample_auxiliary_in_background = sample_auxiliary_in_background
    self._learner_id = learner_id
    # XLA or plain graph mode for the three updates (FtwConfig.jit_compile says which is faster).
    compile_ = lambda method: tf.function(method, jit_compile=jit_compile)
    self._main_update = compile_(self._main_update)
    self._pixel_control_update = compile_(self._pixel_control_update)
    self._reward_prediction_update = compile_(self._reward_prediction_update)
    # The rate actually used, recomputed from the live hyperparameter before every update.
    self._effective_learning_rate = tf.Variable(self._learning_rate.numpy(), trainable=False,
                                                name='effective_learning_rate')
    optimizer_class = FusedRMSProp if fused_rms_prop else snt.optimizers.RMSProp
    make_optimizer = lambda: optimizer_class(  # pylint: disable=g-long-lambda
        self._effective_learning_rate, decay=0.99, momentum=0.0, epsilon=rms_prop_epsilon)
    self._optimizer = make_optimizer()
    self._pc_optimizer = make_optimizer() if self._pc_network is not None else None
    self._rp_optimizer = make_optimizer() if self._rp_network is not None else None
    for optimizer, network in self._optimizers():
      # Create the optimizer slots now (a zero update changes nothing), so that weights copied
      # by PBT always have the same layout.
      variables = network.trainable_variables
      optimizer.apply([tf.zeros_like(v) for v in variables], variables)

  def _optimizers(self):
    pairs = [(self._optimizer, self._network)]
    if self._pc_network is not None:
      pairs.append((self._pc_optimizer, self._pc_network))
    if self._rp_network is not None:
      pairs.append((self._rp_optimizer, self._rp_network))
    return pairs

  @property
  def state(self) -> Dict[str, object]:
    state = {'policy_network': self._network, 'optimizer': self._optimizer,
             'num_steps': self._num_steps}
    if self._pc_network is not None:
      state.update(pixel_control_network=self._pc_network,
                   pixel_control_optimizer=self._pc_optimizer)
    if self._rp_network is not None:
      state.update(reward_prediction_network=self._rp_network,
                   reward_prediction_optimizer=self._rp_optimizer)
    return state

  # ------------------------------------------------------------------------------------------
  # Updates (compiled in __init__): each applies its gradients only if loss and gradient are finite.

  def _update_if_finite(self, loss, tape, network, optimizer):
    variables = network.trainable_variables
    gradients = tape.gradient(loss, variables)
    gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
    return self._apply_if_finite(loss, gradients, variables, optimizer,
                                 self._max_gradient_norm)

  def _main_update(self, observations, actions, events, discounts, behaviour_logits,
                   core_state, mask=None):
    observations, actions, events, discounts, behaviour_logits = _time_major(
        (observations, actions, events, discounts, behaviour_logits))
    if mask is None:
      mask = tf.ones_like(discounts, tf.bool)
    else:
      mask = _time_major(mask)
    rows = _Rows(mask)
    decay = (1.0 - tf.minimum(tf.cast(self._num_steps, tf.float32), self._decay_steps) /
             self._decay_steps) if self._decay_steps > 0 else 1.0
    self._effective_learning_rate.assign(self._learning_rate * decay)
    with tf.GradientTape() as tape:
      (logits, values, core_outputs), _ = self._network.unroll(observations, core_state)
      rewards = self._internal_rewards.reward(events)
      rewards = tf.clip_by_value(rewards, -self._max_abs_reward, self._max_abs_reward)
      rewards = rewards * rows.transitions_f
      # Sums over transitions 0..T-2; V_{T-1} bootstraps (spec 4.2). In a padded unroll the
      # transitions from the bootstrap row k on are left out: their rewards are 0, discounts 1
      # and values V_k, so that their V-trace errors vanish and V_k bootstraps row k - 1.
      discounts = tf.where(rows.transitions, self._discount * discounts, 1.0)
      values_for_targets = tf.where(rows.before_bootstrap, values, rows.at_bootstrap(values))
      _, terms = core_losses.actor_critic_loss(
          logits[:-1], values_for_targets[:-1], actions[:-1], rewards[:-1], discounts[:-1],
          values_for_targets[-1], behaviour_logits[:-1], returns='vtrace', reduction='sum',
          mask=rows.transitions_f[:-1])
      metrics = {'policy_gradient_loss': terms['policy_loss'],
                 'critic_loss': self._baseline_cost * terms['baseline_loss'],
                 'entropy_loss': self._costs['entropy'] * -terms['entropy']}
      if isinstance(core_outputs, ftw_networks.RPTHOutput):
        prior, posterior = core_outputs.distribution_params
        metrics['kld_prior_fixed_loss'] = self._costs['kld_prior_fixed'] * losses.fixed_prior_kl(
            prior.loc, prior.scale, core_outputs.slow_core_updated * rows.real_f,
            ftw_networks.FIXED_PRIOR_SCALE)
        metrics['kld_prior_posterior_loss'] = (
            self._costs['kld_prior_posterior'] *
            losses.prior_posterior_kl(posterior.loc, posterior.scale, prior.loc, prior.scale,
                                      mask=rows.real_f))
      loss = tf.add_n(list(metrics.values()))
    finite, norm = self._update_if_finite(loss, tape, self._network, self._optimizer)
    metrics.update(loss=loss, gradient_norm=norm, finite=finite,
                   mean_internal_reward=tf.reduce_sum(rewards[:-1]) / tf.maximum(
                       tf.reduce_sum(rows.transitions_f[:-1]), 1.0))
    return metrics

  def _pixel_control_update(self, observations, actions, core_state, mask=None):
    observations, actions = _time_major((observations, actions))
    mask = tf.ones_like(actions, tf.bool) if mask is None else _time_major(mask)
    rows = _Rows(mask)
    # In a padded unroll the last real transition (into the bootstrap row k) ends the pseudo-
    # rewards' returns, and the padding transitions are left out.
    discount = self._pc_discount * tf.cast(rows.continues, tf.float32)[:-1]
    crop = ftw_networks.pixel_control_crop(observations.observation.shape[2:],
                                           self._pc_cell_size, self._pc_crop)
    with tf.GradientTape() as tape:
      q_values, _ = self._pc_network.unroll(observations, core_state)
      frames = ftw_networks.pixels_to_float(observations.observation)
      loss = self._costs['pixel_control'] * losses.pixel_control_loss(
          frames, actions[:-1], q_values, self._pc_cell_size, crop, discount,
          mask=rows.transitions_f[:-1])
    finite, _ = self._update_if_finite(loss, tape, self._pc_network, self._pc_optimizer)
    return {'pixel_control_loss': loss, 'finite': finite}

  def _reward_prediction_update(self, zero_frames, nonzero_frames, nonzero_events):
    frames = tf.nest.map_structure(lambda z, n: tf.concat([z, n], axis=0), zero_frames,
                                   nonzero_frames)  # Nested observations too.
    rewards = self._internal_rewards.reward(nonzero_events[:, -1])
    labels = tf.concat([tf.zeros(tf.shape(tf.nest.flatten(zero_frames)[0])[:1], tf.int32),
                        losses.reward_prediction_labels(rewards)], axis=0)
    with tf.GradientTape() as tape:
      logits = self._rp_network(frames)
      loss = self._costs['reward_prediction'] * losses.reward_prediction_loss(logits, labels)
    finite, _ = self._update_if_finite(loss, tape, self._rp_network, self._rp_optimizer)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32),
                                               labels), tf.float32))
    return {'reward_prediction_loss': loss, 'reward_prediction_accuracy': accuracy,
            'finite': finite}

  # ------------------------------------------------------------------------------------------

  def _core_state(self, stored):
    """The first-row core state of a batch, in the core's own nest types."""
    template = self._network.initial_state(1)
    return tree.unflatten_as(template, [np.asarray(x)[:, 0] for x in tree.flatten(stored)])

  def _check(self, metrics, task: str, loss_key: str):
    """Raises FloatingPointError if the update of `task` was refused (not finite)."""
    self._check_finite(metrics.pop('finite'), metrics[loss_key], metrics.get('gradient_norm'),
                       task)

  def step(self):
    # The auxiliary batches come from replays, which do not block once they can be sampled, so
    # they may be fetched on another thread while the main update runs (a tenth of a step).
    in_background = self._sample_auxiliary_in_background
    auxiliary = (_called(self._auxiliary_batches, in_background=True)
                 if in_background and self._can_sample_auxiliary() else None)
    sample = self._next_batch().data
    metrics = self._main_update(_oar(sample.observation), sample.action, sample.reward,
                                sample.discount, sample.extras['logits'],
                                self._core_state(sample.extras['core_state']),
                                sample.extras.get('mask'))
    metrics = tf2_utils.to_numpy(metrics)
    self._check(metrics, 'main', 'loss')
    if not in_background and self._can_sample_auxiliary():
      auxiliary = _called(self._auxiliary_batches, in_background=False)
    if auxiliary is not None:
      metrics.update(self._auxiliary_step(*auxiliary()))
    metrics['learning_rate'] = float(self._effective_learning_rate.numpy())
    self._end_step(metrics)

  def _auxiliary_batches(self):
    """(pixel-control batch, (zero, nonzero) reward-prediction batches); None for a task off."""
    pixel_control = next(self._pc_dataset).data if self._pc_network is not None else None
    reward_prediction = (tuple(next(d).data for d in self._rp_datasets)
                         if self._rp_network is not None else None)
    return pixel_control, reward_prediction

  def _auxiliary_step(self, pixel_control, reward_prediction) -> Dict[str, float]:
    metrics = {}
    if pixel_control is not None:
      pc = tf2_utils.to_numpy(self._pixel_control_update(
          _oar(pixel_control.observation), pixel_control.action,
          self._core_state(pixel_control.extras['core_state']),
          pixel_control.extras.get('mask')))
      self._check(pc, 'pixel control', 'pixel_control_loss')
      metrics.update(pc)
    if reward_prediction is not None:
      zero, nonzero = reward_prediction
      rp = tf2_utils.to_numpy(self._reward_prediction_update(
          zero['observation'], nonzero['observation'], nonzero['reward']))
      self._check(rp, 'reward prediction', 'reward_prediction_loss')
      metrics.update(rp)
    return metrics

  def get_weights(self) -> Dict[str, List[np.ndarray]]:
    """Every variable of `state` (networks and optimizer slots) as numpy, key by key."""
    return {key: [np.asarray(v.numpy()) for v in _variables_of(obj)]
            for key, obj in self.state.items()}

  def set_weights(self, weights: Dict[str, List[np.ndarray]]):
    for key, values in weights.items():
      if key not in self.state:
        raise ValueError(f'set_weights: unknown key {key!r}')
      variables = _variables_of(self.state[key])
      if len(variables) != len(values):
        raise ValueError(f'set_weights: {key!r} has {len(variables)} variables, got '
                         f'{len(values)} values')
      try:
        for variable, value in zip(variables, values):
          variable.assign(value)
      except (ValueError, tf.errors.InvalidArgumentError) as error:
        raise ValueError(f'set_weights: could not assign {key!r}: {error}') from error
    self.refresh_served_variables()

  def get_step(self) -> int:
    return self.num_steps

  def set_step(self, step: int):
    self._num_steps.assign(int(step))


class FusedRMSProp(snt.optimizers.RMSProp):
  """Sonnet's RMSProp (its slots and its update) applied by TensorFlow's fused kernel: one op per
  variable instead of about ten, a few milliseconds of every FTW update. Centred RMSProp and
  sparse gradients take Sonnet's own path."""

  def apply(self, updates, parameters):
    if self.centered or any(isinstance(u, tf.IndexedSlices) for u in updates):
      return super().apply(updates, parameters)
    self._initialize(parameters)  # pylint: disable=protected-access
    for update, parameter, mom, ms in zip(updates, parameters, self.mom, self.ms):
      if update is None:
        continue
      cast = lambda x, dtype=update.dtype: tf.cast(x, dtype)
      # ms = decay ms + (1 - decay) g^2; mom = momentum mom + lr g / sqrt(ms + eps); p -= mom.
      tf.raw_ops.ResourceApplyRMSProp(
          var=parameter.handle, ms=ms.handle, mom=mom.handle, lr=cast(self.learning_rate),
          rho=cast(self.decay), momentum=cast(self.momentum), epsilon=cast(self.epsilon),
          grad=update)


class _Rows:
  """Which rows of time-major unrolls [T, B] are real, from the adders' row mask.

  The mask is 1 for rows whose transition is real; the rows after them in an unroll are the
  episode's bootstrap row k (its last observation) and padding. k is T - 1 in an unpadded unroll.
  """

  def __init__(self, mask: tf.Tensor):
    length = tf.shape(mask)[0]
    self.transitions = tf.cast(mask, tf.bool)
    self.transitions_f = tf.cast(self.transitions, tf.float32)
    self._k = tf.minimum(tf.reduce_sum(tf.cast(self.transitions, tf.int32), axis=0),
                         length - 1)  # [B]
    index = tf.range(length)[:, None]
    self.before_bootstrap = index < self._k[None]
    self.real_f = tf.cast(index <= self._k[None], tf.float32)  # Observations, not padding.
    # Transitions whose successor is not the bootstrap row of a padded unroll.
    self.continues = tf.logical_or(index + 1 < self._k[None], self._k[None] == length - 1)

  def at_bootstrap(self, values: tf.Tensor) -> tf.Tensor:
    """[T, B] copies of values[k] (per batch row)."""
    picked = tf.gather(tf.transpose(values), self._k, batch_dims=1)  # [B]
    return tf.broadcast_to(picked[None], tf.shape(values))


def _oar(observation) -> ftw_networks.OAR:
  """The OAR of a sampled batch as Acme's own namedtuple (the dataset rebuilds its own class,
  and a new class would make the compiled updates retrace)."""
  return ftw_networks.OAR(observation.observation, observation.action, observation.reward)


def _called(function: Callable[[], object], in_background: bool) -> Callable[[], object]:
  """Calls `function` now, or on a daemon thread; gives a callable that returns its result
  (waiting for the thread) or raises its error."""
  if not in_background:
    result = function()
    return lambda: result
  outcome = {}

  def run():
    try:
      outcome['result'] = function()
    except BaseException as error:  # pylint: disable=broad-except
      outcome['error'] = error

  thread = threading.Thread(target=run, name='auxiliary-batches', daemon=True)
  thread.start()

  def result():
    thread.join()
    if 'error' in outcome:
      raise outcome['error']
    return outcome['result']

  return result


def _variables_of(obj) -> List[tf.Variable]:
  """A module's or optimizer's variables in a fixed order, or a variable alone."""
  if isinstance(obj, tf.Variable):
    return [obj]
  return list(obj.variables)
