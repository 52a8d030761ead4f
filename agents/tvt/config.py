"""Hyperparameters of the RMA agent with TVT (spec sections 2-4; defaults are the release's)."""

import dataclasses
from typing import Optional, Tuple

from agents.core import cli


@dataclasses.dataclass
class TVTConfig:
  """Every knob of the agent. The first block is the release's flags, the rest is hard-coded there."""
  # The release's flags (main.py), with its defaults.
  with_memory: bool = True
  with_reconstruction: bool = True
  gamma: float = 0.92  # Discount, lambda of the lambda-return, and TVT's no-transport period.
  entropy_cost: float = 0.05
  image_cost_weight: float = 50.0  # Divided by the number of pixel channels (H * W * 3).
  read_strength_cost: float = 5e-5
  read_strength_tolerance: float = 2.0
  do_tvt: bool = True
  batch_size: int = 16  # Whole episodes per learner step.
  learning_rate: float = 2e-4
  beta1: float = 0.0
  beta2: float = 0.95
  epsilon: float = 1e-6

  # Hard-coded in the release (rma.py, memory.py, tvt_rewards.py).
  baseline_cost: float = 0.4
  image_code_size: int = 500
  num_latents: int = 200
  lstm_units: int = 256
  memory_size: int = 1000  # Rows of the external memory.
  memory_num_reads: int = 3
  memory_top_k: int = 50
  policy_hidden: int = 200
  z_hidden: int = 400
  output_gradient_clip: float = 10.0  # Element-wise, on the gradient at logits and value.
  tvt_alpha: float = 0.9
  tvt_read_strength_threshold: float = 2.0

  # The task: the longest episode, in steps (the memory keeps this many rows plus one, see
  # memory.py; the learner unrolls this many steps). Shorter episodes are padded and masked;
  # a longer one is an error (raised by the adder when the episode passes this length).
  episode_length: int = 120
  # Steps at the end of an episode whose rewards make its "last phase reward" (None: not logged).
  # The pycolab tasks' reward phase is 15 steps (`experiment.make_config` sets it from the task).
  last_phase_steps: Optional[int] = None
  # Steps of each phase (explore, distractor, reward) of the pycolab tasks, and the task's name:
  # the learner then logs where TVT's rewards land (`diagnostics`). None: not logged.
  phase_lengths: Optional[Tuple[int, ...]] = None
  task: Optional[str] = None

  # Distributed mode: a FIFO queue of whole episodes between actors and learner.
  max_queue_size: int = 64
  variable_update_period: int = 1  # Actor batch steps between weight pulls.
  # Correct the actors' policy lag with V-trace (the lambda-return targets otherwise; A3C).
  off_policy_correction: bool = False
  # XLA (tf.function(jit_compile=True)) for the learner's update and the actors' network step.
  # Off: on 2-core CPUs the update ran at 0.4x graph mode's speed and the step at about 1x
  # (benchmarks/tvt_throughput.py prints the ratios).
  jit_compile: bool = False

  def validate(self):
    """Raises ValueError naming the first field with an impossible value."""
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if isinstance(value, float):
        cli.check_number(field.name, value)
    positive = ('batch_size', 'image_code_size', 'num_latents', 'lstm_units', 'memory_size',
                'memory_num_reads', 'memory_top_k', 'policy_hidden', 'z_hidden',
                'episode_length', 'max_queue_size', 'variable_update_period')
    for name in positive:
      cli.check_number(name, getattr(self, name), 1, integer=True)
    if not 0.0 < self.gamma <= 1.0:
      raise ValueError(f'gamma must be in (0, 1], got {self.gamma}')
    non_negative = ('entropy_cost', 'image_cost_weight', 'read_strength_cost', 'baseline_cost',
                    'read_strength_tolerance', 'tvt_alpha')
    for name in non_negative:
      if getattr(self, name) < 0:
        raise ValueError(f'{name} must not be negative, got {getattr(self, name)}')
    if self.learning_rate <= 0:
      raise ValueError(f'learning_rate must be positive, got {self.learning_rate}')
    for name in ('beta1', 'beta2'):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ValueError(f'{name} must be in [0, 1), got {getattr(self, name)}')
    if self.epsilon <= 0:
      raise ValueError(f'epsilon must be positive, got {self.epsilon}')
    if self.memory_top_k > self.memory_size:
      raise ValueError(f'memory_top_k ({self.memory_top_k}) cannot exceed memory_size '
                       f'({self.memory_size})')
    if self.last_phase_steps is not None and not 0 < self.last_phase_steps <= self.episode_length:
      raise ValueError(f'last_phase_steps must be in 1..episode_length, got '
                       f'{self.last_phase_steps}')
    if self.phase_lengths is not None and (
        len(self.phase_lengths) != 3 or min(self.phase_lengths) < 1 or
        sum(self.phase_lengths) > self.episode_length):
      raise ValueError(f'phase_lengths must be 3 positive lengths that fit in episode_length, '
                       f'got {self.phase_lengths}')
    if self.max_queue_size < self.batch_size:
      raise ValueError(f'max_queue_size ({self.max_queue_size}) must hold a batch '
                       f'({self.batch_size})')

  @property
  def stored_memory_rows(self) -> int:
    """Rows the memory really stores: every write of an episode fits (see memory.py)."""
    return min(self.memory_size, self.episode_length + 1)

  @property
  def no_transport_period(self) -> int:
    """TVT's no-transport period: int(1 / (1 - gamma)) truncated as a float, 25 for gamma 1."""
    return int(1.0 / (1.0 - self.gamma)) if self.gamma < 1.0 else 25
