"""FTW in one process (spec 2.1): `FTWWithoutActor` (a population member minus its actor) and
`FTW`, an `acme.Actor` that owns its learner and trains it whenever a batch is ready.

The constructors take the original package's parameters in its order and with its defaults
(`FTW` keeps the original's smaller queue, 32, and batch, 16), including the misspelled
`use_pixel_cotrol` (`use_pixel_control` is accepted as a keyword too). Keyword-only extras: every
other `FtwConfig` field, a whole `config` instead, `pad_end_of_episode`, a `seed`, and a remote
`replay_client` with a `table_suffix`.

Beyond the original, they take any `acme.specs.EnvironmentSpec`:
* a plain one (observations not an OAR) is wrapped: the networks and tables see OARs of
  (observation, previous action, previous reward), which `FTW`'s actor builds itself;
* without `embed` the torso suits the observation (`networks.make_torso`: images the
  convolutional torso, vectors and matrices an MLP, nests one per leaf, concatenated);
* pixel control reads the whole cells of an image view (`networks.pixel_control_crop`), and is
  left out, with one warning, for observations that are not one image.
"""

import dataclasses
import inspect
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple
import warnings

import acme
from acme import specs
from acme.tf.networks import embedding as acme_embedding
from acme.utils import counting
from acme.utils import loggers
from acme.wrappers import observation_action_reward
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
from hyperparameters import ranges

FloatOrRange = ranges.FloatOrRange


class FtwNetworks(NamedTuple):
  policy: ftw_networks.FtwNetwork
  pixel_control: Optional[ftw_networks.RNNPixelControlNetwork]
  reward_prediction: Optional[ftw_networks.RewardPredictionNetwork]


def make_config(sequence_length: int, **kwargs) -> config_lib.FtwConfig:
  """An `FtwConfig` from the original's keyword arguments (accepting `use_pixel_cotrol`)."""
  if 'use_pixel_cotrol' in kwargs:
    misspelled = kwargs.pop('use_pixel_cotrol')
    if kwargs.setdefault('use_pixel_control', misspelled) != misspelled:
      raise ValueError(f'use_pixel_cotrol={misspelled} and use_pixel_control='
                       f'{kwargs["use_pixel_control"]} disagree (they are the same option)')
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
  torso = embed or ftw_networks.make_torso(
      environment_spec.observations.observation, config.hidden_size,
      config.torso_conv_filters, config.torso_residual_filters)
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
    pixel_control = ftw_networks.RNNPixelControlNetwork(
        oar_embedding, pc_core, num_actions, output_shape=grid,
        fused_dueling=config.pixel_control_fused_dueling)
    pixel_control(_dummy_batch(observations, 1), pixel_control.initial_state(1))
  if config.use_reward_prediction:
    reward_prediction = ftw_networks.RewardPredictionNetwork(torso, hidden_size=128)
    reward_prediction(tf.nest.map_structure(
        lambda s: tf.zeros([1, config.reward_prediction_sequence_length] + list(s.shape),
                           s.dtype), observations.observation))
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


def make_adder(replay_client, config: config_lib.FtwConfig, table_suffix: str = '',
               pad_end_of_episode: bool = True) -> acting.CombinedAdder:
  """The unroll and reward-window adders of one stream, as one adder.

  Padding is the default here (population members): then only the rows that start an unroll
  keep their core state (without padding every row must, see `adders`).
  """
  return acting.CombinedAdder(*utils.create_adders(
      replay_client, config.sequence_length, config.use_pixel_control,
      config.use_reward_prediction, config.reward_prediction_sequence_length,
      config.reward_prediction_sequence_period, pad_end_of_episode, table_suffix=table_suffix))


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
      sample_auxiliary_in_background=config.sample_auxiliary_in_background,
      fused_rms_prop=config.fused_rms_prop, **learner_kwargs)


# The original's constructor parameters that are `FtwConfig` fields (use_pixel_cotrol becomes
# use_pixel_control), in its order.
ORIGINAL_CONFIG_ARGUMENTS = (
    'num_environment_events', 'max_queue_size', 'batch_size', 'hidden_size', 'use_pixel_cotrol',
    'use_reward_prediction', 'reward_prediction_sequence_length',
    'reward_prediction_sequence_period', 'num_dimensions', 'dnc_clip_value',
    'use_dnc_linear_projection', 'init_scale', 'min_scale', 'tanh_mean', 'fixed_scale',
    'use_tfd_independent', 'variational_unit_w_init', 'variational_unit_b_init',
    'strict_period_order', 'dnc_memory_size', 'dnc_word_size', 'dnc_num_reads', 'core_type',
    'slow_core_period_min_max', 'slow_core_period_init_value', 'learning_rate', 'entropy_cost',
    'reward_prediction_cost', 'pixel_control_cost', 'kld_prior_fixed_cost',
    'kld_prior_posterior_cost', 'scale_grads_fast_to_slow', 'internal_rewards', 'baseline_cost',
    'discount', 'max_abs_reward', 'max_gradient_norm', 'rms_prop_epsilon',
    'learning_rate_decay_steps')


def oar_environment_spec(environment_spec: specs.EnvironmentSpec) -> specs.EnvironmentSpec:
  """The spec of a plain environment as acme's `ObservationActionRewardWrapper` gives it."""
  return environment_spec._replace(observations=observation_action_reward.OAR(
      environment_spec.observations, environment_spec.actions, environment_spec.rewards))


def is_oar_spec(environment_spec: specs.EnvironmentSpec) -> bool:
  return isinstance(environment_spec.observations, observation_action_reward.OAR)


def _config_from_call(agent, sequence_length: int, arguments: Dict[str, object],
                      use_pixel_control: Optional[bool], config: Optional[config_lib.FtwConfig],
                      overrides: Dict[str, object]) -> config_lib.FtwConfig:
  """The agent's config: `config`, or one from the original's arguments and `overrides` (other
  `FtwConfig` fields). With `config`, the others must keep their defaults (those of the class
  constructed: `FTW`'s differ)."""
  values = {name: arguments[name] for name in ORIGINAL_CONFIG_ARGUMENTS}
  if config is None:
    if use_pixel_control is not None:
      if use_pixel_control and not values['use_pixel_cotrol']:
        raise ValueError('use_pixel_cotrol=False and use_pixel_control=True disagree (they are '
                         'the same option)')
      values['use_pixel_cotrol'] = use_pixel_control
    return make_config(sequence_length, **values, **overrides)
  defaults = inspect.signature(type(agent).__init__).parameters
  changed = sorted(name for name, value in values.items()
                   if name in defaults and value != defaults[name].default)
  changed += sorted(overrides) + (['use_pixel_control'] if use_pixel_control is not None else [])
  if changed:
    raise TypeError(f'give either config or keyword arguments, not both (got {", ".join(changed)})')
  if sequence_length != config.sequence_length:
    raise ValueError(f'sequence_length {sequence_length} differs from the config\'s '
                     f'{config.sequence_length}')
  config.validate()
  return config


def _check_rewards(environment_spec: specs.EnvironmentSpec, config: config_lib.FtwConfig):
  """The reward field must hold num_environment_events values (a scalar for one event)."""
  shape = tuple(environment_spec.rewards.shape)
  events = int(np.prod(shape)) if shape else 1
  if len(shape) > 1 or events != config.num_environment_events:
    raise ValueError(f'the environment\'s rewards have shape {shape}, but num_environment_events '
                     f'is {config.num_environment_events} (a scalar reward is one event)')


def _without_unusable_pixel_control(environment_spec: specs.EnvironmentSpec,
                                    config: config_lib.FtwConfig) -> config_lib.FtwConfig:
  """The config, with pixel control off (and one warning) for observations that are not one
  image; a view too small for one cell is an error."""
  if not config.use_pixel_control:
    return config
  observation = environment_spec.observations.observation
  if not ftw_networks.is_image(observation):
    warnings.warn('FTW: pixel control needs image observations [H, W, C]; it is left out for '
                  f'observations {observation}', stacklevel=3)
    return dataclasses.replace(config, use_pixel_control=False)
  ftw_networks.pixel_control_crop(observation.shape, config.pixel_control_cell_size,
                                  config.pixel_control_crop)  # Raises if no cell fits.
  return config


class FTWWithoutActor:
  """Hyperparameters, internal rewards, networks, Reverb tables, datasets and the learner.

  Parameters up to `logger` are the original's (spec 2.1), in its order; `use_pixel_cotrol` (sic)
  and the keyword `use_pixel_control` are the same option. `uint_pixels_to_float` is accepted
  and ignored: the torso always scales uint8 pixels to [0, 1]. Keyword-only:
  `pad_end_of_episode` (how an episode's last unroll is completed, see `adders`), `config` (a
  whole `FtwConfig` instead of the original's arguments), `replay_client` (the tables live on
  that remote server under `table_suffix`; otherwise an in-process server is started), `seed`,
  and any other `FtwConfig` field. A plain `environment_spec` (observations not an OAR) is
  wrapped as OARs; `oar_spec` is what the networks and tables see, `plain_spec` the plain one
  (None when the given spec was an OAR spec already).

  PBT reads and writes a member through `get_step/set_step`, `get_weights/set_weights`,
  `get_hypers/set_hypers`, `get_rewards/set_rewards` and `perturb`.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, sequence_length: int,
               num_environment_events: int = 1, embed: Optional[snt.Module] = None,
               max_queue_size: int = 64, batch_size: int = 32, hidden_size: int = 256,
               use_pixel_cotrol: bool = True, use_reward_prediction: bool = True,
               reward_prediction_sequence_length: int = 3,
               reward_prediction_sequence_period: int = 1, num_dimensions: int = 256,
               dnc_clip_value: Optional[float] = None, use_dnc_linear_projection: bool = True,
               init_scale: float = 0.1, min_scale: float = 1e-6, tanh_mean: bool = False,
               fixed_scale: bool = False, use_tfd_independent: bool = False,
               variational_unit_w_init=None, variational_unit_b_init=None,
               strict_period_order: bool = True, dnc_memory_size: int = 450,
               dnc_word_size: int = 32, dnc_num_reads: int = 4, core_type: str = 'rpth',
               slow_core_period_min_max: Tuple[int, int] = (5, 20),
               slow_core_period_init_value: Optional[int] = None,
               learning_rate: FloatOrRange = (1e-5, 5e-3),
               entropy_cost: FloatOrRange = (5e-4, 1e-2),
               reward_prediction_cost: FloatOrRange = (0.1, 1.0),
               pixel_control_cost: FloatOrRange = (0.01, 0.1),
               kld_prior_fixed_cost: FloatOrRange = (1e-4, 0.1),
               kld_prior_posterior_cost: FloatOrRange = (1e-3, 1.0),
               scale_grads_fast_to_slow: FloatOrRange = (0.1, 1.0),
               internal_rewards: FloatOrRange = (0.1, 1.0), baseline_cost: float = 0.5,
               discount: float = 0.99, max_abs_reward: Optional[float] = None,
               max_gradient_norm: Optional[float] = None, rms_prop_epsilon: float = 1e-5,
               learning_rate_decay_steps: int = 0, uint_pixels_to_float: bool = True,
               agent_id: int = 0, counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, *,
               use_pixel_control: Optional[bool] = None, pad_end_of_episode: bool = False,
               config: Optional[config_lib.FtwConfig] = None,
               replay_client: Optional[reverb.Client] = None, table_suffix: str = '',
               seed: Optional[int] = None, **config_fields):
    arguments = dict(locals())
    del uint_pixels_to_float  # The torso scales uint8 pixels itself (defect D1).
    if isinstance(embed, (ftw_networks.OAREmbedding, acme_embedding.OAREmbedding)):
      raise ValueError('embed is wrapped as an OAR embedding here: the torso must not already '
                       'be an OAREmbedding')
    config = _config_from_call(self, sequence_length, arguments, use_pixel_control, config,
                               config_fields)
    self.plain_spec = None if is_oar_spec(environment_spec) else environment_spec
    if self.plain_spec is not None:
      environment_spec = oar_environment_spec(environment_spec)
    self.oar_spec = environment_spec
    _check_rewards(environment_spec, config)
    config = _without_unusable_pixel_control(environment_spec, config)
    self.config = config
    self.agent_id = agent_id
    self.pad_end_of_episode = pad_end_of_episode
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
    return make_adder(client or self.replay_client, self.config, self._table_suffix,
                      self.pad_end_of_episode)

  def close(self):
    if self._server is not None:
      self._server.stop()
      self._server = None


class FTW(FTWWithoutActor, acme.Actor):
  """An Acme actor for one environment stream that trains its own learner synchronously.

  The parameters are `FTWWithoutActor`'s (the original's order, with its smaller defaults
  max_queue_size=32 and batch_size=16). Given a plain environment spec, the actor wraps each
  observation as an OAR itself, so it runs in `acme.EnvironmentLoop(environment, agent)` as is.
  `update()` runs learner steps while the queue holds a full batch, so every unroll is learned
  from exactly once, right after it is complete. Every episode gives at least one unroll (its
  last one padded or overlapping, see `adders`), so any valid configuration takes a learner
  step after at most `batch_size` episodes.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec, sequence_length: int,
               num_environment_events: int = 1, embed: Optional[snt.Module] = None,
               max_queue_size: int = 32, batch_size: int = 16, hidden_size: int = 256,
               use_pixel_cotrol: bool = True, use_reward_prediction: bool = True,
               reward_prediction_sequence_length: int = 3,
               reward_prediction_sequence_period: int = 1, num_dimensions: int = 256,
               dnc_clip_value: Optional[float] = None, use_dnc_linear_projection: bool = True,
               init_scale: float = 0.1, min_scale: float = 1e-6, tanh_mean: bool = False,
               fixed_scale: bool = False, use_tfd_independent: bool = False,
               variational_unit_w_init=None, variational_unit_b_init=None,
               strict_period_order: bool = True, dnc_memory_size: int = 450,
               dnc_word_size: int = 32, dnc_num_reads: int = 4, core_type: str = 'rpth',
               slow_core_period_min_max: Tuple[int, int] = (5, 20),
               slow_core_period_init_value: Optional[int] = None,
               learning_rate: FloatOrRange = (1e-5, 5e-3),
               entropy_cost: FloatOrRange = (5e-4, 1e-2),
               reward_prediction_cost: FloatOrRange = (0.1, 1.0),
               pixel_control_cost: FloatOrRange = (0.01, 0.1),
               kld_prior_fixed_cost: FloatOrRange = (1e-4, 0.1),
               kld_prior_posterior_cost: FloatOrRange = (1e-3, 1.0),
               scale_grads_fast_to_slow: FloatOrRange = (0.1, 1.0),
               internal_rewards: FloatOrRange = (0.1, 1.0), baseline_cost: float = 0.5,
               discount: float = 0.99, max_abs_reward: Optional[float] = None,
               max_gradient_norm: Optional[float] = None, rms_prop_epsilon: float = 1e-5,
               learning_rate_decay_steps: int = 0, uint_pixels_to_float: bool = True,
               agent_id: int = 0, counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, *,
               use_pixel_control: Optional[bool] = None, pad_end_of_episode: bool = False,
               config: Optional[config_lib.FtwConfig] = None,
               replay_client: Optional[reverb.Client] = None, table_suffix: str = '',
               seed: Optional[int] = None, **config_fields):
    arguments = dict(locals())
    for name in ('self', '__class__', 'config_fields'):
      arguments.pop(name, None)
    super().__init__(**arguments, **config_fields)
    self._adder = self.make_adders()
    self._actor = acting.FtwActor(self.networks.policy, self._adder,
                                  seed=int(self._rng.integers(2**31 - 1)),
                                  jit_compile=self.config.jit_compile,
                                  environment_spec=self.plain_spec)

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
