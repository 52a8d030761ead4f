"""Policy lag: actors write the learner step of their weights with each step; learners log how
many learner steps old the weights behind what they learn from were."""

import types

from acme import specs
from acme.tf import variable_utils
from acme.utils import loggers
import courier
import numpy as np
import portpicker
import pytest
import sonnet as snt
import tensorflow as tf

from agents.core import acting
from agents.core import learning
from agents.core import rpc


class _Learner(learning.Learner):
  """The learner base alone: each step reads a batch and counts itself."""

  @property
  def state(self):
    return {'num_steps': self._num_steps}

  def step(self):
    self._next_batch()
    self._end_step({})


class _ListLogger(loggers.Logger):

  def __init__(self):
    self.writes = []

  def write(self, values):
    self.writes.append(dict(values))

  def close(self):
    pass


def _module():
  module = snt.Linear(2)
  module(tf.zeros([1, 3]))
  return module


def _batch(weights_steps):
  return types.SimpleNamespace(data=types.SimpleNamespace(extras={
      'logits': np.zeros((len(weights_steps), 3, 2), np.float32),
      acting.WEIGHTS_STEP: np.array(weights_steps, np.int32)}))


def test_the_lag_of_an_item_is_that_of_the_weights_of_its_first_row():
  logger = _ListLogger()
  learner = _Learner('learner', _module(), iter([_batch([[7, 7, 7], [10, 0, 0], [-1, -1, -1],
                                                         [2, 9, 9]])]), logger=logger)
  learner._num_steps.assign(10)  # pylint: disable=protected-access
  learner.step()
  # Lags 10-7 = 3, 10-10 = 0 (the padding after a first row says nothing), 10-2 = 8; the
  # item of unknown weights (-1) has none. Median 3; 99th percentile 3 + 0.98 * (8 - 3).
  written = logger.writes[-1]
  assert written['policy_lag_mean'] == pytest.approx(11 / 3)
  assert written['policy_lag_p50'] == 3.0
  assert written['policy_lag_p99'] == pytest.approx(7.9)


def test_the_figures_cover_the_latest_items_only():
  learner = _Learner('learner', _module(), iter([_batch([[0]] * 600)] * 2))
  learner.step()  # At step 0: lag 0 for 600 items.
  learner.step()  # At step 1: lag 1 for 600 more, which leave 400 of the first in the window.
  figures = learner.policy_lag_metrics()
  assert learning.Learner.POLICY_LAG_WINDOW == 1000
  assert figures['policy_lag_mean'] == pytest.approx(0.6)
  assert figures['policy_lag_p50'] == 1.0 and figures['policy_lag_p99'] == 1.0


def test_no_figures_without_items_of_known_weights():
  learner = _Learner('learner', _module(), iter([_batch([[-1]]), types.SimpleNamespace(
      data=types.SimpleNamespace(extras={'logits': np.zeros((1, 2))}))]))
  learner.step()
  learner.step()
  assert learner.policy_lag_metrics() == {}


def _policy(module):

  @tf.function
  def policy(observations, state, is_first, seed):
    del is_first, seed
    logits = module(observations)
    return tf.argmax(logits, -1, output_type=tf.int32), {'logits': logits}, state

  return policy


def test_actors_write_the_learner_step_of_the_weights_they_fetched():
  learner_module, actor_module = _module(), _module()
  learner = _Learner('learner', learner_module, iter([_batch([[-1]])] * 3))
  for _ in range(3):
    learner.step()
  port = portpicker.pick_unused_port()
  server = courier.Server(port=port)
  server.Bind('get_variables_with_step', learner.get_variables_with_step)
  server.Start()
  try:
    source = rpc.ResilientVariableSource(courier.Client(f'localhost:{port}'))
    client = variable_utils.VariableClient(source, {'policy': actor_module.variables})
    actor = acting.BatchedRecurrentActor(_policy(actor_module), lambda b: (),
                                         variable_client=client)
    observations = np.zeros((4, 3), np.float32)
    actor.select_actions(observations)
    assert actor.step_extras[acting.WEIGHTS_STEP].tolist() == [-1] * 4  # Nothing fetched yet.
    actor.update(wait=True)
    actor.select_actions(observations)
    assert actor.step_extras[acting.WEIGHTS_STEP].tolist() == [3] * 4
    np.testing.assert_array_equal(actor_module.w.numpy(), learner_module.w.numpy())
  finally:
    server.Stop()


def test_the_step_is_in_the_extras_spec_that_tables_are_built_from():
  actor = acting.BatchedRecurrentActor(_policy(_module()), lambda b: ())
  spec = acting.extras_spec(actor, specs.Array([3], np.float32))
  assert spec[acting.WEIGHTS_STEP].shape == () and spec[acting.WEIGHTS_STEP].dtype == np.int32
  assert actor.step_extras[acting.WEIGHTS_STEP].tolist() == [-1]  # Frozen weights: unknown.
