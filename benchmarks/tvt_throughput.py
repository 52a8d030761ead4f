r"""Throughput and memory of the TVT stack, every figure measured in this one run.

  python -m benchmarks.tvt_throughput                      # about 30 minutes on 2 busy cores
  python -m benchmarks.tvt_throughput --quick              # smaller budgets, a few minutes

  python -m benchmarks.tvt_throughput --quick --only=environments,a2c   # a subset

Prints: raw pycolab steps/s of each task (one environment and 16 in lockstep) next to the
vectorised tasks' steps/s for 16 environments (environments/pycolab/vectorised.py, what the
actors step by default) and their ratios; RMA actor steps/s (16 environments, one batched
network call per step); learner updates/s on a batch of 16 whole episodes, with its episodes/s
and environment steps/s and the learner's peak memory, with oneDNN on and off; the batched A2C
end to end (episodes/s, environment steps/s) on the shared core's SingleProcessAgent, through
its in-process EpisodeQueue option (with vectorised and with pycolab environments) and through
Reverb; and the distributed mode with 1, 2 and 4 actor processes (learner episodes/s in steady
state). Every measurement but the ones marked [pycolab] steps the vectorised environments.
Each measurement runs in its own process (oneDNN is read at TensorFlow's import; peak memory
is per process). Figures depend on the machine's load at the moment: compare ratios within one
run, and read the last line for what the published budget would take at these rates.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Optional

from absl import app
from absl import flags
import numpy as np
# TensorFlow is imported before absl.app.run starts: imported inside `main` (as the measurements
# once did), TF 2.8's first learner update failed with "Op type not registered
# 'rma_while_cond_..._rewritten'" or a bad graph context; imported first, as in launch.tvt, it
# does not. TF_ENABLE_ONEDNN_OPTS still applies: each measurement is its own process.
import tensorflow as tf

from agents.core import loopback  # pylint: disable=g-bad-import-order
from benchmarks import common  # pylint: disable=g-bad-import-order

FLAGS = flags.FLAGS
# The code before the throughput work (issue 13): TVT's configuration "today" for its ratio.
BASELINE_REV = '09e2e62'
flags.DEFINE_string('measure', None, 'Internal: run one measurement and print its JSON.')
flags.DEFINE_boolean('quick', False, 'Smaller budgets (noisier figures).')
flags.DEFINE_list('actor_counts', ['1', '2', '4'], 'Actor processes of the distributed runs.')
flags.DEFINE_string('output', None, 'Optional JSON file for the figures.')
flags.DEFINE_list('only', None, 'Run only these groups of measurements: environments, actor, '
                  'learner, a2c, distributed (default: all).')
flags.DEFINE_string('baseline_rev', BASELINE_REV, 'Git revision whose batched A2C (pycolab '
                    'environments, no XLA) is measured in this run as the baseline of the '
                    'speed-up; empty: not measured.')
flags.DEFINE_integer('baseline_rounds', 3, 'Interleaved pairs of A2C measurements (now, '
                     'baseline) whose median ratio is printed.')

BATCH = 16
EPISODE_STEPS = 120
PUBLISHED_EPISODES = 2_000_000  # Where most TVT key_to_door replicas had reached 10 (spec 5.2).


def _rss_mb() -> float:
  """Peak resident memory of this process so far, in MB (Linux reports kB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_environments(quick: bool) -> dict:
  import environments  # pylint: disable=g-import-not-at-top
  from agents.core import distributed  # pylint: disable=g-import-not-at-top
  from environments.pycolab import vectorised  # pylint: disable=g-import-not-at-top
  steps = 5_000 if quick else 20_000
  result = {}
  for game in ('key_to_door', 'active_visual_match'):
    env = environments.make(game, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=steps)
    start = time.time()
    for action in actions:
      env.step(action)
    result[f'{game} steps/s (1 env)'] = steps / (time.time() - start)
    batch = distributed.make_batched_environment(environments.make_factory(game), BATCH, 0)
    batch.reset()
    start = time.time()
    for i in range(steps // BATCH):
      batch.step(actions[i * BATCH:(i + 1) * BATCH])
    lockstep = (steps // BATCH) * BATCH / (time.time() - start)
    result[f'{game} steps/s (16 envs, lockstep)'] = lockstep
    # The vectorised batch: 20 times the steps, for a measurable time.
    batch = distributed.make_batched_environment(vectorised.make_factory(game), BATCH, 0)
    batch.reset()
    batch_actions = np.random.default_rng(0).integers(0, 4, size=(20 * steps // BATCH, BATCH))
    start = time.time()
    for batch_action in batch_actions:
      batch.step(batch_action)
    fast = batch_actions.size / (time.time() - start)
    result[f'{game} steps/s (16 envs, vectorised)'] = fast
    result[f'{game} vectorised 16 / pycolab 1 env (x)'] = fast / result[f'{game} steps/s (1 env)']
    result[f'{game} vectorised 16 / pycolab 16 lockstep (x)'] = fast / lockstep
  return result


def _tvt_parts(env_backend: str = 'vectorised'):
  from acme import specs  # pylint: disable=g-import-not-at-top
  from agents.core import distributed  # pylint: disable=g-import-not-at-top
  from agents.tvt import builder as builder_lib  # pylint: disable=g-import-not-at-top
  from agents.tvt import config as config_lib  # pylint: disable=g-import-not-at-top
  from agents.tvt import experiment  # pylint: disable=g-import-not-at-top
  factory = experiment.make_factory('key_to_door', {}, env_backend)
  environment = distributed.make_batched_environment(factory, BATCH, 0)
  spec = specs.make_environment_spec(environment.environments[0])
  builder = builder_lib.TVTBuilder(config_lib.TVTConfig(batch_size=BATCH))
  return factory, environment, spec, builder


def measure_actor(quick: bool) -> dict:
  from agents.core import environment_loop  # pylint: disable=g-import-not-at-top
  _, environment, spec, builder = _tvt_parts()
  figures = {}
  for jit_compile in (False, True):
    builder = _with_jit(builder, jit_compile)
    actor = builder.make_actor(builder.make_networks(spec), None, None, seed=0)
    loop = environment_loop.BatchedEnvironmentLoop(environment, actor)
    loop.run(num_episodes=BATCH)  # Traces the policy.
    batches = 2 if quick else 6
    start = time.time()
    loop.run(num_episodes=batches * BATCH)
    name = 'RMA actor steps/s (16 envs, batched inference)' + (' [XLA]' if jit_compile else '')
    figures[name] = batches * BATCH * EPISODE_STEPS / (time.time() - start)
  return figures


def _with_jit(builder, jit_compile: bool):
  """The same builder with its agent config's `jit_compile` set."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from agents.tvt import builder as builder_lib  # pylint: disable=g-import-not-at-top
  return builder_lib.TVTBuilder(dataclasses.replace(builder.config, jit_compile=jit_compile))


def _update_float_ops(networks, image_shape, batch_size: int, steps: int) -> int:
  """Float operations of one learner update, about 3x its forward pass (the backward pass costs
  about twice the forward): T steps of the network and its decoders, each counted by TF's
  profiler on one step's graph (a loop's body would be counted once)."""
  from agents.tvt import networks as networks_lib  # pylint: disable=g-import-not-at-top
  inputs = networks_lib.RMAInputs(
      tf.TensorSpec((batch_size,) + tuple(image_shape), tf.uint8), tf.TensorSpec((batch_size,), tf.int32),
      tf.TensorSpec((batch_size,), tf.float32))
  state = tf.nest.map_structure(lambda x: tf.TensorSpec(x.shape, x.dtype),
                                networks.initial_state(batch_size))
  step = tf.function(networks.step).get_concrete_function(inputs, state)
  forward = common.graph_float_ops(step)
  if networks.decoders is not None:
    latent = step.structured_outputs[0].core.latent
    decode = tf.function(networks.decoders).get_concrete_function(
        tf.TensorSpec(latent.shape, latent.dtype))
    forward += common.graph_float_ops(decode)
  return 3 * forward * steps


def measure_learner(quick: bool) -> dict:
  from agents.core import environment_loop  # pylint: disable=g-import-not-at-top
  from agents.tvt import agent as agent_lib  # pylint: disable=g-import-not-at-top
  from agents.tvt import learning  # pylint: disable=g-import-not-at-top
  _, environment, spec, builder = _tvt_parts()
  networks = builder.make_networks(spec)
  queue = agent_lib.make_episode_queue(builder)(spec)
  actor = builder.make_actor(networks, None, queue.make_batched_adder(BATCH), 0)
  environment_loop.BatchedEnvironmentLoop(environment, actor).run(num_episodes=BATCH)
  sample = queue.pop_batch(BATCH)
  updates = 3 if quick else 10
  figures = {}
  for jit_compile in (False, True):
    config = _with_jit(builder, jit_compile).config
    learner = learning.TVTLearner(networks, iter([sample] * (updates + 1)), config)
    before = _rss_mb()
    learner.step()  # Traces (and with XLA compiles) the update.
    start = time.time()
    for _ in range(updates):
      learner.step()
    rate = updates / (time.time() - start)
    if jit_compile:
      figures['learner updates/s [XLA]'] = rate
      continue
    figures.update({'learner updates/s': rate, 'learner episodes/s': rate * BATCH,
                    'learner env steps/s': rate * BATCH * EPISODE_STEPS,
                    'learner peak memory MB (process)': _rss_mb(),
                    'learner memory growth MB (first update)': _rss_mb() - before})
  fraction = common.learner_fraction(_update_float_ops(networks, spec.observations.shape,
                                                       BATCH, EPISODE_STEPS),
                                     figures['learner updates/s'], common.matmul_gflops())
  figures.update({f'learner {key}': value for key, value in fraction.items()})
  return figures


def measure_a2c(quick: bool, path: str, env_backend: str = 'vectorised') -> dict:
  from agents.core import environment_loop  # pylint: disable=g-import-not-at-top
  from agents.core import local  # pylint: disable=g-import-not-at-top
  from agents.tvt import agent as agent_lib  # pylint: disable=g-import-not-at-top
  _, environment, spec, builder = _tvt_parts(env_backend)
  if path == 'episode_queue':
    agent = agent_lib.TVT(spec, builder=builder)  # SingleProcessAgent with its EpisodeQueue.
  else:
    agent = local.SingleProcessAgent(builder, spec, BATCH)
  loop = environment_loop.BatchedEnvironmentLoop(environment, agent)
  loop.run(num_episodes=BATCH)  # Traces actor and learner.
  iterations = 2 if quick else 6
  start = time.time()
  loop.run(num_episodes=iterations * BATCH)
  elapsed = time.time() - start
  name = 'EpisodeQueue' if path == 'episode_queue' else 'Reverb'
  if env_backend != 'vectorised':
    name += f' [{env_backend}]'
  return {f'batched A2C via {name} episodes/s': iterations * BATCH / elapsed,
          f'batched A2C via {name} env steps/s': iterations * BATCH * EPISODE_STEPS / elapsed}


def measure_distributed(quick: bool, num_actors: int) -> dict:
  from agents.core import distributed  # pylint: disable=g-import-not-at-top
  from agents.core import launching  # pylint: disable=g-import-not-at-top
  from agents.tvt import builder as builder_lib  # pylint: disable=g-import-not-at-top
  from agents.tvt import config as config_lib  # pylint: disable=g-import-not-at-top
  from agents.tvt import experiment  # pylint: disable=g-import-not-at-top
  from agents.tvt import summaries  # pylint: disable=g-import-not-at-top
  episodes = BATCH * (4 if quick else 10)
  with tempfile.TemporaryDirectory() as run_dir:
    config = config_lib.TVTConfig(batch_size=BATCH, max_queue_size=2 * BATCH)
    program = distributed.make_program(
        builder_lib.TVTBuilder(config, run_dir), experiment.make_factory('key_to_door', {}),
        distributed.DistributedConfig(run_dir=run_dir, num_actors=num_actors,
                                      envs_per_actor=4, max_actor_steps=episodes * 120,
                                      with_evaluator=False),
        name='tvt_benchmark')
    launching.launch(program, 'local_mp', run_dir, console=False,
                     extra_env={'TF_ENABLE_ONEDNN_OPTS': os.environ['TF_ENABLE_ONEDNN_OPTS']})
    records = summaries.read_json_lines(os.path.join(run_dir, summaries.PROGRESS_FILE))
    cpu = launching.cpu_reports(run_dir)[-1]
  print(f'CPU with {num_actors} actors: ' + launching.format_cpu_report(cpu), file=sys.stderr,
        flush=True)
  shares = {f'distributed {num_actors} actors CPU share {category}': seconds / cpu['total_s']
            for category, seconds in cpu['categories'].items()}
  steady = records[1:]  # The first update includes tracing.
  if len(steady) < 2:
    return dict(shares, **{f'distributed {num_actors} actors learner episodes/s': float('nan')})
  elapsed = steady[-1]['time'] - steady[0]['time']
  rate = (steady[-1]['episodes'] - steady[0]['episodes']) / elapsed
  return dict(shares, **{f'distributed {num_actors} actors learner episodes/s': rate,
                         f'distributed {num_actors} actors learner env steps/s':
                             rate * EPISODE_STEPS})


def _run_measurement(name: str, onednn: bool = True, cwd: Optional[str] = None,
                     verbose: bool = True) -> dict:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_ENABLE_ONEDNN_OPTS='1' if onednn else '0',
             TF_NUM_INTRAOP_THREADS='1', TF_NUM_INTEROP_THREADS='1')
  command = [sys.executable, '-m', 'benchmarks.tvt_throughput', f'--measure={name}']
  if FLAGS.quick:
    command.append('--quick')
  result = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                          cwd=cwd)
  lines = [l for l in result.stdout.splitlines() if l.startswith('RESULT ')]
  if result.returncode or not lines:
    print(f'{name}: failed ({result.stderr.strip().splitlines()[-1:]})', flush=True)
    return {}
  figures = json.loads(lines[-1][len('RESULT '):])
  if not onednn:
    figures = {f'{k} [oneDNN off]': v for k, v in figures.items()}
  for key, value in figures.items():
    if verbose:
      print(f'  {key:62s} {value:12.1f}', flush=True)
  return figures


def compare_with_baseline(revision: str, rounds: int) -> dict:
  """The batched A2C now (vectorised tasks) against that of `revision` (a checkout in a temporary
  git worktree, measured by that revision's own benchmark: it stepped pycolab), in `rounds`
  interleaved pairs of measurements, so that the machine's load drifts over both alike."""
  repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  key = 'batched A2C via EpisodeQueue episodes/s'
  with tempfile.TemporaryDirectory() as parent:
    checkout = os.path.join(parent, 'baseline')
    added = subprocess.run(['git', '-C', repository, 'worktree', 'add', '--detach', checkout,
                            revision], capture_output=True, text=True, check=False)
    if added.returncode:
      print(f'baseline {revision}: not measured ({added.stderr.strip().splitlines()[-1:]})',
            flush=True)
      return {}
    ratios = []
    try:
      for _ in range(rounds):
        now = _run_measurement('a2c_episode_queue', verbose=False).get(key)
        then = _run_measurement('a2c_episode_queue', cwd=checkout, verbose=False).get(key)
        if now and then:
          ratios.append(now / then)
          print(f'  round {len(ratios)}: {now:.2f} episodes/s now, {then:.2f} at {revision}: '
                f'{now / then:.2f}x', flush=True)
    finally:
      subprocess.run(['git', '-C', repository, 'worktree', 'remove', '--force', checkout],
                     capture_output=True, check=False)
  if not ratios:
    return {}
  return {f'batched A2C now / {revision} (median of {len(ratios)} rounds)':
              float(np.median(ratios))}


def _measure_one(name: str):
  quick = FLAGS.quick
  if name == 'environments':
    return measure_environments(quick)
  if name == 'actor':
    return measure_actor(quick)
  if name == 'learner':
    return measure_learner(quick)
  if name.startswith('a2c_'):
    path, _, backend = name[len('a2c_'):].partition(':')
    return measure_a2c(quick, path, backend or 'vectorised')
  if name.startswith('distributed_'):
    return measure_distributed(quick, int(name[len('distributed_'):]))
  raise ValueError(f'unknown measurement {name!r}')


def main(argv):
  del argv
  if FLAGS.measure:
    print('RESULT ' + json.dumps(_measure_one(FLAGS.measure)), flush=True)
    return
  figures = {}
  print(f'TVT throughput on key_to_door ({os.cpu_count()} cores, load average '
        f'{os.getloadavg()[0]:.1f} at the start)', flush=True)
  measurements = [('environments', True), ('actor', True), ('learner', True),
                  ('learner', False), ('a2c_episode_queue', True),
                  ('a2c_episode_queue:pycolab', True), ('a2c_reverb', True)]
  measurements += [(f'distributed_{int(count)}', True) for count in FLAGS.actor_counts]
  groups = FLAGS.only or ['environments', 'actor', 'learner', 'a2c', 'distributed']
  for name, onednn in measurements:
    if name.split('_')[0] in groups:
      figures.update(_run_measurement(name, onednn))
  if 'a2c' in groups and FLAGS.baseline_rev:
    print(f'  batched A2C now against revision {FLAGS.baseline_rev} (before the throughput '
          'work: pycolab, no XLA), in interleaved rounds', flush=True)
    figures.update(compare_with_baseline(FLAGS.baseline_rev, FLAGS.baseline_rounds))
  a2c = figures.get('batched A2C via EpisodeQueue episodes/s')
  a2c_pycolab = figures.get('batched A2C via EpisodeQueue [pycolab] episodes/s')
  reverb_path = figures.get('batched A2C via Reverb episodes/s')
  on, off = figures.get('learner updates/s'), figures.get('learner updates/s [oneDNN off]')
  if a2c and a2c_pycolab:
    print(f'batched A2C with vectorised / pycolab environments: {a2c / a2c_pycolab:.2f}x',
          flush=True)
  for key, value in figures.items():
    if key.startswith('batched A2C now /'):
      print(f'{key}: {value:.2f}x', flush=True)
  if a2c and reverb_path:
    print(f'EpisodeQueue / Reverb single-process speed: {a2c / reverb_path:.2f}x', flush=True)
  if on and off:
    print(f'learner with / without oneDNN: {on / off:.2f}x', flush=True)
  xla = figures.get('learner updates/s [XLA]')
  if on and xla:
    print(f'learner with / without XLA: {xla / on:.2f}x', flush=True)
  actor = figures.get('RMA actor steps/s (16 envs, batched inference)')
  actor_xla = figures.get('RMA actor steps/s (16 envs, batched inference) [XLA]')
  if actor and actor_xla:
    print(f'actor with / without XLA: {actor_xla / actor:.2f}x', flush=True)
  if figures.get('learner fraction_of_matmul_peak'):
    print(f'learner: {figures["learner gflop_per_step"]:.2f} GFLOP per update (3x the forward '
          f'pass, TF profiler counts) = {figures["learner achieved_gflops"]:.1f} GFLOP/s, '
          f'{figures["learner fraction_of_matmul_peak"]:.0%} of this machine\'s 1024x1024 '
          f'float32 matmul ({figures["learner matmul_peak_gflops"]:.0f} GFLOP/s, one thread)',
          flush=True)
  if a2c:
    hours = PUBLISHED_EPISODES / a2c / 3600
    print(f'at {a2c:.2f} episodes/s, the batched A2C needs {hours:.0f} hours for '
          f'{PUBLISHED_EPISODES:,} episodes ({PUBLISHED_EPISODES * EPISODE_STEPS:,} env steps) '
          'per run', flush=True)
  print(f'load average at the end: {os.getloadavg()[0]:.1f}', flush=True)
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      json.dump(figures, f, indent=2)


if __name__ == '__main__':
  loopback.reexec_with_shim()  # In-process Reverb servers then listen on loopback only.
  app.run(main)
