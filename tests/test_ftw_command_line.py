"""Bad input to launch.ftw_local: one line naming the problem, exit status 2, nothing created."""

import json
import os
import subprocess
import sys

import pytest

from tests import commands
from tests.commands import ROOT



def _run(*args, timeout=180):
  return commands.run_module('launch.ftw_local', *args, timeout=timeout)


@pytest.mark.parametrize('args, fragments', [
    (['--population_size=1'], ['--population_size must be at least 2']),
    (['--arena=CaptureTheFlag3v3-v0'], ["unknown arena 'CaptureTheFlag3v3-v0'",
                                         'CaptureTheFlag1v1-v0']),
    (['--internal_rewards=0.5,1,1'], ['--internal_rewards has 3 weights', '13 events']),
    (['--learning_rate=5e-3,1e-5'], ['learning_rate range has min 0.005 above max 1e-05']),
    (['--slow_core_period=20,5'], ['--slow_core_period range has min 20 above max 5']),
    (['--eval_bots=random,camper'], ["unknown bot 'camper'"]),
    (['--num_arenas=zero'], ['num_arenas']),
    (['--bot_match_fraction=1.5'], ['bot_match_fraction must be in [0, 1]']),
    (['--launch_type=vertex_ai'], ['needs xmanager']),
    (['--max_minutes=nan'], ['--max_minutes must be a finite number (at least 0), got nan']),
    (['--max_minutes=inf'], ['--max_minutes must be a finite number']),
    (['--learning_rate=nan'], ['--learning_rate must be finite numbers']),
    (['--learning_rate=1e-5,inf'], ['--learning_rate must be finite numbers']),
    (['--exploit_threshold=nan'], ['--exploit_threshold must be a finite number']),
    (['--eval_period_s=0'], ['--eval_period_s must be positive']),
])
def test_bad_flags_give_one_line_and_exit_status_2(args, fragments, tmp_path):
  result = _run(f'--logdir={tmp_path / "run"}', *args)
  commands.assert_usage_error(result, *fragments)
  assert not (tmp_path / 'run').exists(), 'a rejected command must not create its run'


def test_an_unusable_run_directory_is_one_line_and_nothing_is_written(tmp_path):
  for logdir, fragment in commands.unusable_logdirs(tmp_path):
    before = commands.snapshot(tmp_path)
    commands.assert_usage_error(_run(f'--logdir={logdir}'), fragment)
    assert commands.snapshot(tmp_path) == before, logdir


def test_a_nan_in_the_config_is_refused_by_its_validation():
  from agents.ftw import config as config_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match='max_wall_s must be a finite number'):
    config_lib.ProgramConfig(run_dir='x', max_wall_s=float('nan')).validate()
  with pytest.raises(ValueError, match='discount must be a finite number'):
    config_lib.grid_world_config(discount=float('nan'))
  with pytest.raises(ValueError, match='learning_rate must be a finite number'):
    config_lib.grid_world_config(learning_rate=float('nan'))


def test_a_directory_holding_another_population_is_left_alone(tmp_path):
  run = tmp_path / 'run'
  run.mkdir()
  config = {'arena': 'CaptureTheFlag2v2-v0', 'population_size': 4}
  (run / 'run_config.json').write_text(json.dumps(config))
  result = _run(f'--logdir={run}')
  assert result.returncode == 2, result.stderr[-2000:]
  assert 'holds a different run' in result.stderr
  assert sorted(os.listdir(run)) == ['run_config.json']


def test_a_person_plays_a_seat_against_bots_from_lines_of_keys():
  keys = 'dddd\nwwkw\n\n' + 'w\n' * 20
  result = subprocess.run(
      [sys.executable, '-m', 'launch.ftw_play', '--episode_length=12', '--map_size=9',
       '--opponent=random'], cwd=ROOT, input=keys, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "unknown keys 'k'" in result.stdout
  assert 'step 12  score' in result.stdout
  assert 'final score' in result.stdout
  assert result.stdout.count('@') >= 12  # The map is drawn after every step.


def test_playing_against_an_unknown_player_is_refused():
  result = subprocess.run(
      [sys.executable, '-m', 'launch.ftw_play', '--opponent=camper'], cwd=ROOT, input='x\n',
      capture_output=True, text=True, timeout=120)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: unknown player 'camper'")


def test_a_dry_run_names_every_node_group_and_its_resources_and_writes_nothing(tmp_path):
  result = _run(f'--logdir={tmp_path / "run"}', '--dry_run', '--launch_type=vertex_ai',
                '--learner_accelerator=V100', '--population_size=3', '--num_arenas=16')
  assert result.returncode == 0, result.stderr[-2000:]
  rows = {line.split()[0]: line.split(None, 2)[1:] for line in result.stdout.splitlines()
          if line.startswith('  ') and not line.split()[0] == 'group'}
  assert rows['learner'][0] == '3' and rows['learner'][1].endswith('1 x V100')
  assert rows['arena'][0] == '16' and rows['arena'][1].endswith('CPU')
  assert {'replay', 'counter', 'controller', 'coordinator', 'evaluator'} <= set(rows)
  assert 'cache' not in rows  # 16 arenas pull from the learners.
  assert not (tmp_path / 'run').exists()


def test_many_arenas_take_each_members_weights_from_caches():
  result = _run('--dry_run', '--population_size=3', '--num_arenas=40')
  assert result.returncode == 0, result.stderr[-2000:]
  rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()
          if line.startswith('  ')}
  assert rows['cache'] == '9', result.stdout  # 3 caches (one per 16 arenas) for each member.
  result = _run('--dry_run', '--population_size=3', '--num_arenas=40', '--arenas_per_cache=0')
  assert result.returncode == 0 and 'cache' not in result.stdout, result.stdout
