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

import json
import os
import signal
import subprocess
import sys
from typing import Dict, List, Optional

from absl import app
from absl import flags
import numpy as np

from agents.core import launching
from agents.tvt import plotting
from agents.tvt import summaries

RUNS = {'TVT (gamma 0.92)': ('tvt', ['--do_tvt']),
        'no TVT (gamma 0.92)': ('no_tvt', ['--nodo_tvt'])}
BARS = {'TVT': 8.0, 'no TVT': 3.0}  # At least / at most, mean over the last 1000 episodes.
WINDOW_EPISODES = 1000

FLAGS = flags.FLAGS
flags.DEFINE_string('logdir', 'runs/tvt_key_to_door', 'Directory of both runs and the plot.')
flags.DEFINE_integer('episodes', 2_000_000, 'Environment episodes per run (multiple of 16).')
flags.DEFINE_integer('seed', 0, 'Seed of both runs.')
flags.DEFINE_boolean('parallel', True, 'Train both runs at once (else one after the other).')
flags.DEFINE_boolean('plot_only', False, 'Do not train; report on the runs as they are.')


def _last_window_mean(records: List[Dict[str, float]], key: str) -> Optional[float]:
  """Mean of `key` over the last WINDOW_EPISODES episodes (records are per batch means)."""
  if not records:
    return None
  batch = records[0]['episodes'] if len(records) == 1 else (
      records[-1]['episodes'] - records[-2]['episodes'])
  count = max(1, int(round(WINDOW_EPISODES / max(batch, 1))))
  return float(np.mean([r[key] for r in records[-count:]]))


def report(logdir: str) -> Dict:
  """Plots the curves, prints and returns the figures of both runs."""
  runs, summary = {}, {}
  for label, (name, _) in RUNS.items():
    path = os.path.join(logdir, name, summaries.PROGRESS_FILE)
    records = summaries.read_json_lines(path) if os.path.exists(path) else []
    runs[label] = records
    summary[name] = {
        'episodes': int(records[-1]['episodes']) if records else 0,
        'env_steps': int(records[-1]['env_steps']) if records else 0,
        'last_phase_reward_last_1000_episodes': _last_window_mean(records, 'last_phase_reward'),
        'reward_last_1000_episodes': _last_window_mean(records, 'reward'),
        'tvt_reward_last_1000_episodes': _last_window_mean(records, 'tvt_reward'),
    }
  tvt, no_tvt = (summary[name]['last_phase_reward_last_1000_episodes']
                 for name, _ in RUNS.values())
  summary['claim_holds'] = bool(tvt is not None and no_tvt is not None and
                                tvt >= BARS['TVT'] and no_tvt <= BARS['no TVT'])
  plot_path = os.path.join(logdir, 'key_to_door_tvt_vs_no_tvt.png')
  plotting.plot_learning_curves(
      runs, plot_path, smoothing_episodes=WINDOW_EPISODES,
      title='key_to_door: RMA with and without TVT (gamma 0.92)',
      bars={'TVT bar (>= 8)': BARS['TVT'], 'no-TVT bar (<= 3)': BARS['no TVT']})
  with open(os.path.join(logdir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  for label, (name, _) in RUNS.items():
    s = summary[name]
    value = s['last_phase_reward_last_1000_episodes']
    print(f'{label:22s} {s["episodes"]:>9d} episodes {s["env_steps"]:>11d} env steps   '
          f'last-phase reward (last 1000 episodes) '
          f'{"n/a" if value is None else f"{value:.2f}"}', flush=True)
  print(f'claim (TVT >= {BARS["TVT"]:g}, no TVT <= {BARS["no TVT"]:g}): '
        f'{"holds" if summary["claim_holds"] else "not reached"}; plot: {plot_path}',
        flush=True)
  return summary


def train(logdir: str, episodes: int, seed: int, parallel: bool):
  """Runs (or resumes) both trainings as child processes, logs in <logdir>/<run>.log."""
  iterations = -(-episodes // 16)
  processes = []
  for _, (name, extra) in RUNS.items():
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
  if FLAGS.episodes < 16:
    launching.exit_with_usage_error(f'--episodes must be at least 16, got {FLAGS.episodes}')
  os.makedirs(FLAGS.logdir, exist_ok=True)
  if not FLAGS.plot_only:
    train(FLAGS.logdir, FLAGS.episodes, FLAGS.seed, FLAGS.parallel)
  report(FLAGS.logdir)


if __name__ == '__main__':
  app.run(main, flags_parser=launching.parse_flags)
