"""The TVT commands: bad input (one line naming the problem, exit status 2, nothing created);
an interrupted single-process run resumes from its checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests import commands

from tests.commands import assert_usage_error as _assert_usage_error


def _run(module, *args, timeout=180):
  return commands.run_module(module, *args, timeout=timeout)


@pytest.mark.parametrize('args,fragments', [
    (['--pycolab_game=key_to_dor'], ['pycolab_game', 'key_to_door|active_visual_match']),
    (['--env_backend=gym'], ['env_backend', 'vectorised|pycolab']),
    (['--batch_size=-4'], ['--batch_size must be at least 1, got -4']),
    (['--pycolab_apple_reward_min=5', '--pycolab_apple_reward_max=2'],
     ['apple_reward_min (5.0) must not exceed apple_reward_max (2.0)']),
    (['--pycolab_num_apples=30'], ['num_apples must be between 0 and 22']),
    (['--gamma=1.5'], ['gamma must be in (0, 1]']),
    (['--learning_rate=nan'], ['learning_rate must be a finite number']),
    (['--pycolab_game=active_visual_match', '--nopycolab_crop'], ['always cropped']),
    (['--distributed', '--logdir='], ['--distributed needs --logdir']),
    (['--num_episodes=0'], ['--num_episodes must be at least 1']),
    (['--pycolab_distractor_length=0'], ['--pycolab_distractor_length must be at least 1']),
    (['--dry_run'], ['--dry_run is for the --distributed program']),
    (['--launch_type=vertex_ai'], ['--launch_type is for the --distributed program']),
    (['--distributed', '--launch_type=vertex_ai'], ['needs xmanager']),
])
def test_training_rejects_bad_flags(args, fragments, tmp_path):
  logdir = [] if any(a.startswith('--logdir') for a in args) else [f'--logdir={tmp_path / "run"}']
  result = _run('launch.tvt', *logdir, *args)
  _assert_usage_error(result, *fragments)
  assert not (tmp_path / 'run').exists(), 'a rejected command must not create its run'


def test_a_dry_run_of_the_papers_384_streams_on_vertex_ai_writes_nothing(tmp_path):
  result = _run('launch.tvt', f'--logdir={tmp_path / "run"}', '--distributed', '--dry_run',
                '--launch_type=vertex_ai', '--learner_accelerator=V100', '--num_actors=24',
                '--envs_per_actor=16')
  assert result.returncode == 0, result.stderr[-2000:]
  rows = {line.split()[0]: line.split(None, 2)[1:] for line in result.stdout.splitlines()
          if line.startswith('  ') and not line.split()[0] == 'group'}
  assert rows['learner'][0] == '1' and rows['learner'][1].endswith('1 x V100')
  assert rows['actor'][0] == '24' and rows['actor'][1].endswith('CPU')
  assert rows['cache'][0] == '2'  # One weight cache per 16 actors above 16 actors.
  assert {'replay', 'counter'} <= set(rows)
  assert not (tmp_path / 'run').exists()


def test_an_unusable_run_directory_is_one_line_and_nothing_is_written(tmp_path):
  for module in ('launch.tvt', 'launch.tvt_learning_curve'):
    for logdir, fragment in commands.unusable_logdirs(tmp_path):
      before = commands.snapshot(tmp_path)
      _assert_usage_error(_run(module, f'--logdir={logdir}', '--num_episodes=1'
                               if module == 'launch.tvt' else '--plot_only'), fragment)
      assert commands.snapshot(tmp_path) == before, (module, logdir)


def test_training_refuses_a_directory_holding_another_run(tmp_path):
  run = tmp_path / 'run'
  run.mkdir()
  config = {'game': 'active_visual_match', 'environment': {}, 'agent': {}, 'seed': 0,
            'distributed': False}
  (run / 'run_config.json').write_text(json.dumps(config))
  (run / 'progress.jsonl').write_text('{"episodes": 16}\n')
  result = _run('launch.tvt', f'--logdir={run}', '--num_episodes=1')
  _assert_usage_error(result, 'holds a different run')
  assert sorted(os.listdir(run)) == ['progress.jsonl', 'run_config.json']
  assert (run / 'progress.jsonl').read_text() == '{"episodes": 16}\n'


def test_learning_curve_rejects_a_budget_below_one_batch(tmp_path):
  result = _run('launch.tvt_learning_curve', f'--logdir={tmp_path}', '--episodes=8')
  _assert_usage_error(result, '--episodes must be at least 16')


def _learner_steps(progress):
  return [int(json.loads(line)['learner_steps']) for line in progress.read_text().splitlines()]


def test_interrupted_training_resumes_from_its_checkpoint(tmp_path):
  """SIGINT ends a single-process run after its current step with a final checkpoint (exit
  130); the same command resumes from that learner step rather than from the start."""
  run = tmp_path / 'run'
  args = [f'--logdir={run}', '--batch_size=2', '--checkpoint_minutes=60']  # No periodic save.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  process = subprocess.Popen([sys.executable, '-m', 'launch.tvt', *args], cwd=commands.ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  progress = run / 'progress.jsonl'
  try:
    deadline = time.time() + 240
    while not (progress.exists() and progress.read_text().strip()):  # One learner step done.
      assert process.poll() is None and time.time() < deadline, process.communicate()
      time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
  finally:
    if process.poll() is None:
      process.kill()
      process.communicate()
  assert process.returncode == 130, stderr[-2000:]
  assert f'interrupted; checkpoint saved in {run}' in stderr
  steps = _learner_steps(progress)
  assert steps == list(range(1, len(steps) + 1))
  budget = steps[-1] + 1
  result = _run('launch.tvt', *args, f'--num_episodes={budget}', timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert '(resuming)' in result.stdout
  assert f'done: {budget} iterations, {2 * budget} episodes' in result.stdout
  steps = _learner_steps(progress)
  assert steps == list(range(1, budget + 1))
