"""Frozen-weight evaluation of a meta-RL network: expected regret from the true arm probabilities.

Also the reference algorithms' exact regret curves and the plot of both.
"""

import dataclasses
import os
from typing import Dict, Optional, Sequence

from acme import specs
from acme.tf import utils as tf2_utils
import numpy as np
import tensorflow as tf

import environments
from agents.core import distributed
from agents.meta_rl import acting
from agents.meta_rl import baselines
from agents.meta_rl import config as config_lib
from agents.meta_rl import networks as networks_lib
from environments import bandits


class CheckpointNotFoundError(FileNotFoundError):
  """No learner checkpoint where one was expected."""


@dataclasses.dataclass
class RegretResult:
  env_id: str
  episodes: int
  regret_curve: np.ndarray  # Mean expected cumulative regret R_t, t = 1..T.
  regret_standard_error: float  # Of R_T across episodes.
  suboptimal_pulls: float  # Mean count per episode.
  mean_return: float

  @property
  def final_regret(self) -> float:
    return float(self.regret_curve[-1])


def evaluate(network, env_id: str, num_episodes: int = 5000, num_trials: int = 100,
             seed: int = 12345, batch_size: int = 1000, greedy: bool = False) -> RegretResult:
  """Plays `num_episodes` episodes with frozen weights (sampled actions unless `greedy`).

  The LSTM state still evolves within each episode; that is the learned bandit algorithm.
  """
  batch_size = min(batch_size, num_episodes)
  rounds = -(-num_episodes // batch_size)
  regret_increments, suboptimal, returns = [], [], []
  for round_index in range(rounds):
    environment = distributed.make_batched_environment(
        lambda s: environments.make(env_id, num_trials=num_trials, meta=True, seed=s),
        batch_size, seed, round_index)
    actor = acting.MetaRLActor(network, seed=distributed.derive_seed(seed, round_index, 1),
                               greedy=greedy)
    timestep = environment.reset()
    actor.observe_first(timestep)
    probabilities = np.stack([env.expected_rewards for env in environment.environments])
    best = probabilities.max(axis=1)
    rows = np.arange(batch_size)
    increments = np.zeros((batch_size, num_trials))
    episode_return = np.zeros(batch_size)
    for t in range(num_trials):
      actions = actor.select_actions(timestep.observation)
      timestep = environment.step(actions)
      actor.observe(actions, timestep)
      increments[:, t] = best - probabilities[rows, actions]
      episode_return += timestep.reward
    regret_increments.append(increments)
    suboptimal.append((increments > 0).sum(axis=1))
    returns.append(episode_return)
  increments = np.concatenate(regret_increments)[:num_episodes]
  per_episode = increments.sum(axis=1)
  return RegretResult(
      env_id=env_id, episodes=num_episodes,
      regret_curve=increments.cumsum(axis=1).mean(axis=0),
      regret_standard_error=float(per_episode.std(ddof=1) / np.sqrt(num_episodes)),
      suboptimal_pulls=float(np.concatenate(suboptimal)[:num_episodes].mean()),
      mean_return=float(np.concatenate(returns)[:num_episodes].mean()))


def load_network(run_dir: str, config: config_lib.MetaRLConfig, env_id: str):
  """The policy network of the latest learner checkpoint under `run_dir`."""
  directory = os.path.join(run_dir, 'checkpoints', 'learner')
  latest = tf.train.latest_checkpoint(directory) if os.path.isdir(directory) else None
  if latest is None:
    raise CheckpointNotFoundError(f'no learner checkpoint under {directory}')
  spec = specs.make_environment_spec(environments.make(env_id))
  network = networks_lib.make_network(config, spec)
  tf2_utils.create_variables(network, [spec.observations])
  # CheckpointingRunner saves {'learner': learner.state}; restore only the network from it.
  tf.train.Checkpoint(learner={'network': network}).restore(latest).expect_partial()
  return network, latest


def baseline_distribution(env_id: str) -> Optional[str]:
  """The two-armed distribution name of `env_id`, or None if the baselines do not apply."""
  env = environments.make(env_id)
  if isinstance(env, bandits.TwoArmedBernoulliBandit):
    return env.distribution.name
  return None


def format_report(result: RegretResult, baseline_regrets: Dict[str, float],
                  num_trials: int) -> str:
  """The evaluation table: the agent's regret at t = T beside the reference algorithms."""
  lines = [f'Expected cumulative regret at t={num_trials} on {result.env_id} '
           f'({result.episodes} frozen-weight episodes):',
           f'  {"meta-RL agent":32s} {result.final_regret:7.3f} '
           f'+/- {1.96 * result.regret_standard_error:.3f} (95%)   '
           f'sub-optimal pulls {result.suboptimal_pulls:.2f}']
  for name, value in baseline_regrets.items():
    lines.append(f'  {name:32s} {value:7.3f}   (exact)')
  return '\n'.join(lines)


def baseline_regret_curves(distribution: str, num_trials: int,
                           gittins_discounts: Sequence[float]) -> Dict[str, np.ndarray]:
  """Exact expected regret curves of Thompson sampling, UCB1, Gittins and the Bayes optimum."""
  policies = [baselines.ThompsonPolicy(num_trials), baselines.UCBPolicy(2.0)]
  policies += [baselines.GittinsPolicy(g, num_trials) for g in gittins_discounts]
  policies.append(baselines.bayes_optimal(distribution, num_trials)[0])
  return {p.name: baselines.regret_curve(p, distribution, num_trials) for p in policies}


def plot_regret(path: str, result: RegretResult, curves: Dict[str, np.ndarray]):
  """The agent's regret curve beside the baselines' `curves`, as a PNG at `path`."""
  from agents import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
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
