r"""Throughput of the model-based suite: environments, agent updates, vmapped vs one after another.

  python -m benchmarks.model_based_throughput              # about 30 minutes on 2 idle cores
  python -m benchmarks.model_based_throughput --agents ER,simple_model --output figures.json
  python -m benchmarks.model_based_throughput --env_steps 500 --python_steps 300 \
      --collect_steps 100 --passes 1                       # reduced: fewer steps, one pass
  python -m benchmarks.model_based_throughput --environments ProcMaze --agents=   # ~2 minutes

Prints, for each environment (ProcMaze 4x4, ButtonGrid 10x10, PanFlute 5, OpenGrid 10),
environment steps/s (all seeds together, random actions, reset on terminal):
a single seed stepped by a Python loop over the jitted step (how a dm_env user steps it), and a
jitted lax.scan of steps vmapped over 1, 8 and 30 seeds, resetting as the training loop does
(ProcMaze from its reset pool, environments.jax_envs.reset_pool); then the same scan for one
seed, not vmapped (its reset a lax.cond branch, so a maze is generated only when an episode
ends), run for 30 seeds one after another; the ratio (30 at once) / (30 one after another).
For ProcMaze also the 30 vmapped seeds resetting without the pool (the cond a select: a maze
generated at every step of every seed, as the release's loop did) and that ratio. For each
agent on its tuned ProcMaze config (the paper's networks, 320 transitions per Q update),
Q updates/s for 1 seed,
30 seeds vmapped and 30 seeds one after another, and that ratio; and the same for the training
loop's acting-and-storing steps (before training starts); the learner's GFLOP per update (XLA's
cost analysis) and GFLOP/s with 30 seeds vmapped, as a fraction of a jitted dense matmul's
GFLOP/s measured in the same run. Compilation is excluded (every
function runs once before it is timed). All figures are from one run on this machine: compare
ratios within a run, not across runs.
"""

import json
import os
import time
from typing import Dict

from absl import app
from absl import flags
import jax
from jax import numpy as jnp

from agents.model_based import config as config_lib
from agents.model_based import experiment
from agents.model_based import tuned
from benchmarks import model_based_timing as timing
from environments import jax_envs
from environments.jax_envs import reset_pool

FLAGS = flags.FLAGS
ENVIRONMENTS = {'ProcMaze': {'grid_size': 4}, 'ButtonGrid': {'grid_size': 10},
                'PanFlute': {'num_pipes': 5}, 'OpenGrid': {'grid_size': 10}}
flags.DEFINE_list('environments', list(ENVIRONMENTS), 'Environments whose steps are timed.')
flags.DEFINE_list('agents', list(tuned.AGENTS), 'Agents whose updates are timed.')
flags.DEFINE_integer('env_steps', 2000, 'Environment steps per seed in each vmapped scan.')
flags.DEFINE_integer('env_calls', 40, 'Scans per timed block (the fastest block counts): long '
                     'enough that the vmapped seeds\' block holds a refill of their reset pools '
                     '(every ~35 scans with random actions), as a long run does.')
flags.DEFINE_integer('python_steps', 1000, 'Steps of the single-seed Python loop.')
flags.DEFINE_integer('collect_steps', 200, 'Acting-and-storing steps per seed per timing.')
flags.DEFINE_integer('passes', 3, 'Alternating rounds of (30 at once, 30 one after another); '
                     'the fastest call of each counts.')
flags.DEFINE_string('output', None, 'Optional JSON file for the figures.')

SEED_COUNTS = (1, 8, 30)
MANY = timing.MANY
# Q updates per seed per timed call: the latent models are ~10x slower per update than ER.
UPDATES = {'ER': 40, 'perfect_model': 30, 'simple_model': 12, 'categorical_latent_model': 4,
           'gaussian_latent_model': 8}


def random_steps(environment, num_steps: int, axis_name=None):
  """One seed's `num_steps` random-action steps with reset on terminal, as the training loop
  resets (from its `reset_pool`, refilled before the scan where needed, or in a lax.cond at the
  step for a pool of size 0; `axis_name`: the vmapped seed axis).

  `(carry, key) -> (carry, next key)`, with carry = (pool, state, observation, summed rewards):
  a call goes on from where the last one stopped, as a training run does, and returns every
  result so that no step can be optimised away.
  """

  def run(carry, key):
    steps_key, next_key = jax.random.split(key)
    pool, state, obs, total = carry
    carry = reset_pool.ensure(environment, pool, num_steps, axis_name), state, obs, total

    def step(carry, step_key):
      pool, state, obs, total = carry
      action_key, env_key = jax.random.split(step_key)
      action = jax.random.randint(action_key, (), 0, environment.num_actions())
      state, obs, reward, terminal, _ = environment.step(env_key, state, action)
      pool, state, obs = reset_pool.reset_where(environment, pool, terminal, state, obs)
      return (pool, state, obs, total + reward + obs.sum()), None

    carry, _ = jax.lax.scan(step, carry, jax.random.split(steps_key, num_steps))
    return carry, next_key

  return run


def initial_carry(environment, key: jax.Array, pool_size: int):
  """The carry of `random_steps` for one seed: a reset pool, its first state, no reward yet."""
  pool, state, obs = reset_pool.create(environment, key, pool_size)
  return pool, state, obs, jnp.float32(0.0)


def pool_size_of(environment) -> int:
  """The reset pool size the training loop would use for chunks of --env_steps steps (0 when
  the environment's reset is cheap)."""
  return 2 * FLAGS.env_steps if environment.costly_reset else 0


def python_loop_steps_per_second(environment, num_steps: int) -> float:
  key = jax.random.PRNGKey(0)
  state, _ = environment.reset(key)
  environment.step(key, state, 0)  # Compiles.
  keys = jax.random.split(key, num_steps)
  started = time.perf_counter()
  for i in range(num_steps):
    state, _, _, terminal, _ = environment.step(keys[i], state, i % environment.num_actions())
    if terminal:
      state, _ = environment.reset(keys[i])
  jax.block_until_ready(state)
  return num_steps / (time.perf_counter() - started)


def environment_figures(name: str, params: Dict) -> Dict[str, float]:
  """Environment steps/s (all seeds together) and the vmapped / one-after-another ratio."""
  environment = jax_envs.make(name, **params)
  pool_size = pool_size_of(environment)
  # Seeds vmapped (their reset pools refill together), and one seed on its own, not vmapped:
  # its reset stays a lax.cond branch, taken only when an episode ends.
  vmapped = jax.jit(jax.vmap(random_steps(environment, FLAGS.env_steps, 'seeds'),
                             axis_name='seeds'), donate_argnums=0)
  single = jax.jit(random_steps(environment, FLAGS.env_steps), donate_argnums=0)

  def block(function):
    """`env_calls` scans in a row: a timed call includes the refills of its share of steps."""

    def calls(argument):
      for _ in range(FLAGS.env_calls):
        argument = function(*argument)
      return argument

    return calls

  steps = FLAGS.env_calls * FLAGS.env_steps  # Per seed and timed call.

  # (carry, key of the steps) of `count` seeds; the pools keep keys of their own (a donated
  # carry must not share a buffer with the other argument).
  def seeds(count: int, seed: int, size: int = pool_size):
    keys = jax.random.split(jax.random.PRNGKey(seed), 2 * count)
    return jax.vmap(lambda k: initial_carry(environment, k, size))(keys[:count]), keys[count:]

  def one_seed(seed: int):
    keys = jax.random.split(jax.random.PRNGKey(0), 2 * MANY)
    pool_key, steps_key = keys[seed], keys[MANY + seed]
    return initial_carry(environment, pool_key, 0), steps_key

  figures = {'python loop, 1 seed': python_loop_steps_per_second(environment,
                                                                 FLAGS.python_steps)}
  for count in SEED_COUNTS[1:-1]:
    figures[f'vmap {count}'] = count * steps / timing.timed(block(vmapped), seeds(count, 0))[0]
  rates = timing.at_once_and_one_after_another(
      block(vmapped), seeds, steps, FLAGS.passes, single=block(single), make_single=one_seed)
  figures.update({'vmap 1': rates['1 seed'], f'vmap {MANY}': rates[f'{MANY} seeds vmapped'],
                  f'{MANY} one after another': rates[f'{MANY} seeds one after another'],
                  'ratio': rates['ratio']})
  if pool_size:  # The same 30 seeds vmapped without the pool.
    seconds = timing.timed(block(vmapped), seeds(MANY, 0, size=0), min_seconds=0.0,
                           min_repeats=FLAGS.passes)[0]
    figures[f'vmap {MANY} without pool'] = MANY * steps / seconds
    figures['ratio without pool'] = figures[f'vmap {MANY} without pool'] / figures[
        f'{MANY} one after another']
  return figures


def agent_figures(agent: str, peak_gflops: float) -> Dict[str, Dict[str, float]]:
  """Q updates/s and acting-and-storing steps/s of one agent, 1 / 30 at once / 30 in turn,
  and the learner's GFLOP/s (30 seeds vmapped) as a fraction of the matmul peak."""
  raw = tuned.make_config(agent, 'ProcMaze', 'high')
  raw.update(eval_frequency=FLAGS.collect_steps, num_steps=10 * FLAGS.collect_steps)
  timer = timing.AgentTimer(experiment.Experiment(config_lib.from_dict(raw)))
  updates = timer.q_updates(UPDATES[agent], FLAGS.passes)
  gflop_per_update = timer.q_update_flops() / 1e9
  achieved = gflop_per_update * updates[f'{MANY} seeds vmapped']
  return {'Q updates/s': updates,
          'acting-and-storing steps/s': timer.acting_and_storing(FLAGS.passes),
          'learner': {'GFLOP per update': gflop_per_update,
                      f'GFLOP/s, {MANY} seeds vmapped': achieved,
                      'fraction of matmul peak': achieved / peak_gflops}}


def main(argv):
  del argv
  unknown = [n for n in FLAGS.environments if n not in ENVIRONMENTS] + [
      a for a in FLAGS.agents if a not in tuned.AGENTS]
  if unknown:
    raise app.UsageError(f'unknown environment or agent {unknown[0]!r}; environments: '
                         f'{", ".join(ENVIRONMENTS)}; agents: {", ".join(tuned.AGENTS)}')
  results = {'environment steps/s': {}, 'agents': {}}
  print(f'devices: {jax.devices()}; jax {jax.__version__}; load average (1, 5, 15 min) '
        f'{os.getloadavg()}', flush=True)
  print('environment steps/s (all seeds together):', flush=True)
  for name in FLAGS.environments:
    params = ENVIRONMENTS[name]
    figures = environment_figures(name, params)
    results['environment steps/s'][name] = figures
    print(timing.row(f'{name} {params}', figures), flush=True)
  if FLAGS.agents:
    peak_gflops = timing.matmul_gflops()
    results['matmul peak GFLOP/s'] = peak_gflops
    print(f'agents on ProcMaze 4x4 (paper configs); ratio = ({MANY} seeds vmapped) / '
          f'({MANY} seeds one after another); learner GFLOP from XLA\'s cost analysis (a '
          f'loop body counted once) against a jitted 1024x1024 float32 matmul\'s '
          f'{peak_gflops:.1f} GFLOP/s:', flush=True)
  for agent in FLAGS.agents:
    figures = agent_figures(agent, peak_gflops)
    results['agents'][agent] = figures
    for kind, values in figures.items():
      print(timing.row(f'{agent} {kind}', values), flush=True)
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      json.dump(results, f, indent=2)
  print(f'throughput of {MANY} seeds vmapped / {MANY} seeds one after another:', flush=True)
  groups = {'environment steps': list(results['environment steps/s'].values())}
  for kind in ('Q updates/s', 'acting-and-storing steps/s'):
    groups[kind.split('/')[0]] = [figures[kind] for figures in results['agents'].values()]
  for group, figures in groups.items():
    if figures:
      ratios = [f['ratio'] for f in figures]
      print(f'  {group:26s} {min(ratios):.2f}x to {max(ratios):.2f}x', flush=True)
  print(f'load average (1, 5, 15 min) at the end: {os.getloadavg()}', flush=True)


if __name__ == '__main__':
  app.run(main)
