"""The delay sweep: its runs, its budgets, and its report on hand-written run progress."""

import json
import os
import signal
import threading

import pytest

from agents.tvt import summaries
from agents.tvt import sweep
from tests import commands


def test_every_arm_runs_at_every_delay_and_seed_with_its_own_flags():
  runs = sweep.make_runs([30, 90], [0, 1])
  assert len(runs) == 3 * 2 * 2 + 2 * 2 and len({r.name for r in runs}) == len(runs)
  control = [r for r in runs if r.control]
  assert {(r.arm, r.delay) for r in control} == {('tvt', 90), ('no_tvt', 90)}
  command = sweep.Run('no_tvt_gamma1', 30, 1).command('sweep', 125)
  assert command[:2] == ['-m', 'launch.tvt']
  for flag in ('--logdir=sweep/no_tvt_gamma1_delay30_seed1', '--num_episodes=125', '--seed=1',
               '--pycolab_distractor_length=30', '--nodo_tvt', '--gamma=1.0'):
    assert flag in command
  assert '--pycolab_apple_reward_max=0' in sweep.Run('tvt', 90, 0, True).command('s', 1)
  assert [r.name for r in sweep.make_runs([90], [0], arms=['no_tvt_gamma1'])] == [
      'no_tvt_gamma1_delay90_seed0', 'tvt_zero_apples_delay90_seed0',
      'no_tvt_zero_apples_delay90_seed0']
  assert sweep.round_budgets(1250, 4) == [156, 312, 625, 1250]
  assert sweep.round_budgets(3, 4) == [1, 3]


def _write_progress(logdir, run, last_phase, pickup, batches=100):
  os.makedirs(os.path.join(logdir, run.name))
  with open(os.path.join(logdir, run.name, summaries.PROGRESS_FILE), 'w') as f:
    for i in range(1, batches + 1):
      f.write(json.dumps({'episodes': 16 * i, 'env_steps': 16 * 60 * i,
                          'last_phase_reward': last_phase if i > 50 else 0.0,
                          'key_pickup_rate': pickup, 'tvt_events': 1.0}) + '\n')


def test_the_report_reads_the_last_thousand_episodes_and_checks_the_bar(tmp_path):
  runs = sweep.make_runs([30], [0, 1], control=False)
  figures = {('tvt', 0): (6.0, 0.6), ('tvt', 1): (4.0, 0.5), ('no_tvt', 0): (2.0, 0.1),
             ('no_tvt', 1): (1.0, 0.09), ('no_tvt_gamma1', 0): (5.0, 0.4),
             ('no_tvt_gamma1', 1): (5.0, 0.4)}
  for run in runs:
    _write_progress(str(tmp_path), run, *figures[(run.arm, run.seed)])
  results = str(tmp_path / 'results' / 'sweep')
  summary = sweep.report(str(tmp_path), runs, results)
  row = next(r for r in summary['runs'] if r['run'] == 'tvt_delay30_seed0')
  assert row['episodes'] == 1600 and row['env_steps'] == 96000
  # The last 1,000 episodes are batches 38..100: 13 of them before the reward appears.
  assert row['last_phase_reward'] == pytest.approx(6.0 * 50 / 63)
  assert row['key_pickup_rate'] == pytest.approx(0.6) and row['transport_to_pickup_with_key'] is None
  assert summary['bar'] == {'delay 30': True}
  assert 0.0 < summary['random_walk_key_pickup_rate'] < 0.3
  assert json.load(open(results + '.json'))['bar'] == {'delay 30': True}
  assert os.path.getsize(results + '.png') > 10_000
  assert 'tvt_delay30_seed0' in sweep.table(summary)
  # One seed where TVT is not above no TVT: the bar fails; a figure missing: not measured.
  rows = [dict(r) for r in summary['runs']]
  seed1 = next(r for r in rows if r['run'] == 'tvt_delay30_seed1')
  seed1['last_phase_reward'] = 0.5  # No TVT's seed 1: 1.0 * 50 / 63.
  assert sweep.bar(rows) == {'delay 30': False}
  seed1['key_pickup_rate'] = None
  assert sweep.bar(rows) == {'delay 30': None}
  # Only the no-TVT gamma 1 arm at a delay: nothing to compare, not measured (was 'holds').
  gamma1 = [r for r in rows if r['arm'] == 'no_tvt_gamma1']
  assert sweep.bar(gamma1) == {'delay 30': None}


def test_the_sweep_command_refuses_bad_lists_before_writing(tmp_path):
  result = commands.run_module('launch.tvt_delay_sweep', f'--logdir={tmp_path / "sweep"}',
                               '--delays=30,x', timeout=120)
  commands.assert_usage_error(result, '--delays must be a list of integers of at least 1')
  assert not (tmp_path / 'sweep').exists()


def test_a_stopped_sweep_stops_its_running_training_and_starts_no_other(tmp_path, monkeypatch,
                                                                       capsys):
  """SIGTERM mid-run: the running training is interrupted, the sweep says which run stopped
  where (not that it reached its budget) and starts none of the runs after it."""
  from launch import tvt_delay_sweep  # pylint: disable=g-import-not-at-top
  started = tmp_path / 'started'
  # Each "training" marks that it started, then waits to be interrupted.
  monkeypatch.setattr(sweep.Run, 'command', lambda run, logdir, iterations: [
      '-c', f'open({str(started)!r}, "a").write("{run.name}\\n"); import time; time.sleep(60)'])
  runs = sweep.make_runs([30], [0, 1], control=False, arms=['tvt'])
  handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  timer = threading.Timer(5.0, os.kill, (os.getpid(), signal.SIGTERM))
  timer.start()
  try:
    finished = tvt_delay_sweep.train(runs, str(tmp_path), iterations=2, rounds=1)
  finally:
    timer.cancel()
    for signum, handler in handlers.items():
      signal.signal(signum, handler)
  assert finished is False
  assert started.read_text() == 'tvt_delay30_seed0\n'
  output = capsys.readouterr().out
  assert 'tvt_delay30_seed0: stopped before 32 episodes' in output
  assert 'at 32 episodes' not in output
