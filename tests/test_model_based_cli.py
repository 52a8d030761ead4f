"""The model-based commands: bad configs and flags, the output files' format, the plot."""

import json
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

from agents.model_based import tuned
from tests import commands

from tests.commands import ROOT
# Compilation dominates these short runs; XLA's backend optimisations are not worth it here
# (in the commands run below, and in this process if no JAX computation ran in it yet).
FAST_COMPILE = {'XLA_FLAGS': '--xla_backend_optimization_level=0'}
os.environ.setdefault('XLA_FLAGS', FAST_COMPILE['XLA_FLAGS'])

TINY = {
    'agent_type': 'ER', 'environment': 'ProcMaze', 'env_config': {'grid_size': 4},
    'episodic_env': True, 'num_seeds': 2, 'num_steps': 30, 'training_start_time': 10,
    'eval_frequency': 10, 'eval_steps': 20, 'eval_batch_size': 4, 'num_hidden_layers': 1,
    'num_hidden_units': 8, 'activation': 'elu', 'gamma': 0.9, 'use_target': True,
    'target_update_frequency': 5, 'batch_size': 4, 'buffer_size': 50,
    'exploration_strat': 'softmax', 'softmax_temp': 1.0, 'b1_adam': 0.9, 'b2_adam': 0.99,
    'eps_adam': 1e-5, 'wd_adam': 1e-6, 'alpha_adam': 1e-3, 'save_frequency': 20,
}


def run_command(module, *args, timeout=300, cwd=ROOT):
  return commands.run_module(module, *args, timeout=timeout, cwd=cwd, extra_env=FAST_COMPILE)


assert_usage_error = commands.assert_usage_error


def write_config(directory, **changes):
  config = dict(TINY, **changes)
  for key in [k for k, v in changes.items() if v is None]:
    del config[key]
  path = os.path.join(directory, 'config.json')
  with open(path, 'w') as f:
    json.dump(config, f)
  return path


@pytest.mark.parametrize('changes,fragments', [
    ({'environment': 'ProcMase'}, ["'environment'", "unknown environment 'ProcMase'"]),
    ({'agent_type': 'DQN'}, ["'agent_type'", "unknown agent 'DQN'"]),
    ({'alpha_adam': None}, ["missing key 'alpha_adam'"]),
    ({'num_steps': '30'}, ["'num_steps' must be int, got str"]),
    ({'num_seeds': 0}, ["'num_seeds' must be at least 1, got 0"]),
    ({'env_config': {'num_pipes': 5}}, ["'env_config'", "no parameter 'num_pipes'"]),
    ({'episodic_env': False}, ["'episodic_env'", 'ProcMaze is episodic']),
    ({'eval_frequency': 7}, ["'eval_frequency'", 'must divide']),
    ({'alpha_adamm': 1e-3}, ["unknown config key 'alpha_adamm'"]),
    ({'alpha_adam': float('nan')}, ["'alpha_adam' must be a finite number, got nan"]),
    ({'gamma': float('inf')}, ["'gamma' must be a finite number, got inf"]),
])
def test_bad_configs_are_one_line_naming_the_key(changes, fragments, tmp_path):
  config = write_config(str(tmp_path), **changes)
  result = run_command('launch.model_based', f'--config={config}',
                       f'--output={tmp_path / "run"}')
  assert_usage_error(result, *fragments)
  assert not (tmp_path / 'run.out').exists()


def test_latent_model_rejects_non_binary_observations(tmp_path):
  config = tuned.make_config('categorical_latent_model', 'ProcMaze', 'high')
  config['binary_obs'] = False
  path = tmp_path / 'latent.json'
  path.write_text(json.dumps(config))
  assert_usage_error(run_command('launch.model_based', f'-c={path}', f'-o={tmp_path / "x"}'),
                     "'binary_obs'")


def test_unreadable_configs_and_bad_flags(tmp_path):
  bad_json = tmp_path / 'bad.json'
  bad_json.write_text('{"agent_type": "ER",')
  assert_usage_error(run_command('launch.model_based', f'-c={bad_json}'), 'not valid JSON')
  assert_usage_error(run_command('launch.model_based', f'-c={tmp_path / "none.json"}'),
                     'cannot read config')
  assert_usage_error(run_command('launch.model_based'), '--config is required')
  config = write_config(str(tmp_path))
  assert_usage_error(run_command('launch.model_based', f'-c={config}', '--override=gamma'),
                     'KEY=VALUE')
  assert_usage_error(run_command('launch.model_based', f'-c={config}', '--seed=x'), 'seed')


def test_unusable_output_directories_and_bad_numbers_are_refused(tmp_path):
  config = write_config(str(tmp_path))
  assert_usage_error(run_command('launch.model_based', f'-c={config}',
                                 '--override=alpha_adam=NaN', f'-o={tmp_path / "run"}'),
                     "'alpha_adam' must be a finite number")
  for logdir, fragment in commands.unusable_logdirs(tmp_path):
    before = commands.snapshot(tmp_path)
    assert_usage_error(run_command('launch.model_based', f'-c={config}',
                                   f'-o={os.path.join(logdir, "run")}'), fragment)
    assert_usage_error(run_command('launch.model_based_results', f'--output_dir={logdir}'),
                       fragment)
    assert commands.snapshot(tmp_path) == before, logdir
  # The sweep's refusals are in test_model_based_sweep.py (it needs Launchpad).


def test_an_existing_output_is_never_overwritten_silently(tmp_path):
  config = write_config(str(tmp_path))
  (tmp_path / 'run.out').write_bytes(b'collected data')
  result = run_command('launch.model_based', f'-c={config}', f'-o={tmp_path / "run"}')
  assert_usage_error(result, 'run.out exists', '--overwrite')
  assert (tmp_path / 'run.out').read_bytes() == b'collected data'


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  directory = tmp_path_factory.mktemp('cli_run')
  config = write_config(str(directory))
  result = run_command('launch.model_based', f'--config={config}', '--seed=3',
                       f'--output={directory / "ER"}', '--override=num_seeds=3')
  assert result.returncode == 0, result.stderr[-3000:]
  return directory, result


def test_progress_lines(finished_run):
  _, result = finished_run
  lines = [line for line in result.stdout.splitlines() if 'Eval Mean' in line]
  assert len(lines) == 3
  assert all('Steps Per Second' in line for line in lines)
  assert 'Steps = 30 ' in lines[-1] or lines[-1].rstrip().endswith('Steps = 30')


def test_output_file_format(finished_run):
  directory, _ = finished_run
  with open(directory / 'ER.out', 'rb') as f:
    data = pickle.load(f)
  assert set(data) == {'config', 'metrics'}
  config = data['config']
  assert isinstance(config, types.SimpleNamespace)
  assert config.agent_type == 'ER' and config.seed == 3 and config.num_seeds == 3
  assert config.updates_per_step == 1 and config.double_DQN is False  # Defaults filled in.
  assert config.refresh_obs_on_reset is False  # Quirks reproduced by default.
  metrics = data['metrics']
  assert metrics['eval_times'] == [0, 10, 20]  # Chunk start times, as the release.
  assert len(metrics['reward_rates']) == 3
  for rates in metrics['reward_rates']:
    assert isinstance(rates, np.ndarray) and rates.dtype == np.float32 and rates.shape == (3,)
    assert np.all((rates <= -1) & (rates >= -20))
  for key in ('train_reward_rate', 'train_mean_q', 'train_q_loss', 'train_model_loss'):
    assert len(metrics[key]) == 3 and metrics[key][0].shape == (3,)
  # Training starts at training_start_time = 10: no Q loss in the first chunk, then some.
  assert not metrics['train_q_loss'][0].any() and metrics['train_q_loss'][1].all()
  np.testing.assert_array_equal(np.array(metrics['train_reward_rate']), -1.0)
  with open(directory / 'ER.params', 'rb') as f:
    params = pickle.load(f)
  assert set(params) == {'Q'} and len(params['Q']) == 3
  assert params['Q'][0]['Q/~/linear_0']['w'].shape == (64, 8)
  assert params['Q'][0]['Q/~/linear_1']['w'].shape == (8, 5)


def test_output_files_unpickle_without_jax(finished_run):
  directory, _ = finished_run
  code = ('import pickle, sys; d = pickle.load(open(sys.argv[1], "rb")); '
          'assert "jax" not in sys.modules; print(len(d["metrics"]["reward_rates"]))')
  result = subprocess.run([sys.executable, '-c', code, str(directory / 'ER.out')],
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0 and result.stdout.strip() == '3', result.stderr


def test_plot_of_several_outputs(finished_run, tmp_path):
  directory, _ = finished_run
  png = tmp_path / 'curves.png'
  result = run_command('launch.model_based_plot', f'--data={directory / "ER.out"},'
                       f'{directory / "ER.out"}', f'--output={png}', '--window=2',
                       '--labels=first,second')
  assert result.returncode == 0, result.stderr[-2000:]
  assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  assert_usage_error(run_command('launch.model_based_plot', f'--data={directory / "ER.out"}',
                                 '--metric=returns'), "no metric 'returns'")
  assert_usage_error(run_command('launch.model_based_plot', f'--data={directory / "ER.out"}',
                                 '--window=4'), 'fewer than --window')
  assert_usage_error(run_command('launch.model_based_plot', f'--data={tmp_path / "no.out"}'),
                     'cannot read')


def test_bootstrap_band_of_the_plot():
  from agents.model_based import outputs  # pylint: disable=g-import-not-at-top
  values = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 2.0, 4.0, 6.0]])
  mean, low, high = outputs.bootstrap_band(values)
  np.testing.assert_allclose(mean, [1.0, 3.0])
  assert low[0] == high[0] == 1.0  # No spread, no band.
  assert 0.0 <= low[1] < 3.0 < high[1] <= 6.0
  np.testing.assert_allclose(outputs.moving_average(np.arange(5.0)[:, None], 2)[:, 0],
                             [0.5, 1.5, 2.5, 3.5])


# launch.model_based with the config's alpha_adam replaced by NaN after its validation, as if a
# run diverged: the command must end with one error line and a non-zero status.
_NAN_LEARNING_RATE = '''
import dataclasses
from absl import app
from agents.core import cli
from agents.model_based import config as config_lib
load = config_lib.load
config_lib.load = lambda *args: dataclasses.replace(load(*args), alpha_adam=float('nan'))
from launch import model_based
app.run(model_based.main, flags_parser=cli.parse_flags)
'''


def test_a_non_finite_loss_ends_the_command_with_one_error_line(tmp_path):
  config = write_config(str(tmp_path), num_steps=30, training_start_time=10)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', **FAST_COMPILE)
  result = subprocess.run(
      [sys.executable, '-c', _NAN_LEARNING_RATE, f'-c={config}', f'-o={tmp_path / "run"}'],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 1, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and 'non-finite loss at environment step' in errors[0], result.stderr
  assert 'Traceback' not in result.stderr
