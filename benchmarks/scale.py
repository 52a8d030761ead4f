r"""Scale benchmark: the real TVT (or FTW) learner and Reverb server against 1 to 384 simulated
actors, with and without weight caches.

  python -m benchmarks.scale                              # 10 programs, about 30 minutes
  python -m benchmarks.scale --actors=1,32 --caches=off --window_s=30   # a quick look
  python -m benchmarks.scale --agent=ftw --output=results/scale_ftw     # one FTW member

Each configuration is one real local_mp program of the core (Reverb server, counter, learner,
weight caches when on, and a few processes of simulated actors; see
`benchmarks/scale_nodes.py`). Simulated actors write copies of real items with their extras
(TVT: whole key_to_door episodes; FTW: the unrolls and auxiliary-task rows of a 1v1 capture
the flag seat, through the real adders) as fast as the learner's tables take them and pull the
weights every `--pull_period_s`, so the learner is never short of data and what changes with
the number of actors is what serving them costs. By default the learner has a core of its own
(as on its own machine) and every other node shares the rest, so its figures show what lands in
the learner's process.

First, what one Reverb server sustains on its own: writer threads insert whole episodes into a
queue that a reader drains (items/s and MB/s). Then, per configuration, over a window after the
learner's first batch: the learner's steps/s and its batch latency (time from asking for a
batch to having it), Reverb inserts/s, the weight-pull latency p50/p99 seen by the actors, and
the pulls/s and MB/s the learner served. Writes `<output>.json`, `<output>.md` (the table) and
`<output>.png`; CAPACITY.md reads them.
"""

import json
import os
import shutil
import tempfile
import threading
import time
from typing import Any, Dict, List

from absl import app
from absl import flags
import numpy as np
import psutil
# TensorFlow first, as in launch.tvt (see benchmarks/tvt_throughput.py).
import tensorflow as tf  # noqa: F401  pylint: disable=unused-import

import environments
from agents.core import distributed
from agents.core import launching
from agents.ftw import arena as ftw_arena
from agents.ftw import config as ftw_config
from agents.tvt import experiment
from benchmarks import scale_nodes

FLAGS = flags.FLAGS
flags.DEFINE_enum('agent', 'tvt', ['tvt', 'ftw'], 'The learner and items: TVT on key_to_door, '
                  'or one FTW member (the main job\'s network) on 1v1 capture the flag.')
flags.DEFINE_list('actors', ['1', '8', '32', '128', '384'], 'Simulated actor counts.')
flags.DEFINE_list('caches', ['off', 'on'], 'Weight caches off and/or on.')
flags.DEFINE_integer('actors_per_cache', 64, 'Actors per weight cache, when caches are on.')
flags.DEFINE_float('cache_period_s', 1.0, 'Seconds between a cache\'s pulls from the learner.')
flags.DEFINE_float('pull_period_s', 5.0, 'Seconds between an actor\'s weight pulls (an Acme '
                   'actor pulls every 1000 of its steps: 5-10 s for an A3C actor).')
flags.DEFINE_float('item_period_s', 0.0, 'At most one episode per actor this often (0: as '
                   'fast as the learner\'s queue takes them).')
flags.DEFINE_integer('nodes', 4, 'Processes the simulated actors are spread over.')
flags.DEFINE_integer('batch_size', None, 'Items per learner step (default: TVT 4 episodes, '
                     'FTW the main job\'s 16 unrolls).')
flags.DEFINE_float('startup_s', 120.0, 'Allowed from the launch to the learner\'s first batch.')
flags.DEFINE_float('warmup_s', 15.0, 'Seconds after the learner\'s first batch not measured.')
flags.DEFINE_float('window_s', 60.0, 'Seconds measured.')
flags.DEFINE_boolean('pin_learner', True, 'The learner on a core of its own (needs 2 cores).')
flags.DEFINE_float('reverb_seconds', 20.0, 'Seconds of the Reverb server\'s own measurement.')
flags.DEFINE_string('output', 'results/scale_tvt', 'Where the .json, .md and .png go.')


LEARNER_CPUS = {0}  # With --pin_learner: the learner's core; every other node has the rest.


def _pin(pid: int, cpus):
  """Moves every thread of process `pid` to `cpus`."""
  for thread_id in os.listdir(f'/proc/{pid}/task'):
    try:
      os.sched_setaffinity(int(thread_id), cpus)
    except OSError:
      pass  # A thread that has just ended.


class _Placement(threading.Thread):
  """Once the learner has started, keeps it on LEARNER_CPUS and every other node of the program
  (and this launcher) on the other cores, as if the learner had a machine of its own; before
  that, the nodes start up on every core."""

  def __init__(self, run_dir: str):
    super().__init__(daemon=True)
    self._pid_file = os.path.join(run_dir, scale_nodes.RECORDS, scale_nodes.LEARNER_PID)
    self._others = set(os.sched_getaffinity(0)) - LEARNER_CPUS
    self.done = threading.Event()

  def run(self):
    while not self.done.wait(0.5):
      try:
        with open(self._pid_file) as f:
          learner = int(f.read())
      except (OSError, ValueError):
        continue
      for process in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
          _pin(process.pid, LEARNER_CPUS if process.pid == learner else self._others)
        except OSError:
          pass  # A process that has just ended.


def _percentile(values, q) -> float:
  return float(np.percentile(values, q)) if len(values) else float('nan')


def _in_window(records, start, end, index=0):
  return [r for r in records if start <= r[index] < end]


def _agent(run_dir: str):
  """(measured builder, environment factory, environment spec) of `--agent`."""
  if FLAGS.agent == 'ftw':
    factory = environments.make_factory('CaptureTheFlag1v1-v0', episode_length=210,
                                        map_size=(9, 11))
    config = ftw_config.grid_world_config(**({'batch_size': FLAGS.batch_size}
                                             if FLAGS.batch_size else {}))
    return (scale_nodes.MeasuredFtwBuilder(config, run_dir), factory,
            ftw_arena.seat_environment_spec(factory(0)))
  factory, config = experiment.make_config('key_to_door', {},
                                           batch_size=FLAGS.batch_size or 4)
  return scale_nodes.MeasuredTVTBuilder(config, run_dir), factory, None


def measure(num_actors: int, caches: bool) -> Dict[str, Any]:
  """Runs one program and returns its figures over the measured window."""
  nodes = min(FLAGS.nodes, num_actors)
  run_dir = tempfile.mkdtemp(prefix='scale_')
  try:
    program_config = distributed.DistributedConfig(
        run_dir=run_dir, num_actors=num_actors, envs_per_actor=1, with_evaluator=False,
        max_wall_s=FLAGS.startup_s + FLAGS.warmup_s + FLAGS.window_s,
        actors_per_cache=FLAGS.actors_per_cache if caches else 0,
        cache_period_s=FLAGS.cache_period_s, checkpoint_period_steps=None,
        checkpoint_period_minutes=600.0, drain_timeout_s=5.0, log_period_s=30.0)
    actors = distributed.NodeFactory(
        'actor', scale_nodes.SimulatedActors, count=nodes,
        args=(nodes, FLAGS.pull_period_s, FLAGS.item_period_s, FLAGS.agent))
    builder, factory, spec = _agent(run_dir)
    program = distributed.make_program(builder, factory, program_config, name='scale',
                                       actors=actors, environment_spec=spec)
    placement = _Placement(run_dir)
    if FLAGS.pin_learner:
      placement.start()
    launched = time.time()
    try:
      launching.launch(program, 'local_mp', run_dir, console=False)
      # The coordinator's clock starts once its process is up: a few seconds after the launch.
      stop_began = min(time.time(), launched + program_config.max_wall_s + 15.0)
    finally:
      placement.done.set()
      _pin(os.getpid(), set(os.sched_getaffinity(0)) | LEARNER_CPUS)  # The next launch starts
      # its nodes on every core.
    records = os.path.join(run_dir, scale_nodes.RECORDS)
    with open(os.path.join(records, 'learner.json')) as f:
      learner = json.load(f)
    simulated = []
    for index in range(nodes):
      with open(os.path.join(records, f'actors_{index}.json')) as f:
        simulated.append(json.load(f))
  except Exception:
    print(f'the program\'s run directory is kept: {run_dir}')
    raise
  shutil.rmtree(run_dir, ignore_errors=True)
  batches = learner['batches']
  if not batches:
    raise RuntimeError(f'{num_actors} actors, caches {caches}: the learner took no batch')
  # From `warmup_s` after the first batch, for `window_s` or until the program's stop began.
  start = batches[0][1] + FLAGS.warmup_s
  end = min(start + FLAGS.window_s, stop_began)
  window = max(end - start, 0.0)
  measured = _in_window(batches, start, end, index=1)
  waits = [came - asked for asked, came, _ in measured]
  intervals = np.diff([came for _, came, _ in measured])
  served = _in_window(learner['pulls'], start, end)
  pulls = [p for node in simulated for p in _in_window(node['pulls'], start, end)]
  inserts = _in_window(simulated[0]['inserts'], start, end)
  insert_rate = ((inserts[-1][1] - inserts[0][1]) / (inserts[-1][0] - inserts[0][0])
                 if len(inserts) > 1 else float('nan'))
  return {
      'actors': num_actors, 'caches': program_config.num_caches, 'window_s': window,
      # Batches after the first measured one over the time between their arrivals; a learner
      # that took fewer than 2 batches in the window counts them over the window.
      'learner_steps_per_s': ((len(measured) - 1) / (measured[-1][1] - measured[0][1])
                              if len(measured) > 1 else len(measured) / max(window, 1e-9)),
      'learner_steps_per_s_median': 1.0 / float(np.median(intervals)) if len(intervals) else
                                    float('nan'),
      # CPU seconds of the learner's process (its serving threads included) per learner step.
      'learner_cpu_s_per_step': ((measured[-1][2] - measured[0][2]) / (len(measured) - 1)
                                 if len(measured) > 1 else float('nan')),
      'batch_latency_p50_s': _percentile(waits, 50),
      'batch_latency_p99_s': _percentile(waits, 99),
      'reverb_inserts_per_s': insert_rate,
      'pull_latency_p50_s': _percentile([p[1] for p in pulls], 50),
      'pull_latency_p99_s': _percentile([p[1] for p in pulls], 99),
      'actor_pulls': len(pulls),
      'failed_pulls': sum(node['failed_pulls'] for node in simulated),
      # Pulls still unanswered when the program stopped (one per actor at most).
      'unanswered_pulls': sum(node['unanswered_pulls'] for node in simulated),
      'learner_pulls_per_s': len(served) / window if window > 0 else float('nan'),
      'learner_mb_per_s': sum(p[1] for p in served) / window / 1e6 if window > 0 else
                          float('nan'),
      'weights_mb': served[0][1] / 1e6 if served else float('nan'),
  }


def measure_reverb(seconds: float, writers: int) -> Dict[str, float]:
  """What one Reverb server sustains with TVT episodes (whatever `--agent`): `writers` threads
  insert whole episodes into a queue that one thread drains in batches, for `seconds`; items/s
  and MB/s."""
  import reverb  # pylint: disable=g-import-not-at-top
  import tree  # pylint: disable=g-import-not-at-top
  from acme import specs  # pylint: disable=g-import-not-at-top
  from agents.tvt import builder as tvt_builder  # pylint: disable=g-import-not-at-top
  factory, config = experiment.make_config('key_to_door', {}, batch_size=4)
  builder = tvt_builder.TVTBuilder(config)
  (table,) = builder.make_replay_tables(specs.make_environment_spec(factory(0)))
  episode = tree.map_structure(lambda s: np.ones(s.shape, s.dtype.as_numpy_dtype),
                               table.info.signature)
  item_bytes = sum(x.nbytes for x in tree.flatten(episode))
  server = reverb.Server([reverb.Table.queue(table.name, 1000, signature=table.info.signature)])
  address = f'localhost:{server.port}'
  stop = threading.Event()

  def write():
    writer = reverb.Client(address).trajectory_writer(num_keep_alive_refs=1)
    while not stop.is_set():
      writer.append(episode)
      writer.create_item(table.name, 1.0, tree.map_structure(lambda c: c[-1], writer.history))
      writer.flush(block_until_num_items=4)
    writer.close()

  def drain():  # One sampler for the whole measurement; the server's stop ends it.
    try:
      for _ in reverb.Client(address).sample(table.name, num_samples=2**62):
        if stop.is_set():
          return
    except Exception:  # pylint: disable=broad-except
      pass

  threads = [threading.Thread(target=write) for _ in range(writers)]
  threads.append(threading.Thread(target=drain))
  for thread in threads:
    thread.start()
  time.sleep(2.0)  # Warm-up.
  client = reverb.Client(address)
  first = client.server_info()[table.name].rate_limiter_info.insert_stats.completed
  started = time.time()
  time.sleep(seconds)
  inserts = client.server_info()[table.name].rate_limiter_info.insert_stats.completed - first
  elapsed = time.time() - started
  stop.set()
  server.stop()
  for thread in threads:
    thread.join(10.0)
  return {'writers': writers, 'item_mb': item_bytes / 1e6, 'inserts_per_s': inserts / elapsed,
          'mb_per_s': inserts * item_bytes / elapsed / 1e6}


COLUMNS = [('actors', 'actors', '{:d}'), ('caches', 'caches', '{:d}'),
           ('learner_steps_per_s', 'learner steps/s', '{:.2f}'),
           ('learner_cpu_s_per_step', 'learner CPU s/step', '{:.2f}'),
           ('batch_latency_p50_s', 'batch wait p50 s', '{:.2f}'),
           ('reverb_inserts_per_s', 'inserts/s', '{:.1f}'),
           ('pull_latency_p50_s', 'pull p50 s', '{:.3f}'),
           ('pull_latency_p99_s', 'pull p99 s', '{:.3f}'),
           ('actor_pulls', 'pulls answered', '{:d}'),
           ('failed_pulls', 'pulls failed', '{:d}'),
           ('learner_pulls_per_s', 'learner pulls/s', '{:.1f}'),
           ('learner_mb_per_s', 'learner MB/s', '{:.1f}'),
           ('window_s', 'window s', '{:.0f}')]


def table(rows: List[Dict[str, Any]]) -> str:
  """The figures as a Markdown table."""
  lines = ['| ' + ' | '.join(title for _, title, _ in COLUMNS) + ' |',
           '|' + '---|' * len(COLUMNS)]
  for row in rows:
    lines.append('| ' + ' | '.join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + ' |')
  return '\n'.join(lines)


def plot(rows: List[Dict[str, Any]], path: str):
  """Learner steps/s, pull latency p99 and learner MB/s against the number of actors."""
  from agents import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
  figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
  for caches, style in ((False, 'o-'), (True, 's--')):
    series = sorted((r for r in rows if bool(r['caches']) == caches), key=lambda r: r['actors'])
    if not series:
      continue
    label = 'with caches' if caches else 'without caches'
    x = [r['actors'] for r in series]
    for axis, key in zip(axes, ('learner_steps_per_s', 'pull_latency_p99_s',
                                'learner_mb_per_s')):
      axis.plot(x, [r[key] for r in series], style, label=label)
  for axis, title in zip(axes, ('learner steps/s', 'weight-pull latency p99 (s)',
                                'MB/s served by the learner')):
    axis.set_xscale('log')
    axis.set_xlabel('simulated actors')
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def main(argv):
  del argv
  counts = [int(a) for a in FLAGS.actors]
  modes = [mode == 'on' for mode in FLAGS.caches]
  if any(c < 1 for c in counts) or not set(FLAGS.caches) <= {'on', 'off'}:
    launching.exit_with_usage_error('--actors must be positive and --caches on and/or off')
  if FLAGS.batch_size is not None and FLAGS.batch_size < 1:
    launching.exit_with_usage_error('--batch_size must be positive')
  environments.make('key_to_door')  # Fails fast on a broken install.
  if FLAGS.pin_learner and not set(os.sched_getaffinity(0)) - LEARNER_CPUS:
    launching.exit_with_usage_error('--pin_learner needs 2 cores; pass --nopin_learner')
  reverb_figures = measure_reverb(FLAGS.reverb_seconds, FLAGS.nodes)
  print(f'one Reverb server, {reverb_figures["writers"]} writers of whole episodes '
        f'({reverb_figures["item_mb"]:.3f} MB each) and a reader: '
        f'{reverb_figures["inserts_per_s"]:.0f} inserts/s, '
        f'{reverb_figures["mb_per_s"]:.0f} MB/s', flush=True)
  rows = []
  for num_actors in counts:
    for caches in modes:
      started = time.time()
      row = measure(num_actors, caches)
      rows.append(row)
      print(f'{num_actors} actors, {row["caches"]} caches ({time.time() - started:.0f} s): '
            f'learner {row["learner_steps_per_s"]:.2f} steps/s '
            f'({row["learner_cpu_s_per_step"]:.2f} CPU s/step), pulls p50/p99 '
            f'{row["pull_latency_p50_s"]:.3f}/{row["pull_latency_p99_s"]:.3f} s, learner '
            f'{row["learner_mb_per_s"]:.1f} MB/s', flush=True)
  print(table(rows))
  print(f'weights: {rows[0]["weights_mb"]:.2f} MB per pull; load average '
        f'{os.getloadavg()[0]:.1f}')
  os.makedirs(os.path.dirname(FLAGS.output) or '.', exist_ok=True)
  settings = {name: FLAGS[name].value for name in (
      'agent', 'actors_per_cache', 'cache_period_s', 'pull_period_s', 'item_period_s', 'nodes',
      'batch_size', 'warmup_s', 'window_s', 'pin_learner')}
  with open(FLAGS.output + '.json', 'w') as f:
    json.dump({'settings': settings, 'rows': rows, 'reverb': reverb_figures,
               'load_average': os.getloadavg()}, f, indent=1)
  with open(FLAGS.output + '.md', 'w') as f:
    f.write(table(rows) + '\n')
  plot(rows, FLAGS.output + '.png')
  print(f'wrote {FLAGS.output}.json, .md and .png')


if __name__ == '__main__':
  app.run(main)
