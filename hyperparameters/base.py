"""Evolvable hyperparameters: values in TF variables that population-based training perturbs.

A hyperparameter lives in a non-trainable scalar `tf.Variable` (`.variable`) so that a learner
graph reading it sees every change at once, without retracing. Float hyperparameters start at a
log-uniform draw from a (min, max) range and are perturbed by a factor in [1 - m, 1 + m]; integer
ones start uniform over {min..max} and are perturbed by resampling (spec 2.6, 6.1).
"""

import abc
from typing import Dict, Mapping, Optional, Sequence, Union

from absl import logging
import numpy as np
import tensorflow as tf

from hyperparameters.ranges import check_range  # pylint: disable=unused-import
from hyperparameters.ranges import FloatOrRange
from hyperparameters.ranges import log_uniform
from hyperparameters.ranges import perturb_factor


class Hyperparameter(abc.ABC):
  """A named value that PBT can read, set and perturb."""

  name: str

  @abc.abstractmethod
  def get(self):
    """The current value (numpy)."""

  @abc.abstractmethod
  def set(self, value):
    """Assigns a new value."""

  @abc.abstractmethod
  def perturb(self, verbose: bool = False):
    """Perturbs the value in place (PBT explore) and returns the new value."""

  def __repr__(self):
    return f'{self.name}: {self.get()}'


class FloatHyperparameter(Hyperparameter):
  """A positive float: a fixed value, or a log-uniform draw from (min, max).

  `perturb` multiplies the value by 1 + U(-m, m) with probability `perturb_probability`; it does
  not clip to the initial range (as the original), so values can drift out of it over time.
  """

  def __init__(self, init_value_or_range: FloatOrRange, perturb_probability: float = 1.0,
               perturb_max_pct_change: float = 0.20, dtype=tf.float32,
               name: str = 'float_hyperparameter',
               rng: Optional[np.random.Generator] = None):
    init = check_range(name, init_value_or_range)
    if not 0.0 <= perturb_probability <= 1.0:
      raise ValueError(f'{name}: perturb_probability must be in [0, 1], got {perturb_probability}')
    if not 0.0 <= perturb_max_pct_change < 1.0:
      raise ValueError(f'{name}: perturb_max_pct_change must be in [0, 1), got '
                       f'{perturb_max_pct_change}')
    self.name = name
    self.init_value_or_range = init
    self._rng = rng if rng is not None else np.random.default_rng()
    self._perturb_probability = perturb_probability
    self._max_pct_change = perturb_max_pct_change
    value = init if isinstance(init, float) else log_uniform(self._rng, *init)
    self.variable = tf.Variable(value, dtype=dtype, trainable=False, name=name)

  def get(self) -> float:
    return float(self.variable.numpy())

  def set(self, value):
    self.variable.assign(float(value))

  def perturb(self, verbose: bool = False) -> float:
    if self._rng.uniform() < self._perturb_probability:
      old = self.get()
      self.set(old * perturb_factor(self._rng, self._max_pct_change))
      if verbose:
        logging.info('perturbed %s: %g -> %g', self.name, old, self.get())
    return self.get()


class IntHyperparameter(Hyperparameter):
  """An integer in {min..max}, stored as float32 by default (the RPTH period is a float).

  Initialised to `initial_value` if given, else uniformly; `perturb` resamples uniformly.
  """

  def __init__(self, min_value: int, max_value: int, initial_value: Optional[int] = None,
               perturb_probability: float = 1.0, dtype=tf.float32,
               name: str = 'int_hyperparameter', rng: Optional[np.random.Generator] = None):
    if int(min_value) != min_value or int(max_value) != max_value:
      raise ValueError(f'{name} range must hold integers, got ({min_value}, {max_value})')
    if min_value > max_value:
      raise ValueError(f'{name} range has min {min_value} above max {max_value}')
    if initial_value is not None and not min_value <= initial_value <= max_value:
      raise ValueError(f'{name} initial value {initial_value} is outside '
                       f'[{min_value}, {max_value}]')
    self.name = name
    self.min_value, self.max_value = int(min_value), int(max_value)
    self._rng = rng if rng is not None else np.random.default_rng()
    self._perturb_probability = perturb_probability
    value = initial_value if initial_value is not None else self._sample()
    self.variable = tf.Variable(value, dtype=dtype, trainable=False, name=name)

  def _sample(self) -> int:
    return int(self._rng.integers(self.min_value, self.max_value + 1))

  def get(self) -> int:
    return int(round(float(self.variable.numpy())))

  def set(self, value):
    self.variable.assign(int(round(float(value))))

  def perturb(self, verbose: bool = False) -> int:
    if self._rng.uniform() < self._perturb_probability:
      old = self.get()
      self.set(self._sample())
      if verbose:
        logging.info('perturbed %s: %d -> %d', self.name, old, self.get())
    return self.get()


class HyperparametersContainer:
  """A dict of hyperparameters read, set and perturbed together (what PBT copies)."""

  def __init__(self, hypers: Mapping[str, Hyperparameter]):
    self._hypers = dict(hypers)

  @property
  def hyperparameters(self) -> Dict[str, Hyperparameter]:
    return self._hypers

  def perturb(self, verbose: bool = False) -> Dict[str, float]:
    for hyper in self._hypers.values():
      hyper.perturb(verbose)
    return self.get()

  def get(self) -> Dict[str, float]:
    return {key: hyper.get() for key, hyper in self._hypers.items()}

  def set(self, values: Mapping[str, float], verbose: bool = False):
    """Sets every known key; unknown keys are skipped (and logged if `verbose`)."""
    for key, value in values.items():
      if key not in self._hypers:
        if verbose:
          logging.warning('unknown hyperparameter %r ignored', key)
        continue
      try:
        self._hypers[key].set(value)
      except Exception as error:  # pylint: disable=broad-except
        raise ValueError(f'could not set hyperparameter {key!r} to {value!r}: {error}') from error

  def __repr__(self):
    return ', '.join(repr(h) for h in self._hypers.values())


def values_of(hypers: Union[HyperparametersContainer, Mapping[str, float]]) -> Dict[str, float]:
  """Plain {name: value} of a container or of a dict that already holds values."""
  if isinstance(hypers, HyperparametersContainer):
    return hypers.get()
  return dict(hypers)


def ranges_of(names: Sequence[str], values: Sequence) -> Dict[str, FloatOrRange]:
  """Validates several (name, value-or-range) pairs at once; ValueError names the first bad one."""
  return {name: check_range(name, value) for name, value in zip(names, values)}
