"""The meta-RL learner: V-trace (or on-policy A2C) actor-critic on whole-episode sequences."""

import time
from typing import Iterator, List, Mapping, Optional

import acme
from acme.tf import savers
from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import reverb
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import losses
from agents.meta_rl import config as config_lib


class MetaRLLearner(acme.Learner, savers.TFSaveable):
  """Learns from batches of [B, T+1] sequences written by Acme's SequenceAdder.

  Row t holds observation t, the action taken there, the reward and discount that followed, and
  the actor's extras (behaviour logits and the LSTM state before the step). The last row only
  contributes its observation, whose value bootstraps the return.
  """

  def __init__(self, network: snt.RNNCore, dataset: Iterator[reverb.ReplaySample],
               config: config_lib.MetaRLConfig,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None):
    self._network = network
    self._dataset = dataset
    self._config = config
    self._learning_rate = tf.Variable(config.learning_rate, dtype=tf.float32, trainable=False)
    self._optimizer = snt.optimizers.Adam(self._learning_rate)
    self._num_steps = tf.Variable(0, dtype=tf.int64, name='num_steps')
    self._counter = counter or counting.Counter()
    self._logger = logger or loggers.NoOpLogger()
    self._last_step_time = None
    # Served to actors from courier threads; refreshed by the learning thread after each update
    # so that no TensorFlow op ever runs outside it (TF 2.8's op dispatch is not thread-safe).
    self._numpy_variables = tf2_utils.to_numpy(self._network.variables)

  @property
  def state(self) -> Mapping[str, savers.Checkpointable]:
    return {'network': self._network, 'optimizer': self._optimizer,
            'num_steps': self._num_steps}

  @tf.function
  def _gradients(self, observations, actions, rewards, discounts, behaviour_logits, core_state,
                 entropy_cost):
    """Loss metrics and clipped gradients of one batch; nothing is applied yet."""
    # Batch-major [B, T+1, ...] to time-major [T+1, B, ...].
    observations, actions, rewards, discounts, behaviour_logits = tf2_utils.batch_to_sequence(
        (observations, actions, rewards, discounts, behaviour_logits))
    with tf.GradientTape() as tape:
      (logits, values), _ = snt.static_unroll(self._network, observations, core_state)
      loss, metrics = losses.actor_critic_loss(
          logits=logits[:-1], values=values[:-1], actions=actions[:-1],
          rewards=rewards[:-1], discounts=self._config.discount * discounts[:-1],
          bootstrap_value=values[-1],
          behaviour_logits=(behaviour_logits[:-1] if self._config.off_policy_correction
                            else None),
          baseline_cost=self._config.baseline_cost, entropy_cost=entropy_cost)
    variables = self._network.trainable_variables
    gradients = tape.gradient(loss, variables)
    gradients, gradient_norm = tf.clip_by_global_norm(gradients,
                                                      self._config.max_gradient_norm)
    metrics.update(loss=loss, gradient_norm=gradient_norm)
    return gradients, metrics

  @tf.function
  def _apply(self, gradients):
    self._optimizer.apply(gradients, self._network.trainable_variables)
    self._num_steps.assign_add(1)

  def step(self):
    sample = next(self._dataset)
    data = sample.data
    # The stored state is a namedtuple rebuilt from the table signature; give it the core's type.
    core_state = tree.unflatten_as(self._network.initial_state(1),
                                   [s[:, 0] for s in tree.flatten(data.extras['core_state'])])
    steps_learned = int(self._num_steps.numpy()) * self._config.batch_size * (
        self._config.unroll_length)
    entropy_cost, learning_rate = self._config.annealed(steps_learned)
    self._learning_rate.assign(learning_rate)
    gradients, metrics = self._gradients(
        data.observation, data.action, data.reward, data.discount, data.extras['logits'],
        core_state, tf.constant(entropy_cost, tf.float32))
    metrics = tf2_utils.to_numpy(metrics)
    if not (np.isfinite(metrics['loss']) and np.isfinite(metrics['gradient_norm'])):
      # Raise before applying anything, so the weights (and the checkpoints) stay finite.
      raise FloatingPointError(f'meta-RL loss is {metrics["loss"]} at learner step '
                               f'{int(self._num_steps.numpy())}; no update was applied')
    self._apply(gradients)
    self.refresh_served_variables()
    now = time.time()
    elapsed = now - self._last_step_time if self._last_step_time else 0.0
    self._last_step_time = now
    counts = self._counter.increment(steps=1, walltime=elapsed)
    metrics.update(counts, entropy_cost=entropy_cost, learning_rate=learning_rate)
    self._logger.write(metrics)

  def refresh_served_variables(self):
    """Copies the network's variables to the numpy cache served to actors (call after a restore)."""
    self._numpy_variables = tf2_utils.to_numpy(self._network.variables)

  def get_variables(self, names: List[str]) -> List[List[np.ndarray]]:
    del names  # One set of variables: the policy network's.
    return [self._numpy_variables]
