"""The agents as Acme actors in a user's own code: `acme.EnvironmentLoop(environment, agent)` on
plain `dm_env` tasks that are none of the project's own (tests/embedding_tasks.py)."""

import acme
from acme import specs
from acme.utils import loggers
import numpy as np
import pytest

from agents.meta_rl import agent as meta_rl_agent
from agents.meta_rl import config as meta_rl_config
from tests import embedding_tasks


class _Returns(loggers.Logger):
  """Keeps the episode returns that `acme.EnvironmentLoop` logs."""

  def __init__(self):
    self.returns = []

  def write(self, data):
    self.returns.append(float(data['episode_return']))

  def close(self):
    pass


def _run(environment, agent, episodes: int) -> np.ndarray:
  returns = _Returns()
  acme.EnvironmentLoop(environment, agent, logger=returns).run(num_episodes=episodes)
  agent.close()
  return np.array(returns.returns)


# Sequences of 10 steps hold a whole episode of either task (zero-padded after its end); a
# larger step size and a small entropy cost than the bandits' learn within CI's budget.
_META_RL = meta_rl_config.MetaRLConfig(num_trials=10, unroll_length=10, batch_size=8,
                                       learning_rate=1e-2, entropy_cost_start=0.01,
                                       discount=0.99)


@pytest.mark.parametrize('task, episodes, chance, bar', [
    # Catch: a random paddle catches about one ball in five (mean return about -0.6).
    (embedding_tasks.Catch, 1500, -0.6, 0.5),
    # Cue: answering at random returns 0 on average; remembering the cue returns 1.
    (embedding_tasks.Cue, 800, 0.0, 0.8),
])
def test_meta_rl_learns_a_plain_dm_env_task_in_acme_environment_loop(task, episodes, chance,
                                                                     bar):
  environment = task(seed=0)
  agent = meta_rl_agent.MetaRL(specs.make_environment_spec(environment), _META_RL, seed=0)
  assert isinstance(agent, acme.Actor)
  returns = _run(environment, agent, episodes)
  assert len(returns) == episodes
  first, last = returns[:episodes // 10].mean(), returns[-episodes // 10:].mean()
  assert first < chance + 0.3, (first, last)
  assert last > bar, (first, last)
  assert agent.learner_steps >= episodes // _META_RL.batch_size - 1
