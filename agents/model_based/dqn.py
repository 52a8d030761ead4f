"""ER DQN, and what every agent of the suite shares: Q network, target, exploration, Q update.

An agent is a set of pure per-seed functions over an `AgentState` pytree, so that the experiment
loop can jit and vmap them over seeds (spec 4.4). The five agents differ only in where the
transitions of each Q update come from (spec 3); ER samples them from its replay buffer.
"""

from typing import Any, Dict, NamedTuple, Tuple

import jax
from jax import numpy as jnp
import optax

from agents.model_based import config as config_lib
from agents.model_based import losses
from agents.model_based import networks
from agents.model_based import replay
from environments.jax_envs import base as env_base


class AgentState(NamedTuple):
  q_params: Any
  target_params: Any
  q_opt_state: Any
  model_params: Any  # {} for agents without a learned model.
  model_opt_state: Any
  buffer: replay.RingBuffer


class Transition(NamedTuple):
  obs: jax.Array  # As the environment emits it (bool).
  action: jax.Array
  reward: jax.Array
  next_obs: jax.Array
  terminal: jax.Array


class UpdateMetrics(NamedTuple):
  q_loss: jax.Array
  model_loss: jax.Array


def make_optimizer(step_size: float, config: config_lib.ExperimentConfig
                   ) -> optax.GradientTransformation:
  """The release's AdamW (spec 2.2): x <- x - step * m_hat / (sqrt(v_hat) + eps) - wd * x.

  Its decay is not multiplied by the step size, unless `weight_decay_scaled_by_step_size`.
  """
  decay = config.wd_adam if config.weight_decay_scaled_by_step_size else (
      config.wd_adam / step_size)
  return optax.chain(
      optax.scale_by_adam(b1=config.b1_adam, b2=config.b2_adam, eps=config.eps_adam),
      optax.add_decayed_weights(decay),
      optax.scale(-step_size))


def select_action(q_values: jax.Array, key: jax.Array, config: config_lib.ExperimentConfig,
                  greedy: bool = False) -> jax.Array:
  """argmax when `greedy` (ties -> lowest index); else softmax(Q / temperature) or eps-greedy."""
  if greedy:
    return jnp.argmax(q_values, axis=-1)
  if config.exploration_strat == 'softmax':
    return jax.random.categorical(key, q_values / config.softmax_temp)
  explore_key, action_key = jax.random.split(key)
  random_actions = jax.random.randint(action_key, q_values.shape[:-1], 0, q_values.shape[-1])
  explore = jax.random.bernoulli(explore_key, config.epsilon, q_values.shape[:-1])
  return jnp.where(explore, random_actions, jnp.argmax(q_values, axis=-1))


def _take(values: jax.Array, actions: jax.Array) -> jax.Array:
  return jnp.take_along_axis(values, actions[..., None], axis=-1)[..., 0]


class DQNAgent:
  """ER DQN (spec 3.1): each update learns from `batch_size` transitions of the replay buffer."""

  def __init__(self, config: config_lib.ExperimentConfig,
               environment: env_base.JaxEnvironment):
    self.config = config
    self.environment = environment
    self.num_actions = environment.num_actions()
    self.q_network = networks.make_q_network(config, self.num_actions)
    self.q_optimizer = make_optimizer(config.q_step_size, config)

  # What subclasses change.

  @property
  def feature_size(self) -> int:
    """Size of the Q network's input."""
    return self.environment.observation_size()

  def features(self, state: AgentState, obs: jax.Array, key: jax.Array) -> jax.Array:
    """What the Q network sees for an environment observation."""
    del state, key
    return obs.astype(jnp.float32)

  def init_model(self, key: jax.Array, obs: jax.Array) -> Tuple[Any, Any]:
    """(model params, model optimiser state) of a learned model; none here."""
    del key, obs
    return {}, ()

  def buffer_item(self, env_state: Any, transition: Transition) -> Any:
    """What one environment step writes to the buffer: the transition."""
    del env_state
    return transition

  def update(self, state: AgentState, key: jax.Array) -> Tuple[AgentState, UpdateMetrics]:
    """One Q update on a replayed batch."""
    batch = replay.sample(state.buffer, key, self.config.batch_size)
    state, q_loss = self.q_update(
        state, batch.obs.astype(jnp.float32), batch.action, batch.reward,
        1.0 - batch.terminal.astype(jnp.float32), batch.next_obs.astype(jnp.float32),
        weights=jnp.ones_like(batch.reward), normaliser=self.config.batch_size)
    return state, UpdateMetrics(q_loss, jnp.float32(0.0))

  # Shared by every agent.

  def init(self, key: jax.Array, env_state: Any, obs: jax.Array) -> AgentState:
    """Fresh networks (target = online), optimiser states and an empty buffer for one seed."""
    q_key, model_key = jax.random.split(key)
    q_params = self.q_network.init(q_key, jnp.zeros((self.feature_size,), jnp.float32))
    model_params, model_opt_state = self.init_model(model_key, obs)
    example = Transition(obs=obs, action=jnp.int32(0), reward=jnp.float32(0.0), next_obs=obs,
                         terminal=jnp.array(False))
    buffer = replay.create(self.buffer_item(env_state, example), self.config.buffer_size)
    return AgentState(q_params=q_params, target_params=q_params,
                      q_opt_state=self.q_optimizer.init(q_params), model_params=model_params,
                      model_opt_state=model_opt_state, buffer=buffer)

  def act(self, state: AgentState, obs: jax.Array, key: jax.Array, greedy: bool = False
          ) -> Tuple[jax.Array, jax.Array]:
    """(action, Q values) for one observation: exploring (spec 2.3) or greedy."""
    feature_key, action_key = jax.random.split(key)
    q_values = self.q_network.apply(state.q_params, self.features(state, obs, feature_key))
    return select_action(q_values, action_key, self.config, greedy), q_values

  def record(self, state: AgentState, env_state: Any, transition: Transition,
             step: jax.Array) -> AgentState:
    """Stores what environment step `step` adds (`env_state` is the state acted in)."""
    return state._replace(buffer=replay.add(state.buffer, self.buffer_item(env_state, transition),
                                            step))

  def update_target(self, state: AgentState) -> AgentState:
    return state._replace(target_params=state.q_params)

  def saved_params(self, state: AgentState) -> Dict[str, Any]:
    """What the `.params` output keeps of one seed: the Q network (and model) parameters."""
    return {'Q': state.q_params}

  def q_update(self, state: AgentState, features, actions, rewards, continuations,
               next_features, weights, normaliser) -> Tuple[AgentState, jax.Array]:
    """One AdamW step on sum(w * (Q(s, a) - y)^2) / normaliser over a flat batch."""
    target_params = state.target_params if self.config.use_target else state.q_params
    next_q_target = self.q_network.apply(target_params, next_features)
    next_q_online = (self.q_network.apply(state.q_params, next_features)
                     if self.config.uses_double_dqn else None)
    targets = losses.q_learning_targets(rewards, continuations, next_q_target,
                                        self.config.gamma, next_q_online)

    def loss_fn(params):
      q_taken = _take(self.q_network.apply(params, features), actions)
      return losses.weighted_squared_td_loss(q_taken, targets, weights, normaliser)

    loss, grads = jax.value_and_grad(loss_fn)(state.q_params)
    updates, q_opt_state = self.q_optimizer.update(grads, state.q_opt_state, state.q_params)
    return state._replace(q_params=optax.apply_updates(state.q_params, updates),
                          q_opt_state=q_opt_state), loss
