"""The learner base that every TF family builds on: served weights, finite updates, counting.

A family's learner subclasses `Learner`, puts its networks and optimizers in `state`, and in
`step()` takes `self._next_batch()`, runs one compiled update that applies its gradients
through `_apply_if_finite`, hands the returned flag to `_check_finite`, and ends with
`_end_step`. The core's `LearnerRunner` calls `after_restore` once a checkpoint is restored.
"""

import collections
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import acme
from acme.tf import savers
from acme.tf import utils as tf2_utils
from acme.utils import counting
from acme.utils import loggers
import numpy as np
import sonnet as snt
import tensorflow as tf

from agents.core import acting

Metrics = Mapping[str, Any]


class Learner(acme.Learner, savers.TFSaveable):
  """An Acme learner that is also its actors' variable source, one batch per `step()`.

  Actors pull weights from courier threads, which must never run TensorFlow ops (TF 2.8's op
  dispatch is not thread-safe); so `get_variables` serves a numpy copy of `served_module`'s
  variables, refreshed by the learning thread after every step and after a restore.
  """

  POLICY_LAG_WINDOW = 1000  # Items over which the policy lag's figures are taken.

  def __init__(self, name: str, served_module: snt.Module, dataset,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, log_every: int = 1):
    self._name = name
    self._served_module = served_module
    self._dataset = dataset
    self._counter = counter or counting.Counter()
    self._logger = logger or loggers.NoOpLogger()
    self._log_every = log_every
    self._num_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_steps')
    self._last_step_time = None
    # (learner step, numpy copy of the served module's variables), replaced as one object so
    # that a courier thread never reads the weights of one step with the count of another.
    self._served = (0, tf2_utils.to_numpy(served_module.variables))
    # Policy lags (in learner steps) of the latest items learned from, for the logged mean,
    # median and 99th percentile.
    self._policy_lags = collections.deque(maxlen=self.POLICY_LAG_WINDOW)

  @property
  def num_steps(self) -> int:
    """Updates applied so far (checkpointed as `state['num_steps']`)."""
    return int(self._num_steps.numpy())

  def ready(self) -> bool:
    """Whether `step()` will find a batch without waiting (True if the dataset cannot say)."""
    ready = getattr(self._dataset, 'ready', None)
    return bool(ready()) if ready is not None else True

  def _next_batch(self):
    """The dataset's next batch, its items' policy lags noted (see `policy_lag_metrics`)."""
    batch = next(self._dataset)
    extras = getattr(getattr(batch, 'data', batch), 'extras', None)
    if isinstance(extras, Mapping) and acting.WEIGHTS_STEP in extras:
      steps = np.asarray(extras[acting.WEIGHTS_STEP])
      # An item's lag is that of the weights that acted its first step (its later rows may be
      # padding); -1 marks weights of unknown step.
      first = steps.reshape(len(steps), -1)[:, 0]
      self._policy_lags.extend((self.num_steps - first[first >= 0]).tolist())
    return batch

  def policy_lag_metrics(self) -> Dict[str, float]:
    """Mean, median and 99th percentile of the policy lag over the latest items learned from:
    how many learner steps old the weights that acted them were ({} before any is known)."""
    if not self._policy_lags:
      return {}
    lags = np.asarray(self._policy_lags, np.float64)
    return {'policy_lag_mean': float(lags.mean()),
            'policy_lag_p50': float(np.percentile(lags, 50)),
            'policy_lag_p99': float(np.percentile(lags, 99))}

  # Serving weights.

  def refresh_served_variables(self):
    """Copies the served module's variables to the numpy cache that `get_variables` returns."""
    self._served = (self.num_steps, tf2_utils.to_numpy(self._served_module.variables))

  def after_restore(self):
    """Called once a checkpoint has been restored, so that actors get the restored weights."""
    self.refresh_served_variables()

  def get_variables(self, names: Sequence[str]) -> List[List[np.ndarray]]:
    return self.get_variables_with_step(names)[1]

  def get_variables_with_step(self, names: Sequence[str]) -> Tuple[int, List]:
    """(learner step of the served weights, `get_variables(names)`): the policy lag's clock."""
    del names  # One set of variables: the served module's.
    step, variables = self._served
    return step, [variables]

  # The finite check (inside the compiled update, then in Python).

  # What `_apply_if_finite` returns (an int32 status; 0 and 1 read as the old bool flag).
  UPDATE_REFUSED = 0  # The loss or gradient norm was not finite: nothing was applied.
  UPDATE_APPLIED = 1  # Applied, and the updated variables are finite.
  UPDATE_NOT_FINITE = 2  # Applied, and it made variables non-finite (a NaN step size, say).

  @staticmethod
  def _apply_if_finite(
      loss: tf.Tensor, gradients: Sequence[Optional[tf.Tensor]],
      variables: Sequence[tf.Variable], optimizer: Union[snt.Optimizer,
                                                         tf.keras.optimizers.Optimizer],
      max_gradient_norm: Optional[float] = None) -> Tuple[tf.Tensor, tf.Tensor]:
    """Applies `gradients` (clipped to `max_gradient_norm` if given) only if the loss and the
    gradient norm are finite; call inside a tf.function. Returns (status, gradient norm), the
    status one of UPDATE_REFUSED, UPDATE_APPLIED, UPDATE_NOT_FINITE.

    Finite gradients can still make the variables non-finite (a NaN or infinite learning rate,
    a corrupt optimizer state), so the updated variables are checked too: one reduction per
    variable, small next to the update itself."""
    gradients = list(gradients)
    if max_gradient_norm is None:
      norm = tf.linalg.global_norm(gradients)
    else:
      gradients, norm = tf.clip_by_global_norm(gradients, max_gradient_norm)
    finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(loss)), tf.math.is_finite(norm))

    def apply():
      if isinstance(optimizer, tf.keras.optimizers.Optimizer):
        optimizer.apply_gradients(zip(gradients, variables))
      else:
        optimizer.apply(gradients, variables)
      # Reads after the update: automatic control dependencies order them after its writes.
      checks = [tf.reduce_all(tf.math.is_finite(v)) for v in variables if v.dtype.is_floating]
      still_finite = tf.reduce_all(checks) if checks else tf.constant(True)
      return tf.where(still_finite, Learner.UPDATE_APPLIED, Learner.UPDATE_NOT_FINITE)

    return tf.cond(finite, apply, lambda: tf.constant(Learner.UPDATE_REFUSED)), norm

  def _check_finite(self, finite, loss, gradient_norm=None, task: str = ''):
    """Raises FloatingPointError unless `finite` (the status of `_apply_if_finite`) says the
    update was applied and left the variables finite, so that the run stops before anything
    non-finite could be served or saved.

    A refused update changed nothing. An update that made the variables non-finite cannot be
    undone: the served weights (refreshed by `_end_step`, not reached) stay the previous ones,
    and the checkpointer refuses to save non-finite state, so the last checkpoint stays the
    last finite one."""
    status = int(finite)
    if status == self.UPDATE_APPLIED:
      return
    what = f'{task} loss' if task else 'loss'
    if status == self.UPDATE_REFUSED:
      raise FloatingPointError(
          f'{self._name}: {what} is not finite at learner step {self.num_steps} (loss is '
          f'{np.asarray(loss)}, gradient norm is {np.asarray(gradient_norm)}); no update was '
          f'applied')
    raise FloatingPointError(
        f'{self._name}: the {task + " " if task else ""}update at learner step '
        f'{self.num_steps} made the weights non-finite although the {what} '
        f'({np.asarray(loss)}) and gradient norm ({np.asarray(gradient_norm)}) were finite '
        f'(a non-finite learning rate or optimizer state?); the update was applied, so this '
        f'learner\'s weights are unusable; they are neither served nor saved')

  # Counting and logging.

  def _end_step(self, metrics: Union[Metrics, Callable[[], Metrics], None] = None,
                **counts) -> Dict[str, Any]:
    """Counts the step (num_steps, the counter with walltime and `counts`), refreshes the
    served weights and, every `log_every` steps, logs the counts and `metrics` (a mapping or a
    function that makes it, evaluated only when logging). Returns the counter's counts."""
    self._num_steps.assign_add(1)
    self.refresh_served_variables()
    now = time.time()
    elapsed = now - self._last_step_time if self._last_step_time else 0.0
    self._last_step_time = now
    result = self._counter.increment(steps=1, walltime=elapsed, **counts)
    if metrics is not None and self.num_steps % self._log_every == 0:
      if callable(metrics):
        metrics = metrics()
      self._logger.write({**result, **metrics, **self.policy_lag_metrics()})
    return result
