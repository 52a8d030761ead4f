"""Model-based generalisation (Young et al., ICML 2023): five DQN agents that differ only in where
the transitions of each Q update come from: replay (ER), the true environment (perfect model), a
learned observation model (simple model) or a learned categorical or Gaussian latent model.
"""

from agents.model_based.config import ExperimentConfig
from agents.model_based.dqn import DQNAgent
from agents.model_based.latent_model import LatentModelAgent
from agents.model_based.rollouts import PerfectModelAgent
from agents.model_based.simple_model import SimpleModelAgent

AGENTS = {'ER': DQNAgent, 'perfect_model': PerfectModelAgent,
          'simple_model': SimpleModelAgent, 'latent_model': LatentModelAgent}


def make_agent(config: ExperimentConfig, environment) -> DQNAgent:
  """The agent of `config.agent_type` for a pure-JAX environment."""
  return AGENTS[config.agent_type](config, environment)
