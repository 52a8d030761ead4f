"""A real local_mp sweep: grid points and seeds over worker processes, gathered into outputs."""

import json
import os
import time

import numpy as np
import pytest

# The sweep spreads runs over Launchpad nodes: it needs the pinned stack (requirements.txt).
# A current-JAX install of the suite alone (requirements-model-based.txt) has no Launchpad.
pytest.importorskip('launchpad', reason='the sweep needs Launchpad (the pinned stack, '
                    'requirements.txt); this install has the model-based suite alone')

import psutil  # pylint: disable=g-import-not-at-top,g-bad-import-order

from agents.core import launching  # pylint: disable=g-import-not-at-top
from agents.model_based import experiment
from agents.model_based import outputs
from agents.model_based import sweep
from tests import test_model_based_cli as cli

FAST_COMPILE = cli.FAST_COMPILE


def test_units_are_dealt_out_evenly_and_completely():
  assignments = sweep.assign_units(num_points=2, num_seeds=2, num_workers=3)
  assert assignments == [[(0, [0])], [(0, [1]), (1, [0])], [(1, [1])]]
  assignments = sweep.assign_units(num_points=4, num_seeds=30, num_workers=4)
  assert assignments == [[(p, list(range(30)))] for p in range(4)]


def test_merge_orders_seeds_by_index():
  shard = lambda *values: {'eval_times': [0, 5], 'reward_rates': [np.array(values),
                                                                  np.array(values) + 1]}
  merged = sweep.merge_shards({2: shard(20.0), 0: shard(0.0, 10.0)})
  assert merged['eval_times'] == [0, 5]
  np.testing.assert_array_equal(merged['reward_rates'][0], [0.0, 10.0, 20.0])
  np.testing.assert_array_equal(merged['reward_rates'][1], [1.0, 11.0, 21.0])


@pytest.fixture(scope='module')
def finished_sweep(tmp_path_factory):
  output_dir = str(tmp_path_factory.mktemp('sweep'))
  base = dict(cli.TINY, num_seeds=2)
  points = sweep.grid_points(base, {'alpha_adam': [1e-3, 3e-3]})
  program = sweep.make_program(points, num_workers=3, seed=4, output_dir=output_dir)
  me = psutil.Process()
  started = time.time()
  launching.launch(program, 'local_mp', output_dir, console=False, extra_env=FAST_COMPILE)
  elapsed = time.time() - started
  time.sleep(1.0)
  leftovers = [p for p in me.children(recursive=True)
               if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
  return dict(output_dir=output_dir, points=points, leftovers=leftovers, elapsed=elapsed)


def test_every_grid_point_is_gathered_with_all_its_seeds(finished_sweep):
  output_dir = finished_sweep['output_dir']
  for point in finished_sweep['points']:
    data = outputs.read_output(os.path.join(output_dir, f'{point.name}.out'))
    assert data['config'].alpha_adam == point.changes['alpha_adam']
    assert data['config'].seed == 4
    assert data['metrics']['eval_times'] == [0, 10, 20]
    assert all(r.shape == (2,) for r in data['metrics']['reward_rates'])
  shards = sorted(os.listdir(os.path.join(output_dir, 'shards')))
  assert shards == ['alpha_adam_0.001.seeds_0-0.out', 'alpha_adam_0.001.seeds_1-1.out',
                    'alpha_adam_0.003.seeds_0-0.out', 'alpha_adam_0.003.seeds_1-1.out']
  with open(os.path.join(output_dir, 'sweep.json')) as f:
    summary = json.load(f)
  assert {row['point'] for row in summary} == {'alpha_adam_0.001', 'alpha_adam_0.003'}
  finals = [row['final_return_mean'] for row in summary]
  assert finals == sorted(finals, reverse=True)


def test_seeds_split_over_workers_match_one_vmapped_run(finished_sweep):
  # Point 0's two seeds ran on different workers; together they equal one process running both.
  point = finished_sweep['points'][0]
  data = outputs.read_output(os.path.join(finished_sweep['output_dir'], f'{point.name}.out'))
  local = [r.reward_rates for r in experiment.Experiment(point.config).start(seed=4)]
  np.testing.assert_allclose(np.array(data['metrics']['reward_rates']), local, atol=1e-4)


def test_sweep_stops_by_itself_leaving_no_process(finished_sweep):
  assert not finished_sweep['leftovers'], finished_sweep['leftovers']
  assert finished_sweep['elapsed'] < 300
  logs = os.listdir(os.path.join(finished_sweep['output_dir'], 'node_logs', 'worker'))
  assert sorted(logs) == ['0', '1', '2']


@pytest.mark.parametrize('args,fragments', [
    (['--grid=alpha_adamm=1e-3,2e-3'], ["unknown config key 'alpha_adamm'"]),
    (['--grid=softmax_temp=0.1,fast'], ["'softmax_temp' must be float, got str"]),
    (['--grid=alpha_adam'], ['KEY=V1,V2']),
    (['--num_workers=0'], ['--num_workers must be at least 1']),
    (['--num_workers=9', '--grid=alpha_adam=1e-3,2e-3'], ['exceeds the 4']),
])
def test_sweep_rejects_bad_grids_and_flags(args, fragments, tmp_path):
  config = cli.write_config(str(tmp_path))
  result = cli.run_command('launch.model_based_sweep', f'--config={config}',
                           f'--output_dir={tmp_path / "sweep"}', *args)
  cli.assert_usage_error(result, *fragments)
  assert not (tmp_path / 'sweep').exists()


def test_unusable_output_directories_and_bad_numbers_are_refused(tmp_path):
  config = cli.write_config(str(tmp_path))
  for logdir, fragment in cli.commands.unusable_logdirs(tmp_path):
    before = cli.commands.snapshot(tmp_path)
    cli.assert_usage_error(cli.run_command('launch.model_based_sweep', f'-c={config}',
                                           f'--output_dir={logdir}'), fragment)
    assert cli.commands.snapshot(tmp_path) == before, logdir
  cli.assert_usage_error(cli.run_command('launch.model_based_sweep', f'-c={config}',
                                         '--worker_threads=-1', f'--output_dir={tmp_path / "s"}'),
                         '--worker_threads must be at least 0')
  assert not (tmp_path / 's').exists()
