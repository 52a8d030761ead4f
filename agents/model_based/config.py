"""Experiment configs: the original release's JSON keys, checked, with its defaults (spec 5).

A config is one JSON object. `agent_type` picks the agent ("ER", "perfect_model", "simple_model",
"latent_model"; the release picks it by script and writes it into its outputs), `latent_type`
picks the categorical or Gaussian latent model. Keys absent from a file take the release's
defaults; a key the chosen agent needs and the release has no default for must be present.

The options at the end switch off behaviours of the release that the spec calls quirks
(section 8); their defaults reproduce the release.
"""

import dataclasses
import json
import types
from typing import Any, Dict, Iterable, Optional, Tuple

from agents.core import cli
from environments import jax_envs

AGENT_TYPES = ('ER', 'perfect_model', 'simple_model', 'latent_model')
LEARNED_MODELS = ('simple_model', 'latent_model')
ACTIVATIONS = ('elu', 'relu', 'silu')
EXPLORATION_STRATEGIES = ('softmax', 'epsilon_greedy')
LATENT_TYPES = ('categorical', 'gaussian')
STD_ACTIVATIONS = ('softplus', 'sigmoid', 'sigmoid2')
OBS_SAMPLING = ('clipped_logit', 'sigmoid')

_REQUIRED = object()  # Marks a key with no default in the release.


class ConfigError(ValueError):
  """A config that cannot run; the message names the offending key."""


def _field(default=_REQUIRED, agents: Tuple[str, ...] = AGENT_TYPES, choices=None):
  """A config key; `agents` are the agent types that read it (the others ignore it)."""
  return dataclasses.field(default=None if default is _REQUIRED else default,
                           metadata=dict(required=default is _REQUIRED, agents=agents,
                                         choices=choices))


_ER_LIKE = ('ER', 'perfect_model')
_ROLLOUTS = ('perfect_model',) + LEARNED_MODELS
_LATENT = ('latent_model',)


@dataclasses.dataclass
class ExperimentConfig:
  """Every key of the release's configs (spec 5.1), plus the switches for its quirks."""
  agent_type: str = _field(choices=AGENT_TYPES)
  # Environment.
  environment: str = _field()
  env_config: dict = _field()
  episodic_env: bool = _field(False)
  # Experiment.
  num_seeds: int = _field()
  num_steps: int = _field()
  training_start_time: int = _field()
  eval_frequency: int = _field()
  eval_steps: int = _field()
  eval_batch_size: int = _field()
  save_params: bool = _field(True)
  save_frequency: int = _field(10_000)
  # Q network and its learning.
  num_hidden_layers: int = _field()
  num_hidden_units: int = _field()
  activation: str = _field(choices=ACTIVATIONS)
  gamma: float = _field()
  use_target: bool = _field()
  target_update_frequency: int = _field()
  double_DQN: bool = _field(False)
  updates_per_step: int = _field(1)
  batch_size: int = _field()
  buffer_size: int = _field()
  exploration_strat: str = _field(choices=EXPLORATION_STRATEGIES)
  softmax_temp: Optional[float] = _field(None)
  epsilon: Optional[float] = _field(None)
  # AdamW (spec 2.2); alpha_adam for ER and the perfect model, Q_alpha/model_alpha otherwise.
  b1_adam: float = _field()
  b2_adam: float = _field()
  eps_adam: float = _field()
  wd_adam: float = _field()
  alpha_adam: float = _field(agents=_ER_LIKE)
  Q_alpha: float = _field(agents=LEARNED_MODELS)
  model_alpha: float = _field(agents=LEARNED_MODELS)
  # Rollouts (perfect and learned models).
  rollout_length: int = _field(agents=_ROLLOUTS)
  seperate_rollout_batch_size: bool = _field(False, agents=LEARNED_MODELS)
  rollout_batch_size: Optional[int] = _field(None, agents=LEARNED_MODELS)
  # Learned models.
  reward_weight: float = _field(agents=LEARNED_MODELS)
  termination_weight: float = _field(agents=LEARNED_MODELS)
  obs_prediction_weight: float = _field(agents=LEARNED_MODELS)
  binary_obs: bool = _field(agents=LEARNED_MODELS)
  # Latent models.
  latent_type: str = _field(agents=_LATENT, choices=LATENT_TYPES)
  num_features: int = _field(agents=_LATENT)
  feature_width: Optional[int] = _field(None, agents=_LATENT)
  KL_prior_weight: float = _field(agents=_LATENT)
  KL_posterior_weight: float = _field(agents=_LATENT)
  posterior_entropy_weight: float = _field(agents=_LATENT)
  min_std: float = _field(0.0, agents=_LATENT)
  std_act: str = _field('softplus', agents=_LATENT, choices=STD_ACTIVATIONS)
  # Quirks of the release (spec 8); the defaults reproduce it.
  # 1: after an episodic reset the loop acts on the finished episode's last observation.
  refresh_obs_on_reset: bool = _field(False)
  # 2: the simple model samples next-observation bits with P = clip(logit, 0, 1).
  model_obs_sampling: str = _field('clipped_logit', agents=LEARNED_MODELS, choices=OBS_SAMPLING)
  # 3: an evaluation is labelled with its chunk's start time, not its end.
  eval_time_at_chunk_end: bool = _field(False)
  # 4: AdamW's weight decay is not multiplied by the step size.
  weight_decay_scaled_by_step_size: bool = _field(False)
  # 5: rollout Q losses divide by rollout_length * batch_size, zero-weight entries included.
  q_loss_normalised_by_weights: bool = _field(False, agents=_ROLLOUTS)
  # 6: learned-model targets multiply gamma by the predicted continuation in continuing tasks.
  continuation_in_continuing_targets: bool = _field(True, agents=LEARNED_MODELS)
  # 7: the latent agent ignores double_DQN.
  latent_double_DQN: bool = _field(False, agents=_LATENT)

  @property
  def num_chunks(self) -> int:
    return self.num_steps // self.eval_frequency

  @property
  def q_step_size(self) -> float:
    return self.alpha_adam if self.agent_type in _ER_LIKE else self.Q_alpha

  @property
  def uses_double_dqn(self) -> bool:
    if self.agent_type == 'latent_model':
      return self.double_DQN and self.latent_double_DQN
    return self.double_DQN

  def to_dict(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  def to_namespace(self, seed: int) -> types.SimpleNamespace:
    """The config as the release writes it into its outputs: a namespace with the seed."""
    return types.SimpleNamespace(**self.to_dict(), seed=seed)


_FIELDS = {f.name: f for f in dataclasses.fields(ExperimentConfig)}


def _type_name(value) -> str:
  return type(value).__name__


def _check_type(key: str, value, annotation):
  """ConfigError unless `value` is JSON of the key's type (ints accepted as floats)."""
  expected = getattr(annotation, '__args__', (annotation,))[0]  # Optional[X] -> X.
  if expected is float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
  elif expected is int:
    ok = isinstance(value, int) and not isinstance(value, bool)
  else:
    ok = isinstance(value, expected)
  if not ok:
    raise ConfigError(f'config key {key!r} must be {expected.__name__}, got '
                      f'{_type_name(value)} {value!r}')
  if expected is float:  # JSON's NaN and Infinity parse as floats; no run can use them.
    try:
      cli.check_number(f'config key {key!r}', value)
    except ValueError as error:
      raise ConfigError(str(error)) from None


def _check_at_least(config: ExperimentConfig, minimum, *keys):
  for key in keys:
    value = getattr(config, key)
    if value is not None and value < minimum:
      raise ConfigError(f'config key {key!r} must be at least {minimum}, got {value}')


def _check_values(config: ExperimentConfig):
  """Value checks that the types alone do not cover."""
  _check_at_least(config, 1, 'num_seeds', 'num_steps', 'eval_frequency', 'eval_steps',
                  'eval_batch_size', 'num_hidden_units', 'target_update_frequency',
                  'updates_per_step', 'batch_size', 'buffer_size', 'save_frequency',
                  'rollout_length', 'rollout_batch_size', 'num_features', 'feature_width')
  _check_at_least(config, 0, 'training_start_time', 'num_hidden_layers', 'reward_weight',
                  'termination_weight', 'obs_prediction_weight', 'KL_prior_weight',
                  'KL_posterior_weight', 'posterior_entropy_weight', 'min_std', 'wd_adam')
  for key in ('alpha_adam', 'Q_alpha', 'model_alpha', 'eps_adam'):
    value = getattr(config, key)
    if value is not None and value <= 0:
      raise ConfigError(f'config key {key!r} must be positive, got {value}')
  for key in ('gamma', 'b1_adam', 'b2_adam', 'epsilon'):
    value = getattr(config, key)
    if value is not None and not 0.0 <= value <= 1.0:
      raise ConfigError(f'config key {key!r} must be in [0, 1], got {value}')
  if config.num_steps % config.eval_frequency:
    raise ConfigError(f'config key \'eval_frequency\' ({config.eval_frequency}) must divide '
                      f'num_steps ({config.num_steps})')
  strategy_key = 'softmax_temp' if config.exploration_strat == 'softmax' else 'epsilon'
  if getattr(config, strategy_key) is None:
    raise ConfigError(f'config is missing key {strategy_key!r} (needed by exploration_strat '
                      f'{config.exploration_strat!r})')
  if config.exploration_strat == 'softmax' and config.softmax_temp <= 0:
    raise ConfigError(f'config key \'softmax_temp\' must be positive, got {config.softmax_temp}')
  if config.agent_type == 'latent_model':
    if not config.binary_obs:
      raise ConfigError('config key \'binary_obs\' is false, but the latent model only models '
                        'binary observations (as in the release)')
    if config.latent_type == 'categorical' and config.feature_width is None:
      raise ConfigError('config is missing key \'feature_width\' (needed by latent_type '
                        '\'categorical\')')
  if (config.agent_type in LEARNED_MODELS and config.seperate_rollout_batch_size
      and config.rollout_batch_size is None):
    raise ConfigError('config is missing key \'rollout_batch_size\' (needed by '
                      'seperate_rollout_batch_size)')


def _check_environment(config: ExperimentConfig):
  try:
    environment = jax_envs.make(config.environment, **config.env_config)
  except ValueError as error:
    key = 'environment' if config.environment not in jax_envs.ENVIRONMENTS else 'env_config'
    raise ConfigError(f'config key {key!r}: {error}') from None
  if environment.episodic != config.episodic_env:
    raise ConfigError(f'config key \'episodic_env\' is {str(config.episodic_env).lower()} but '
                      f'{config.environment} is {"" if environment.episodic else "not "}episodic')


def from_dict(raw: Any) -> ExperimentConfig:
  """A checked config; ConfigError naming the first bad key (unknown, missing, type, value)."""
  if not isinstance(raw, dict):
    raise ConfigError(f'a config must be a JSON object, got {_type_name(raw)}')
  unknown = sorted(set(raw) - set(_FIELDS))
  if unknown:
    raise ConfigError(f'unknown config key {unknown[0]!r}')
  if 'agent_type' not in raw:
    raise ConfigError(f'config is missing key \'agent_type\' (one of {", ".join(AGENT_TYPES)})')
  agent_type = raw['agent_type']
  if agent_type not in AGENT_TYPES:
    raise ConfigError(f'config key \'agent_type\': unknown agent {agent_type!r}; valid: '
                      f'{", ".join(AGENT_TYPES)}')
  values = {}
  for key, field in _FIELDS.items():
    used = agent_type in field.metadata['agents']
    value = raw.get(key)
    if value is None:  # Absent or null: the default, if the release has one for this agent.
      if field.metadata['required'] and used:
        raise ConfigError(f'config is missing key {key!r} (needed by agent_type {agent_type!r})')
      continue
    _check_type(key, value, field.type)
    choices = field.metadata['choices']
    if choices and used and value not in choices:
      raise ConfigError(f'config key {key!r}: unknown value {value!r}; valid: '
                        f'{", ".join(choices)}')
    values[key] = value
  config = ExperimentConfig(**values)
  _check_values(config)
  _check_environment(config)
  return config


def parse_value(text: str) -> Any:
  """A command-line value as JSON (numbers, true/false, lists), else as a plain string."""
  try:
    return json.loads(text)
  except json.JSONDecodeError:
    return text


def parse_overrides(overrides: Iterable[str]) -> Dict[str, Any]:
  """{key: value} from KEY=VALUE strings (VALUE as parse_value reads it); ConfigError if bad."""
  changes = {}
  for override in overrides:
    key, separator, text = override.partition('=')
    if not separator or not key:
      raise ConfigError(f'--override must be KEY=VALUE, got {override!r}')
    changes[key] = parse_value(text)
  return changes


def load(path: str, overrides: Iterable[str] = ()) -> ExperimentConfig:
  """The checked config in JSON file `path` with KEY=VALUE `overrides` applied.

  Raises ConfigError for a missing or malformed file and, prefixed with `path`, for a bad
  override or a bad key (unknown, missing, type, value).
  """
  try:
    with open(path) as f:
      raw = json.load(f)
  except OSError as error:
    raise ConfigError(f'cannot read config {path}: {error.strerror}') from None
  except json.JSONDecodeError as error:
    raise ConfigError(f'config {path} is not valid JSON: {error}') from None
  try:
    if isinstance(raw, dict):
      raw.update(parse_overrides(overrides))
    return from_dict(raw)
  except ValueError as error:  # ConfigError, or a value the config's types refuse.
    raise ConfigError(f'{path}: {error}') from None
