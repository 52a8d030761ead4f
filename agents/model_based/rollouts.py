"""Agents that train Q only on rollouts, and the perfect model (spec 3.2).

Every update runs `batch_size` rollouts of `rollout_length` steps from replayed start states,
acting by softmax over the current online Q, and takes one Q step on all of their transitions
(32 x 10 = 320 as in the configs), each weighted by the chance that it happens.
"""

from typing import Any, NamedTuple, Tuple

import jax
from jax import numpy as jnp
import optax

from agents.model_based import dqn
from agents.model_based import losses
from agents.model_based import replay

AgentState = dqn.AgentState

class ImaginedStep(NamedTuple):
  """One step of a batch of rollouts."""
  next_state: Any
  reward: jax.Array
  target_continuation: jax.Array  # c in the target r + gamma * c * max Q(s').
  weight_continuation: jax.Array  # c in the weight w_{k+1} = w_k * c.


class RolloutAgent(dqn.DQNAgent):
  """Q learns from rollouts of a model (true or learned) started from replayed states."""

  def rollout_features(self, state: AgentState, rollout_state: Any) -> jax.Array:
    """The Q network's input for a batch of rollout states."""
    raise NotImplementedError

  def imagine(self, state: AgentState, rollout_state: Any, actions: jax.Array,
              key: jax.Array) -> ImaginedStep:
    """One step of the model for a batch of rollout states."""
    raise NotImplementedError

  def prepare(self, state: AgentState, key: jax.Array
              ) -> Tuple[AgentState, Any, jax.Array]:
    """(state after any model update, batch of rollout start states, model loss)."""
    raise NotImplementedError

  def rollout(self, state: AgentState, start: Any, key: jax.Array):
    """Rollouts from `start`: (features, actions, rewards, target and weight continuations,
    next features), each with leading axes [rollout_length, batch]."""

    def step(rollout_state, step_key):
      action_key, model_key = jax.random.split(step_key)
      features = self.rollout_features(state, rollout_state)
      q_values = self.q_network.apply(state.q_params, features)
      actions = dqn.select_action(q_values, action_key, self.config)
      imagined = self.imagine(state, rollout_state, actions, model_key)
      next_features = self.rollout_features(state, imagined.next_state)
      return imagined.next_state, (features, actions, imagined.reward,
                                   imagined.target_continuation,
                                   imagined.weight_continuation, next_features)

    keys = jax.random.split(key, self.config.rollout_length)
    _, trajectory = jax.lax.scan(step, start, keys)
    return trajectory

  def update(self, state, key):
    prepare_key, rollout_key = jax.random.split(key)
    state, start, model_loss = self.prepare(state, prepare_key)
    (features, actions, rewards, target_continuations, weight_continuations,
     next_features) = jax.lax.stop_gradient(self.rollout(state, start, rollout_key))
    weights = losses.rollout_weights(weight_continuations)
    normaliser = (jnp.maximum(weights.sum(), 1e-8) if self.config.q_loss_normalised_by_weights
                  else weights.size)
    flat = lambda x: x.reshape((-1,) + x.shape[2:])
    state, q_loss = self.q_update(
        state, flat(features), flat(actions), flat(rewards), flat(target_continuations),
        flat(next_features), weights=flat(weights), normaliser=normaliser)
    return state, dqn.UpdateMetrics(q_loss, model_loss)


class PerfectModelAgent(RolloutAgent):
  """Rollouts in the true environment from replayed true states (spec 3.2).

  The buffer holds the environment state of every step; a rollout's weight is 1 up to and
  including its first terminal transition and 0 after (rollouts never reset).
  """

  def buffer_item(self, env_state, transition):
    del transition
    return env_state

  def rollout_features(self, state, rollout_state):
    del state
    return jax.vmap(self.environment.observation)(rollout_state).astype(jnp.float32)

  def imagine(self, state, rollout_state, actions, key):
    del state
    keys = jax.random.split(key, actions.shape[0])
    next_state, _, rewards, terminals, _ = jax.vmap(self.environment.step)(
        keys, rollout_state, actions)
    continues = 1.0 - terminals.astype(jnp.float32)
    return ImaginedStep(next_state, rewards, continues, continues)

  def prepare(self, state, key):
    return state, replay.sample(state.buffer, key, self.config.batch_size), jnp.float32(0.0)


class LearnedModelAgent(RolloutAgent):
  """Learns a model from replayed transitions, then rolls out in it (spec 3.3, 3.4).

  Each update: one AdamW step of the model (`model_alpha`) on a replayed batch, then rollouts in
  the updated model from that batch's observations (or from a separate batch, with
  `seperate_rollout_batch_size`), then one Q step (`Q_alpha`).
  """

  def __init__(self, config, environment):
    super().__init__(config, environment)
    self.model_optimizer = dqn.make_optimizer(config.model_alpha, config)

  def init_model_params(self, key: jax.Array, obs: jax.Array) -> Any:
    raise NotImplementedError

  def model_loss(self, params: Any, batch: dqn.Transition, key: jax.Array) -> jax.Array:
    """The model's loss on a batch of real transitions."""
    raise NotImplementedError

  def start_states(self, params: Any, obs: jax.Array, key: jax.Array) -> Any:
    """Rollout start states for a batch of float observations."""
    raise NotImplementedError

  def init_model(self, key, obs):
    params = self.init_model_params(key, obs.astype(jnp.float32))
    return params, self.model_optimizer.init(params)

  def saved_params(self, state):
    return {'Q': state.q_params, 'model': state.model_params}

  def continuations(self, continue_logits: jax.Array) -> Tuple[jax.Array, jax.Array]:
    """(target, weight) continuations from predicted continuation logits.

    Episodic tasks use the predicted probability for both; continuing tasks weight every step 1
    and, as the release does, still discount the target by it (unless told otherwise).
    """
    predicted = jax.nn.sigmoid(continue_logits)
    ones = jnp.ones_like(predicted)
    episodic = self.config.episodic_env
    target = predicted if episodic or self.config.continuation_in_continuing_targets else ones
    return target, predicted if episodic else ones

  def prepare(self, state, key):
    batch_key, loss_key, start_key, separate_key = jax.random.split(key, 4)
    batch = replay.sample(state.buffer, batch_key, self.config.batch_size)
    loss, grads = jax.value_and_grad(self.model_loss)(state.model_params, batch, loss_key)
    updates, model_opt_state = self.model_optimizer.update(grads, state.model_opt_state,
                                                           state.model_params)
    params = optax.apply_updates(state.model_params, updates)
    state = state._replace(model_params=params, model_opt_state=model_opt_state)
    start_obs = batch.obs
    if self.config.seperate_rollout_batch_size:
      start_obs = replay.sample(state.buffer, separate_key, self.config.rollout_batch_size).obs
    return state, self.start_states(params, start_obs.astype(jnp.float32), start_key), loss
