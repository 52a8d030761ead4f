"""The meta-RL learner: V-trace (or on-policy A2C) actor-critic on whole-episode sequences."""

from typing import Iterator, Mapping, Optional

from acme.tf import savers
from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import reverb
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import learning
from agents.core import losses
from agents.meta_rl import config as config_lib


def valid_steps(discounts: tf.Tensor) -> tf.Tensor:
  """[T, B] mask of the rows of [T+1, B] `discounts` that hold a transition: those with no zero
  discount before them (after an episode's last transition come its final observation, whose
  action is a placeholder, and the padding)."""
  alive = tf.math.cumprod(tf.cast(discounts > 0.0, tf.float32), axis=0, exclusive=True)
  return alive[:-1]


class MetaRLLearner(learning.Learner):
  """Learns from batches of [B, T+1] sequences written by Acme's SequenceAdder.

  Row t holds observation t, the action taken there, the reward and discount that followed, and
  the actor's extras (behaviour logits and the LSTM state before the step). The last row only
  contributes its observation, whose value bootstraps the return. A sequence that reaches an
  episode's end is zero-padded after it (episodes of any length); the rows after a zero
  discount carry no transition and are masked out of the loss (`valid_steps`).
  """

  def __init__(self, network: snt.RNNCore, dataset: Iterator[reverb.ReplaySample],
               config: config_lib.MetaRLConfig,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None):
    super().__init__('meta-RL learner', network, dataset, counter, logger)
    self._network = network
    self._config = config
    self._learning_rate = tf.Variable(config.learning_rate, dtype=tf.float32, trainable=False)
    self._optimizer = snt.optimizers.Adam(self._learning_rate)
    self._update = tf.function(self._update, jit_compile=config.jit_compile)  # XLA or graph.

  @property
  def state(self) -> Mapping[str, savers.Checkpointable]:
    return {'network': self._network, 'optimizer': self._optimizer,
            'num_steps': self._num_steps}

  def _update(self, observations, actions, rewards, discounts, behaviour_logits, core_state,
              entropy_cost):
    """One update on a batch, applied only if the loss and clipped gradients are finite."""
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
          baseline_cost=self._config.baseline_cost, entropy_cost=entropy_cost,
          mask=valid_steps(discounts))
    variables = self._network.trainable_variables
    finite, gradient_norm = self._apply_if_finite(
        loss, tape.gradient(loss, variables), variables, self._optimizer,
        self._config.max_gradient_norm)
    metrics.update(loss=loss, gradient_norm=gradient_norm)
    return finite, metrics

  def step(self):
    sample = self._next_batch()
    data = sample.data
    # The stored state is a namedtuple rebuilt from the table signature; give it the core's type.
    core_state = tree.unflatten_as(self._network.initial_state(1),
                                   [s[:, 0] for s in tree.flatten(data.extras['core_state'])])
    steps_learned = self.num_steps * self._config.batch_size * self._config.unroll_length
    entropy_cost, learning_rate = self._config.annealed(steps_learned)
    self._learning_rate.assign(learning_rate)
    finite, metrics = self._update(
        data.observation, data.action, data.reward, data.discount, data.extras['logits'],
        core_state, tf.constant(entropy_cost, tf.float32))
    metrics = tf2_utils.to_numpy(metrics)
    self._check_finite(finite, metrics['loss'], metrics['gradient_norm'])
    self._end_step(dict(metrics, entropy_cost=entropy_cost, learning_rate=learning_rate))
