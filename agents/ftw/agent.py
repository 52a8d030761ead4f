"""FTW in one process (spec 2.1): `FTWWithoutActor` (a population member minus its actor) and
`FTW`, an `acme.Actor` that owns its learner and trains it whenever a batch is ready.

Constructor keywords are the original package's (`FtwConfig` fields, plus the original's
misspelled `use_pixel_cotrol`); `FTW` keeps the original's smaller queue (32) and batch (16).
"""

import dataclasses
from typing import Dict, Iterator, List, NamedTuple, Optional

import acme
from acme import specs
from acme.utils import counting
from acme.utils import loggers
import dm_env
import numpy as np
import reverb
import sonnet as snt
import tensorflow as tf

from agents.core import acting as core_acting
from agents.core import servers
from agents.ftw import acting
from agents.ftw import config as config_lib
from agents.ftw import dnc
from agents.ftw import learning
from agents.ftw import networks as ftw_networks
from agents.ftw import utils
from hyperparameters import base as hyper_base


class FtwNetworks(NamedTuple):
  policy: ftw_networks.FtwNetwork
  pixel_control: Optional[ftw_networks.RNNPixelControlNetwork]
  reward_prediction: Optional[ftw_networks.RewardPredictionNetwork]


def make_config(sequence_length: int, **kwargs) -> config_lib.FtwConfig:
  """An `FtwConfig` from the original's keyword arguments (accepting `use_pixel_cotrol`)."""
  if 'use_pixel_cotrol' in kwargs:
    kwargs['use_pixel_control'] = kwargs.pop('use_pixel_cotrol')
  kwargs.pop('uint_pixels_to_float', None)  # The torso always scales uint8 pixels.
  fields = {f.name for f in dataclasses.fields(config_lib.FtwConfig)}
  unknown = sorted(set(kwargs) - fields)
  if unknown:
    raise TypeError(f'unknown FTW arguments: {", ".join(unknown)}')
  config = config_lib.FtwConfig(sequence_length=sequence_length, **kwargs)
  config.validate()
  return config


def make_hypers_and_rewards(config: config_lib.FtwConfig, rng: np.random.Generator):
  """The member's evolved hyperparameters and internal rewards, drawn from the config's ranges."""
  hypers = utils.initialize_hypers(
      config.slow_core_period_min_max, config.slow_core_period_init_value,
      **{name: getattr(config, name) for name in config_lib.EVOLVED_FLOATS},
      perturb_probability=config.perturb_probability,
      perturb_max_pct_change=config.perturb_max_pct_change, rng=rng)
  rewards = utils.initialize_internal_rewards(
      config.num_environment_events, config.internal_rewards,
      scales=config.internal_reward_scales, initial_weights=config.internal_reward_weights,
      perturb_probability=config.perturb_probability,
      perturb_max_pct_change=config.perturb_max_pct_change, rng=rng)
  return hypers, rewards


def _dummy_batch(spec, batch_size: int, *leading: int):
  return tf.nest.map_structure(
      lambda s: tf.zeros(list(leading) + [batch_size] + list(s.shape), s.dtype), spec)


def make_networks(environment_spec: specs.EnvironmentSpec, config: config_lib.FtwConfig,
                  hypers, internal_rewards, embed: Optional[snt.Module] = None) -> FtwNetworks:
  """The policy network and the auxiliary networks that share its torso and core (spec 2.1)."""
  num_actions = environment_spec.actions.num_values
  torso = embed or ftw_networks.FtwTorso(config.torso_conv_filters,
                                         config.torso_residual_filters, config.hidden_size)
  oar_embedding = ftw_networks.OAREmbedding(torso, num_actions, internal_rewards)
  if config.core_type == 'lstm':
    core = snt.LSTM(config.hidden_size)
  else:
    memory = None
    if config.core_type == 'rpth_dnc':
      memory = dnc.MemoryAccess(config.dnc_memory_size, config.dnc_word_size,
                                config.dnc_num_reads, num_writes=1)
    core = ftw_networks.RPTH(
        period=hypers['period'].variable, hidden_size=config.hidden_size,
        num_dimensions=config.num_dimensions, dnc_clip_value=config.dnc_clip_value,
        use_dnc_linear_projection=config.use_dnc_linear_projection,
        init_scale=config.init_scale, min_scale=config.min_scale, tanh_mean=config.tanh_mean,
        fixed_scale=config.fixed_scale, use_tfd_independent=config.use_tfd_independent,
        w_init=config.variational_unit_w_init, b_init=config.variational_unit_b_init,
        shared_memory=memory, strict_period_order=config.strict_period_order,
        scale_gradients_fast_to_slow=hypers['scale_grads_fast_to_slow'].variable)
  policy = ftw_networks.FtwNetwork(oar_embedding, core, num_actions,
                                   head_hidden_size=config.hidden_size)
  observations = environment_spec.observations
  policy(_dummy_batch(observations, 1), policy.initial_state(1))
  pixel_control = reward_prediction = None
  if config.use_pixel_control:
    grid = ftw_networks.pixel_control_grid(observations.observation.shape,
                                           config.pixel_control_cell_size,
                                           config.pixel_control_crop)
    pc_core = ftw_networks.RPTHZWrapper(core) if config.core_type != 'lstm' else core
    pixel_control = ftw_networks.RNNPixelControlNetwork(oar_embedding, pc_core, num_actions,
                                                        output_shape=grid)
    pixel_control(_dummy_batch(observations, 1), pixel_control.initial_state(1))
  if config.use_reward_prediction:
    reward_prediction = ftw_networks.RewardPredictionNetwork(torso, hidden_size=128)
    frames = observations.observation
    reward_prediction(tf.zeros([1, config.reward_prediction_sequence_length] +
                               list(frames.shape), frames.dtype))
  return FtwNetworks(policy, pixel_control, reward_prediction)


def extras_spec(network: ftw_networks.FtwNetwork, observation_spec):
  """What actors store with each row (the behaviour logits and the core state before the
  step), as the policy records them."""
  actor = core_acting.BatchedRecurrentActor(acting.make_policy(network), network.initial_state)
  return core_acting.extras_spec(actor, observation_spec)


class FtwMember(NamedTuple):
  """A member's networks and the evolved values they read (PBT copies and perturbs these)."""
  networks: FtwNetworks
  hypers: Dict[str, hyper_base.Hyperparameter]
  rewards: object  # hyperparameters.internal_rewards.InternalRewards


class FtwDatasets(NamedTuple):
  """The learner's batch iterators: unrolls, and the auxiliary tasks' (None when disabled)."""
  queue: Iterator
  pixel_control: Optional[Iterator]
  nonzero_reward: Optional[Iterator]
  zero_reward: Optional[Iterator]


def make_tables(config: config_lib.FtwConfig, environment_spec: specs.EnvironmentSpec,
                extras, table_suffix: str = '') -> List[reverb.Table]:
  """A member's queue and auxiliary replays (spec 5.1), named with `table_suffix`."""
  return utils.create_reverb_tables(
      config.batch_size, config.max_queue_size, config.use_pixel_control,
      config.use_reward_prediction, config.max_pixel_control_buffer_size,
      config.max_reward_pred_buffer_size, environment_spec=environment_spec,
      extras_spec=extras, sequence_length=config.sequence_length,
      reward_prediction_sequence_length=config.reward_prediction_sequence_length,
      table_suffix=table_suffix)[0]


def make_adder(replay_client, config: config_lib.FtwConfig,
               table_suffix: str = '') -> acting.CombinedAdder:
  """The unroll and reward-window adders of one stream, as one adder."""
  return acting.CombinedAdder(*utils.create_adders(
      replay_client, config.sequence_length, config.use_pixel_control,
      config.use_reward_prediction, config.reward_prediction_sequence_length,
      config.reward_prediction_sequence_period, table_suffix=table_suffix))


def make_datasets(replay_client, config: config_lib.FtwConfig,
                  table_suffix: str = '') -> FtwDatasets:
  return FtwDatasets(*utils.create_datasets(
      replay_client, None, config.batch_size, config.sequence_length,
      use_pixel_control=config.use_pixel_control,
      use_reward_prediction=config.use_reward_prediction, table_suffix=table_suffix))


def make_learner(config: config_lib.FtwConfig, member: FtwMember, datasets: FtwDatasets,
                 counter: Optional[counting.Counter] = None,
                 logger: Optional[loggers.Logger] = None, learner_id: int = 0,
                 learner_class=learning.FtwLearner, **learner_kwargs) -> learning.FtwLearner:
  """A member's `FtwLearner` (or subclass), reading every cost and the learning rate from its
  hypers. The auxiliary tasks run once all their datasets can give a batch."""
  hyper = lambda name: member.hypers[name].variable  # pylint: disable=unnecessary-lambda-assignment
  networks = member.networks
  return learner_class(
      policy_network=networks.policy, dataset=datasets.queue,
      learning_rate=hyper('learning_rate'), slow_core_period=hyper('period'),
      internal_rewards=member.rewards, pixel_control_network=networks.pixel_control,
      reward_prediction_network=networks.reward_prediction,
      pixel_control_dataset=datasets.pixel_control,
      nonzero_reward_prediction_dataset=datasets.nonzero_reward,
      zero_reward_prediction_dataset=datasets.zero_reward, entropy_cost=hyper('entropy_cost'),
      kld_prior_fixed_cost=hyper('kld_prior_fixed_cost'),
      kld_prior_posterior_cost=hyper('kld_prior_posterior_cost'),
      pixel_control_cost=hyper('pixel_control_cost'),
      reward_prediction_cost=hyper('reward_prediction_cost'),
      baseline_cost=config.baseline_cost, discount=config.discount,
      max_abs_reward=config.max_abs_reward, max_gradient_norm=config.max_gradient_norm,
      rms_prop_epsilon=config.rms_prop_epsilon,
      learning_rate_decay_steps=config.learning_rate_decay_steps,
      learner_id=learner_id, counter=counter, logger=logger or loggers.NoOpLogger(),
      pixel_control_cell_size=config.pixel_control_cell_size,
      pixel_control_crop=config.pixel_control_crop,
      pixel_control_discount=config.pixel_control_discount, jit_compile=config.jit_compile,
      **learner_kwargs)


class FTWWithoutActor:
  """Hyperparameters, internal rewards, networks, Reverb tables, datasets and the learner.

  With `replay_client` the tables live on that (remote) server under `table_suffix`; otherwise
  an in-process server is started. PBT reads and writes a member through `get_step/set_step`,
  `get_weights/set_weights`, `get_hypers/set_hypers`, `get_rewards/set_rewards` and `perturb`.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, sequence_length: int,
               embed: Optional[snt.Module] = None, agent_id: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, *,
               config: Optional[config_lib.FtwConfig] = None,
               replay_client: Optional[reverb.Client] = None, table_suffix: str = '',
               seed: Optional[int] = None, **kwargs):
    if config is None:
      config = make_config(sequence_length, **kwargs)
    elif kwargs:
      raise TypeError('give either config or keyword arguments, not both')
    self.config = config
    self.agent_id = agent_id
    self._rng = np.random.default_rng(seed)
    if seed is not None:
      tf.random.set_seed(seed)
    self._hypers, self._rewards = make_hypers_and_rewards(config, self._rng)
    self.networks = make_networks(environment_spec, config, self._hypers, self._rewards, embed)
    self.extras_spec = extras_spec(self.networks.policy, environment_spec.observations)
    self._server = None
    self._table_suffix = table_suffix
    if replay_client is None:
      tables = make_tables(config, environment_spec, self.extras_spec, table_suffix)
      self._server = servers.make_local_server(tables)
      replay_client = reverb.Client(f'localhost:{self._server.port}')
    self.replay_client = replay_client
    self._datasets = make_datasets(replay_client, config, table_suffix)
    self.learner = make_learner(config, FtwMember(self.networks, self._hypers, self._rewards),
                                self._datasets, counter, logger, agent_id)

  def learner_ready(self) -> bool:
    """Whether the queue holds a whole batch of unrolls not learned from yet."""
    return self._datasets.queue.ready()

  def step_learner(self):
    """One learner step on the next batch of unrolls."""
    self.learner.step()

  def get_step(self) -> int:
    return self.learner.get_step()

  def set_step(self, step: int):
    self.learner.set_step(step)

  def get_weights(self):
    return self.learner.get_weights()

  def set_weights(self, weights):
    self.learner.set_weights(weights)

  def get_hypers(self) -> hyper_base.HyperparametersContainer:
    return hyper_base.HyperparametersContainer(self._hypers)

  def set_hypers(self, hypers):
    """Copies values by name from a container or a {name: value} dict."""
    self.get_hypers().set(hyper_base.values_of(hypers))

  def get_rewards(self):
    return self._rewards

  def set_rewards(self, rewards):
    self._rewards.set(rewards.get() if hasattr(rewards, 'get') else rewards)

  def perturb(self):
    """PBT explore: perturbs every hyperparameter and internal reward; returns the new values."""
    return {'hypers': self.get_hypers().perturb(), 'rewards': self._rewards.perturb().tolist()}

  def make_adders(self, client: Optional[reverb.Client] = None) -> acting.CombinedAdder:
    """The unroll and reward-window adders of one stream, as one adder."""
    return make_adder(client or self.replay_client, self.config, self._table_suffix)

  def close(self):
    if self._server is not None:
      self._server.stop()
      self._server = None


class FTW(FTWWithoutActor, acme.Actor):
  """An Acme actor for one environment stream that trains its own learner synchronously.

  `update()` runs learner steps while the queue holds a full batch, so every unroll is learned
  from exactly once, right after it is complete.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, sequence_length: int,
               embed: Optional[snt.Module] = None, agent_id: int = 0,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, *, seed: Optional[int] = None,
               **kwargs):
    kwargs.setdefault('max_queue_size', 32)
    kwargs.setdefault('batch_size', 16)
    super().__init__(environment_spec, sequence_length, embed, agent_id, counter, logger,
                     seed=seed, **kwargs)
    self._adder = self.make_adders()
    self._actor = acting.FtwActor(self.networks.policy, self._adder,
                                  seed=int(self._rng.integers(2**31 - 1)),
                                  jit_compile=self.config.jit_compile)

  def select_action(self, observation):
    return self._actor.select_action(observation)

  def observe_first(self, timestep: dm_env.TimeStep):
    self._actor.observe_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    self._actor.observe(action, next_timestep)

  def update(self, wait: bool = False):
    del wait
    self._adder.flush()  # Count only what reached the tables, so a seeded run is repeatable.
    while self.learner_ready():
      self.step_learner()
