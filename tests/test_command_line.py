"""Bad input to the meta-RL commands: one line naming the problem, exit status 2, nothing lost."""

import json
import os

import pytest

from tests import commands

from tests.commands import assert_usage_error as _assert_usage_error


def _run(module, *args, timeout=120):
  return commands.run_module(module, *args, timeout=timeout)


@pytest.mark.parametrize('args,fragments', [
    (['--env_id=BanditTwoArmedDependantEasy-v0'], ['unknown environment id',
                                                   'BanditTwoArmedDependentEasy-v0']),
    (['--num_workers=0'], ['--num_workers must be at least 1']),
    (['--num_workers=two'], ['num_workers']),
    (['--no_such_flag=1'], ['no_such_flag']),
    (['--num_trials=100', '--unroll_length=30'], ['unroll_length']),
    (['--log_dir=/tmp/x'], ['--logdir']),
    (['--learning_rate=nan'], ['--learning_rate must be a finite number (positive), got nan']),
    (['--learning_rate=0'], ['--learning_rate must be positive, got 0']),
    (['--discount=inf'], ['--discount must be a finite number (in [0, 1]), got inf']),
    (['--entropy_cost=-nan'], ['--entropy_cost must be a finite number']),
    (['--envs_per_worker=0'], ['--envs_per_worker must be at least 1']),
])
def test_training_rejects_bad_flags(args, fragments, tmp_path):
  result = _run('launch.meta_rl', f'--logdir={tmp_path / "run"}', *args)
  _assert_usage_error(result, *fragments)
  assert not (tmp_path / 'run').exists(), 'a rejected command must not create its run'


def test_an_unusable_run_directory_is_one_line_and_nothing_is_written(tmp_path):
  for logdir, fragment in commands.unusable_logdirs(tmp_path):
    before = commands.snapshot(tmp_path)
    result = _run('launch.meta_rl', f'--logdir={logdir}')
    _assert_usage_error(result, fragment)
    assert commands.snapshot(tmp_path) == before, logdir


@pytest.mark.parametrize('module', [
    'launch.meta_rl', 'launch.meta_rl_evaluate', 'launch.meta_rl_experiments',
    'launch.ftw_local', 'launch.ftw_learning_curve', 'launch.ftw_play', 'launch.tvt',
    'launch.tvt_learning_curve', 'launch.model_based', 'launch.model_based_sweep',
    'launch.model_based_plot', 'launch.model_based_results'])
def test_help_exits_with_status_0(module, tmp_path):
  # --helpfull goes through the same flag parser (cli.parse_flags): one module asks for it.
  help_flags = ('--help', '--helpfull') if module == 'launch.meta_rl' else ('--help',)
  for help_flag in help_flags:
    result = commands.run_module(module, help_flag, cwd=str(tmp_path),
                                 extra_env={'PYTHONPATH': commands.ROOT})
    assert result.returncode == 0, (module, help_flag, result.stderr[-2000:])
    assert 'flags' in result.stdout.lower(), result.stdout[-2000:]
  assert os.listdir(tmp_path) == []  # Asking for help writes nothing (no default run dir).


def test_training_refuses_a_directory_holding_another_run(tmp_path):
  run = tmp_path / 'run'
  run.mkdir()
  config = {'env_id': 'BanditTwoArmedDependentEasy-v0', 'num_trials': 100, 'meta': True,
            'agent': {'num_arms': 2}}
  (run / 'run_config.json').write_text(json.dumps(config))
  (run / 'keep.txt').write_text('collected data')
  before = sorted(os.listdir(run))
  result = _run('launch.meta_rl', f'--logdir={run}', '--env_id=independent')
  _assert_usage_error(result, 'holds a different run')
  assert sorted(os.listdir(run)) == before
  assert json.loads((run / 'run_config.json').read_text()) == config


def test_evaluation_and_experiments_refuse_bad_numbers(tmp_path):
  _assert_usage_error(_run('launch.meta_rl_evaluate', f'--logdir={tmp_path}',
                           '--gittins_discounts=0.9,nan'), '--gittins_discounts')
  _assert_usage_error(_run('launch.meta_rl_experiments', f'--logdir={tmp_path / "runs"}',
                           '--eval_episodes=0'), '--eval_episodes must be at least 1')
  logdir, fragment = commands.unusable_logdirs(tmp_path)[0]
  _assert_usage_error(_run('launch.meta_rl_experiments', f'--logdir={logdir}'), fragment)
  assert sorted(os.listdir(tmp_path)) == ['a_file']


def test_evaluation_of_a_missing_run_directory(tmp_path):
  result = _run('launch.meta_rl_evaluate', f'--logdir={tmp_path / "nowhere"}')
  _assert_usage_error(result, 'does not exist')


def test_evaluation_of_a_directory_without_checkpoint(tmp_path):
  result = _run('launch.meta_rl_evaluate', f'--logdir={tmp_path}')
  _assert_usage_error(result, 'not a meta-RL run directory')
