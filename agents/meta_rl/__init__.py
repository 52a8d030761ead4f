"""Meta-RL ("Learning to Reinforcement Learn", Wang et al. 2016): an LSTM actor-critic on bandits."""

from agents.meta_rl.agent import MetaRL
from agents.meta_rl.builder import MetaRLBuilder
from agents.meta_rl.config import MetaRLConfig
