r"""TVT's claim across delays on key_to_door: arms x distractor lengths x seeds, one budget.

  python -m launch.tvt_delay_sweep --logdir=runs/tvt_delay_sweep --episodes=20000
  python -m launch.tvt_delay_sweep --logdir=runs/tvt_delay_sweep --report_only

Trains TVT (gamma 0.92), no TVT (gamma 0.92) and no TVT (gamma 1) at each --delays distractor
length, and the zero-apple-reward control (TVT and no TVT) at length 90, for each --seeds seed:
one `launch.tvt` run directory each under --logdir. Runs are trained one after another in
--rounds rounds of doubling budgets (the last is --episodes), so that whenever the sweep stops
all runs have about the same budget; the same command continues where it stopped (each run
resumes from its checkpoint). Then writes <--results>.json (per run: episodes, environment
steps, and over the last 1,000 episodes the last-phase reward, key-pickup rate and where TVT's
rewards landed) and <--results>.png (curves against episodes and environment steps), prints
the table and whether TVT beats no TVT (gamma 0.92) on every seed at each delay.
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
from agents.tvt import sweep

FLAGS = flags.FLAGS
flags.DEFINE_string('logdir', 'runs/tvt_delay_sweep', 'Directory of every run of the sweep.')
flags.DEFINE_string('results', 'results/tvt_delay_sweep', 'Path (without extension) of the '
                    'summary JSON and the plot PNG.')
flags.DEFINE_integer('episodes', 20_000, 'Environment episodes per run (multiple of 16).')
flags.DEFINE_list('delays', ['30', '90'], 'Distractor phase lengths.')
flags.DEFINE_list('seeds', ['0', '1'], 'Seeds of every arm.')
flags.DEFINE_list('arms', list(sweep.ARMS), f'Arms to train at --delays: {", ".join(sweep.ARMS)} '
                  '(the control has its own, TVT and no TVT).')
flags.DEFINE_boolean('control', True, 'Also the zero-apple-reward control at length 90.')
flags.DEFINE_integer('rounds', 4, 'Rounds of doubling budgets up to --episodes.')
flags.DEFINE_boolean('report_only', False, 'Do not train; report on the runs as they are.')

_BATCH = 16  # Episodes per learner iteration of launch.tvt's default agent.


def _integers(name: str, minimum: int):
  """The integers of list flag --`name`, each at least `minimum` (else a usage error)."""
  given = ','.join(getattr(FLAGS, name))
  try:
    values = [int(v) for v in getattr(FLAGS, name)]
  except ValueError:
    values = []
  if not values or min(values) < minimum:
    launching.exit_with_usage_error(f'--{name} must be a list of integers of at least '
                                    f'{minimum}, got {given!r}')
  return values


class _Stop:
  """SIGINT / SIGTERM: the running training checkpoints and stops, and no further one starts."""

  def __init__(self):
    self.requested = False
    self.process = None
    signal.signal(signal.SIGINT, self._stop)
    signal.signal(signal.SIGTERM, self._stop)

  def _stop(self, signum, frame):
    del signum, frame
    self.requested = True
    if self.process is not None and self.process.poll() is None:
      self.process.send_signal(signal.SIGINT)  # launch.tvt checkpoints on SIGINT.


def train(runs, logdir: str, iterations: int, rounds: int):
  """Every run to each round's budget in turn; logs in <logdir>/<run>.log."""
  stop = _Stop()
  for budget in sweep.round_budgets(iterations, rounds):
    print(f'round: every run to {budget * _BATCH} episodes', flush=True)
    for run in runs:
      if stop.requested:
        return False
      with open(os.path.join(logdir, f'{run.name}.log'), 'a') as log:
        stop.process = subprocess.Popen([sys.executable, *run.command(logdir, budget)],
                                        stdout=log, stderr=subprocess.STDOUT)
        code = stop.process.wait()
      if stop.requested:
        print(f'  {run.name}: stopped before {budget * _BATCH} episodes', flush=True)
        return False
      if code != 0:
        print(f'error: {run.name} failed (exit {code}); see {log.name}', file=sys.stderr,
              flush=True)
        return False
      print(f'  {run.name}: at {budget * _BATCH} episodes', flush=True)
  return not stop.requested


def main(argv):
  del argv
  cli.check_flag('episodes', _BATCH)
  cli.check_flag('rounds', 1)
  delays, seeds = _integers('delays', 1), _integers('seeds', 0)
  try:
    run_dir.check_usable(FLAGS.logdir)
  except ValueError as error:
    launching.exit_with_usage_error(str(error))
  unknown = [arm for arm in FLAGS.arms if arm not in sweep.ARMS]
  if unknown or not FLAGS.arms:
    launching.exit_with_usage_error(f'unknown arm {unknown[0] if unknown else ""!r} in --arms; '
                                    f'valid: {", ".join(sweep.ARMS)}')
  runs = sweep.make_runs(delays, seeds, FLAGS.control, FLAGS.arms)
  os.makedirs(FLAGS.logdir, exist_ok=True)
  if not FLAGS.report_only:
    train(runs, FLAGS.logdir, FLAGS.episodes // _BATCH, FLAGS.rounds)
  summary = sweep.report(FLAGS.logdir, runs, FLAGS.results)
  print(sweep.table(summary), flush=True)
  print(f'key-pickup rate of random actions: {summary["random_walk_key_pickup_rate"]:.3f}',
        flush=True)
  for delay, holds in summary['bar'].items():
    verdict = {True: 'holds', False: 'not met', None: 'not yet measured'}[holds]
    print(f'{delay}: TVT above no TVT (gamma 0.92) in pickup rate and last-phase reward on '
          f'every seed: {verdict}', flush=True)
  print(f'figures: {FLAGS.results}.json; plot: {FLAGS.results}.png', flush=True)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
