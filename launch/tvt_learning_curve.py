r"""The central claim on key_to_door: RMA with TVT learns the key, without TVT (gamma 0.92) not.

  python -m launch.tvt_learning_curve --logdir=runs/tvt_claim --episodes=2000000
  python -m launch.tvt_learning_curve --logdir=runs/tvt_claim --plot_only

Trains the release's default agent twice on key_to_door with the same seed and budget, once
with TVT and once without (both gamma 0.92), as two `launch.tvt` processes (each resumable:
the same command continues both runs). Then plots both learning curves, prints the mean
last-phase reward over each run's last 1,000 episodes and checks it against the bars: at least
8 of 10 with TVT, at most 3 without. Budgets are in environment episodes (120 steps each);
SIGINT or SIGTERM stops both runs cleanly (they checkpoint), and --plot_only then reports on
whatever they reached.
"""

import os
import signal
import subprocess
import sys

from absl import app
from absl import flags

from agents.core import cli
from agents.core import launching
from agents.core import run_dir
from agents.tvt import experiment

FLAGS = flags.FLAGS
flags.DEFINE_string('logdir', 'runs/tvt_key_to_door', 'Directory of both runs and the plot.')
flags.DEFINE_integer('episodes', 2_000_000, 'Environment episodes per run (multiple of 16).')
flags.DEFINE_integer('seed', 0, 'Seed of both runs.')
flags.DEFINE_boolean('parallel', True, 'Train both runs at once (else one after the other).')
flags.DEFINE_boolean('plot_only', False, 'Do not train; report on the runs as they are.')


def train(logdir: str, episodes: int, seed: int, parallel: bool):
  """Runs (or resumes) both trainings as child processes, logs in <logdir>/<run>.log."""
  iterations = -(-episodes // 16)
  processes = []
  for _, (name, extra) in experiment.RUNS.items():
    command = [sys.executable, '-m', 'launch.tvt', f'--logdir={os.path.join(logdir, name)}',
               f'--num_episodes={iterations}', f'--seed={seed}', '--pycolab_game=key_to_door',
               *extra]
    log = open(os.path.join(logdir, f'{name}.log'), 'a')
    print(f'{name}: {" ".join(command[1:])} (log {log.name})', flush=True)
    processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    if not parallel:
      processes[-1].wait()

  def stop(signum, frame):
    del signum, frame
    for process in processes:
      if process.poll() is None:
        process.send_signal(signal.SIGINT)  # launch.tvt checkpoints on SIGINT.

  signal.signal(signal.SIGTERM, stop)
  signal.signal(signal.SIGINT, stop)
  codes = [process.wait() for process in processes]
  if any(code not in (0, 130) for code in codes):
    print(f'error: a training run failed (exit codes {codes}); see the logs in {logdir}',
          file=sys.stderr, flush=True)


def main(argv):
  del argv
  cli.check_flag('episodes', 16)
  try:
    run_dir.check_usable(FLAGS.logdir)
  except ValueError as error:
    launching.exit_with_usage_error(str(error))
  os.makedirs(FLAGS.logdir, exist_ok=True)
  if not FLAGS.plot_only:
    train(FLAGS.logdir, FLAGS.episodes, FLAGS.seed, FLAGS.parallel)
  experiment.claim_report(FLAGS.logdir)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
