"""A TVT run on a pycolab task: its agent config, its run directory's settings, its plot.

What `launch.tvt` builds from its flags; the run directory (its config, the resume rule) is
`agents.core.run_dir`'s.
"""

import dataclasses
import os
from typing import Any, Callable, Dict, Optional, Tuple

import environments
from agents.tvt import config as config_lib
from agents.tvt import plotting
from agents.tvt import summaries

GAMES = ('key_to_door', 'active_visual_match')
# What must match to resume a run from its checkpoint: the task, the training mode (their
# checkpoints differ) and the agent fields that shape its variables or its batch. Any other
# setting (the budget, the seed, the loss weights, the optimiser's hyperparameters) may change.
RESUME_KEYS = ('game', 'environment', 'distributed', 'agent.with_memory',
               'agent.with_reconstruction', 'agent.batch_size', 'agent.image_code_size',
               'agent.num_latents', 'agent.lstm_units', 'agent.memory_size',
               'agent.memory_num_reads', 'agent.policy_hidden', 'agent.z_hidden',
               'agent.episode_length')


def make_config(game: str, environment_kwargs: Dict[str, Any],
                **agent_kwargs) -> Tuple[Callable[..., Any], config_lib.TVTConfig]:
  """(environment factory, validated agent config) for `game`; ValueError on bad values.

  The episode length and last phase come from the task; the episode queue holds at least
  two batches.
  """
  probe = environments.make(game, **environment_kwargs)
  batch_size = agent_kwargs.get('batch_size', config_lib.TVTConfig.batch_size)
  config = config_lib.TVTConfig(
      episode_length=probe.episode_length, last_phase_steps=probe.phase_lengths[-1],
      max_queue_size=max(config_lib.TVTConfig.max_queue_size, 2 * batch_size), **agent_kwargs)
  config.validate()
  return environments.make_factory(game, **environment_kwargs), config


def make_run_config(game: str, environment_kwargs: Dict[str, Any],
                    config: config_lib.TVTConfig, seed: int,
                    distributed: bool) -> Dict[str, Any]:
  """The settings a run directory records (checked against RESUME_KEYS on a resume)."""
  return dict(game=game, environment=environment_kwargs, agent=dataclasses.asdict(config),
              seed=seed, distributed=distributed)


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
