"""Helpers shared by the throughput benchmarks: the machine's matmul peak and a graph's FLOPs.

A learner's GFLOP/s means little alone on a shared machine; next to a dense float32 matmul timed
in the same process, with the same TensorFlow thread settings, it says how close to the CPU's
limit the learner runs.
"""

import json
import os
import subprocess
import sys
import time
from typing import Dict, Optional, Sequence

import tensorflow as tf


def matmul_gflops(size: int = 1024, repeats: int = 8, min_seconds: float = 2.0) -> float:
  """GFLOP/s of float32 [size, size] x [size, size] matmuls in one graph-mode tf.function.

  `repeats` dependent products per call (2 size^3 FLOPs each), called until `min_seconds` have
  passed after one untimed call; run it in the learner's process, so the threads are the same.
  """
  a = tf.random.normal([size, size]) / size**0.5
  b = tf.random.normal([size, size]) / size**0.5

  @tf.function
  def chain(x, y):
    for _ in range(repeats):
      x = tf.matmul(x, y)
    return tf.reduce_sum(x)

  chain(a, b).numpy()
  calls = 0
  started = time.perf_counter()
  while time.perf_counter() - started < min_seconds:
    chain(a, b).numpy()
    calls += 1
  elapsed = time.perf_counter() - started
  return calls * repeats * 2.0 * size**3 / elapsed / 1e9


def graph_float_ops(concrete_function) -> int:
  """Float operations of one call of `concrete_function`, from TF's profiler (its registered
  per-op FLOP counts: matmuls, convolutions and their gradients, element-wise ops; a while
  loop's body counted once), which needs the function's shapes to be static."""
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  profile = tf.compat.v1.profiler.profile(graph=concrete_function.graph, options=options)
  return int(profile.total_float_ops)


def learner_fraction(float_ops: int, steps_per_s: float, peak_gflops: float) -> Dict[str, float]:
  """The learner's achieved GFLOP/s and its fraction of the matmul peak."""
  achieved = float_ops * steps_per_s / 1e9
  return {'gflop_per_step': float_ops / 1e9, 'achieved_gflops': achieved,
          'matmul_peak_gflops': peak_gflops, 'fraction_of_matmul_peak': achieved / peak_gflops}


def run_measurement(module: str, name: str, extra_args: Sequence[str] = (),
                    env: Optional[Dict[str, str]] = None,
                    timeout_s: Optional[float] = None) -> dict:
  """Runs `python -m module --measure=name` in a fresh process; returns the JSON it printed on
  its last 'RESULT ' line ({} and a note on stderr if it failed; {'timed_out_s': timeout_s} if
  it ran longer). A fresh process per measurement keeps traces, threads and
  TF_ENABLE_ONEDNN_OPTS (read once, at import) apart."""
  command = [sys.executable, '-m', module, f'--measure={name}', *extra_args]
  environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', **(env or {}))
  try:
    result = subprocess.run(command, env=environment, capture_output=True, text=True,
                            check=False, timeout=timeout_s)
  except subprocess.TimeoutExpired:
    print(f'  {name}: stopped after {timeout_s:.0f} s', file=sys.stderr, flush=True)
    return {'timed_out_s': timeout_s}
  lines = [line for line in result.stdout.splitlines() if line.startswith('RESULT ')]
  if result.returncode or not lines:
    tail = result.stderr.strip().splitlines()[-3:]
    print(f'  {name}: failed (exit {result.returncode}): {" | ".join(tail)}', file=sys.stderr,
          flush=True)
    return {}
  return json.loads(lines[-1][len('RESULT '):])


def print_result(figures: dict):
  """The line `run_measurement` reads back."""
  print('RESULT ' + json.dumps(figures), flush=True)
