"""The training loop: chunks of environment steps, each one jitted call vmapped over seeds (spec 4).

Per seed, a chunk runs `eval_frequency` environment steps in one `lax.scan` (act, step, store,
reset on terminal, and while training: maybe copy the target, then `updates_per_step` updates),
then one greedy evaluation. The chunk and the evaluation are `jit(vmap(...))` over a leading seed
axis, so every seed of a run advances with one call.

Random keys: seed index i of a run with master seed s draws everything from fold_in(key(s), i),
and chunk c from fold_in(that key, c), so a seed's run does not depend on which other seeds share
its process (a sweep can split the seeds of one config over machines).

Resets on terminal steps: reset number n of a seed is `reset(fold_in(its reset key, n))`. For an
environment whose reset is costly (ProcMaze generates a maze), those states are computed ahead in
batches (`environments.jax_envs.reset_pool`): under vmap a `lax.cond` on `terminal` would compute
a reset on every step of every seed. The pool changes when a reset state is computed, not which.
"""

import functools
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence

import jax
from jax import numpy as jnp
import numpy as np

from agents import model_based
from agents.model_based import config as config_lib
from agents.model_based import dqn
from environments import jax_envs
from environments.jax_envs import reset_pool

# The name of the vmapped seed axis, over which the reset pools decide together when to refill.
SEED_AXIS = 'seeds'


def default_reset_pool_size(config: config_lib.ExperimentConfig) -> int:
  """Twice the steps of a chunk: a refill (at a chunk's start, when some seed has fewer states
  left than the chunk has steps) then serves a chunk of resets at every step and more; with
  ProcMaze 4x4 and the paper's 500-step chunks, 1000 states per seed, about 100 kB."""
  return 2 * config.eval_frequency


class ExperimentState(NamedTuple):
  """Everything one seed carries from step to step."""
  env_state: Any
  obs: jax.Array  # The observation the agent acts on next.
  agent_state: dqn.AgentState
  resets: reset_pool.ResetPool  # Where the next reset state comes from.


class ChunkMetrics(NamedTuple):
  """Training metrics of one chunk, per seed (the release computes and discards them)."""
  reward_rate: jax.Array  # Mean reward per environment step.
  mean_q: jax.Array  # Mean Q value of the actions taken.
  q_loss: jax.Array
  model_loss: jax.Array


class ChunkResult(NamedTuple):
  """What a run reports after each chunk."""
  index: int
  eval_time: int  # The label of this evaluation in the outputs.
  steps_done: int  # Environment steps per seed so far.
  reward_rates: np.ndarray  # float32[num_seeds]: the evaluation of each seed.
  metrics: ChunkMetrics  # numpy arrays [num_seeds].
  seconds: float  # Wall time of the chunk and its evaluation.


def evaluate_policy(environment, policy: Callable, key: jax.Array, num_runs: int,
                    num_steps: int, episodic: bool) -> jax.Array:
  """The evaluation metric of spec 4.3 for `policy(key, env_state, obs) -> action`.

  Mean over `num_runs` runs from fresh resets of: the return up to and including the first
  terminal step within `num_steps` steps (episodic), or the reward per step (continuing).
  """

  def one_run(run_key):
    reset_key, steps_key = jax.random.split(run_key)
    env_state, obs = environment.reset(reset_key)

    def step(carry, step_key):
      env_state, obs, done = carry
      policy_key, env_key = jax.random.split(step_key)
      action = policy(policy_key, env_state, obs)
      env_state, obs, reward, terminal, _ = environment.step(env_key, env_state, action)
      counted = jnp.where(done, 0.0, reward) if episodic else reward
      return (env_state, obs, done | terminal), counted

    _, rewards = jax.lax.scan(step, (env_state, obs, jnp.array(False)),
                              jax.random.split(steps_key, num_steps))
    return rewards.sum() if episodic else rewards.sum() / num_steps

  return jax.vmap(one_run)(jax.random.split(key, num_runs)).mean()


def seed_keys(seed: int, seed_indices: Sequence[int]) -> jax.Array:
  """One key per seed index, independent of which other seeds run alongside."""
  master = jax.random.PRNGKey(seed)
  return jax.vmap(lambda i: jax.random.fold_in(master, i))(jnp.asarray(seed_indices))


class Experiment:
  """One config's environment, agent and jitted, seed-vmapped chunk and evaluation functions.

  `reset_pool_size`: fresh environment states each seed keeps ahead for its resets (0: each is
  computed at its terminal step), at least `eval_frequency` (a chunk may reset at every step);
  by default `default_reset_pool_size(config)` for an environment whose reset is costly
  (`costly_reset`), else 0. It changes the speed, never the results.
  """

  def __init__(self, config: config_lib.ExperimentConfig,
               reset_pool_size: Optional[int] = None):
    self.config = config
    self.environment = jax_envs.make(config.environment, **config.env_config)
    self.agent = model_based.make_agent(config, self.environment)
    if reset_pool_size is None:
      reset_pool_size = (default_reset_pool_size(config) if self.environment.costly_reset
                         else 0)
    if 0 < reset_pool_size < config.eval_frequency:
      raise ValueError(f'reset_pool_size {reset_pool_size} is below eval_frequency '
                       f'{config.eval_frequency}: a chunk may reset at every step')
    self.reset_pool_size = reset_pool_size
    self._init = jax.jit(jax.vmap(self.init_seed))
    # The state is donated: XLA then updates the replay buffers in place instead of copying
    # every seed's buffer at each call (the state passed in cannot be used afterwards).
    self._chunks = {
        train: jax.jit(jax.vmap(functools.partial(self.run_chunk, train=train),
                                in_axes=(0, 0, None), axis_name=SEED_AXIS), donate_argnums=0)
        for train in (False, True)}
    self._evaluate = jax.jit(jax.vmap(self.evaluate))

  # Per-seed functions (vmapped above).

  def init_seed(self, key: jax.Array) -> ExperimentState:
    env_key, agent_key = jax.random.split(key)
    resets, env_state, obs = reset_pool.create(self.environment, env_key, self.reset_pool_size)
    return ExperimentState(env_state, obs, self.agent.init(agent_key, env_state, obs), resets)

  def environment_step(self, carry, key, train: bool):
    """One step of spec 4.1 for one seed; `carry` is (state, global step t)."""
    state, t = carry
    agent = self.agent
    act_key, env_key, _, update_key = jax.random.split(key, 4)  # The third was the reset's.
    action, q_values = agent.act(state.agent_state, state.obs, act_key)
    env_state, next_obs, reward, terminal, _ = self.environment.step(env_key, state.env_state,
                                                                     action)
    agent_state = agent.record(state.agent_state, state.env_state,
                               dqn.Transition(state.obs, action, reward, next_obs, terminal), t)
    resets, env_state, fresh_obs = reset_pool.reset_where(
        self.environment, state.resets, terminal, env_state, next_obs)
    # The release keeps acting on the old episode's last observation after a reset (quirk 1).
    obs = fresh_obs if self.config.refresh_obs_on_reset else next_obs
    losses = dqn.UpdateMetrics(jnp.float32(0.0), jnp.float32(0.0))
    if train:
      agent_state = jax.lax.cond(t % self.config.target_update_frequency == 0,
                                 agent.update_target, lambda s: s, agent_state)
      agent_state, per_update = jax.lax.scan(
          agent.update, agent_state,
          jax.random.split(update_key, self.config.updates_per_step))
      losses = jax.tree_util.tree_map(jnp.mean, per_update)
    metrics = ChunkMetrics(reward, q_values[action], losses.q_loss, losses.model_loss)
    return (ExperimentState(env_state, obs, agent_state, resets), t + 1), metrics

  def run_chunk(self, state: ExperimentState, key: jax.Array, t: jax.Array, train: bool):
    """`eval_frequency` environment steps from global step `t`.

    Returns (state, metrics averaged over the chunk, the chunk's first step with a non-finite
    loss or -1): one int per seed, so that the host can name the step that went wrong without
    fetching every step's losses. Runs under vmap over the seed axis SEED_AXIS: the reset pools
    are refilled together, when any seed's could not cover a reset at every step of the chunk.
    """
    state = state._replace(resets=reset_pool.ensure(
        self.environment, state.resets, self.config.eval_frequency, axis_name=SEED_AXIS))
    (state, _), per_step = jax.lax.scan(
        functools.partial(self.environment_step, train=train), (state, t),
        jax.random.split(key, self.config.eval_frequency))
    bad = ~(jnp.isfinite(per_step.q_loss) & jnp.isfinite(per_step.model_loss))
    first_bad = jnp.where(bad.any(), jnp.argmax(bad), -1).astype(jnp.int32)
    return state, jax.tree_util.tree_map(jnp.mean, per_step), first_bad

  def evaluate(self, agent_state: dqn.AgentState, key: jax.Array) -> jax.Array:
    """Greedy evaluation of one seed (spec 4.3)."""

    def greedy(policy_key, env_state, obs):
      del env_state
      return self.agent.act(agent_state, obs, policy_key, greedy=True)[0]

    return evaluate_policy(self.environment, greedy, key, self.config.eval_batch_size,
                           self.config.eval_steps, self.config.episodic_env)

  # Runs.

  def start(self, seed: int, seed_indices: Optional[Sequence[int]] = None,
            num_steps: Optional[int] = None) -> 'Run':
    """A run of the seeds `seed_indices` (default: all num_seeds) of master seed `seed`.

    `num_steps` (a multiple of eval_frequency; default the config's) lets a caller that sizes
    its budget after compiling, such as benchmarks.model_based_gpu, reuse this experiment's
    compiled functions.
    """
    if seed_indices is None:
      seed_indices = range(self.config.num_seeds)
    num_steps = self.config.num_steps if num_steps is None else num_steps
    if num_steps < 1 or num_steps % self.config.eval_frequency:
      raise ValueError(f'num_steps {num_steps} must be a positive multiple of eval_frequency '
                       f'{self.config.eval_frequency}')
    return Run(self, seed, list(seed_indices), num_steps // self.config.eval_frequency)


class Run:
  """Iterating over a run trains it chunk by chunk, yielding a ChunkResult after each one."""

  def __init__(self, experiment: Experiment, seed: int, seed_indices: List[int],
               num_chunks: int):
    self.experiment = experiment
    self.seed = seed
    self.seed_indices = seed_indices
    self.num_chunks = num_chunks
    keys = jax.vmap(jax.random.split)(seed_keys(seed, seed_indices))
    self._run_keys = keys[:, 1]
    self.state: ExperimentState = experiment._init(keys[:, 0])  # pylint: disable=protected-access
    self.metrics: Dict[str, list] = {'reward_rates': [], 'eval_times': []}

  def saved_params(self) -> Dict[str, List]:
    """Per-seed parameters as numpy, in the layout of the release's `.params` output."""
    per_seed = jax.device_get(jax.vmap(self.experiment.agent.saved_params)(
        self.state.agent_state))
    if not all(np.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(per_seed)):
      raise FloatingPointError('the parameters hold non-finite values; they are not saved')
    num = len(self.seed_indices)
    return {name: [jax.tree_util.tree_map(lambda x, i=i: x[i], params) for i in range(num)]
            for name, params in per_seed.items()}

  def _check_finite(self, first_bad: np.ndarray, t: int):
    """Raises FloatingPointError if a seed's loss was not finite in the chunk from step `t`.

    Raised before the chunk's metrics are recorded or yielded, so that nothing non-finite is
    written as if it were a result (the outputs keep the last finite chunk). The state is
    not usable afterwards (its parameters have taken the non-finite update).
    """
    bad = np.flatnonzero(first_bad >= 0)
    if not bad.size:
      return
    seeds = [self.seed_indices[i] for i in bad]
    step = t + int(first_bad[bad].min())
    raise FloatingPointError(
        f'non-finite loss at environment step {step} (seed{"s" if len(seeds) > 1 else ""} '
        f'{", ".join(map(str, seeds))}); training stopped, nothing of this chunk was saved')

  def __iter__(self) -> Iterator[ChunkResult]:
    experiment = self.experiment
    config = experiment.config
    for index in range(self.num_chunks):
      started = time.time()
      t = index * config.eval_frequency
      keys = jax.vmap(lambda k, i=index: jax.random.split(jax.random.fold_in(k, i)))(
          self._run_keys)
      train = t >= config.training_start_time
      self.state, metrics, first_bad = experiment._chunks[train](  # pylint: disable=protected-access
          self.state, keys[:, 0], jnp.int32(t))
      self._check_finite(np.asarray(first_bad), t)
      reward_rates = np.asarray(
          experiment._evaluate(self.state.agent_state, keys[:, 1]),  # pylint: disable=protected-access
          np.float32)
      # The release labels an evaluation with its chunk's start (quirk 3).
      eval_time = t + config.eval_frequency if config.eval_time_at_chunk_end else t
      self.metrics['reward_rates'].append(reward_rates)
      self.metrics['eval_times'].append(eval_time)
      metrics = ChunkMetrics(*(np.asarray(m, np.float32) for m in metrics))
      for name, values in metrics._asdict().items():
        self.metrics.setdefault(f'train_{name}', []).append(values)
      yield ChunkResult(index=index, eval_time=eval_time,
                        steps_done=t + config.eval_frequency, reward_rates=reward_rates,
                        metrics=metrics, seconds=time.time() - started)
