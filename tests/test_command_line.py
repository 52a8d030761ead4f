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
])
def test_training_rejects_bad_flags(args, fragments, tmp_path):
  result = _run('launch.meta_rl', f'--logdir={tmp_path / "run"}', *args)
  _assert_usage_error(result, *fragments)
  assert not (tmp_path / 'run').exists(), 'a rejected command must not create its run'


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


def test_evaluation_of_a_missing_run_directory(tmp_path):
  result = _run('launch.meta_rl_evaluate', f'--logdir={tmp_path / "nowhere"}')
  _assert_usage_error(result, 'does not exist')


def test_evaluation_of_a_directory_without_checkpoint(tmp_path):
  result = _run('launch.meta_rl_evaluate', f'--logdir={tmp_path}')
  _assert_usage_error(result, 'not a meta-RL run directory')
