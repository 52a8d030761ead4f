"""The run directory's one resume rule, its atomic config writes and its node-log rotation."""

import json
import os
import subprocess
import sys

import pytest

from agents.core import run_dir

_KEYS = ('env_id', 'agent.lstm_units', 'agent.num_arms')


def _config(**changes):
  config = {'env_id': 'easy', 'num_steps': 1000, 'eval_seed': 1,
            'agent': {'lstm_units': 48, 'num_arms': 2, 'learning_rate': 1e-3,
                      'shape': (2, 3)}}
  for key, value in changes.items():
    if key in config['agent']:
      config['agent'][key] = value
    else:
      config[key] = value
  return config


def test_a_fresh_run_writes_its_config(tmp_path):
  path = str(tmp_path / 'run')
  assert not run_dir.write_or_check(path, _config(), _KEYS)
  assert sorted(os.listdir(path)) == [run_dir.LOCK, run_dir.RUN_CONFIG]
  written = run_dir.read_config(path)
  assert written['agent']['shape'] == [2, 3]  # As JSON reads back.
  assert written == json.loads(json.dumps(_config()))


def test_reading_a_directory_without_config_gives_none(tmp_path):
  assert run_dir.read_config(str(tmp_path)) is None
  assert run_dir.read_config(str(tmp_path / 'nowhere')) is None


def test_resuming_with_the_same_settings(tmp_path):
  path = str(tmp_path)
  run_dir.write_or_check(path, _config(), _KEYS)
  assert run_dir.write_or_check(path, _config(), _KEYS)
  assert run_dir.read_config(path) == json.loads(json.dumps(_config()))


def test_resuming_with_another_budget_records_it(tmp_path):
  path = str(tmp_path)
  run_dir.write_or_check(path, _config(), _KEYS)
  assert run_dir.write_or_check(path, _config(num_steps=5000, eval_seed=7, learning_rate=1.0),
                                _KEYS)
  written = run_dir.read_config(path)
  assert (written['num_steps'], written['eval_seed']) == (5000, 7)
  assert written['agent']['learning_rate'] == 1.0


def test_resuming_with_another_shape_is_refused_naming_the_keys(tmp_path):
  path = str(tmp_path)
  run_dir.write_or_check(path, _config(), _KEYS)
  before = (tmp_path / run_dir.RUN_CONFIG).read_text()
  with pytest.raises(ValueError) as error:
    run_dir.write_or_check(path, _config(lstm_units=64, env_id='hard', num_steps=9), _KEYS)
  message = str(error.value)
  assert 'differs in env_id, agent.lstm_units' in message
  assert 'num_steps' not in message
  assert '--logdir' in message and 'repeat its settings' in message
  assert (tmp_path / run_dir.RUN_CONFIG).read_text() == before


def test_a_key_missing_from_one_config_differs():
  assert run_dir.differing_keys({'agent': {}}, _config(), _KEYS) == ['env_id',
                                                                      'agent.lstm_units',
                                                                      'agent.num_arms']
  assert run_dir.differing_keys({}, {}, _KEYS) == []


def test_a_failed_write_leaves_the_old_config_and_no_temporary_file(tmp_path, monkeypatch):
  path = str(tmp_path)
  run_dir.write_config(path, _config())
  before = (tmp_path / run_dir.RUN_CONFIG).read_text()

  def fail(*args, **kwargs):
    del args, kwargs
    raise OSError('disk full')

  monkeypatch.setattr(os, 'fsync', fail)
  with pytest.raises(OSError, match='disk full'):
    run_dir.write_config(path, _config(num_steps=1))
  assert sorted(os.listdir(path)) == [run_dir.RUN_CONFIG]
  assert (tmp_path / run_dir.RUN_CONFIG).read_text() == before


def test_node_logs_of_every_earlier_session_are_kept(tmp_path):
  path = str(tmp_path)
  log_dir = run_dir.rotate_node_logs(path)
  assert log_dir == os.path.join(path, run_dir.NODE_LOGS) and os.listdir(log_dir) == []
  assert run_dir.rotate_node_logs(path) == log_dir  # Empty: nothing to keep.
  assert sorted(os.listdir(path)) == [run_dir.NODE_LOGS]
  os.makedirs(os.path.join(log_dir, 'learner'))
  (tmp_path / 'node_logs' / 'learner' / '0').write_text('first session')
  run_dir.rotate_node_logs(path)
  assert os.listdir(log_dir) == []
  assert (tmp_path / 'node_logs.1' / 'learner' / '0').read_text() == 'first session'
  for session in ('second', 'third'):
    (tmp_path / 'node_logs' / 'actor').write_text(f'{session} session')
    run_dir.rotate_node_logs(path)
  assert sorted(os.listdir(path)) == ['node_logs', 'node_logs.1', 'node_logs.2', 'node_logs.3']
  assert (tmp_path / 'node_logs.1' / 'learner' / '0').read_text() == 'first session'
  assert (tmp_path / 'node_logs.2' / 'actor').read_text() == 'second session'
  assert (tmp_path / 'node_logs.3' / 'actor').read_text() == 'third session'


def test_a_usable_run_directory_passes_and_nothing_is_written(tmp_path):
  run_dir.check_usable(str(tmp_path))  # Exists and is writable.
  run_dir.check_usable(str(tmp_path / 'new' / 'run'))  # Can be created.
  assert os.listdir(tmp_path) == []


def test_a_file_is_not_a_run_directory(tmp_path):
  (tmp_path / 'file').write_text('x')
  with pytest.raises(ValueError, match='exists and is not a directory'):
    run_dir.check_usable(str(tmp_path / 'file'))
  with pytest.raises(ValueError, match='is not a directory'):
    run_dir.check_usable(str(tmp_path / 'file' / 'run'))
  with pytest.raises(ValueError, match='must not be empty'):
    run_dir.check_usable('')


def test_an_unwritable_run_directory_is_refused(tmp_path, monkeypatch):
  # Root may write anywhere, so unwritability is simulated where the check asks for it.
  unwritable = str(tmp_path / 'locked')
  os.mkdir(unwritable)
  real_access = os.access
  monkeypatch.setattr(os, 'access', lambda p, mode: p != unwritable and real_access(p, mode))
  with pytest.raises(ValueError, match='run directory .*locked is not writable'):
    run_dir.check_usable(unwritable)
  with pytest.raises(ValueError, match='cannot create run directory .*: .*locked is not writable'):
    run_dir.check_usable(os.path.join(unwritable, 'run'))


def test_a_run_directory_has_one_run_at_a_time(tmp_path):
  path = str(tmp_path / 'run')
  holder = subprocess.Popen(
      [sys.executable, '-c', 'import sys, time; from agents.core import run_dir; '
       'run_dir.lock(sys.argv[1]); print("locked", flush=True); time.sleep(60)', path],
      cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
      stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'locked'
    with pytest.raises(run_dir.RunLockedError) as error:
      run_dir.write_or_check(path, _config(), _KEYS)
    assert f'pid {holder.pid}' in str(error.value) and '\n' not in str(error.value)
    assert not os.path.exists(os.path.join(path, run_dir.RUN_CONFIG))
  finally:
    holder.kill()
    holder.wait()
  # The kernel released the dead holder's lock; this process takes it (once, however often
  # it asks) until it lets go.
  assert not run_dir.write_or_check(path, _config(), _KEYS)
  run_dir.lock(path)
  run_dir.unlock(path)
