"""The TVT learner: whole episodes in, TVT rewards, one Adam step on the RMA's total loss.

Each item is one episode as Acme's EpisodeAdder writes it: row t holds o_t, a_t, the reward
r_{t+1} and discount that followed, and the actor's extras for step t (behaviour logits, V_t and
the read weights, indices and strengths of its memory reads). The learner computes the TVT
rewards from those acting-time reads and values (spec 3, as the release does), re-runs the RMA
from the zero state over the episode and applies spec 4's loss.

Episodes may be shorter than the configured length: their items are zero-padded after the
final observation, and every term of the loss, the TVT rewards (neither sent from nor to the
padding) and the metrics count only the steps up to each episode's last transition (`mask`).
The memory needs no mask: the rows written on the padding come after every real step's read.
"""

import time
from typing import Dict, Iterator, Mapping, Optional

from acme.tf import savers
from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import reverb
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import learning
from agents.core import losses as core_losses
from agents.tvt import config as config_lib
from agents.tvt import diagnostics
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


class TVTLearner(learning.Learner):
  """Learns from batches of whole episodes; also the actors' variable source."""

  def __init__(self, network: networks_lib.RMANetwork,
               dataset: Iterator[reverb.ReplaySample], config: config_lib.TVTConfig,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, log_every: int = 1):
    super().__init__('TVT learner', network, dataset, counter, logger, log_every)
    self._network = network
    self._config = config
    self._optimizer = tf.keras.optimizers.Adam(  # TF1 AdamOptimizer's update (spec 4.6).
        config.learning_rate, beta_1=config.beta1, beta_2=config.beta2,
        epsilon=config.epsilon)
    self._episodes = tf.Variable(0, dtype=tf.int64, name='episodes')
    self._env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    self._last_log = None
    self._env_steps_at_last_log = 0
    self._update = tf.function(self._update, jit_compile=config.jit_compile)

  @property
  def state(self) -> Mapping[str, savers.Checkpointable]:
    return {'network': self._network, 'optimizer': self._optimizer,
            'num_steps': self._num_steps, 'episodes': self._episodes,
            'env_steps': self._env_steps}

  def _update(self, observations, actions, rewards, pcontinues, mask, behaviour_logits):
    """Loss terms of one batch ([T, B] time-major) and its update, applied only if finite."""
    c = self._config
    last_actions = tf.concat([tf.zeros_like(actions[:1]), actions[:-1]], 0)
    env_rewards = rewards['env']
    last_rewards = tf.concat([tf.zeros_like(env_rewards[:1]), env_rewards[:-1]], 0)
    inputs = networks_lib.RMAInputs(observations, last_actions, last_rewards)
    batch_size = tf.shape(actions)[1]
    with tf.GradientTape() as tape:
      outputs = self._network.unroll(inputs, self._network.initial_state(batch_size))
      # Spec 4.1: V-trace, or lambda-returns with lambda = gamma; episodes end with value 0.
      _, actor_critic = core_losses.actor_critic_loss(
          outputs.logits, outputs.value, actions, env_rewards + rewards['tvt'], pcontinues,
          tf.zeros_like(outputs.value[0]), behaviour_logits,
          returns='vtrace' if c.off_policy_correction else 'lambda', lambda_=c.gamma,
          mask=mask, reduction='sum_over_time')
      terms = {'pg_loss': actor_critic['policy_loss'],
               'baseline_loss': c.baseline_cost * actor_critic['baseline_loss'],
               'entropy_loss': c.entropy_cost * -actor_critic['entropy']}
      zeros = tf.zeros([batch_size])
      if self._network.decoders is not None:
        decoded, action_logits, predicted_rewards = snt.BatchApply(
            self._network.decoders)(outputs.core.latent)
        if self._network.is_image:
          terms['recon_loss_image'] = losses.image_reconstruction_loss(
              decoded, networks_lib.preprocess_image(observations), mask, c.image_cost_weight)
        else:  # Any other observation (named 'image' in the logs all the same).
          terms['recon_loss_image'] = losses.observation_reconstruction_loss(
              decoded, networks_lib.flatten_observation(observations, num_dims=2), mask,
              c.image_cost_weight)
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
    finite, terms['gradient_norm'] = self._apply_if_finite(
        terms['total_loss'], tape.gradient(terms['total_loss'], variables), variables,
        self._optimizer)
    return finite, terms

  def prepare_batch(self, data) -> Dict[str, np.ndarray]:
    """Time-major numpy arrays of the first T rows (T = the configured episode length), the
    episode mask, and the TVT rewards from the actors' read info and values."""
    steps = self._config.episode_length
    time_major = lambda x: np.swapaxes(np.asarray(x), 0, 1)[:steps]
    extras = data.extras
    discounts = time_major(data.discount)
    mask = episode_mask(discounts)
    if self._config.do_tvt and self._config.with_memory:
      # Reads after an episode's end (the padding of a shorter episode) transport nothing:
      # their strengths are zeroed (a whole episode's mask is all ones, changing nothing).
      strengths = np.asarray(extras['read_strengths'])[:, :steps] * mask.T[:, :, None]
      tvt = tvt_rewards.compute_tvt_rewards(
          np.asarray(extras['read_weights'])[:, :steps],
          np.asarray(extras['read_indices'])[:, :steps], strengths,
          np.asarray(extras['value'])[:, :steps], self._config.gamma,
          self._config.tvt_alpha, self._config.tvt_read_strength_threshold).T * mask
    else:
      tvt = np.zeros_like(mask)
    return dict(observations=tree.map_structure(time_major, data.observation),
                actions=time_major(data.action),
                env_rewards=time_major(data.reward).astype(np.float32), discounts=discounts,
                mask=mask, tvt_rewards=tvt.astype(np.float32),
                behaviour_logits=time_major(extras['logits']),
                read_strengths=time_major(extras['read_strengths']), extras=extras)

  def step(self):
    batch = self.prepare_batch(self._next_batch().data)
    rewards = {'env': batch['env_rewards'], 'tvt': batch['tvt_rewards']}
    pcontinues = (self._config.gamma * batch['discounts']).astype(np.float32)
    finite, terms = self._update(batch['observations'], batch['actions'], rewards, pcontinues,
                                 batch['mask'], batch['behaviour_logits'])
    terms = tf2_utils.to_numpy(terms)
    self._check_finite(finite, terms['total_loss'], terms['gradient_norm'], 'total')
    episodes = batch['mask'].shape[1]
    env_steps = int(batch['mask'].sum())
    self._episodes.assign_add(episodes)
    self._env_steps.assign_add(env_steps)
    self._end_step(lambda: dict(terms, **self._episode_metrics(batch), **self._progress()),
                   episodes=episodes, env_steps=env_steps)

  def _episode_metrics(self, batch) -> Dict[str, float]:
    """Batch means of the episode return, the last-phase reward and the summed TVT reward; how
    strongly the actors read their memories (TVT needs reads above the threshold); and, for the
    pycolab tasks, where TVT's rewards land (`diagnostics`)."""
    rewards, mask = batch['env_rewards'] * batch['mask'], batch['mask']
    strengths = batch['read_strengths'][mask > 0]  # [steps, heads] of the acting-time reads.
    metrics = {'reward': float(rewards.sum(0).mean()),
               'tvt_reward': float(batch['tvt_rewards'].sum(0).mean()),
               'read_strength_mean': float(strengths.mean()),
               'read_strength_max': float(strengths.max()),
               'strong_read_fraction': float(
                   (strengths > self._config.tvt_read_strength_threshold).any(-1).mean())}
    last_phase_rewards = None
    if self._config.last_phase_steps:
      lengths = mask.sum(0)
      in_last_phase = np.arange(len(mask))[:, None] >= lengths - self._config.last_phase_steps
      last_phase_rewards = (rewards * in_last_phase).sum(0)
      metrics['last_phase_reward'] = float(last_phase_rewards.mean())
    c = self._config
    if c.phase_lengths and c.with_memory:
      steps = c.episode_length
      extras = {key: np.asarray(batch['extras'][key])[:, :steps]
                for key in ('read_weights', 'read_indices', 'read_strengths', 'value')}
      images = batch['observations'] if self._network.is_image else None
      metrics.update(diagnostics.batch_metrics(
          extras, None if images is None else np.swapaxes(images, 0, 1), mask.T,
          c.phase_lengths, c.task, c.gamma, c.tvt_alpha, c.tvt_read_strength_threshold,
          last_phase_rewards))
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
