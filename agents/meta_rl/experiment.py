"""A meta-RL run directory: training it with the distributed program, then evaluating it.

What `launch.meta_rl`, `launch.meta_rl_evaluate` and `launch.meta_rl_experiments` share; the
run directory (its config, the resume rule) is `agents.core.run_dir`'s.
"""

import dataclasses
import json
import os
from typing import Any, Dict, Optional, Sequence

import environments
from agents.core import distributed
from agents.core import launching
from agents.core import run_dir as run_dir_lib
from agents.meta_rl import baselines
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib
from agents.meta_rl import evaluation

# What must match to resume a run from its checkpoint: the task and the network's shape.
# Other hyperparameters (the budget, learning rate, ...) may change between sessions.
RESUME_KEYS = ('env_id', 'num_trials', 'meta', 'agent.num_arms', 'agent.lstm_units',
               'agent.normalise_trial_index')


def make_run_config(env_id: str, num_trials: int, meta: bool,
                    agent_config: config_lib.MetaRLConfig, **extra) -> Dict[str, Any]:
  """The settings a run directory records: the task, the agent's config and `extra`."""
  return dict(env_id=environments.canonical_id(env_id), num_trials=num_trials, meta=meta,
              agent=dataclasses.asdict(agent_config), **extra)


def agent_config_of(run_config: Dict[str, Any]) -> config_lib.MetaRLConfig:
  return config_lib.MetaRLConfig(**run_config['agent'])


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
  resumed = run_dir_lib.write_or_check(run_dir, run_config, RESUME_KEYS)
  print(f'meta-RL on {run_config["env_id"]}: {program_config.num_actors} workers x '
        f'{program_config.envs_per_actor} bandits, {program_config.max_actor_steps} steps, '
        f'run directory {run_dir}{" (resuming)" if resumed else ""}', flush=True)
  environment_factory = environments.make_factory(env_id, num_trials=agent_config.num_trials,
                                                  meta=meta)
  program = distributed.make_program(builder_lib.MetaRLBuilder(agent_config),
                                     environment_factory, program_config, name='meta_rl')
  launching.launch(program, launch_type, run_dir, loopback_only=loopback_only)
  return resumed


def evaluate_run(run_dir: str, env_id: Optional[str] = None, episodes: int = 5000,
                 seed: int = 12345, greedy: bool = False,
                 gittins_discounts: Sequence[float] = (0.9, 0.99)) -> Dict[str, Any]:
  """Evaluates the run's latest checkpoint; prints the table and writes json and png files.

  Raises FileNotFoundError if `run_dir` holds no meta-RL run (or no checkpoint) and
  ValueError if `env_id` has another number of arms than the run was trained on.
  """
  run_config = run_dir_lib.read_config(run_dir)
  if run_config is None:
    raise FileNotFoundError(f'{run_dir} is not a meta-RL run directory (no '
                            f'{run_dir_lib.RUN_CONFIG})')
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
  curves = (evaluation.baseline_regret_curves(distribution, num_trials, gittins_discounts)
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
  evaluation.plot_regret(plot_path, result, curves)
  print(f'regret curve plotted in {plot_path}', flush=True)
  return summary
