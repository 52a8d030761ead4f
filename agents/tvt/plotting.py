"""Learning curves of TVT runs as PNG files (last-phase reward and episode reward)."""

from typing import Dict, List, Optional, Sequence

import numpy as np


def smooth(values: Sequence[float], window: int) -> np.ndarray:
  """Trailing moving average over up to `window` points (shorter at the start)."""
  values = np.asarray(values, float)
  sums = np.cumsum(np.insert(values, 0, 0.0))
  starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
  return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)


def plot_learning_curves(runs: Dict[str, List[Dict[str, float]]], path: str,
                         smoothing_episodes: int = 1000, title: str = '',
                         bars: Optional[Dict[str, float]] = None):
  """Last-phase reward and episode reward against episodes (env steps on a top axis).

  `runs` maps a label to its progress records (one per learner step, with `episodes`,
  `env_steps`, `last_phase_reward` and `reward`); curves are moving averages over
  `smoothing_episodes` episodes. `bars` draws labelled horizontal lines on the first panel.
  """
  from agents import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
  steps_per_episode = None
  for label, records in runs.items():
    if not records:
      continue
    episodes = np.array([r['episodes'] for r in records])
    batch = max(1, int(round(episodes[0]))) if len(episodes) == 1 else max(
        1, int(round(np.median(np.diff(episodes)))))
    window = max(1, smoothing_episodes // batch)
    steps_per_episode = records[-1]['env_steps'] / max(records[-1]['episodes'], 1)
    for ax, key in zip(axes, ('last_phase_reward', 'reward')):
      ax.plot(episodes, smooth([r[key] for r in records], window), label=label)
  for label, value in (bars or {}).items():
    axes[0].axhline(value, color='0.5', linestyle='--', linewidth=1)
    axes[0].text(axes[0].get_xlim()[0], value, f' {label}', va='bottom', color='0.4',
                 fontsize=8)
  for ax, name in zip(axes, ('last-phase reward', 'episode reward')):
    ax.set_xlabel('environment episodes')
    ax.set_ylabel(f'{name} ({smoothing_episodes}-episode moving average)')
    ax.grid(alpha=0.3)
    if steps_per_episode:
      top = ax.secondary_xaxis('top', functions=(lambda e: e * steps_per_episode,
                                                 lambda s: s / steps_per_episode))
      top.set_xlabel('environment steps')
  axes[0].legend()
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
