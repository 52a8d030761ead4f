"""The TVT learner: whole episodes in, TVT rewards, one Adam step on the RMA's total loss.

Each item is one episode as Acme's EpisodeAdder writes it: row t holds o_t, a_t, the reward
r_{t+1} and discount that followed, and the actor's extras for step t (behaviour logits, V_t and
the read weights, indices and strengths of its memory reads). The learner computes the TVT
rewards from those acting-time reads and values (spec 3, as the release does), re-runs the RMA
from the zero state over the episode and applies spec 4's loss.
"""

import time
from typing import Dict, Iterator, List, Mapping, Optional

import acme
from acme.tf import savers
from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import reverb
import sonnet as snt
import tensorflow as tf

from agents.core import losses as core_losses
from agents.tvt import config as config_lib
from agents.tvt import losses
from agents.tvt import networks as networks_lib
from agents.tvt import tvt_rewards

LOSS_KEYS = ('pg_loss', 'baseline_loss', 'entropy_loss', 'recon_loss_image',
             'recon_loss_action', 'recon_loss_reward', 'total_reconstruction_loss',
             'read_reg_strength_loss', 'read_reg_key_norm_loss', 'total_read_reg_loss',
             'total_loss')


def episode_mask(discounts: np.ndarray) -> np.ndarray:
  """[T, B] 1 up to and including each episode's last transition (discount 0), 0 after it."""
  alive = np.cumprod(discounts > 0, axis=0)
  return np.concatenate([np.ones_like(alive[:1]), alive[:-1]], axis=0).astype(np.float32)


def previous(x: np.ndarray) -> np.ndarray:
  """[T, B] -> the same shifted one step later in time, with 0 at t = 0 (a_{t-1}, r_t)."""
  return np.concatenate([np.zeros_like(x[:1]), x[:-1]], axis=0)


class TVTLearner(acme.Learner, savers.TFSaveable):
  """Learns from batches of whole episodes; also the actors' variable source."""

  def __init__(self, network: networks_lib.RMANetwork,
               dataset: Iterator[reverb.ReplaySample], config: config_lib.TVTConfig,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, log_every: int = 1):
    self._network = network
    self._dataset = dataset
    self._config = config
    self._optimizer = tf.keras.optimizers.Adam(  # TF1 AdamOptimizer's update (spec 4.6).
        config.learning_rate, beta_1=config.beta1, beta_2=config.beta2,
        epsilon=config.epsilon)
    self._num_steps = tf.Variable(0, dtype=tf.int64, name='num_steps')
    self._episodes = tf.Variable(0, dtype=tf.int64, name='episodes')
    self._env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    self._counter = counter or counting.Counter()
    self._logger = logger or loggers.NoOpLogger()
    self._log_every = log_every
    self._last_log = None
    self._env_steps_at_last_log = 0
    # Served to actors from courier threads; refreshed by the learning thread after each update
    # so that no TensorFlow op runs outside it (TF 2.8's op dispatch is not thread-safe).
    self._numpy_variables = tf2_utils.to_numpy(network.variables)

  @property
  def state(self) -> Mapping[str, savers.Checkpointable]:
    return {'network': self._network, 'optimizer': self._optimizer,
            'num_steps': self._num_steps, 'episodes': self._episodes,
            'env_steps': self._env_steps}

  @property
  def num_steps(self) -> int:
    return int(self._num_steps.numpy())

  @tf.function
  def _gradients(self, images, actions, rewards, pcontinues, mask, behaviour_logits):
    """Loss terms and gradients of one batch ([T, B] time-major); nothing is applied yet."""
    c = self._config
    last_actions = tf.concat([tf.zeros_like(actions[:1]), actions[:-1]], 0)
    env_rewards = rewards['env']
    last_rewards = tf.concat([tf.zeros_like(env_rewards[:1]), env_rewards[:-1]], 0)
    inputs = networks_lib.RMAInputs(images, last_actions, last_rewards)
    batch_size = tf.shape(actions)[1]
    with tf.GradientTape() as tape:
      outputs = self._network.unroll(inputs, self._network.initial_state(batch_size))
      returns_rewards = env_rewards + rewards['tvt']
      bootstrap = tf.zeros_like(outputs.value[0])
      if c.off_policy_correction:
        targets = core_losses.vtrace_targets(outputs.logits, behaviour_logits, actions,
                                             returns_rewards, pcontinues, outputs.value,
                                             bootstrap)
        value_targets, advantages = targets.vs, targets.pg_advantages
      else:
        value_targets = losses.lambda_returns(returns_rewards, outputs.value, pcontinues,
                                              c.gamma, bootstrap)
        advantages = value_targets - outputs.value
      terms = losses.actor_critic_losses(outputs.logits, outputs.value, actions, value_targets,
                                         advantages, mask, c.baseline_cost, c.entropy_cost)
      zeros = tf.zeros([batch_size])
      if self._network.decoders is not None:
        image_logits, action_logits, predicted_rewards = snt.BatchApply(
            self._network.decoders)(outputs.core.latent)
        terms['recon_loss_image'] = losses.image_reconstruction_loss(
            image_logits, networks_lib.preprocess_image(images), mask, c.image_cost_weight)
        terms['recon_loss_action'] = losses.action_reconstruction_loss(
            action_logits, last_actions, mask)
        terms['recon_loss_reward'] = losses.reward_reconstruction_loss(
            predicted_rewards, last_rewards, mask)
      else:
        terms.update(recon_loss_image=zeros, recon_loss_action=zeros, recon_loss_reward=zeros)
      terms['read_reg_strength_loss'] = (
          losses.read_strength_loss(outputs.core.read_strengths, mask, c.read_strength_cost,
                                    c.read_strength_tolerance)
          if c.with_memory else zeros)
      terms['read_reg_key_norm_loss'] = zeros  # Disabled in the release (cost 0); logged.
      terms = {key: tf.reduce_mean(value) for key, value in terms.items()}  # Batch means.
      terms['total_reconstruction_loss'] = (terms['recon_loss_image'] +
                                            terms['recon_loss_action'] +
                                            terms['recon_loss_reward'])
      terms['total_read_reg_loss'] = (terms['read_reg_strength_loss'] +
                                      terms['read_reg_key_norm_loss'])
      terms['total_loss'] = (terms['pg_loss'] + terms['baseline_loss'] + terms['entropy_loss'] +
                             terms['total_reconstruction_loss'] + terms['total_read_reg_loss'])
    variables = self._network.trainable_variables
    gradients = tape.gradient(terms['total_loss'], variables)
    terms['gradient_norm'] = tf.linalg.global_norm(gradients)
    return gradients, terms

  @tf.function
  def _apply(self, gradients, episodes, env_steps):
    self._optimizer.apply_gradients(zip(gradients, self._network.trainable_variables))
    self._num_steps.assign_add(1)
    self._episodes.assign_add(episodes)
    self._env_steps.assign_add(env_steps)

  def prepare_batch(self, data) -> Dict[str, np.ndarray]:
    """Time-major numpy arrays of the first T rows (T = the configured episode length), the
    episode mask, and the TVT rewards from the actors' read info and values."""
    steps = self._config.episode_length
    time_major = lambda x: np.swapaxes(np.asarray(x), 0, 1)[:steps]
    extras = data.extras
    discounts = time_major(data.discount)
    mask = episode_mask(discounts)
    if self._config.do_tvt and self._config.with_memory:
      tvt = tvt_rewards.compute_tvt_rewards(
          np.asarray(extras['read_weights'])[:, :steps],
          np.asarray(extras['read_indices'])[:, :steps],
          np.asarray(extras['read_strengths'])[:, :steps],
          np.asarray(extras['value'])[:, :steps], self._config.gamma,
          self._config.tvt_alpha, self._config.tvt_read_strength_threshold).T * mask
    else:
      tvt = np.zeros_like(mask)
    return dict(images=time_major(data.observation), actions=time_major(data.action),
                env_rewards=time_major(data.reward).astype(np.float32), discounts=discounts,
                mask=mask, tvt_rewards=tvt.astype(np.float32),
                behaviour_logits=time_major(extras['logits']),
                read_strengths=time_major(extras['read_strengths']))

  def step(self):
    batch = self.prepare_batch(next(self._dataset).data)
    rewards = {'env': batch['env_rewards'], 'tvt': batch['tvt_rewards']}
    pcontinues = (self._config.gamma * batch['discounts']).astype(np.float32)
    gradients, terms = self._gradients(batch['images'], batch['actions'], rewards, pcontinues,
                                       batch['mask'], batch['behaviour_logits'])
    terms = tf2_utils.to_numpy(terms)
    if not (np.isfinite(terms['total_loss']) and np.isfinite(terms['gradient_norm'])):
      # Raise before applying anything, so the weights (and the checkpoints) stay finite.
      raise FloatingPointError(f'TVT total loss is {terms["total_loss"]} at learner step '
                               f'{self.num_steps}; no update was applied')
    episodes = batch['mask'].shape[1]
    env_steps = int(batch['mask'].sum())
    self._apply(gradients, tf.constant(episodes, tf.int64), tf.constant(env_steps, tf.int64))
    self.refresh_served_variables()
    counts = self._counter.increment(steps=1, episodes=episodes, env_steps=env_steps)
    if self.num_steps % self._log_every == 0:
      self._logger.write(dict(counts, **terms, **self._episode_metrics(batch),
                              **self._progress()))

  def _episode_metrics(self, batch) -> Dict[str, float]:
    """Batch means of the episode return, the last-phase reward and the summed TVT reward; and
    how strongly the actors read their memories (TVT needs reads above the threshold)."""
    rewards, mask = batch['env_rewards'] * batch['mask'], batch['mask']
    strengths = batch['read_strengths'][mask > 0]  # [steps, heads] of the acting-time reads.
    metrics = {'reward': float(rewards.sum(0).mean()),
               'tvt_reward': float(batch['tvt_rewards'].sum(0).mean()),
               'read_strength_mean': float(strengths.mean()),
               'read_strength_max': float(strengths.max()),
               'strong_read_fraction': float(
                   (strengths > self._config.tvt_read_strength_threshold).any(-1).mean())}
    if self._config.last_phase_steps:
      lengths = mask.sum(0)
      in_last_phase = np.arange(len(mask))[:, None] >= lengths - self._config.last_phase_steps
      metrics['last_phase_reward'] = float((rewards * in_last_phase).sum(0).mean())
    return metrics

  def _progress(self) -> Dict[str, float]:
    """Learner steps, episodes and environment steps so far, and env steps learned per second."""
    now, env_steps = time.time(), int(self._env_steps.numpy())
    rate = 0.0
    if self._last_log is not None:
      rate = (env_steps - self._env_steps_at_last_log) / max(now - self._last_log, 1e-9)
    self._last_log, self._env_steps_at_last_log = now, env_steps
    return {'learner_steps': self.num_steps, 'episodes': int(self._episodes.numpy()),
            'env_steps': env_steps, 'steps_per_second': rate}

  def refresh_served_variables(self):
    """Copies the network's variables to the numpy cache served to actors (call after a restore)."""
    self._numpy_variables = tf2_utils.to_numpy(self._network.variables)

  def get_variables(self, names: List[str]) -> List[List[np.ndarray]]:
    del names  # One set of variables: the RMA network's.
    return [self._numpy_variables]
