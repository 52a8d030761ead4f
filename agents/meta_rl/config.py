"""Hyperparameters of the meta-RL agent (spec section 2.4; deviations from the paper noted)."""

import dataclasses

from agents.core import cli


@dataclasses.dataclass
class MetaRLConfig:
  """Every knob of the meta-RL agent; the defaults are the ones the project trains with."""
  # Task shape.
  num_arms: int = 2
  num_trials: int = 100
  # Network: one LSTM, linear policy and value heads with normalised-column initialisation.
  lstm_units: int = 48
  # Feed trial / num_trials instead of the raw 0-based count (a deviation; the reproduction
  # feeds the raw count, which saturates the LSTM gates late in an episode).
  normalise_trial_index: bool = True
  policy_init_scale: float = 0.01
  value_init_scale: float = 1.0
  # Returns and losses.
  discount: float = 0.9
  baseline_cost: float = 0.5
  entropy_cost_start: float = 0.05
  entropy_cost_end: float = 0.0
  # V-trace corrects for the actors' policy lag; False gives plain on-policy A2C returns.
  off_policy_correction: bool = True
  # Optimiser: Adam, gradient clipping by global norm; the learning rate is annealed linearly
  # (to 0 by default, as in Mnih et al. 2016, whose A3C the paper follows).
  learning_rate: float = 3e-3
  learning_rate_end: float = 0.0
  max_gradient_norm: float = 40.0
  # Environment steps learned from over which the entropy cost and learning rate anneal.
  anneal_steps: int = 4_000_000
  # Data: sequences of unroll_length steps, stored with the LSTM state at their first step;
  # must divide num_trials so that no sequence is padded. Whole 100-trial episodes (full BPTT)
  # learn clearly better policies than truncated 20-step unrolls, whose regret curve stops
  # improving on the paper's bandits after about 20 trials.
  unroll_length: int = 100
  batch_size: int = 4
  max_queue_size: int = 256
  # Actor weight pulls, in actor batch steps.
  variable_update_period: int = 10
  # XLA (tf.function(jit_compile=True)) for the learner update and the actors' policy step.
  # Off: on 2 cores (one TF thread, as the benchmark runs) the learner ran at 0.6x and the
  # policy step at 0.9x of graph mode, and compiling the 100-step update took minutes
  # (benchmarks/meta_rl_throughput.py prints the ratios).
  jit_compile: bool = False

  def validate(self):
    """Raises ValueError naming the first field with an impossible (or non-finite) value."""
    positive = ('num_arms', 'num_trials', 'lstm_units', 'unroll_length', 'batch_size',
                'max_queue_size', 'variable_update_period', 'anneal_steps')
    for name in positive:
      cli.check_number(name, getattr(self, name), 1, integer=True)
    if self.num_trials % self.unroll_length:
      raise ValueError(f'unroll_length ({self.unroll_length}) must divide num_trials '
                       f'({self.num_trials}) so that no sequence is padded')
    cli.check_number('discount', self.discount, 0.0, 1.0)
    cli.check_number('learning_rate', self.learning_rate, 0.0, min_inclusive=False)
    cli.check_number('learning_rate_end', self.learning_rate_end, 0.0)
    for name in ('baseline_cost', 'entropy_cost_start', 'entropy_cost_end'):
      cli.check_number(name, getattr(self, name), 0.0)
    for name in ('policy_init_scale', 'value_init_scale', 'max_gradient_norm'):
      cli.check_number(name, getattr(self, name), 0.0, min_inclusive=False)
    if self.max_queue_size < self.batch_size:
      raise ValueError(f'max_queue_size ({self.max_queue_size}) must hold a batch '
                       f'({self.batch_size})')

  def annealed(self, env_steps) -> 'tuple[float, float]':
    """(entropy cost, learning rate) after `env_steps` steps of experience were learned from."""
    fraction = min(1.0, env_steps / self.anneal_steps)
    entropy_cost = self.entropy_cost_start + fraction * (
        self.entropy_cost_end - self.entropy_cost_start)
    learning_rate = self.learning_rate + fraction * (self.learning_rate_end - self.learning_rate)
    return entropy_cost, learning_rate
