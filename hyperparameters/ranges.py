"""Initial ranges of evolved values and their random draws, without TensorFlow (flag checks use
them before anything heavy is imported)."""

import math
import numbers
from typing import Tuple, Union

import numpy as np

FloatOrRange = Union[float, Tuple[float, float]]


def check_range(name: str, value_or_range, positive: bool = True) -> Union[float, Tuple]:
  """Returns a float or a (min, max) pair of floats; ValueError naming `name` otherwise."""
  if isinstance(value_or_range, bool):
    raise ValueError(f'{name} must be a number or a (min, max) pair, got {value_or_range!r}')
  if isinstance(value_or_range, numbers.Real):
    value = float(value_or_range)
    if not math.isfinite(value):
      raise ValueError(f'{name} must be a finite number, got {value}')
    if positive and value < 0:
      raise ValueError(f'{name} must not be negative, got {value}')
    return value
  try:
    low, high = (float(v) for v in value_or_range)
  except (TypeError, ValueError):
    raise ValueError(f'{name} must be a number or a (min, max) pair, '
                     f'got {value_or_range!r}') from None
  if not (math.isfinite(low) and math.isfinite(high)):
    raise ValueError(f'{name} range must be finite numbers, got ({low:g}, {high:g})')
  if low > high:
    raise ValueError(f'{name} range has min {low:g} above max {high:g}')
  if positive and low <= 0:
    raise ValueError(f'{name} range must be positive for a log-uniform draw, got min {low:g}')
  return (low, high)


def log_uniform(rng: np.random.Generator, low: float, high: float, size=None):
  """Draws from the log-uniform distribution on [low, high] (low = high gives low)."""
  return np.exp(rng.uniform(np.log(low), np.log(high), size=size))


def perturb_factor(rng: np.random.Generator, max_pct_change: float, size=None):
  """A multiplicative factor 1 + U(-m, m), the explore step of PBT."""
  return 1.0 + rng.uniform(-max_pct_change, max_pct_change, size=size)
