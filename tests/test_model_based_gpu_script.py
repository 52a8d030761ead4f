"""The GPU run script, end to end on the CPU with its tiny budget, from its bundle alone."""

import json
import os
import subprocess
import sys

import chex
import jax
import numpy as np
import pytest

from agents.model_based import outputs
from agents.model_based import tuned
from tests import commands
from tests import test_model_based_cli as cli

# What a machine with current JAX alone lacks: importing any of them fails in the script's
# process. The pinned stack's chex 0.1.7 (and optax through it) imports dm-tree itself, so dm-tree
# is left importable there; current chex does without it, as on the GPU machines.
ABSENT = ('tensorflow', 'launchpad', 'acme', 'reverb', 'sonnet', 'trfl', 'dm_env') + (
    ('tree',) if tuple(map(int, chex.__version__.split('.')[:3])) >= (0, 1, 80) else ())
_RUN_WITHOUT = f'''
import os, runpy, sys
sys.modules.update(dict.fromkeys({ABSENT!r}))
import agents
assert agents.__file__.startswith(os.getcwd()), agents.__file__  # The bundle's own files.
sys.argv[0] = 'model_based_gpu'
runpy.run_module('benchmarks.model_based_gpu', run_name='__main__', alter_sys=True)
'''


@pytest.mark.skipif(
    jax.__version_info__ < (0, 5),
    reason='the GPU script is for current JAX (a CUDA build of it on the GPU machine); CI runs '
    'this test in its current-JAX lane (.venv-jax), which keeps the pinned lane within its time')
def test_the_gpu_script_runs_from_its_bundle_without_tensorflow_or_dm_env(tmp_path):
  bundle = tmp_path / 'bundle'
  copied = cli.run_command('benchmarks.model_based_gpu', f'--bundle={bundle}')
  assert copied.returncode == 0, copied.stderr[-2000:]
  size = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(bundle)
             for n in names)
  assert size < 2 * 2**20, size  # The issue allows 64 MiB with the dm-haiku wheel.
  output = tmp_path / 'out'
  env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'OUT')}
  env.update(cli.FAST_COMPILE, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, '-c', _RUN_WITHOUT, '--tiny', f'--output_dir={output}'],
      cwd=bundle, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  names = sorted(os.listdir(output))
  assert names == sorted([f'{a}.out' for a in tuned.AGENTS] + ['results.json', 'results.png'])
  assert (output / 'results.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  summary = json.loads((output / 'results.json').read_text())
  # (a): ER is always measured (the others while (a)'s share of the budget lasts).
  assert 'ER' in summary['ratios']
  for figures in summary['ratios'].values():
    for kind in ('Q updates/s', 'training steps/s'):
      assert set(figures[kind]) == {'1 seed', '3 seeds vmapped', '3 seeds one after another',
                                    'ratio'}
      assert all(np.isfinite(v) and v > 0 for v in figures[kind].values())
  assert 'ratio' in result.stdout and '(a)' in result.stdout and '(b)' in result.stdout
  # (b): the five agents for the same steps (the tiny cap: 60, six evaluations).
  figure = summary['figure_4']
  assert figure['num_steps'] == 60 and figure['num_seeds'] == 3
  for agent in tuned.AGENTS:
    data = outputs.read_output(str(output / f'{agent}.out'))
    assert data['config'].num_steps == 60 and data['config'].num_seeds == 3
    assert data['metrics']['eval_times'] == list(range(0, 60, 10))
    rates = np.asarray(data['metrics']['reward_rates'])
    assert rates.shape == (6, 3) and np.all((rates <= -1) & (rates >= -20))
    assert not figure['agents'][agent]['stopped_early']


def test_the_gpu_script_says_what_is_missing(tmp_path):
  """Without dm-haiku: one line naming the wheels to carry, exit status 2."""
  code = ("import sys, runpy; sys.modules['haiku'] = None; sys.argv[0] = 'x'; "
          "runpy.run_module('benchmarks.model_based_gpu', run_name='__main__')")
  result = subprocess.run([sys.executable, '-c', code, f'--output_dir={tmp_path}'],
                          cwd=commands.ROOT, capture_output=True, text=True, timeout=120)
  commands.assert_usage_error(result, 'haiku', 'pip download --no-deps', 'dm-haiku==')
  assert not os.listdir(tmp_path)
