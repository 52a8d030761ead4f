r"""Throughput of the meta-RL stack, with Acme's own TF IMPALA as the anchor, in one run.

  python -m benchmarks.meta_rl_throughput            # about 5 minutes on 2 cores
  python -m benchmarks.meta_rl_throughput --quick    # smaller budgets, one distributed run

Prints: raw bandit steps/s (one environment, and a batch of 16); single-process agent steps/s;
learner updates/s on a full queue, in graph mode and with XLA (jit_compile), with the learner's
GFLOP/s as a fraction of a dense matmul's in the same process; the actor's batched policy
calls/s in graph mode and with XLA; distributed end-to-end environment steps/s with 1, 2 and 4
actor processes (steady state, read from the program's counter); Acme 0.4.0's single-process
TF IMPALA agent in `EnvironmentLoop` on the same environment and network; and the ratio of the
distributed 2-actor figure to Acme's. Figures are from this machine at this moment: compare
ratios within one run, not across runs.
"""

import json
import os
import tempfile
import threading
import time

from absl import app
from absl import flags
import acme
from acme import specs
from acme.agents.tf import impala
import numpy as np
import reverb
import tensorflow as tf
import tree

import environments
from agents.core import distributed
from agents.core import environment_loop
from agents.core import launching
from agents.core import loopback
from agents.core import servers
from agents.meta_rl import acting
from agents.meta_rl import agent as agent_lib
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib
from agents.meta_rl import networks
from benchmarks import common

FLAGS = flags.FLAGS
flags.DEFINE_string('env_id', 'BanditTwoArmedIndependentUniform-v0', 'Bandit to run on.')
flags.DEFINE_integer('envs_per_actor', 16, 'Environments per actor (batched inference).')
flags.DEFINE_integer('distributed_steps', 200_000, 'Budget of each distributed run.')
flags.DEFINE_list('actor_counts', ['1', '2', '4'], 'Actor counts of the distributed runs.')
flags.DEFINE_integer('acme_steps', 20_000, 'Steps of the Acme IMPALA anchor.')
flags.DEFINE_boolean('quick', False, 'Smaller budgets, one distributed run (noisier figures).')
flags.DEFINE_integer('xla_timeout_s', 600, 'Limit of the XLA learner measurement (its compile '
                     'of the 100-step unroll took minutes).')
flags.DEFINE_string('measure', None, 'Internal: run one measurement here and print its JSON.')
flags.DEFINE_string('output', None, 'Optional JSON file for the figures.')

CONFIG = config_lib.MetaRLConfig()  # The defaults the project trains with.


def raw_environment_steps_per_second(env_id: str, batch: int, steps: int = 50_000) -> float:
  env = distributed.make_batched_environment(environments.make_factory(env_id), batch, 0)
  env.reset()
  actions = np.zeros(batch, np.int32)
  start = time.time()
  for _ in range(steps // batch):
    env.step(actions)
  return (steps // batch) * batch / (time.time() - start)


def single_process_steps_per_second(env_id: str, steps: int = 60_000) -> float:
  spec = specs.make_environment_spec(environments.make(env_id))
  agent = agent_lib.MetaRL(spec, CONFIG, num_envs=FLAGS.envs_per_actor)
  env = distributed.make_batched_environment(environments.make_factory(env_id),
                                             FLAGS.envs_per_actor, 0)
  loop = environment_loop.BatchedEnvironmentLoop(env, agent)
  loop.run(num_steps=5_000)  # Traces the tf.functions.
  result = loop.run(num_steps=steps)
  agent.close()
  return result['steps_per_second']


def learner_updates_per_second(env_id: str, updates: int = 300, jit_compile: bool = False,
                               count_flops: bool = False):
  """Learner steps on a pre-filled in-process queue (no actor competing); with `count_flops`,
  (rate, float operations of one update from TF's profiler on the update's graph)."""
  spec = specs.make_environment_spec(environments.make(env_id))
  items_per_episode = CONFIG.num_trials // CONFIG.unroll_length
  # Whole batches of episodes (the loop finishes every episode it started), enough for all
  # updates plus a few tracing ones, and a queue that holds all of them (a full one blocks).
  batches = -(-CONFIG.batch_size * (updates + 10) // (items_per_episode * FLAGS.envs_per_actor))
  episodes = batches * FLAGS.envs_per_actor
  builder = builder_lib.MetaRLBuilder(
      config_lib.MetaRLConfig(unroll_length=CONFIG.unroll_length, batch_size=CONFIG.batch_size,
                              max_queue_size=episodes * items_per_episode,
                              jit_compile=jit_compile))
  tables = builder.make_replay_tables(spec)
  server = servers.make_local_server(tables)
  client = reverb.Client(f'localhost:{server.port}')
  network = builder.make_networks(spec)
  actor = builder.make_actor(network, None, [builder.make_adder(client)
                                             for _ in range(FLAGS.envs_per_actor)], seed=0)
  env = distributed.make_batched_environment(environments.make_factory(env_id),
                                             FLAGS.envs_per_actor, 0)
  environment_loop.BatchedEnvironmentLoop(env, actor).run(num_episodes=episodes)
  learner = builder.make_learner(network, builder.make_dataset_iterator(client))
  for _ in range(5):
    learner.step()  # Traces.
  start = time.time()
  for _ in range(updates):
    learner.step()
  rate = updates / (time.time() - start)
  float_ops = None
  if count_flops:
    data = next(learner._dataset).data  # pylint: disable=protected-access
    core_state = tree.unflatten_as(network.initial_state(1),
                                   [s[:, 0] for s in tree.flatten(data.extras['core_state'])])
    update = learner._update  # pylint: disable=protected-access
    float_ops = common.graph_float_ops(update.get_concrete_function(
        data.observation, data.action, data.reward, data.discount, data.extras['logits'],
        core_state, tf.constant(0.0)))
  server.stop()
  return (rate, float_ops) if count_flops else rate


def actor_calls_per_second(env_id: str, jit_compile: bool, calls: int = 2_000) -> float:
  """Batched policy calls/s (envs_per_actor bandits per call) of the meta-RL actor's step."""
  env = distributed.make_batched_environment(environments.make_factory(env_id),
                                             FLAGS.envs_per_actor, 0)
  timestep = env.reset()
  network = networks.make_network(CONFIG, specs.make_environment_spec(env))
  policy = acting.make_policy(network, jit_compile=jit_compile)
  state = network.initial_state(FLAGS.envs_per_actor)
  is_first = tf.zeros([FLAGS.envs_per_actor], tf.bool)
  seed = tf.constant([1, 2], tf.int64)
  observations = tf.nest.map_structure(tf.convert_to_tensor, timestep.observation)
  policy(observations, state, is_first, seed)  # Traces (and compiles).
  start = time.time()
  for _ in range(calls):
    actions, _, _ = policy(observations, state, is_first, seed)
    actions.numpy()
  return calls / (time.time() - start)


def distributed_steps_per_second(env_id: str, num_actors: int, steps: int):
  """Steady-state environment steps/s and learner updates/s of the real local_mp program."""
  run_dir = tempfile.mkdtemp(prefix=f'bench_{num_actors}_actors_')
  program_config = distributed.DistributedConfig(
      run_dir=run_dir, num_actors=num_actors, envs_per_actor=FLAGS.envs_per_actor,
      max_actor_steps=steps, with_evaluator=False, log_period_s=30.0)
  program = distributed.make_program(builder_lib.MetaRLBuilder(CONFIG),
                                     environments.make_factory(env_id), program_config)
  counter_handle = program.groups['counter'][0].create_handle()
  counter_handle.set_client_kwargs(call_timeout=5.0)  # Without one, a call hangs after the stop.
  samples = []
  done = threading.Event()

  def poll():
    client = None
    while not done.wait(0.5):
      try:
        client = client or counter_handle.dereference()
        counts = client.get_counts()
        samples.append((time.time(), counts.get('actor_steps', 0),
                        counts.get('learner_steps', 0)))
      except Exception:  # pylint: disable=broad-except
        pass  # Not up yet, or already stopped.

  poller = threading.Thread(target=poll, daemon=True)
  poller.start()
  launching.launch(program, 'local_mp', run_dir, console=False)
  done.set()
  poller.join()
  samples = np.array(samples)
  # Steady state: between 20% and 95% of the budget (start-up and shutdown excluded).
  window = samples[(samples[:, 1] >= 0.2 * steps) & (samples[:, 1] <= 0.95 * steps)]
  if len(window) < 2:
    window = samples[samples[:, 1] > 0]
  elapsed = window[-1, 0] - window[0, 0]
  return ((window[-1, 1] - window[0, 1]) / elapsed, (window[-1, 2] - window[0, 2]) / elapsed)


def acme_impala_steps_per_second(env_id: str, steps: int) -> float:
  """Acme 0.4.0's single-process TF IMPALA on the same environment and network."""
  env = environments.make(env_id, seed=0)
  spec = specs.make_environment_spec(env)
  network = networks.make_network(CONFIG, spec)
  agent = impala.IMPALA(environment_spec=spec, network=network,
                        sequence_length=CONFIG.unroll_length + 1,
                        sequence_period=CONFIG.unroll_length, batch_size=CONFIG.batch_size,
                        learning_rate=CONFIG.learning_rate, discount=CONFIG.discount,
                        max_queue_size=10_000)
  loop = acme.EnvironmentLoop(env, agent, logger=acme.utils.loggers.NoOpLogger())
  loop.run(num_steps=2_000)  # Traces.
  start = time.time()
  loop.run(num_steps=steps)
  return steps / (time.time() - start)


def main(argv):
  del argv
  os.environ.setdefault('HOME', tempfile.mkdtemp())  # Acme's IMPALA snapshots under ~/acme.
  if FLAGS.quick:
    for name, value in dict(distributed_steps=50_000, actor_counts=['2'],
                            acme_steps=5_000).items():
      if not FLAGS[name].present:
        FLAGS[name].value = value
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  env_id = environments.canonical_id(FLAGS.env_id)
  if FLAGS.measure == 'learner_xla':
    common.print_result({'learner_updates_per_s': learner_updates_per_second(
        env_id, 60 if FLAGS.quick else 300, jit_compile=True)})
    return
  figures = {}
  figures['raw_env_steps_per_s'] = raw_environment_steps_per_second(env_id, 1)
  figures['raw_batched16_env_steps_per_s'] = raw_environment_steps_per_second(env_id, 16)
  figures['single_process_agent_steps_per_s'] = single_process_steps_per_second(
      env_id, 20_000 if FLAGS.quick else 60_000)
  updates = 60 if FLAGS.quick else 300
  figures['learner_updates_per_s'], float_ops = learner_updates_per_second(
      env_id, updates, count_flops=True)
  # XLA in its own process, stopped after --xla_timeout_s (an XLA compile cannot be interrupted).
  xla = common.run_measurement('benchmarks.meta_rl_throughput', 'learner_xla',
                               ['--quick'] if FLAGS.quick else [], timeout_s=FLAGS.xla_timeout_s)
  if 'learner_updates_per_s' in xla:
    figures['learner_xla_updates_per_s'] = xla['learner_updates_per_s']
    figures['learner_xla_over_graph'] = (figures['learner_xla_updates_per_s'] /
                                         figures['learner_updates_per_s'])
  elif 'timed_out_s' in xla:
    figures['learner_xla_not_done_after_s'] = xla['timed_out_s']
  calls = 500 if FLAGS.quick else 2_000
  figures['actor_calls_per_s'] = actor_calls_per_second(env_id, False, calls)
  figures['actor_xla_calls_per_s'] = actor_calls_per_second(env_id, True, calls)
  figures['actor_xla_over_graph'] = figures['actor_xla_calls_per_s'] / figures['actor_calls_per_s']
  fraction = common.learner_fraction(float_ops, figures['learner_updates_per_s'],
                                     common.matmul_gflops())
  figures.update({f'learner_{k}': v for k, v in fraction.items()})
  for count in [int(c) for c in FLAGS.actor_counts]:
    steps_per_s, updates_per_s = distributed_steps_per_second(env_id, count,
                                                              FLAGS.distributed_steps)
    figures[f'distributed_{count}_actors_env_steps_per_s'] = steps_per_s
    figures[f'distributed_{count}_actors_learner_updates_per_s'] = updates_per_s
  figures['acme_impala_single_process_steps_per_s'] = acme_impala_steps_per_second(
      env_id, FLAGS.acme_steps)
  if 'distributed_2_actors_env_steps_per_s' in figures:
    figures['ratio_distributed_2_actors_over_acme_impala'] = (
        figures['distributed_2_actors_env_steps_per_s'] /
        figures['acme_impala_single_process_steps_per_s'])
  print(f'\nmeta-RL throughput on {env_id} ({os.cpu_count()} cores, '
        f'{FLAGS.envs_per_actor} envs per actor, unroll {CONFIG.unroll_length}, '
        f'batch {CONFIG.batch_size}):')
  for name, value in figures.items():
    print(f'  {name:52s} {value:12.{3 if abs(value) < 10 else 1}f}')
  print('  (learner FLOPs: TF profiler float-op count of the update\'s graph; matmul peak: '
        'float32 1024x1024 tf.matmul in graph mode, same process and threads)')
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      json.dump(figures, f, indent=2)


if __name__ == '__main__':
  loopback.reexec_with_shim()  # In-process Reverb servers then listen on loopback only.
  app.run(main, flags_parser=launching.parse_flags)
