"""What the meta-RL training and evaluation commands share: run directories, configs, evaluation."""

import dataclasses
import json
import os
from typing import Dict, Optional, Sequence

import numpy as np

import environments
from agents.core import distributed
from agents.core import launching
from agents.meta_rl import baselines
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib
from agents.meta_rl import evaluation

RUN_CONFIG = 'run_config.json'
# What must match to resume a run from its checkpoint: the task and the network's shape.
# Other hyperparameters (the budget, learning rate, ...) may change between sessions.
_RESUME_KEYS = ('env_id', 'num_trials', 'meta')
_RESUME_AGENT_KEYS = ('num_arms', 'lstm_units', 'normalise_trial_index')


def make_run_config(env_id: str, num_trials: int, meta: bool,
                    agent_config: config_lib.MetaRLConfig, **extra) -> Dict:
  return dict(env_id=environments.canonical_id(env_id), num_trials=num_trials, meta=meta,
              agent=dataclasses.asdict(agent_config), **extra)


def read_run_config(run_dir: str) -> Optional[Dict]:
  path = os.path.join(run_dir, RUN_CONFIG)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def write_or_check_run_config(run_dir: str, run_config: Dict) -> bool:
  """Writes the run's config after checking it against the one already there, if any.

  Returns True if the directory already held this run (a resume). Raises ValueError, touching
  nothing, if it holds a different run (another task or network shape).
  """
  existing = read_run_config(run_dir)
  if existing is not None:
    different = [k for k in _RESUME_KEYS if existing.get(k) != run_config.get(k)]
    different += [k for k in _RESUME_AGENT_KEYS
                  if existing.get('agent', {}).get(k) != run_config['agent'].get(k)]
    if different:
      raise ValueError(f'{run_dir} holds a different run (it differs in {", ".join(different)});'
                       ' choose another --logdir or repeat its settings to resume it')
  os.makedirs(run_dir, exist_ok=True)
  with open(os.path.join(run_dir, RUN_CONFIG), 'w') as f:
    json.dump(run_config, f, indent=2)
  return existing is not None


def train(env_id: str, agent_config: config_lib.MetaRLConfig,
          program_config: distributed.DistributedConfig, meta: bool = True,
          launch_type: str = 'local_mp', loopback_only: bool = True) -> bool:
  """Runs the distributed meta-RL program in `program_config.run_dir` until its step budget.

  Returns whether it resumed an earlier run of the same directory. Raises ValueError, having
  written nothing, if the directory holds a different run, and launching.NodeFailedError if a
  node died (checkpoints written so far are kept).
  """
  run_dir = program_config.run_dir
  run_config = make_run_config(env_id, agent_config.num_trials, meta, agent_config,
                               num_steps=program_config.max_actor_steps)
  resumed = write_or_check_run_config(run_dir, run_config)
  print(f'meta-RL on {run_config["env_id"]}: {program_config.num_actors} workers x '
        f'{program_config.envs_per_actor} bandits, {program_config.max_actor_steps} steps, '
        f'run directory {run_dir}{" (resuming)" if resumed else ""}', flush=True)
  environment_factory = environments.make_factory(env_id, num_trials=agent_config.num_trials,
                                                  meta=meta)
  program = distributed.make_program(builder_lib.MetaRLBuilder(agent_config),
                                     environment_factory, program_config, name='meta_rl')
  launching.launch(program, launch_type, run_dir, loopback_only=loopback_only)
  return resumed


def agent_config_of(run_config: Dict) -> config_lib.MetaRLConfig:
  return config_lib.MetaRLConfig(**run_config['agent'])


def baseline_regret_curves(distribution: str, num_trials: int,
                           gittins_discounts: Sequence[float]) -> Dict[str, np.ndarray]:
  policies = [baselines.ThompsonPolicy(num_trials), baselines.UCBPolicy(2.0)]
  policies += [baselines.GittinsPolicy(g, num_trials) for g in gittins_discounts]
  policies.append(baselines.bayes_optimal(distribution, num_trials)[0])
  return {p.name: baselines.regret_curve(p, distribution, num_trials) for p in policies}


def plot_regret(path: str, result: evaluation.RegretResult, curves: Dict[str, np.ndarray]):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  trials = np.arange(1, len(result.regret_curve) + 1)
  fig, ax = plt.subplots(figsize=(7, 4.5))
  ax.plot(trials, result.regret_curve, color='tab:green', linewidth=2.5, label='meta-RL agent')
  styles = ['--', ':', '-.', (0, (5, 1)), (0, (1, 1))]
  for (name, curve), style in zip(curves.items(), styles * 3):
    ax.plot(trials, curve, linestyle=style, color='0.3', label=name)
  ax.set_xlabel('trial t')
  ax.set_ylabel('expected cumulative regret R_t')
  ax.set_title(f'{result.env_id}: {result.episodes} test episodes')
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def evaluate_run(run_dir: str, env_id: Optional[str] = None, episodes: int = 5000,
                 seed: int = 12345, greedy: bool = False,
                 gittins_discounts: Sequence[float] = (0.9, 0.99)) -> Dict:
  """Evaluates the run's latest checkpoint; prints the table and writes json and png files."""
  run_config = read_run_config(run_dir)
  if run_config is None:
    raise FileNotFoundError(f'{run_dir} is not a meta-RL run directory (no '
                            f'{RUN_CONFIG})')
  env_id = environments.canonical_id(env_id or run_config['env_id'])
  config = agent_config_of(run_config)
  num_trials = run_config['num_trials']
  arms = environments.make(env_id).action_spec().num_values
  if arms != config.num_arms:
    raise ValueError(f'{env_id} has {arms} arms but the run in {run_dir} was trained on '
                     f'{config.num_arms}')
  network, checkpoint = evaluation.load_network(run_dir, config, env_id)
  result = evaluation.evaluate(network, env_id, episodes, num_trials, seed, greedy=greedy)
  distribution = evaluation.baseline_distribution(env_id)
  curves = (baseline_regret_curves(distribution, num_trials, gittins_discounts)
            if distribution and config.num_arms == 2 else {})
  finals = {name: float(curve[-1]) for name, curve in curves.items()}
  if distribution:
    finals['uniform random'] = num_trials * (baselines.EXPECTED_MAX_PROBABILITY[distribution]
                                             - 0.5)
  print(evaluation.format_report(result, finals, num_trials), flush=True)
  name = env_id + ('_greedy' if greedy else '')
  summary = {'checkpoint': checkpoint, 'env_id': env_id, 'episodes': episodes,
             'greedy': greedy, 'agent_regret': result.final_regret,
             'agent_regret_standard_error': result.regret_standard_error,
             'agent_suboptimal_pulls': result.suboptimal_pulls,
             'agent_regret_curve': result.regret_curve.tolist(), 'baselines': finals}
  with open(os.path.join(run_dir, f'evaluation_{name}.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  plot_path = os.path.join(run_dir, f'regret_{name}.png')
  plot_regret(plot_path, result, curves)
  print(f'regret curve plotted in {plot_path}', flush=True)
  return summary
