"""A TVT run on a pycolab task: its agent config, its run directory's settings, its plot.

What `launch.tvt` builds from its flags; the run directory (its config, the resume rule) is
`agents.core.run_dir`'s.
"""

import dataclasses
import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import environments
from agents.tvt import config as config_lib
from agents.tvt import plotting
from agents.tvt import summaries

GAMES = ('key_to_door', 'active_visual_match')
# How the actors step their environments: numpy-vectorised batches (fast) or pycolab ones.
ENV_BACKENDS = ('vectorised', 'pycolab')
# What must match to resume a run from its checkpoint: the task, the training mode (their
# checkpoints differ) and the agent fields that shape its variables or its batch. Any other
# setting (the budget, the seed, the loss weights, the optimiser's hyperparameters) may change.
RESUME_KEYS = ('game', 'environment', 'distributed', 'agent.with_memory',
               'agent.with_reconstruction', 'agent.batch_size', 'agent.image_code_size',
               'agent.num_latents', 'agent.lstm_units', 'agent.memory_size',
               'agent.memory_num_reads', 'agent.policy_hidden', 'agent.z_hidden',
               'agent.episode_length')


def make_factory(game: str, environment_kwargs: Dict[str, Any],
                 env_backend: str = 'vectorised') -> Callable[..., Any]:
  """The factory of `game`'s environments: numpy-vectorised batches or pycolab ones.

  Both give the same episodes for the same seeds (tests/test_tvt_vectorised.py); pycolab is
  the reference, and what `environments.pycolab.play` runs.
  """
  if env_backend == 'vectorised':
    # pylint: disable-next=g-import-not-at-top
    from environments.pycolab import vectorised  # Loads pycolab: only when used.
    return vectorised.make_factory(game, **environment_kwargs)
  if env_backend == 'pycolab':
    return environments.make_factory(game, **environment_kwargs)
  raise ValueError(f'unknown env_backend {env_backend!r}; valid: {", ".join(ENV_BACKENDS)}')


def make_config(game: str, environment_kwargs: Dict[str, Any], env_backend: str = 'vectorised',
                **agent_kwargs) -> Tuple[Callable[..., Any], config_lib.TVTConfig]:
  """(environment factory, validated agent config) for `game`; ValueError on bad values.

  The episode length and last phase come from the task; the episode queue holds at least
  two batches. `env_backend`: see `make_factory`.
  """
  probe = environments.make(game, **environment_kwargs)
  batch_size = agent_kwargs.get('batch_size', config_lib.TVTConfig.batch_size)
  config = config_lib.TVTConfig(
      episode_length=probe.episode_length, last_phase_steps=probe.phase_lengths[-1],
      phase_lengths=tuple(probe.phase_lengths), task=game,
      max_queue_size=max(config_lib.TVTConfig.max_queue_size, 2 * batch_size), **agent_kwargs)
  config.validate()
  return make_factory(game, environment_kwargs, env_backend), config


def make_run_config(game: str, environment_kwargs: Dict[str, Any],
                    config: config_lib.TVTConfig, seed: int,
                    distributed: bool, env_backend: str = 'vectorised') -> Dict[str, Any]:
  """The settings a run directory records (checked against RESUME_KEYS on a resume).

  `env_backend` is recorded but may change on a resume: both backends play the same episodes.
  """
  return dict(game=game, environment=environment_kwargs, agent=dataclasses.asdict(config),
              seed=seed, distributed=distributed, env_backend=env_backend)


def plot_run(run_dir: str, title: str = '') -> Optional[str]:
  """Plots the run's progress to `run_dir/learning_curve.png`; its path, None if no progress."""
  path = os.path.join(run_dir, summaries.PROGRESS_FILE)
  if not os.path.exists(path):
    return None
  records = summaries.read_json_lines(path)
  plot_path = os.path.join(run_dir, 'learning_curve.png')
  plotting.plot_learning_curves({os.path.basename(os.path.normpath(run_dir)): records},
                                plot_path, title=title)
  return plot_path


# The central claim on key_to_door (`launch.tvt_learning_curve`): two runs, with and without TVT.
RUNS = {'TVT (gamma 0.92)': ('tvt', ['--do_tvt']),
        'no TVT (gamma 0.92)': ('no_tvt', ['--nodo_tvt'])}
BARS = {'TVT': 8.0, 'no TVT': 3.0}  # At least / at most, mean over the last 1000 episodes.
WINDOW_EPISODES = 1000


def _last_window_mean(records: List[Dict[str, float]], key: str) -> Optional[float]:
  """Mean of `key` over the last WINDOW_EPISODES episodes (records are per batch means)."""
  if not records:
    return None
  batch = records[0]['episodes'] if len(records) == 1 else (
      records[-1]['episodes'] - records[-2]['episodes'])
  count = max(1, int(round(WINDOW_EPISODES / max(batch, 1))))
  return float(np.mean([r[key] for r in records[-count:]]))


def claim_report(logdir: str) -> Dict:
  """Plots the curves of both claim runs, prints and returns their figures."""
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
