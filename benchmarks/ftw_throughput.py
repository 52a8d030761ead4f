r"""Throughput and memory of the FTW stack on this machine, in one run.

  python -m benchmarks.ftw_throughput                  # about 25 minutes on 2 cores
  python -m benchmarks.ftw_throughput --quick          # about 10 minutes, noisier
  python -m benchmarks.ftw_throughput --arena_counts=1,2 --program_seconds=120

Prints: (1) arena environment and agent steps/s with batched inference, by matches per arena;
(2) learner steps/s (main update only, and with the pixel-control and reward-prediction
updates) and the transitions/s they consume, for the variants of LEARNER_VARIANTS (the
configuration before the throughput work, oneDNN on/off, the learner speed-ups of FtwConfig
on/off, XLA on/off; `--learner_variants` picks some) each in its own process, with their
ratios, the learner's GFLOP/s (TF profiler float-op count of the updates' graphs) as a fraction
of a 1024x1024 float32 matmul's GFLOP/s in the same process, and the batched policy step's
calls/s in graph mode and with XLA; (3) Reverb insert rate of whole
unrolls through the FTW adders and sample rate through the learner's queue iterator, with the
server in another process; (4) the end-to-end environment steps/s of the ftw_local program by
number of arenas, read from the controller's counts after a warm-up, with the peak resident
memory of every node.
Figures depend on what else the machine runs: compare them within one run, not across runs.
"""

import dataclasses
import json
import multiprocessing
import os
import tempfile
import threading
import time
from typing import Dict

from absl import app
from absl import flags
import numpy as np
import psutil
# Imported before absl.app.run starts (see benchmarks/tvt_throughput.py): imported inside the
# measurements, TF 2.8's first learner update failed with "Op type not registered
# 'vtrace_from_importance_weights_scan_while_cond_...'".
import tensorflow as tf  # pylint: disable=unused-import

import environments
from agents.core import loopback
from agents.ftw import config as config_lib
from benchmarks import common

FLAGS = flags.FLAGS
flags.DEFINE_list('matches_per_arena', ['1', '4', '8'], 'Arena sizes of measurement (1).')
flags.DEFINE_integer('arena_steps', 300, 'Environment steps per arena measurement.')
flags.DEFINE_integer('learner_steps', 20, 'Timed learner steps (after one untimed step).')
flags.DEFINE_integer('reverb_items', 400, 'Unrolls written and read in measurement (3).')
flags.DEFINE_list('arena_counts', ['1', '2', '3'], 'Arena nodes of the program runs (4).')
flags.DEFINE_integer('program_seconds', 180, 'Length of each program run (4).')
flags.DEFINE_integer('warmup_seconds', 60, 'Start-up excluded from the program rates (4).')
flags.DEFINE_integer('actor_calls', 300, 'Timed batched policy calls per mode (2).')
flags.DEFINE_boolean('quick', False, 'Smaller budgets and one program run (noisier figures).')
flags.DEFINE_list('sections', ['learner', 'arena', 'reverb', 'program'],
                  'Parts to run: learner (2, with the actor inference), arena (1), reverb (3), '
                  'program (4).')
flags.DEFINE_string('measure', None, 'Internal: run one measurement here and print its JSON.')
flags.DEFINE_string('output', None, 'Optional JSON file for the figures.')

ARENA = 'CaptureTheFlag1v1-v0'
EPISODE = 300


def _arena_factory():
  return environments.make_factory(ARENA, episode_length=EPISODE)


def _config() -> config_lib.FtwConfig:
  return config_lib.grid_world_config()


def arena_rates(matches: int, steps: int) -> Dict[str, float]:
  """Env steps/s and seat steps/s of one arena with 2 members playing `matches` matches."""
  from agents.ftw import arena as arena_lib  # pylint: disable=g-import-not-at-top
  factory = environments.make_factory(ARENA, episode_length=steps)
  envs = [factory(k) for k in range(matches)]
  policies = arena_lib.MemberPolicies(arena_lib.seat_environment_spec(envs[0]), _config())
  _KEEP_ALIVE.append(policies)
  lineups = [[k % 2, (k + 1) % 2] for k in range(matches)]
  warm = [factory(100 + k) for k in range(matches)]
  for env in warm:  # Trace the policies on a short match first.
    env.episode_length = 3
  arena_lib.play_matches(warm, lineups, policies, update_weights=False)
  started = time.time()
  arena_lib.play_matches(envs, lineups, policies, update_weights=False)
  elapsed = time.time() - started
  return {'env_steps_per_s': matches * steps / elapsed,
          'agent_steps_per_s': 2 * matches * steps / elapsed}


_KEEP_ALIVE = []  # Networks stay referenced: TF 2.8 can lose functions of collected graphs.


def _fill(member, environment_factory, items: int):
  """Plays matches of a member against the rusher into the member's own tables until `items`
  unrolls are queued (the rusher takes the member's flag: events for the reward windows)."""
  from agents.ftw import arena as arena_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import utils  # pylint: disable=g-import-not-at-top
  from environments.ctf import bots  # pylint: disable=g-import-not-at-top
  envs = [environment_factory(k) for k in range(4)]
  config = dataclasses.replace(member.config, jit_compile=False)  # Filling is not timed.
  policies = arena_lib.MemberPolicies(arena_lib.seat_environment_spec(envs[0]), config)
  _KEEP_ALIVE.append(policies)
  lineups = [[0, bots.make_bot('rusher', k)] for k in range(4)]
  while (utils.inserted_items(member.replay_client, utils.table_names().queue) or 0) < items:
    arena_lib.play_matches(envs, lineups, policies, make_adder=lambda _: member.make_adders(),
                           update_weights=False)


# Learner variants, each timed in its own process: (auxiliary tasks, jit_compile, readiness
# remembered by the replay iterators, oneDNN kernels, FtwConfig's learner speed-ups: fused
# dueling deconvolutions, auxiliary batches fetched during the main update, fused RMSProp).
# 'aux_before' is the configuration before this benchmark's changes (every replay asked for
# readiness before each batch, oneDNN off, no learner speed-ups).
LEARNER_VARIANTS = {
    'main_before': (False, False, False, False, False),
    'aux_before': (True, False, False, False, False),
    'aux_ready_remembered': (True, False, True, False, False),
    'main': (False, False, True, True, True),
    'aux_without_speedups': (True, False, True, True, False),
    'aux': (True, False, True, True, True),
    'aux_xla': (True, True, True, True, True),
}
flags.DEFINE_list('learner_variants', list(LEARNER_VARIANTS), 'Learner variants to time (2).')


def learner_rates(variant: str, steps: int) -> Dict[str, float]:
  """Learner steps/s of one variant on a batch-size-16 queue; for the graph-mode variants also
  the FLOPs of a step (TF's profiler on the updates' graphs) and, in the same process, the
  dense matmul GFLOP/s (benchmarks/common.py)."""
  from agents.core import datasets  # pylint: disable=g-import-not-at-top
  from agents.ftw import agent as agent_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import arena as arena_lib  # pylint: disable=g-import-not-at-top
  auxiliary, jit_compile, remember_ready, _, speedups = LEARNER_VARIANTS[variant]
  datasets.ReverbBatchIterator.remember_ready = remember_ready
  factory = _arena_factory()
  spec = arena_lib.seat_environment_spec(factory(0))
  config = dataclasses.replace(_config(), use_pixel_control=auxiliary,
                               use_reward_prediction=auxiliary, max_queue_size=1000,
                               jit_compile=jit_compile, pixel_control_fused_dueling=speedups,
                               sample_auxiliary_in_background=speedups, fused_rms_prop=speedups)
  member = agent_lib.FTWWithoutActor(spec, config.sequence_length, config=config, seed=0)
  _KEEP_ALIVE.append(member)
  _fill(member, factory, (steps + 2) * config.batch_size)
  member.step_learner()  # Traces the updates.
  started = time.time()
  for _ in range(steps):
    member.step_learner()
  elapsed = time.time() - started
  transitions = config.batch_size * (config.sequence_length - 1)
  results = {'steps_per_s': steps / elapsed, 'transitions_per_s': steps * transitions / elapsed}
  if not jit_compile:
    results.update(common.learner_fraction(_step_float_ops(member.learner, auxiliary),
                                           results['steps_per_s'], common.matmul_gflops()))
  return results


def _step_float_ops(learner, auxiliary: bool) -> int:
  """Float ops of one learner step: TF's profiler count of each update's graph, traced for a
  batch from its own table (so the queue holds one batch more than the timed steps)."""
  # pylint: disable=protected-access
  from agents.ftw import learning  # pylint: disable=g-import-not-at-top
  sample = next(learner._dataset).data
  functions = [learner._main_update.get_concrete_function(
      learning._oar(sample.observation), sample.action, sample.reward, sample.discount,
      sample.extras['logits'], learner._core_state(sample.extras['core_state']))]
  if auxiliary:
    sample = next(learner._pc_dataset).data
    functions.append(learner._pixel_control_update.get_concrete_function(
        learning._oar(sample.observation), sample.action,
        learner._core_state(sample.extras['core_state'])))
    zero, nonzero = (next(d).data for d in learner._rp_datasets)
    functions.append(learner._reward_prediction_update.get_concrete_function(
        zero['observation'], nonzero['observation'], nonzero['reward']))
  return sum(common.graph_float_ops(f) for f in functions)


def actor_rates(calls: int, rows: int = 16) -> Dict[str, float]:
  """Batched policy steps/s (`rows` seats per call, as an arena with rows / 2 matches) in graph
  mode and with XLA, both traced and timed in this process."""
  from agents.ftw import acting  # pylint: disable=g-import-not-at-top
  from agents.ftw import arena as arena_lib  # pylint: disable=g-import-not-at-top
  spec = arena_lib.seat_environment_spec(_arena_factory()(0))
  network = arena_lib.MemberPolicies(spec, _config()).network(0)
  _KEEP_ALIVE.append(network)
  rng = np.random.default_rng(0)
  observations = tf.nest.map_structure(
      lambda s: tf.constant(rng.integers(0, 2, size=(rows,) + s.shape).astype(s.dtype)),
      spec.observations)
  state = network.initial_state(rows)
  is_first = tf.zeros([rows], tf.bool)
  seed = tf.constant([1, 2], tf.int64)
  results = {}
  for label, jit_compile in (('graph', False), ('xla', True)):
    policy = acting.make_policy(network, jit_compile)
    policy(observations, state, is_first, seed)  # Traces (and compiles).
    started = time.time()
    for _ in range(calls):
      actions, _, _ = policy(observations, state, is_first, seed)
      actions.numpy()
    results[f'{label}_calls_per_s'] = calls / (time.time() - started)
  results['xla_over_graph'] = results['xla_calls_per_s'] / results['graph_calls_per_s']
  return results


def _measure_one(name: str) -> dict:
  """Child process: one measurement (`learner_<variant>` or `actor`)."""
  if name.startswith('learner_'):
    return learner_rates(name[len('learner_'):], FLAGS.learner_steps)
  if name == 'actor':
    return actor_rates(FLAGS.actor_calls)
  raise ValueError(f'unknown measurement {name!r}')


def _measure(name: str, onednn: bool) -> dict:
  extra = ['--quick'] if FLAGS.quick else []
  extra.append(f'--learner_steps={FLAGS.learner_steps}')
  return common.run_measurement('benchmarks.ftw_throughput', name, extra,
                                env={'TF_ENABLE_ONEDNN_OPTS': '1' if onednn else '0'})


def learner_and_actor_figures() -> dict:
  """(2) every learner variant and the actor's batched inference, each in its own process."""
  figures = {}
  print('(2) learner (batch 16 x 30 transitions), each variant in its own process', flush=True)
  for variant in FLAGS.learner_variants:
    onednn = LEARNER_VARIANTS[variant][3]
    rates = _measure(f'learner_{variant}', onednn)
    figures[f'learner_{variant}'] = rates
    if not rates:
      continue
    line = (f'  {variant:22s} {rates["steps_per_s"]:6.2f} steps/s = '
            f'{rates["transitions_per_s"]:6.0f} transitions/s')
    if 'achieved_gflops' in rates:
      line += (f'; {rates["gflop_per_step"]:.2f} GFLOP/step (TF profiler float-op count of the '
               f'updates\' graphs) = {rates["achieved_gflops"]:.1f} GFLOP/s, '
               f'{rates["fraction_of_matmul_peak"]:.0%} of this process\'s 1024x1024 float32 '
               f'matmul {rates["matmul_peak_gflops"]:.1f} GFLOP/s')
    print(line, flush=True)

  def ratio(label, numerator, denominator):
    top, bottom = (figures.get(f'learner_{k}', {}).get('steps_per_s') for k in (numerator,
                                                                                  denominator))
    if top and bottom:
      figures[label] = top / bottom
      print(f'  {label}: {top / bottom:.2f}x', flush=True)

  ratio('aux_over_aux_before', 'aux', 'aux_before')
  ratio('main_over_main_before', 'main', 'main_before')
  ratio('ready_remembered_over_before', 'aux_ready_remembered', 'aux_before')
  ratio('onednn_over_off_with_aux', 'aux_without_speedups', 'aux_ready_remembered')
  ratio('speedups_with_aux', 'aux', 'aux_without_speedups')
  ratio('learner_xla_over_graph', 'aux_xla', 'aux')
  print('  actor batched inference, 16 seats per call (graph vs XLA in one process)', flush=True)
  for onednn in (True, False):
    rates = _measure('actor', onednn)
    key = 'actor' if onednn else 'actor_onednn_off'
    figures[key] = rates
    if rates:
      print(f'  oneDNN {"on " if onednn else "off"}: graph {rates["graph_calls_per_s"]:.0f} '
            f'calls/s, XLA {rates["xla_calls_per_s"]:.0f} calls/s: XLA/graph '
            f'{rates["xla_over_graph"]:.2f}x', flush=True)
  return figures


def _serve(tables_blob, port_queue):
  """Child process: a Reverb server with the given tables; reports its port, serves forever."""
  import pickle  # pylint: disable=g-import-not-at-top
  from agents.core import servers  # pylint: disable=g-import-not-at-top
  server = servers.make_local_server(pickle.loads(tables_blob)())
  port_queue.put(server.port)
  server.wait()


def _make_queue_tables(environment_spec, extras, sequence_length):
  from agents.ftw import utils  # pylint: disable=g-import-not-at-top
  return utils.create_reverb_tables(16, 10_000, environment_spec=environment_spec,
                                    extras_spec=extras, sequence_length=sequence_length)[0]


def reverb_rates(items: int) -> Dict[str, float]:
  """Unrolls/s written by one FTW adder and read by the queue iterator, server in a process."""
  import functools  # pylint: disable=g-import-not-at-top
  import cloudpickle  # pylint: disable=g-import-not-at-top
  import dm_env  # pylint: disable=g-import-not-at-top
  import reverb  # pylint: disable=g-import-not-at-top
  from agents.core import datasets  # pylint: disable=g-import-not-at-top
  from agents.ftw import agent as agent_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import arena as arena_lib  # pylint: disable=g-import-not-at-top
  from agents.ftw import networks  # pylint: disable=g-import-not-at-top
  from agents.ftw import utils  # pylint: disable=g-import-not-at-top
  config = _config()
  env = _arena_factory()(0)
  spec = arena_lib.seat_environment_spec(env)
  policies = arena_lib.MemberPolicies(spec, config)
  extras = agent_lib.extras_spec(policies.network(0), spec.observations)
  context = multiprocessing.get_context('spawn')
  ports = context.Queue()
  blob = cloudpickle.dumps(functools.partial(_make_queue_tables, spec, extras,
                                             config.sequence_length))
  server = context.Process(target=_serve, args=(blob, ports), daemon=True)
  server.start()
  try:
    address = f'localhost:{ports.get(timeout=120)}'
    client = reverb.Client(address)
    adder, _ = utils.create_adders(client, config.sequence_length)
    core_state = tf.nest.map_structure(lambda t: t.numpy()[0],
                                       policies.network(0).initial_state(1))
    timestep = env.reset()
    observation = networks.OAR(timestep.observation[0], np.int32(0), timestep.reward[0])
    rows_per_item = config.sequence_length - 1
    extras_row = {'logits': np.zeros(8, np.float32), 'core_state': core_state}
    first = dm_env.restart(observation)
    mid = dm_env.TimeStep(dm_env.StepType.MID, timestep.reward[0], np.float32(1.0),
                          observation)
    adder.add_first(first)
    started = time.time()
    for _ in range(items * rows_per_item):
      adder.add(np.int32(1), mid, extras_row)
    adder.flush()
    insert_elapsed = time.time() - started
    inserted = utils.inserted_items(client, utils.table_names().queue)
    iterator = datasets.ReverbBatchIterator(address, utils.table_names().queue, 16)
    next(iterator)
    started = time.time()
    batches = inserted // 16 - 1
    for _ in range(batches):
      next(iterator)
    sample_elapsed = time.time() - started
    return {'reverb_inserted_unrolls_per_s': inserted / insert_elapsed,
            'reverb_insert_steps_per_s': inserted * rows_per_item / insert_elapsed,
            'reverb_sampled_unrolls_per_s': batches * 16 / sample_elapsed}
  finally:
    server.terminate()


def _node_of(process: psutil.Process, log_dir: str):
  """'group/index' of a node process, from the log file its stdout writes to."""
  try:
    target = os.readlink(f'/proc/{process.pid}/fd/1')
  except OSError:
    return None
  if target.startswith(log_dir):
    return os.path.relpath(target, log_dir)
  return None


def program_rates(num_arenas: int, seconds: int, warmup: int) -> Dict:
  """ftw_local with `num_arenas` arenas for `seconds`: env steps/s after warm-up, node memory."""
  from agents.core import launching  # pylint: disable=g-import-not-at-top
  from agents.ftw import builder as ftw_builder  # pylint: disable=g-import-not-at-top
  from agents.ftw import evaluation  # pylint: disable=g-import-not-at-top
  run_dir = tempfile.mkdtemp(prefix=f'ftw_bench_{num_arenas}_')
  program_config = config_lib.ProgramConfig(
      run_dir=run_dir, population_size=4, num_arenas=num_arenas, max_wall_s=seconds,
      with_evaluator=False)
  program = ftw_builder.make_program(_config(), _arena_factory(), 1, program_config)
  log_dir = os.path.join(run_dir, 'node_logs')
  peak: Dict[str, float] = {}
  done = threading.Event()

  def sample_memory():
    me = psutil.Process()
    while not done.wait(1.0):
      for child in me.children(recursive=True):
        node = _node_of(child, log_dir)
        if node:
          try:
            rss = child.memory_info().rss / 2**20
          except psutil.NoSuchProcess:
            continue
          peak[node] = max(peak.get(node, 0.0), rss)

  sampler = threading.Thread(target=sample_memory, daemon=True)
  sampler.start()
  launching.launch(program, 'local_mp', run_dir, console=False)
  done.set()
  sampler.join()
  history = (evaluation.read_json(os.path.join(run_dir, 'population.json')) or {}).get(
      'history', [])
  start = next((h for h in history if h['elapsed_s'] >= warmup), None)
  end = history[-1] if history else None
  rate = ((end['total_steps'] - start['total_steps']) / (end['elapsed_s'] - start['elapsed_s'])
          if start and end and end['elapsed_s'] > start['elapsed_s'] else float('nan'))
  groups: Dict[str, float] = {}
  for node, rss in peak.items():
    group = node.split('/')[0]
    groups[group] = max(groups.get(group, 0.0), rss)
  return {'env_steps_per_s': rate, 'total_env_steps': end['total_steps'] if end else 0,
          'peak_rss_mb_by_group': groups, 'peak_rss_mb_total': sum(peak.values())}


def _apply_quick():
  """--quick: smaller budgets for the flags left at their defaults."""
  quick = dict(matches_per_arena=['1', '8'], arena_steps=100, learner_steps=5, actor_calls=100,
               reverb_items=100, arena_counts=['1'], program_seconds=90, warmup_seconds=40)
  for name, value in quick.items():
    if not FLAGS[name].present:
      FLAGS[name].value = value


def main(argv):
  del argv
  if FLAGS.quick:
    _apply_quick()
  if FLAGS.measure:
    common.print_result(_measure_one(FLAGS.measure))
    return
  unknown = sorted(set(FLAGS.learner_variants) - set(LEARNER_VARIANTS))
  if unknown:
    raise app.UsageError(f'unknown --learner_variants {", ".join(unknown)}; valid: '
                         f'{", ".join(LEARNER_VARIANTS)}', exitcode=2)
  figures = {}
  print(f'FTW throughput ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the '
        'start)', flush=True)
  # The learners and actors are timed in their own processes (a learner traced after the arena
  # measurement in one process once failed its second step, TF 2.8, "Op type not registered
  # ..._scan_while_cond"; and oneDNN is chosen per process, at import).
  sections = set(FLAGS.sections)
  if 'learner' in sections:
    figures.update(learner_and_actor_figures())
  if 'arena' in sections:
    print('(1) arena with batched inference, 2 members, 1v1, 300-step matches', flush=True)
    for matches in (int(m) for m in FLAGS.matches_per_arena):
      rates = arena_rates(matches, FLAGS.arena_steps)
      figures[f'arena_{matches}_matches'] = rates
      print(f'  {matches} matches at once: {rates["env_steps_per_s"]:.0f} env steps/s, '
            f'{rates["agent_steps_per_s"]:.0f} agent steps/s', flush=True)
  if 'reverb' in sections:
    print('(3) Reverb, server in another process', flush=True)
    rates = reverb_rates(FLAGS.reverb_items)
    figures['reverb'] = rates
    print(f'  insert: {rates["reverb_inserted_unrolls_per_s"]:.0f} unrolls/s '
          f'({rates["reverb_insert_steps_per_s"]:.0f} steps/s); sample: '
          f'{rates["reverb_sampled_unrolls_per_s"]:.0f} unrolls/s', flush=True)
  if 'program' in sections:
    print(f'(4) ftw_local program, population 4, {FLAGS.program_seconds} s per run', flush=True)
    for arenas in (int(a) for a in FLAGS.arena_counts):
      result = program_rates(arenas, FLAGS.program_seconds, FLAGS.warmup_seconds)
      figures[f'program_{arenas}_arenas'] = result
      memory = ', '.join(f'{k} {v:.0f}'
                         for k, v in sorted(result['peak_rss_mb_by_group'].items()))
      print(f'  {arenas} arenas: {result["env_steps_per_s"]:.0f} env steps/s after warm-up '
            f'({result["total_env_steps"]} steps in all); peak MB per node: {memory}; '
            f'all nodes {result["peak_rss_mb_total"]:.0f} MB', flush=True)
  print(f'load average at the end: {os.getloadavg()[0]:.1f}', flush=True)
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      json.dump(figures, f, indent=2)


if __name__ == '__main__':
  loopback.reexec_with_shim()  # In-process Reverb servers then listen on loopback only.
  app.run(main)
