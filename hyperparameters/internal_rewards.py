"""Internal rewards: the per-agent weights that turn a vector of game events into a reward.

FTW learns no reward from the environment's score directly: each agent evolves (by PBT, never by
gradient) a weight per game event, and its RL reward is w . rho_t (spec 2.7, 4.6).
"""

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from hyperparameters import base


class InternalRewards(base.Hyperparameter):
  """A weight vector w in R^E, held in a non-trainable tf.Variable of shape [E].

  `init_value_or_range`: a float repeated E times, or (min, max) for an independent log-uniform
  draw per event. `scales` (one signed factor per event) multiplies the draw: bad events start
  negative (the original package draws every weight positive, which cannot punish being tagged;
  spec 2.7 suggests a sign prior) and important events start larger. `initial_weights` gives
  the whole vector explicitly instead. `perturb` multiplies each weight by its own 1 + U(-m, m).
  """

  def __init__(self, num_events: int, init_value_or_range=(0.1, 1.0),
               perturb_probability: float = 1.0, perturb_max_pct_change: float = 0.20,
               dtype=tf.float32, name: str = 'internal_rewards',
               scales: Optional[Sequence[float]] = None,
               initial_weights: Optional[Sequence[float]] = None,
               rng: Optional[np.random.Generator] = None):
    if int(num_events) != num_events or num_events < 1:
      raise ValueError(f'num_events must be a positive integer, got {num_events}')
    self.name = name
    self.num_events = int(num_events)
    self._rng = rng if rng is not None else np.random.default_rng()
    self._perturb_probability = perturb_probability
    self._max_pct_change = perturb_max_pct_change
    if initial_weights is not None:
      weights = np.asarray(initial_weights, np.float64)
      if weights.shape != (self.num_events,):
        raise ValueError(f'{name}: {weights.size} initial weights for {self.num_events} events')
    else:
      init = base.check_range(name, init_value_or_range)
      if isinstance(init, float):
        weights = np.full(self.num_events, init)
      else:
        weights = base.log_uniform(self._rng, *init, size=self.num_events)
      if scales is not None:
        scales = np.asarray(scales, np.float64)
        if scales.shape != (self.num_events,):
          raise ValueError(f'{name}: {len(scales)} scales for {self.num_events} events')
        weights = weights * scales
    self.variable = tf.Variable(weights, dtype=dtype, trainable=False, name=name)

  def get(self) -> np.ndarray:
    return self.variable.numpy().copy()

  def set(self, value):
    value = np.asarray(value, np.float32)
    if value.shape != (self.num_events,):
      raise ValueError(f'{self.name}: expected {self.num_events} weights, got shape {value.shape}')
    self.variable.assign(value)

  def perturb(self, verbose: bool = False) -> np.ndarray:
    del verbose
    if self._rng.uniform() < self._perturb_probability:
      factors = base.perturb_factor(self._rng, self._max_pct_change, size=self.num_events)
      self.set(self.get() * factors)
    return self.get()

  def reward(self, events) -> tf.Tensor:
    """w . events over the last axis ([..., E] -> [...]); with E = 1, events * w elementwise."""
    events = tf.convert_to_tensor(events, dtype=self.variable.dtype)
    weights = tf.stop_gradient(self.variable)
    if self.num_events == 1:  # Scalar rewards, of any shape.
      return events * weights[0]
    if events.shape.rank == 0:
      raise ValueError(f'{self.name}: scalar events for {self.num_events} event weights')
    if events.shape[-1] != self.num_events:
      raise ValueError(f'{self.name}: events have {events.shape[-1]} entries, expected '
                       f'{self.num_events}')
    return tf.tensordot(events, weights, axes=[[-1], [0]])

  def __repr__(self):
    return f'{self.name}: {np.array2string(self.get(), precision=3)}'
