"""The delay sweep on key_to_door: which arms, how each is trained, what the runs show.

Arms: TVT (gamma 0.92), no TVT (gamma 0.92) and no TVT (gamma 1), at each distractor length;
and the zero-apple-reward control (TVT and no TVT, gamma 0.92) at the original length 90. Every
run is one `launch.tvt` run directory, trained in rounds of growing budgets so that all runs
have the same budget whenever the sweep stops (`launch.tvt_delay_sweep`).
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from agents.tvt import diagnostics
from agents.tvt import plotting
from agents.tvt import summaries
from environments.pycolab import objects

ARMS = {'tvt': ('TVT (gamma 0.92)', ['--do_tvt', '--gamma=0.92']),
        'no_tvt': ('no TVT (gamma 0.92)', ['--nodo_tvt', '--gamma=0.92']),
        'no_tvt_gamma1': ('no TVT (gamma 1)', ['--nodo_tvt', '--gamma=1.0'])}
CONTROL_ARMS = ('tvt', 'no_tvt')
CONTROL_FLAGS = ['--pycolab_apple_reward_min=0', '--pycolab_apple_reward_max=0']
CONTROL_DELAY = objects.DEFAULT_MAX_FRAMES_PER_PHASE['distractor']
WINDOW_EPISODES = 1000
FIGURES = ('last_phase_reward', 'key_pickup_rate', 'tvt_events', 'transport_reward_to_explore',
           'transport_distractor_to_explore', 'transport_reward_to_distractor',
           'transport_to_pickup_with_key', 'transport_to_other_explore_with_key',
           'transport_to_explore_without_key', 'value_reward_phase_start_with_key',
           'value_reward_phase_start_without_key')


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run of the sweep."""
  arm: str
  delay: int
  seed: int
  control: bool = False  # Zero apple reward.

  @property
  def name(self) -> str:
    return f'{self.arm}{"_zero_apples" if self.control else ""}_delay{self.delay}_seed{self.seed}'

  @property
  def label(self) -> str:
    return f'{ARMS[self.arm][0]}{", no apple reward" if self.control else ""}, delay {self.delay}'

  def command(self, logdir: str, iterations: int) -> List[str]:
    """`launch.tvt`'s arguments for this run, trained (or resumed) to `iterations` batches."""
    return ['-m', 'launch.tvt', f'--logdir={os.path.join(logdir, self.name)}',
            f'--num_episodes={iterations}', f'--seed={self.seed}', '--pycolab_game=key_to_door',
            f'--pycolab_distractor_length={self.delay}', *ARMS[self.arm][1],
            *(CONTROL_FLAGS if self.control else [])]


def make_runs(delays: Sequence[int], seeds: Sequence[int], control: bool = True,
              arms: Sequence[str] = tuple(ARMS)) -> List[Run]:
  """Every arm (of `arms`) at every delay and seed, then the zero-apple control (its own arms,
  whatever `arms` says) at the original delay."""
  runs = [Run(arm, delay, seed) for delay in delays for arm in arms for seed in seeds]
  if control:
    runs += [Run(arm, CONTROL_DELAY, seed, control=True) for arm in CONTROL_ARMS
             for seed in seeds]
  return runs


def round_budgets(iterations: int, rounds: int) -> List[int]:
  """Learner iterations each run reaches after each round: halving back from the budget."""
  return sorted({max(1, iterations >> (rounds - 1 - r)) for r in range(rounds)})


def window_means(records: List[Dict[str, float]], keys: Sequence[str] = FIGURES,
                 window: int = WINDOW_EPISODES) -> Dict[str, Optional[float]]:
  """Means of `keys` over the records of the last `window` episodes (None where not logged)."""
  if not records:
    return {key: None for key in keys}
  last = records[-1]['episodes']
  recent = [r for r in records if r['episodes'] > last - window] or records[-1:]
  means = {}
  for key in keys:
    values = [r[key] for r in recent if key in r and np.isfinite(r[key])]
    means[key] = float(np.mean(values)) if values else None
  return means


def random_walk_pickup_rate(episodes: int = 2048, batch_size: int = 64) -> float:
  """The key-pickup rate of uniformly random actions (what no credit assignment needs), found
  as the learner finds it (`diagnostics.key_pickup_steps`); the delay does not change it."""
  from environments.pycolab import vectorised  # pylint: disable=g-import-not-at-top
  batch = vectorised.VectorisedPycolabBatch('key_to_door', seeds=list(range(batch_size)))
  explore = batch.phase_lengths[0]
  rng = np.random.RandomState(0)
  taken = []
  for _ in range(-(-episodes // batch_size)):
    images = [batch.reset().observation]
    for _ in range(explore):
      images.append(batch.step(rng.randint(objects.NUM_ACTIONS, size=batch_size)).observation)
    taken.append(diagnostics.key_pickup_steps(np.stack(images, 1), explore) >= 0)
  return float(np.mean(taken))


def report(logdir: str, runs: Sequence[Run], results_path: str) -> Dict:
  """Reads every run's progress, writes `<results_path>.json` and `.png`; returns the summary.

  The summary holds one row per run (episodes, environment steps, the last window's figures)
  and, per delay, whether the bar holds: TVT's key-pickup rate and last-phase reward above
  no TVT's (gamma 0.92) on every seed.
  """
  rows, curves = [], {}
  for run in runs:
    path = os.path.join(logdir, run.name, summaries.PROGRESS_FILE)
    records = summaries.read_json_lines(path) if os.path.exists(path) else []
    curves[run] = records
    rows.append(dict(run=run.name, arm=run.arm, delay=run.delay, seed=run.seed,
                     control=run.control,
                     episodes=int(records[-1]['episodes']) if records else 0,
                     env_steps=int(records[-1]['env_steps']) if records else 0,
                     **window_means(records)))
  summary = {'window_episodes': WINDOW_EPISODES, 'runs': rows, 'bar': bar(rows),
             'random_walk_key_pickup_rate': random_walk_pickup_rate()}
  os.makedirs(os.path.dirname(os.path.abspath(results_path)), exist_ok=True)
  with open(results_path + '.json', 'w') as f:
    json.dump(summary, f, indent=2)
  plot(curves, results_path + '.png')
  return summary


def bar(rows: Sequence[Dict]) -> Dict[str, Optional[bool]]:
  """Per delay: TVT above no TVT (gamma 0.92) in pickup rate and last-phase reward on every
  seed (None while a figure is missing)."""
  result = {}
  for delay in sorted({r['delay'] for r in rows if not r['control']}):
    by_seed = {}
    for r in rows:
      if r['delay'] == delay and not r['control'] and r['arm'] in ('tvt', 'no_tvt'):
        by_seed.setdefault(r['seed'], {})[r['arm']] = r
    holds = True if by_seed else None  # No TVT / no-TVT pair at this delay: not measured.
    for pair in by_seed.values():
      figures = [(pair.get('tvt', {}).get(k), pair.get('no_tvt', {}).get(k))
                 for k in ('key_pickup_rate', 'last_phase_reward')]
      if any(a is None or b is None for a, b in figures):
        holds = None
        break
      holds = holds and all(a > b for a, b in figures)
    result[f'delay {delay}'] = holds
  return result


def table(summary: Dict) -> str:
  """The summary's rows as aligned text."""
  fmt = lambda v: 'n/a' if v is None else f'{v:.3f}'
  lines = [f'{"run":38s} {"episodes":>9s} {"env steps":>11s} {"last-phase":>10s} '
           f'{"pickup":>7s} {"events":>7s} {"R->E":>7s} {"D->E":>7s} {"R->D":>7s}']
  for r in summary['runs']:
    lines.append(f'{r["run"]:38s} {r["episodes"]:9d} {r["env_steps"]:11d} '
                 f'{fmt(r["last_phase_reward"]):>10s} {fmt(r["key_pickup_rate"]):>7s} '
                 f'{fmt(r["tvt_events"]):>7s} {fmt(r["transport_reward_to_explore"]):>7s} '
                 f'{fmt(r["transport_distractor_to_explore"]):>7s} '
                 f'{fmt(r["transport_reward_to_distractor"]):>7s}')
  return '\n'.join(lines)


def plot(curves: Dict[Run, List[Dict[str, float]]], path: str):
  """Last-phase reward and key-pickup rate against episodes and environment steps, one line
  per run (colour: arm; line: delay, dotted for the control)."""
  from agents import plotting as shared_plotting  # pylint: disable=g-import-not-at-top
  plt = shared_plotting.pyplot()
  fig, axes = plt.subplots(2, 2, figsize=(13, 8), sharey='row')
  colours = dict(zip(ARMS, ('tab:blue', 'tab:orange', 'tab:green')))
  delays = sorted({run.delay for run in curves})
  styles = dict(zip(delays, ('-', '--', '-.')))
  for run, records in curves.items():
    if not records:
      continue
    episodes = np.array([r['episodes'] for r in records])
    batch = max(1.0, float(np.median(np.diff(episodes)))) if len(episodes) > 1 else 1.0
    window = max(1, int(WINDOW_EPISODES // batch))
    x_axes = (episodes, np.array([r['env_steps'] for r in records]))
    for row, key in enumerate(('last_phase_reward', 'key_pickup_rate')):
      y = plotting.smooth([r.get(key, np.nan) for r in records], window)
      for column, x in enumerate(x_axes):
        axes[row, column].plot(x, y, color=colours[run.arm], alpha=0.8,
                               linestyle=':' if run.control else styles[run.delay],
                               label=f'{run.label}, seed {run.seed}' if column == 0 else None)
  for row, name in enumerate(('last-phase reward', 'key-pickup rate')):
    for column, x_name in enumerate(('environment episodes', 'environment steps')):
      axes[row, column].set_xlabel(x_name)
      axes[row, column].set_ylabel(f'{name} ({WINDOW_EPISODES}-episode mean)')
      axes[row, column].grid(alpha=0.3)
  axes[0, 0].legend(fontsize=7)
  fig.suptitle('key_to_door delay sweep: TVT against no TVT')
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
