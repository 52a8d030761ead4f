"""Timing of the model-based suite: seeds vmapped together against the same seeds in turn.

Shared by `benchmarks.model_based_throughput` (the CPU figures) and `benchmarks.model_based_gpu`
(the GPU run). It imports JAX and the suite only (no TensorFlow, unlike benchmarks.common), so
that it runs wherever the suite does. Every figure excludes compilation: each function runs once
before it is timed, and the fastest of several calls counts, the one least disturbed by other
processes of a shared machine.
"""

import time
from typing import Callable, Dict, Optional

import jax
from jax import numpy as jnp
import numpy as np

from agents.model_based import experiment

MANY = 30  # Seeds vmapped together, as in the paper.


def next_argument(output, argument):
  """The output when it has the argument's structure (a state threaded through because the
  argument was donated), else the argument itself again."""
  same = jax.tree_util.tree_structure(output) == jax.tree_util.tree_structure(argument)
  return output if same else argument


def timed(function: Callable, argument, min_seconds: float = 1.0, min_repeats: int = 3):
  """(fastest seconds of one call, argument for a further call), after a compiling call.

  Calls repeat for at least `min_repeats` times and `min_seconds`.
  """
  argument = next_argument(jax.block_until_ready(function(argument)), argument)
  fastest, spent, repeats = float('inf'), 0.0, 0
  while repeats < min_repeats or spent < min_seconds:
    started = time.perf_counter()
    output = jax.block_until_ready(function(argument))
    seconds = time.perf_counter() - started
    argument = next_argument(output, argument)
    fastest, spent, repeats = min(fastest, seconds), spent + seconds, repeats + 1
  return fastest, argument


def at_once_and_one_after_another(function: Callable, make_argument: Callable,
                                  work_per_seed: float, passes: int, many: int = MANY,
                                  single: Optional[Callable] = None,
                                  make_single: Optional[Callable] = None) -> Dict[str, float]:
  """Rates (work/s, all seeds) of `function` on 1 seed, `many` seeds at once, `many` in turn.

  `make_argument(count, seed)` builds the input for `count` seeds. "One after another" runs
  `single` (default: `function` on 1 seed) on `many` different seeds' inputs in turn (built by
  `make_single(seed)`, default `make_argument(1, seed)`, and compiled beforehand). Both are
  timed in `passes` alternating rounds; each call's fastest time counts, so that the sequential
  calls are as little disturbed by other processes as the single batched one.
  """
  one, _ = timed(function, make_argument(1, 0))  # Also compiles `function` for 1 seed.
  batch = make_argument(many, 0)
  if single is None:
    single, make_single = function, lambda seed: make_argument(1, seed)
  else:
    jax.block_until_ready(single(make_single(0)))  # Compiles.
  singles = jax.block_until_ready([make_single(seed) for seed in range(many)])
  at_once = float('inf')
  sequential = np.full(many, np.inf)
  for _ in range(passes):
    seconds, batch = timed(function, batch, min_seconds=0.0, min_repeats=1)
    at_once = min(at_once, seconds)
    for i, argument in enumerate(singles):
      started = time.perf_counter()
      output = jax.block_until_ready(single(argument))
      sequential[i] = min(sequential[i], time.perf_counter() - started)
      singles[i] = next_argument(output, argument)
  return {'1 seed': work_per_seed / one, f'{many} seeds vmapped': many * work_per_seed / at_once,
          f'{many} seeds one after another': many * work_per_seed / sequential.sum(),
          'ratio': sequential.sum() / at_once}


def matmul_gflops(size: int = 1024, repeats: int = 8, min_seconds: float = 2.0) -> float:
  """GFLOP/s of jitted float32 [size, size] x [size, size] matmuls: the device's dense limit.

  `repeats` dependent products per call (2 size^3 FLOPs each); the fastest call counts.
  """
  a = jax.random.normal(jax.random.PRNGKey(0), (size, size)) / size**0.5

  @jax.jit
  def chain(x):
    for _ in range(repeats):
      x = x @ a
    return x

  seconds, _ = timed(chain, a, min_seconds=min_seconds)
  return repeats * 2.0 * size**3 / seconds / 1e9


def compiled_flops(function: Callable, *arguments) -> float:
  """FLOPs of one call of jitted `function`, from XLA's cost analysis of the compiled program
  (a loop's body counted once, as for `lax.scan`)."""
  analysis = jax.jit(function).lower(*arguments).compile().cost_analysis()
  if isinstance(analysis, (list, tuple)):  # JAX 0.4: one dict per program.
    analysis = analysis[0]
  return float(analysis['flops'])


class AgentTimer:
  """Timed functions of one experiment's agent, on states whose replay buffers hold data.

  Each state is `count` seeds after one chunk of acting and storing (`eval_frequency` steps of
  the experiment's config, before training starts), made by the experiment's own jitted chunk
  function, so that the training runs of the same `Experiment` reuse what is compiled here.
  """

  def __init__(self, exp: experiment.Experiment):
    self.exp = exp
    self._collect = exp._chunks[False]  # pylint: disable=protected-access  (no training yet)
    self._train = exp._chunks[True]  # pylint: disable=protected-access

  @staticmethod
  def keys(count: int) -> jax.Array:
    return jax.random.split(jax.random.PRNGKey(2), count)

  def filled_state(self, count: int, seed: int) -> experiment.ExperimentState:
    """`count` seeds whose buffers hold one chunk of transitions each."""
    state = self.exp.start(seed, list(range(count))).state
    return self._collect(state, self.keys(count), jnp.int32(0))[0]

  def q_updates(self, num_updates: int, passes: int, many: int = MANY) -> Dict[str, float]:
    """Q updates/s (the agent's whole update: model step, rollouts, Q step) over seeds."""
    update_scan = jax.jit(jax.vmap(
        lambda state, keys: jax.lax.scan(self.exp.agent.update, state, keys)[0]),
                          donate_argnums=0)

    def updates(state):
      keys = jax.vmap(lambda k: jax.random.split(k, num_updates))(self.keys(state.obs.shape[0]))
      return state._replace(agent_state=update_scan(state.agent_state, keys))

    return at_once_and_one_after_another(updates, self.filled_state, num_updates, passes, many)

  def q_update_flops(self) -> float:
    """FLOPs of one seed's Q update (model step, rollouts, Q step), by XLA's cost analysis."""
    one_seed = jax.tree_util.tree_map(lambda x: x[0], self.filled_state(1, 0).agent_state)
    return compiled_flops(self.exp.agent.update, one_seed, jax.random.PRNGKey(0))

  def acting_and_storing(self, passes: int, many: int = MANY) -> Dict[str, float]:
    """Environment steps/s of the loop before training starts (act, step, reset, store)."""
    return at_once_and_one_after_another(
        lambda state: self._collect(state, self.keys(state.obs.shape[0]), jnp.int32(0))[0],
        self.filled_state, self.exp.config.eval_frequency, passes, many)

  def training_steps(self, passes: int, many: int = MANY) -> Dict[str, float]:
    """Environment steps/s of the training loop: act, step, reset, store, target, updates."""
    start = jnp.int32(self.exp.config.training_start_time)
    return at_once_and_one_after_another(
        lambda state: self._train(state, self.keys(state.obs.shape[0]), start)[0],
        self.filled_state, self.exp.config.eval_frequency, passes, many)


def row(label: str, figures: Dict[str, float]) -> str:
  """One printed line: a label, then each figure (ratios as 1.23x, figures from 100 up as
  integers, smaller ones to 3 significant digits)."""
  cells = [f'{k} {v:.2f}x' if k.startswith('ratio') else
           f'{k} {v:,.0f}' if abs(v) >= 100 else f'{k} {v:.3g}' for k, v in figures.items()]
  return f'  {label:28s} ' + ' | '.join(cells)
