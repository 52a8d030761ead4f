"""Checkpoints never regress: verified and finite saves, the last few kept, no save before a
session's first learner step, saves every N steps, and counts that match the restored learner.

The learners are the real meta-RL learner (the smallest of the project) on a tiny config, run
by the core's single-process loop or `LearnerRunner`; each test takes a few seconds.
"""

import os

import numpy as np
import pytest
import reverb
import tensorflow as tf
from acme import specs
from acme.utils import counting

import environments
from agents.core import distributed
from agents.core import local
from agents.core import runners
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib

ENV = 'independent'
NUM_TRIALS = 10


def _config(**changes) -> config_lib.MetaRLConfig:
  return config_lib.MetaRLConfig(num_trials=NUM_TRIALS, unroll_length=NUM_TRIALS,
                                 batch_size=2, lstm_units=8, **changes)


def _train(run_dir, learner_steps, builder=None, **local_changes) -> local.RunResult:
  """A single-process run to `learner_steps` learner steps (budget of all sessions)."""
  config = local.LocalConfig(run_dir=run_dir, num_envs=2, max_learner_steps=learner_steps,
                             checkpoint_period_minutes=60.0, log_period_s=1e9,
                             **local_changes)
  return local.run(builder or builder_lib.MetaRLBuilder(_config()),
                   environments.make_factory(ENV, num_trials=NUM_TRIALS), config)


def _checkpoints(run_dir, subdirectory='learner'):
  """{path prefix: {tensor name: value}} of every checkpoint on disk, oldest first."""
  directory = os.path.join(run_dir, 'checkpoints', subdirectory)
  names = sorted((n[:-len('.index')] for n in os.listdir(directory) if n.endswith('.index')),
                 key=lambda n: int(n.rsplit('-', 1)[1]))
  result = {}
  for name in names:
    reader = tf.train.load_checkpoint(os.path.join(directory, name))
    result[name] = {key: reader.get_tensor(key) for key in reader.get_variable_to_dtype_map()}
  return result


def _step(tensors):
  return int(tensors['learner/num_steps/.ATTRIBUTES/VARIABLE_VALUE'])


def _assert_all_finite(run_dir):
  for root, _, files in os.walk(os.path.join(run_dir, 'checkpoints')):
    for name in files:
      if name.endswith('.index'):
        reader = tf.train.load_checkpoint(os.path.join(root, name[:-len('.index')]))
        for key, dtype in reader.get_variable_to_dtype_map().items():
          if dtype.is_floating:
            assert np.all(np.isfinite(reader.get_tensor(key))), (root, name, key)


def _spec():
  return specs.make_environment_spec(environments.make(ENV, num_trials=NUM_TRIALS))


# The checkpointer alone.


def test_saves_are_kept_three_deep_and_readable_by_tensorflow(tmp_path):
  value = tf.Variable([1.0, 2.0])
  checkpointer = runners.Checkpointer({'v': value}, str(tmp_path), 'x', period_minutes=60.0)
  for i in range(5):
    value.assign([float(i), 0.0])
    assert checkpointer.save(force=True)
  directory = checkpointer.directory
  assert sorted(os.listdir(directory)) == sorted(
      ['checkpoint'] + [f'ckpt-{n}.{suffix}' for n in (3, 4, 5)
                        for suffix in ('index', 'data-00000-of-00001')])
  assert tf.train.latest_checkpoint(directory) == os.path.join(directory, 'ckpt-5')


def test_restore_falls_back_to_the_newest_readable_checkpoint_and_says_which(tmp_path, capsys):
  value = tf.Variable(0.0)
  checkpointer = runners.Checkpointer({'v': value}, str(tmp_path), 'x', period_minutes=60.0)
  assert 'starting fresh' in capsys.readouterr().out
  for i in (1.0, 2.0, 3.0):
    value.assign(i)
    checkpointer.save(force=True)
  # The newest one's data is truncated (a disk fault, a copy cut short).
  with open(os.path.join(checkpointer.directory, 'ckpt-3.data-00000-of-00001'), 'r+b') as f:
    f.truncate(2)
  restored = tf.Variable(0.0)
  runners.Checkpointer({'v': restored}, str(tmp_path), 'x', period_minutes=60.0)
  assert float(restored.numpy()) == 2.0
  lines = capsys.readouterr().out.splitlines()
  assert lines == [f'[checkpoints/x] restored {os.path.join(checkpointer.directory, "ckpt-2")}']


def test_a_non_finite_save_is_refused_and_the_last_finite_one_stays_latest(tmp_path, caplog):
  value = tf.Variable([1.0, 2.0])
  checkpointer = runners.Checkpointer({'v': value}, str(tmp_path), 'x', period_minutes=60.0)
  assert checkpointer.save(force=True)
  files_before = sorted(os.listdir(checkpointer.directory))
  value.assign([1.0, np.nan])
  assert not checkpointer.save(force=True)
  assert 'non-finite' in caplog.text
  # Nothing of the refused save is left, not even its temporary files.
  assert sorted(os.listdir(checkpointer.directory)) == files_before
  assert tf.train.latest_checkpoint(checkpointer.directory).endswith('ckpt-1')


def test_saves_come_every_n_steps_as_well_as_every_m_minutes(tmp_path):
  value = tf.Variable(0.0)
  checkpointer = runners.Checkpointer({'v': value}, str(tmp_path), 'x', period_minutes=60.0,
                                      period_steps=3)
  saved_at = [steps for steps in range(1, 11) if checkpointer.save(steps=steps)]
  # The first periodic save comes at once; then every 3 steps (60 minutes never pass).
  assert saved_at == [1, 4, 7, 10]
  by_time = runners.Checkpointer({'v': value}, str(tmp_path), 'y', period_minutes=0.0)
  assert by_time.save(steps=1) and by_time.save(steps=1)


# Learners: no save before a session's first step, no non-finite checkpoint.


def test_rerunning_a_finished_run_leaves_its_checkpoint_unchanged(tmp_path):
  run_dir = str(tmp_path)
  _train(run_dir, 3)
  before = _checkpoints(run_dir)
  (latest,) = [name for name in before][-1:]
  # Optimizer slots (Adam's m and v of every weight) are in it.
  assert sum('optimizer' in key for key in before[latest]) > 4
  assert _step(before[latest]) >= 3
  files_before = sorted(os.listdir(os.path.join(run_dir, 'checkpoints', 'learner')))

  # The single-process path: the budget is met, no learner step is taken.
  result = _train(run_dir, 3)
  assert result.agent._learner_steps == 0  # pylint: disable=protected-access
  # The distributed learner's runner: its dataset ends at once, so it takes no step.
  builder = builder_lib.MetaRLBuilder(_config())
  learner = builder.make_learner(builder.make_networks(_spec()), iter(()))
  runner = runners.LearnerRunner(learner, run_dir, 60.0, period_steps=1)
  assert runner.restored is not None and runner.restored.step == _step(before[latest])
  runner.run()

  assert sorted(os.listdir(os.path.join(run_dir, 'checkpoints', 'learner'))) == files_before
  after = _checkpoints(run_dir)
  assert after.keys() == before.keys()
  for name, tensors in before.items():
    assert after[name].keys() == tensors.keys()
    for key, value in tensors.items():
      np.testing.assert_array_equal(after[name][key], value)


def test_a_nan_learning_rate_is_reported_truthfully_and_never_saved(tmp_path):
  run_dir = str(tmp_path)
  config = _config()
  builder = builder_lib.MetaRLBuilder(config)
  config.learning_rate = float('nan')  # Past the config's own check, as a bug might.
  with pytest.raises(FloatingPointError) as error:
    _train(run_dir, 5, builder, checkpoint_period_steps=1)
  message = str(error.value)
  assert 'made the weights non-finite' in message and 'was applied' in message
  assert 'no update was applied' not in message
  _assert_all_finite(run_dir)


class _PoisonedBuilder(builder_lib.MetaRLBuilder):
  """The meta-RL builder whose learning rate turns NaN once `after` batches were taken."""

  def __init__(self, config, after):
    super().__init__(config)
    self._after = after

  def make_dataset_iterator(self, replay_client):
    batches = super().make_dataset_iterator(replay_client)
    config, after = self.config, self._after

    def poisoned():
      for taken, batch in enumerate(batches):
        if taken == after:
          config.learning_rate = float('nan')
        yield batch

    return poisoned()


def test_a_learner_gone_non_finite_mid_run_keeps_its_last_finite_checkpoint(tmp_path, caplog):
  run_dir = str(tmp_path)
  with pytest.raises(FloatingPointError, match='made the weights non-finite'):
    _train(run_dir, 10, _PoisonedBuilder(_config(), after=3), checkpoint_period_steps=1)
  # Steps 1 to 3 were saved; the final save after the NaN update was refused.
  assert 'checkpoint refused' in caplog.text
  _assert_all_finite(run_dir)
  checkpoints = _checkpoints(run_dir)
  assert _step(list(checkpoints.values())[-1]) == 3
  # The counter was not saved past the learner either.
  counter = counting.Counter()
  runners.Checkpointer({'counter': counter}, run_dir, 'counter', 60.0)
  assert counter.get_counts()['learner_steps'] == 3


class _RecordingBuilder(builder_lib.MetaRLBuilder):
  """The meta-RL builder whose learner batches are also appended to `batches`."""

  def __init__(self, config, batches):
    super().__init__(config)
    self._batches = batches

  def make_dataset_iterator(self, replay_client):
    batches = super().make_dataset_iterator(replay_client)

    def recorded():
      for batch in batches:
        self._batches.append(batch)
        yield batch

    return recorded()


def test_the_learner_runner_saves_every_n_steps_and_at_the_end(tmp_path):
  batches = []
  _train(str(tmp_path / 'collect'), 6, _RecordingBuilder(_config(), batches))
  assert len(batches) == 6
  builder = builder_lib.MetaRLBuilder(_config())
  learner = builder.make_learner(builder.make_networks(_spec()), iter(batches))
  run_dir = str(tmp_path / 'run')
  runner = runners.LearnerRunner(learner, run_dir, 60.0, period_steps=2)
  runner.run()  # Until the batches run out.
  assert runner.finished()
  # Saved after steps 1 (the first save comes at once), 3 and 5, and 6 at the end; the last
  # three are kept. 60 minutes never passed.
  assert [_step(tensors) for tensors in _checkpoints(run_dir).values()] == [3, 5, 6]


# Counts that match the restored learner.


def _write_counter(run_dir, **counts):
  """Checkpoints a counter holding `counts` (as a counter saved before or after a crash)."""
  counter = counting.Counter()
  checkpointer = runners.Checkpointer({'counter': counter}, run_dir, 'counter', 60.0)
  counter.restore({'counts': dict(counts), 'cache': {}})
  checkpointer.save(force=True)


def test_a_resumed_single_process_run_counts_the_restored_learner_steps(tmp_path):
  run_dir = str(tmp_path)
  _train(run_dir, 3)
  steps = _step(list(_checkpoints(run_dir).values())[-1])
  _write_counter(run_dir, learner_steps=steps + 54, actor_steps=1000)  # Saved after a crash.
  result = _train(run_dir, 3)
  assert result.counts['learner_steps'] == steps
  assert result.counts['actor_steps'] == 1000


def test_the_counter_node_starts_with_the_learner_checkpoint_step(tmp_path):
  run_dir = str(tmp_path)
  _train(run_dir, 3)
  steps = _step(list(_checkpoints(run_dir).values())[-1])
  _write_counter(run_dir, learner_steps=steps + 54, actor_steps=1000)
  counter = distributed._counter(  # pylint: disable=protected-access
      distributed.DistributedConfig(run_dir=run_dir))
  assert counter.get_counts() == {'learner_steps': steps, 'actor_steps': 1000}


def test_a_distributed_learner_sets_its_count_to_its_restored_steps(tmp_path):
  run_dir = str(tmp_path)
  _train(run_dir, 3)
  steps = _step(list(_checkpoints(run_dir).values())[-1])
  _write_counter(run_dir, learner_steps=steps - 2, actor_steps=1000)  # Saved before a crash.
  counter = runners.CounterRunner(run_dir, 60.0)  # One that does not read learner checkpoints.
  assert counter.get_counts()['learner_steps'] == steps - 2
  builder = builder_lib.MetaRLBuilder(_config())
  server = reverb.Server(builder.make_replay_tables(_spec()), port=None)
  try:
    replay = reverb.Client(f'localhost:{server.port}')
    runner = distributed._learner(  # pylint: disable=protected-access
        builder, _spec(), replay, counter, distributed.DistributedConfig(run_dir=run_dir))
    assert runner.restored.step == steps
    assert counter.get_counts() == {'learner_steps': steps, 'actor_steps': 1000}
  finally:
    server.stop()
