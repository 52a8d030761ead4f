"""Every knob of the FTW agent, with the original package's names and defaults (spec 2.1).

A (min, max) pair for an evolved hyperparameter means "draw the initial value log-uniformly";
a float fixes it. `grid_world_config()` gives the defaults the project trains with on the
capture-the-flag grid world: the same agent with smaller layers for 11x11 views.
"""

import dataclasses
from typing import Optional, Sequence, Tuple

from hyperparameters import population
from agents.core import cli
from hyperparameters import ranges

FloatOrRange = ranges.FloatOrRange
CORE_TYPES = ('lstm', 'rpth', 'rpth_dnc')
EVOLVED_FLOATS = ('learning_rate', 'entropy_cost', 'reward_prediction_cost', 'pixel_control_cost',
                  'kld_prior_fixed_cost', 'kld_prior_posterior_cost', 'scale_grads_fast_to_slow')


@dataclasses.dataclass
class FtwConfig:
  """Arguments of `FTW` / `FTWWithoutActor` (spec 2.1) plus the shapes of small-view variants."""
  sequence_length: int = 100
  num_environment_events: int = 1
  max_queue_size: int = 64
  batch_size: int = 32
  hidden_size: int = 256
  use_pixel_control: bool = True
  use_reward_prediction: bool = True
  reward_prediction_sequence_length: int = 3
  reward_prediction_sequence_period: int = 1  # Applies to zero-reward windows (see adders).
  num_dimensions: int = 256
  dnc_clip_value: Optional[float] = None
  use_dnc_linear_projection: bool = True
  init_scale: float = 0.1
  min_scale: float = 1e-6
  tanh_mean: bool = False
  fixed_scale: bool = False
  use_tfd_independent: bool = False
  variational_unit_w_init: Optional[object] = None
  variational_unit_b_init: Optional[object] = None
  strict_period_order: bool = True
  dnc_memory_size: int = 450
  dnc_word_size: int = 32
  dnc_num_reads: int = 4
  core_type: str = 'rpth'
  slow_core_period_min_max: Tuple[int, int] = (5, 20)
  slow_core_period_init_value: Optional[int] = None
  learning_rate: FloatOrRange = (1e-5, 5e-3)
  entropy_cost: FloatOrRange = (5e-4, 1e-2)
  reward_prediction_cost: FloatOrRange = (0.1, 1.0)
  pixel_control_cost: FloatOrRange = (0.01, 0.1)
  kld_prior_fixed_cost: FloatOrRange = (1e-4, 0.1)
  kld_prior_posterior_cost: FloatOrRange = (1e-3, 1.0)
  scale_grads_fast_to_slow: FloatOrRange = (0.1, 1.0)
  internal_rewards: FloatOrRange = (0.1, 1.0)
  # One signed factor per event multiplying its draw: bad events start negative, and the size
  # says how much an event weighs before evolution (None: all 1, the original's positive draws).
  internal_reward_scales: Optional[Sequence[float]] = None
  # An explicit initial weight per event, instead of a draw.
  internal_reward_weights: Optional[Sequence[float]] = None
  baseline_cost: float = 0.5
  discount: float = 0.99
  max_abs_reward: Optional[float] = None
  max_gradient_norm: Optional[float] = None
  rms_prop_epsilon: float = 1e-5
  learning_rate_decay_steps: int = 0
  # PBT explore: per-hyperparameter perturbation probability and size.
  perturb_probability: float = 1.0
  perturb_max_pct_change: float = 0.20
  # Shapes (the original's fixed 84x84 values by default).
  torso_conv_filters: Tuple = ((32, 8, 4), (64, 4, 2))
  torso_residual_filters: Tuple = ((64, 3, 1), (64, 3, 1))
  pixel_control_cell_size: int = 4
  pixel_control_crop: int = 2
  pixel_control_discount: float = 0.9
  max_pixel_control_buffer_size: int = 100
  max_reward_pred_buffer_size: int = 800
  # XLA (tf.function(jit_compile=True)) for the learner's updates and the actors' policy step.
  # Off: on this project's 2-core CPUs the learner ran at 0.4x of graph mode and the policy step
  # at 0.8x-1.1x (benchmarks/ftw_throughput.py prints both ratios).
  jit_compile: bool = False
  # Learner speed-ups that leave what it computes unchanged (off: the learner before them, which
  # benchmarks/ftw_throughput.py compares): the pixel-control head's value and advantage
  # deconvolutions as one, the auxiliary batches fetched during the main update, and RMSProp
  # applied by TensorFlow's fused kernel.
  pixel_control_fused_dueling: bool = True
  sample_auxiliary_in_background: bool = True
  fused_rms_prop: bool = True

  def validate(self):
    """Raises ValueError naming the first impossible field."""
    positive = ('sequence_length', 'num_environment_events', 'max_queue_size', 'batch_size',
                'hidden_size', 'reward_prediction_sequence_length',
                'reward_prediction_sequence_period', 'num_dimensions', 'dnc_memory_size',
                'dnc_word_size', 'dnc_num_reads', 'pixel_control_cell_size',
                'max_pixel_control_buffer_size', 'max_reward_pred_buffer_size')
    for name in positive:
      cli.check_number(name, getattr(self, name), 1, integer=True)
    cli.check_number('sequence_length', self.sequence_length, 2, integer=True)
    if self.core_type not in CORE_TYPES:
      raise ValueError(f'unknown core_type {self.core_type!r}; valid: '
                       f'{", ".join(CORE_TYPES)}')
    if self.max_queue_size < self.batch_size:
      raise ValueError(f'max_queue_size ({self.max_queue_size}) must hold a batch '
                       f'({self.batch_size})')
    if self.use_reward_prediction and self.batch_size < 2:
      raise ValueError('reward prediction samples batch_size / 2 windows per table; '
                       'batch_size must be at least 2')
    low, high = self.slow_core_period_min_max
    if low < 1 or low > high:
      raise ValueError(f'slow_core_period_min_max must be 1 <= min <= max, got ({low}, {high})')
    for name in EVOLVED_FLOATS + ('internal_rewards',):
      ranges.check_range(name, getattr(self, name))
    events = self.num_environment_events
    for name in ('internal_reward_scales', 'internal_reward_weights'):
      value = getattr(self, name)
      if value is not None and len(value) != events:
        raise ValueError(f'{name} has {len(value)} entries but the environment has {events} '
                         'events')
    for name in ('internal_reward_scales', 'internal_reward_weights'):
      for value in getattr(self, name) or ():
        cli.check_number(name, value)
    cli.check_number('discount', self.discount, 0.0, 1.0)
    cli.check_number('pixel_control_discount', self.pixel_control_discount, 0.0, 1.0)
    cli.check_number('perturb_probability', self.perturb_probability, 0.0, 1.0)
    for name in ('baseline_cost', 'perturb_max_pct_change', 'learning_rate_decay_steps'):
      cli.check_number(name, getattr(self, name), 0.0)
    for name in ('init_scale', 'min_scale', 'rms_prop_epsilon'):
      cli.check_number(name, getattr(self, name), 0.0, min_inclusive=False)
    for name in ('dnc_clip_value', 'max_abs_reward', 'max_gradient_norm'):
      cli.check_number(name, getattr(self, name), 0.0, min_inclusive=False, optional=True)


def grid_world_config(**overrides) -> FtwConfig:
  """The agent for the capture-the-flag grid world's 11x11x3 views and 13 events.

  Smaller layers than the 84x84 original (hidden 128, latent 64, 3x3 convolutions), pixel
  control on every cell (1x1 cells, no crop), unrolls of 31 rows (30 transitions, so a 300-step
  match is 10 unrolls), internal rewards drawn around the game's event scales, a narrower
  learning-rate range (a population of 4 cannot afford members far outside the useful range) and
  KL costs far below the original's: summed over 64 latent dimensions and every step, the KL
  terms start about 1e5 (latents of scale 0.1 from two different cores), and with the original's
  costs they outweighed the RL terms so far that no member learned to capture in 200k steps; at
  1e-6 to 1e-5 the same agent wins 75% against the random bot after 160k.
  """
  from environments.ctf import game  # pylint: disable=g-import-not-at-top
  values = dict(
      sequence_length=31, num_environment_events=game.NUM_EVENTS, max_queue_size=64,
      batch_size=16, hidden_size=128, num_dimensions=64, core_type='rpth',
      torso_conv_filters=((16, 3, 1), (32, 3, 2)), torso_residual_filters=((32, 3, 1),
                                                                          (32, 3, 1)),
      pixel_control_cell_size=1, pixel_control_crop=0, reward_prediction_sequence_period=8,
      learning_rate=(2e-4, 1e-3), kld_prior_fixed_cost=(1e-7, 1e-6), internal_rewards=(0.5, 2.0),
      kld_prior_posterior_cost=(1e-6, 1e-5), internal_reward_scales=game.EVENT_REWARD_SCALES,
      max_gradient_norm=40.0)
  values.update(overrides)
  config = FtwConfig(**values)
  config.validate()
  return config


@dataclasses.dataclass
class ProgramConfig:
  """The population's size, its nodes, its budget and where it writes."""
  run_dir: str
  population_size: int = 4
  num_arenas: int = 2
  matches_per_arena: int = 4
  max_env_steps: Optional[int] = None  # Environment steps of training matches (None: forever).
  max_wall_s: Optional[float] = None  # Wall-clock limit of this launch.
  seed: int = 0
  pbt: population.PbtConfig = dataclasses.field(default_factory=population.PbtConfig)
  # Share of training matches in which one team is scripted bots (the paper also trains
  # against fixed policies at some rate, spec 6.3); they do not change the Elo ratings.
  bot_match_fraction: float = 0.0
  training_bots: Tuple[str, ...] = ('random', 'rusher')
  with_evaluator: bool = True
  evaluation_matches: int = 8  # Matches per member against each bot, per evaluation round.
  evaluation_bots: Tuple[str, ...] = ('random', 'rusher')
  evaluation_period_s: float = 60.0  # At least this long between evaluation rounds.
  # Evaluation rounds wait while they would take evaluation past this share of the training
  # matches' environment steps (the final evaluation of the checkpoints is apart).
  evaluation_share: Optional[float] = 0.1
  variable_update_period: int = 20  # Arena steps between weight pulls.
  # Weight caches: for each member, one per this many arenas pulls the member's weights every
  # `cache_period_s` and serves them to its arenas (None: the core's default, caches above
  # `distributed.CACHE_THRESHOLD` arenas; 0: the arenas pull from the learners).
  arenas_per_cache: Optional[int] = None
  cache_period_s: float = 1.0
  checkpoint_period_minutes: float = 1.0
  checkpoint_period_steps: Optional[int] = 100  # A learner also checkpoints every N steps.
  log_period_s: float = 15.0
  rpc_timeout_s: float = 60.0

  def core_config(self):
    """The core program's config: the arenas are its actors, matches its environments."""
    from agents.core import distributed  # pylint: disable=g-import-not-at-top
    return distributed.DistributedConfig(
        run_dir=self.run_dir, population_size=self.population_size, num_actors=self.num_arenas,
        envs_per_actor=self.matches_per_arena, max_actor_steps=self.max_env_steps,
        max_wall_s=self.max_wall_s, seed=self.seed, with_evaluator=self.with_evaluator,
        evaluation_period_s=self.evaluation_period_s, evaluation_share=self.evaluation_share,
        log_period_s=self.log_period_s, checkpoint_period_minutes=self.checkpoint_period_minutes,
        checkpoint_period_steps=self.checkpoint_period_steps, rpc_timeout_s=self.rpc_timeout_s,
        actors_per_cache=self.arenas_per_cache, cache_period_s=self.cache_period_s)

  def validate(self):
    """Raises ValueError naming the first impossible (or non-finite) field."""
    if self.population_size < 2:
      raise ValueError(f'the population needs at least 2 members, got {self.population_size}')
    for name in ('num_arenas', 'matches_per_arena', 'evaluation_matches',
                 'variable_update_period'):
      cli.check_number(name, getattr(self, name), 1, integer=True)
    cli.check_number('bot_match_fraction', self.bot_match_fraction, 0.0, 1.0)
    self.core_config().validate()  # Arenas, budgets, periods: the core's checks.
    self.pbt.validate()
