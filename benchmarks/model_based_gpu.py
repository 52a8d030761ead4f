r"""The model-based suite on a GPU: vmap ratios, then a reduced Figure 4, within ten minutes.

  python -m benchmarks.model_based_gpu                           # on the GPU machine, ~9 min
  python -m benchmarks.model_based_gpu --tiny --output_dir /tmp/gpu_tiny    # CPU check, ~1 min
  python -m benchmarks.model_based_gpu --bundle /tmp/suite       # copy the files it needs

Made for a machine with Python 3.12 and a CUDA build of current JAX but no internet: it needs
only the suite's own files (`--bundle DIR` copies them, about 0.2 MB) plus, where missing, the
dm-haiku wheel and its jmp (README "Model-based suite on current JAX", BUILD.md "GPU run").

It prints:
(a) per agent, on its tuned ProcMaze 4x4 config (the paper's networks), Q updates/s and whole
    training steps/s (act, step, reset, store, target copy, update) for 1 seed, 30 seeds
    vmapped and the same 30 seeds one after another, and the ratio (30 vmapped) / (30 one after
    another). ER first, then the others while (a)'s share of the budget (--ratio_share) lasts;
(b) a reduced Figure 4: the five agents' tuned high-data ProcMaze configs, --num_seeds seeds
    vmapped, all for the same number of environment steps: as many as fit the rest of the
    budget, planned from each agent's measured time per chunk and evaluation.
Into --output_dir (default $OUT where set, else runs/model_based_gpu), seven files: each
agent's NAME.out (as launch.model_based writes it; plot them with launch.model_based_plot),
results.png (the five curves, mean and 95% bootstrap band over seeds) and results.json (the
figures of (a), (b)'s budget and final returns). Compilation counts against the budget but not
in the rates (every function runs once before it is timed).
"""

import dataclasses
import json
import os
import shutil
import sys
import time
from typing import Any, Dict

from absl import app
from absl import flags

try:  # The suite needs dm-haiku, which a bare CUDA JAX install lacks: main says how to add it.
  import jax
  from jax import numpy as jnp
  import numpy as np

  from agents.model_based import config as config_lib
  from agents.model_based import experiment
  from agents.model_based import outputs
  from agents.model_based import results
  from agents.model_based import train
  from agents.model_based import tuned
  from benchmarks import model_based_timing as timing
except ImportError as error:
  _IMPORT_ERROR = error
else:
  _IMPORT_ERROR = None

FLAGS = flags.FLAGS
flags.DEFINE_string('output_dir', os.environ.get('OUT') or 'runs/model_based_gpu',
                    'Where the .out files, results.png and results.json go.')
flags.DEFINE_float('minutes', 9.0, 'Budget of the whole run, compilation included.')
flags.DEFINE_float('ratio_share', 0.4, 'Share of the budget that part (a) may use.')
flags.DEFINE_list('ratio_agents', None, 'Agents of part (a), in order (default: all five).')
flags.DEFINE_integer('num_seeds', 30, 'Seeds vmapped in (a) and (b).')
flags.DEFINE_integer('updates_per_call', 100, 'Q updates per seed in each timed call of (a).')
flags.DEFINE_integer('eval_frequency', 500, 'Environment steps between evaluations in (b); '
                     'also the training steps per timed call of (a).')
flags.DEFINE_integer('passes', 1, 'Rounds of (all seeds at once, one after another) in (a).')
flags.DEFINE_integer('max_steps', 0, 'Cap on (b)\'s environment steps per seed (0: none).')
flags.DEFINE_integer('seed', 0, 'Master seed of (b)\'s runs.')
flags.DEFINE_bool('tiny', False, 'Tiny networks, 3 seeds, part (a) for ER only and a small '
                  'budget: the CPU check that the script runs end to end '
                  '(tests/test_model_based_gpu_script.py).')
flags.DEFINE_string('bundle', None, 'Copy the files this script needs into this directory '
                    '(to carry them to a machine without the repository), then exit.')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the script imports, relative to the repository root: the suite without its Launchpad
# sweep's callers (agents/model_based/sweep.py is copied but never imported).
BUNDLE = ('agents/__init__.py', 'agents/plotting.py', 'agents/core/__init__.py',
          'agents/core/cli.py', 'agents/model_based', 'environments/__init__.py',
          'environments/jax_envs', 'benchmarks/__init__.py', 'benchmarks/model_based_gpu.py',
          'benchmarks/model_based_timing.py')
HAIKU_WHEELS = 'dm-haiku==0.0.17 jmp==0.0.4'  # As requirements-model-based.txt.
RESULTS_FILE = 'results.json'
# Tiny networks and budget: every code path of a full run, in about a minute on a CPU.
TINY_CONFIG = {'num_hidden_layers': 1, 'num_hidden_units': 16, 'buffer_size': 200,
               'eval_batch_size': 4, 'eval_steps': 20, 'training_start_time': 20,
               'rollout_length': 3, 'num_features': 4, 'feature_width': 4}
TINY_FLAGS = {'num_seeds': 3, 'updates_per_call': 3, 'eval_frequency': 10, 'max_steps': 60,
              'minutes': 3.0, 'passes': 1, 'ratio_agents': ['ER']}


def copy_bundle(directory: str) -> int:
  """Copies BUNDLE (no caches) into `directory`; returns the bytes copied."""
  size = 0
  for relative in BUNDLE:
    source, target = os.path.join(ROOT, relative), os.path.join(directory, relative)
    if os.path.isdir(source):
      shutil.copytree(source, target, dirs_exist_ok=True,
                      ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    else:
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.copy2(source, target)
  for folder, _, names in os.walk(directory):
    size += sum(os.path.getsize(os.path.join(folder, name)) for name in names)
  return size


def make_config(agent: str, num_seeds: int, eval_frequency: int, tiny: bool):
  """The agent's tuned high-data ProcMaze config for (a) and (b); no .params files (the
  output directory keeps seven files: a lent GPU machine returns at most eight)."""
  raw = tuned.make_config(agent, 'ProcMaze', 'high')
  raw.update(num_seeds=num_seeds, eval_frequency=eval_frequency, num_steps=eval_frequency,
             save_params=False)
  if tiny:
    raw.update(TINY_CONFIG, batch_size=8)
  return config_lib.from_dict(raw)


class Clock:
  """Seconds since the start, and what is left of the budget."""

  def __init__(self, minutes: float):
    self.started = time.time()
    self.budget = 60.0 * minutes

  def elapsed(self) -> float:
    return time.time() - self.started

  def left(self) -> float:
    return self.budget - self.elapsed()


def ratio_part(experiments: Dict[str, Any], clock: Clock) -> Dict[str, Dict[str, Dict]]:
  """(a): vmapped / one-after-another figures of each agent while (a)'s share lasts."""
  figures = {}
  share_end = FLAGS.ratio_share * clock.budget
  agents = FLAGS.ratio_agents or list(tuned.AGENTS)
  print(f'(a) {FLAGS.num_seeds} seeds vmapped / the same seeds one after another, ProcMaze 4x4 '
        f'tuned configs:', flush=True)
  for index, agent in enumerate(agents):
    if index and clock.elapsed() > share_end:
      print(f'  (a) stopped at its share of the budget ({FLAGS.ratio_share:.0%}); not measured: '
            f'{", ".join(agents[index:])}', flush=True)
      break
    timer = timing.AgentTimer(experiments[agent])
    figures[agent] = {
        'Q updates/s': timer.q_updates(FLAGS.updates_per_call, FLAGS.passes, FLAGS.num_seeds),
        'training steps/s': timer.training_steps(FLAGS.passes, FLAGS.num_seeds)}
    for kind, values in figures[agent].items():
      print(timing.row(f'{agent} {kind}', values), flush=True)
    print(f'    ({clock.elapsed():.0f} s so far)', flush=True)
  return figures


def chunk_seconds(exp: 'experiment.Experiment', measured: Dict[str, Dict]) -> float:
  """Seconds of one chunk of training plus its evaluation, for all seeds vmapped.

  The chunk's time comes from (a) when it measured this agent, else from one timed call; the
  evaluation is compiled and timed here in any case, so that (b) compiles nothing more.
  """
  timer = timing.AgentTimer(exp)
  state = timer.filled_state(FLAGS.num_seeds, 0)
  train = exp._chunks[True]  # pylint: disable=protected-access
  evaluate = exp._evaluate  # pylint: disable=protected-access
  keys = timer.keys(FLAGS.num_seeds)
  start = jnp.int32(exp.config.training_start_time)
  if measured:
    seconds = (FLAGS.num_seeds * exp.config.eval_frequency
               / measured['training steps/s'][f'{FLAGS.num_seeds} seeds vmapped'])
  else:
    state = jax.block_until_ready(train(state, keys, start)[0])  # Compiles.
    began = time.perf_counter()
    state = jax.block_until_ready(train(state, keys, start)[0])
    seconds = time.perf_counter() - began
  jax.block_until_ready(evaluate(state.agent_state, keys))  # Compiles.
  began = time.perf_counter()
  jax.block_until_ready(evaluate(state.agent_state, keys))
  return seconds + time.perf_counter() - began


def figure_part(experiments: Dict[str, Any], ratios: Dict, clock: Clock) -> Dict[str, Any]:
  """(b): the five agents for the same steps, as many as fit; .out files, PNG, summary."""
  frequency = FLAGS.eval_frequency
  per_chunk = {agent: chunk_seconds(exp, ratios.get(agent, {}))
               for agent, exp in experiments.items()}
  reserve = 15.0 + 0.05 * clock.budget  # Plot, files, and what the estimates miss.
  affordable = int(max(clock.left() - reserve, 0.0) / sum(per_chunk.values()))
  chunks = max(affordable, 2)
  if FLAGS.max_steps:
    chunks = min(chunks, max(FLAGS.max_steps // frequency, 1))
  num_steps = chunks * frequency
  print(f'(b) reduced Figure 4: ProcMaze 4x4, tuned high-data configs, {FLAGS.num_seeds} seeds '
        f'vmapped, {num_steps:,} environment steps per seed and agent (the paper: 1,000,000); '
        f'{clock.left():.0f} s of the budget left; estimated seconds per {frequency}-step chunk '
        f'and evaluation: '
        + ', '.join(f'{a} {s:.3f}' for a, s in per_chunk.items()), flush=True)
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  began = time.time()
  planned = 0.0
  summary = {}
  for agent, exp in experiments.items():
    planned += chunks * per_chunk[agent]
    slot_end = began + 1.15 * planned + 10.0  # This agent's share of (b), with some slack.
    config = dataclasses.replace(exp.config, num_steps=num_steps)
    run = exp.start(FLAGS.seed, num_steps=num_steps)
    path = os.path.join(FLAGS.output_dir, f'{agent}.out')
    agent_began, stopped_early = time.time(), False
    for result in run:
      outputs.write_metrics(path, config.to_namespace(FLAGS.seed), run.metrics)
      if result.index + 1 < chunks and (time.time() > slot_end or clock.left() < 10.0):
        stopped_early = True
        break
    rates = np.asarray(run.metrics['reward_rates'])
    finals = rates[-min(4, len(rates)):].mean(axis=0)
    summary[agent] = {
        'steps': len(rates) * frequency, 'seconds': time.time() - agent_began,
        'stopped_early': stopped_early, 'final_return_mean': float(finals.mean()),
        'final_return_standard_error': float(finals.std(ddof=1) / np.sqrt(len(finals)))
                                       if len(finals) > 1 else None}
    print(f'  {agent:26s} {summary[agent]["steps"]:>9,} steps in '
          f'{summary[agent]["seconds"]:6.1f} s, final return (last 4 evaluations) '
          f'{summary[agent]["final_return_mean"]:7.2f}'
          + (' (stopped early: budget)' if stopped_early else ''), flush=True)
  png = os.path.join(FLAGS.output_dir, results.PLOT_FILE)
  outputs.plot([os.path.join(FLAGS.output_dir, f'{a}.out') for a in experiments], png,
               labels=list(experiments), reference_lines=results.REFERENCE_LINES,
               title=f'ProcMaze 4x4, tuned high-data configs, {FLAGS.num_seeds} seeds, '
                     f'{num_steps:,} steps ({jax.devices()[0].platform})')
  print(f'  plot: {png}', flush=True)
  return {'num_steps': num_steps, 'num_seeds': FLAGS.num_seeds, 'eval_frequency': frequency,
          'seconds_per_chunk_estimated': per_chunk, 'agents': summary}


def _apply_tiny():
  for name, value in TINY_FLAGS.items():
    if not FLAGS[name].present:
      FLAGS[name].value = value


def main(argv):
  del argv
  if FLAGS.bundle:
    size = copy_bundle(FLAGS.bundle)
    print(f'copied {size / 1e6:.2f} MB into {FLAGS.bundle}; there: python3 -m '
          f'benchmarks.model_based_gpu (with dm-haiku: pip download --no-deps -d wheels '
          f'{HAIKU_WHEELS})', flush=True)
    return
  if _IMPORT_ERROR is not None:
    print(f'error: {_IMPORT_ERROR}. The suite needs jax, dm-haiku (with jmp), optax and numpy. '
          f'Where one is missing and there is no internet, download its wheel elsewhere (pip '
          f'download --no-deps -d wheels {HAIKU_WHEELS}), carry it, then: python3 -m pip '
          f'install --no-index --no-deps --target /tmp/site wheels/*.whl && export '
          f'PYTHONPATH=/tmp/site', file=sys.stderr, flush=True)
    sys.exit(2)
  train.quiet_jax_logs()
  if FLAGS.tiny:
    _apply_tiny()
  unknown = [a for a in FLAGS.ratio_agents or () if a not in tuned.AGENTS]
  if unknown or FLAGS.num_seeds < 1 or FLAGS.minutes <= 0 or FLAGS.eval_frequency < 1:
    raise app.UsageError(f'bad flags: agents {unknown} (valid: {", ".join(tuned.AGENTS)}), '
                         f'--num_seeds and --eval_frequency at least 1, --minutes positive')
  clock = Clock(FLAGS.minutes)
  print(f'devices: {jax.devices()}; jax {jax.__version__}; budget {FLAGS.minutes} min; '
        f'output: {FLAGS.output_dir}', flush=True)
  experiments = {agent: experiment.Experiment(make_config(
      agent, FLAGS.num_seeds, FLAGS.eval_frequency, FLAGS.tiny)) for agent in tuned.AGENTS}
  ratios = ratio_part(experiments, clock)
  figure = figure_part(experiments, ratios, clock)
  summary = {'devices': [str(d) for d in jax.devices()], 'jax': jax.__version__,
             'tiny': FLAGS.tiny, 'ratios': ratios, 'figure_4': figure,
             'seconds': clock.elapsed()}
  with open(os.path.join(FLAGS.output_dir, RESULTS_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  print(f'ratios ({FLAGS.num_seeds} seeds vmapped / one after another): '
        + '; '.join(f'{agent} Q updates {values["Q updates/s"]["ratio"]:.2f}x, training steps '
                    f'{values["training steps/s"]["ratio"]:.2f}x'
                    for agent, values in ratios.items()), flush=True)
  print(f'done in {clock.elapsed():.0f} s: {FLAGS.output_dir}', flush=True)


if __name__ == '__main__':
  app.run(main)
