r"""A hyperparameter sweep over Launchpad worker nodes, each vmapping its share of the seeds.

  python -m launch.model_based_sweep -c agents/model_based/configs/ProcMaze_high/ER.json \
      --grid alpha_adam=2.5e-5,5e-5,1e-4 --grid softmax_temp=0.1,0.4 --num_workers 2 \
      --output_dir runs/sweep_er --override num_steps=20000 --override num_seeds=4

Every combination of the --grid values (each KEY=V1,V2,... with JSON values) is a grid point of
the base config (--config plus --override). The points' seeds are dealt out to --num_workers
worker processes; the gatherer writes <output_dir>/<point>.out (.params) for each point as soon
as all its seeds are in, every partial result to <output_dir>/shards/ on arrival, and
<output_dir>/sweep.json ranking the points by final evaluation return. Node logs are in
<output_dir>/node_logs/ and copied to the console.

local_mp runs the nodes as processes of this machine; `sweep.make_program` returns a plain
Launchpad program, which a cluster launch type (Launchpad's vertex_ai) can run as it is.
"""

import json
import os
import sys

from absl import app
from absl import flags
import launchpad as lp  # noqa: F401  # pylint: disable=unused-import  (defines the lp_* flags)

from agents.core import cli
from agents.core import launching
from agents.core import run_dir
from agents.model_based import config as config_lib
from agents.model_based import sweep
from agents.model_based import train

FLAGS = flags.FLAGS
flags.DEFINE_string('config', None, 'Base JSON config.', short_name='c')
flags.DEFINE_multi_string('override', [], 'KEY=VALUE (JSON) replacing a base config key.')
flags.DEFINE_multi_string('grid', [], 'KEY=V1,V2,... : values of one swept key (JSON each).')
flags.DEFINE_integer('num_workers', 2, 'Worker processes (each vmaps its share of seeds).')
flags.DEFINE_integer('seed', 0, 'Master seed of every grid point.', short_name='s')
flags.DEFINE_string('output_dir', 'runs/model_based_sweep', 'Outputs, shards and node logs.')
flags.DEFINE_enum('launch_type', 'local_mp', launching.LAUNCH_TYPES, 'How to launch the nodes.')
flags.DEFINE_bool('loopback_only', True, 'Bind the gatherer\'s server to loopback only.')
flags.DEFINE_integer('worker_threads', 1,
                     'XLA CPU threads per worker (0: XLA\'s default, one per core).')


def main(argv):
  del argv
  train.quiet_jax_logs()
  if FLAGS.config is None:
    launching.exit_with_usage_error('--config is required')
  cli.check_flags({'num_workers': (1, None), 'worker_threads': (0, None)})
  try:
    run_dir.check_usable(FLAGS.output_dir)
  except ValueError as error:
    launching.exit_with_usage_error(str(error))
  try:
    base = config_lib.load(FLAGS.config, FLAGS.override)
  except config_lib.ConfigError as error:
    launching.exit_with_usage_error(str(error))
  try:
    points = sweep.grid_points(base.to_dict(), sweep.parse_grid(FLAGS.grid))
  except ValueError as error:  # ConfigError names the key.
    launching.exit_with_usage_error(f'--grid: {error}')
  existing = [p.name for p in points
              if os.path.exists(os.path.join(FLAGS.output_dir, f'{p.name}.out'))]
  if existing:
    launching.exit_with_usage_error(f'{FLAGS.output_dir} already holds {existing[0]}.out; '
                                    'choose another --output_dir')
  units = len(points) * base.num_seeds
  if FLAGS.num_workers > units:
    launching.exit_with_usage_error(f'--num_workers ({FLAGS.num_workers}) exceeds the '
                                    f'{units} (grid point, seed) units of the sweep')
  launching.prepare_launcher(FLAGS.launch_type, FLAGS.loopback_only)
  try:
    run_dir.lock(FLAGS.output_dir)  # One sweep per output folder.
  except run_dir.RunLockedError as error:
    launching.exit_with_usage_error(str(error))
  with open(os.path.join(FLAGS.output_dir, 'sweep_config.json'), 'w') as f:
    json.dump({'base': base.to_dict(), 'points': [p.changes for p in points],
               'seed': FLAGS.seed, 'num_workers': FLAGS.num_workers}, f, indent=2)
  print(f'sweep of {len(points)} grid points x {base.num_seeds} seeds of {base.agent_type} on '
        f'{base.environment} over {FLAGS.num_workers} workers; outputs in {FLAGS.output_dir}',
        flush=True)
  program = sweep.make_program(points, FLAGS.num_workers, FLAGS.seed, FLAGS.output_dir)
  extra_env = {}
  if FLAGS.worker_threads > 0:
    extra_env['XLA_FLAGS'] = ('--xla_cpu_multi_thread_eigen=false '
                              f'intra_op_parallelism_threads={FLAGS.worker_threads}')
  try:
    launching.launch(program, FLAGS.launch_type, FLAGS.output_dir,
                     loopback_only=FLAGS.loopback_only, extra_env=extra_env)
  except launching.NodeFailedError as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  except launching.ProgramInterrupted as error:
    launching.exit_interrupted(error, FLAGS.output_dir)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
