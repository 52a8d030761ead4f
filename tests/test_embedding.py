"""The agents as Acme actors in a user's own code: `acme.EnvironmentLoop(environment, agent)` on
plain `dm_env` tasks that are none of the project's own (tests/embedding_tasks.py)."""

import subprocess
import sys
import time

import acme
from acme import specs
from acme.adders.reverb import base as adders_base
from acme.utils import loggers
import numpy as np
import pytest
import reverb
import tensorflow as tf
import tree

from agents.meta_rl import agent as meta_rl_agent
from agents.meta_rl import config as meta_rl_config
from agents.tvt import agent as tvt_agent
from agents.tvt import builder as tvt_builder
from agents.tvt import config as tvt_config
from agents.tvt import learning as tvt_learning
from agents.tvt import networks as tvt_networks
from tests import commands
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
    # Catch (on a 6-row board: 5-step episodes): a random paddle catches one ball in five
    # (mean return -0.6).
    (embedding_tasks.short_catch, 800, -0.6, 0.2),
    # Cue: answering at random returns 0 on average; remembering the cue returns 1.
    (embedding_tasks.Cue, 400, 0.0, 0.8),
])
def test_meta_rl_learns_a_plain_dm_env_task_in_acme_environment_loop(task, episodes, chance,
                                                                     bar):
  environment = task(seed=0)
  agent = meta_rl_agent.MetaRL(specs.make_environment_spec(environment), _META_RL, seed=0)
  assert isinstance(agent, acme.Actor)
  started = time.time()
  returns = _run(environment, agent, episodes)
  assert len(returns) == episodes
  first, last = returns[:episodes // 10].mean(), returns[-episodes // 10:].mean()
  assert first < chance + 0.3, (first, last)
  assert last > bar, (first, last)
  assert agent.learner_steps >= episodes // _META_RL.batch_size - 1
  print(f'{task.__name__}: {episodes} episodes in {time.time() - started:.1f} s, mean return '
        f'{first:.2f} -> {last:.2f}')


# A small RMA: episodes of up to 12 steps (Cue's are 5, Catch's 9: both padded), a 16-row
# memory read by 3 heads of top-4, and a step size far above the release's 2e-4.
_TVT = dict(episode_length=12, memory_size=16, memory_top_k=4, image_code_size=32,
            num_latents=32, lstm_units=32, policy_hidden=32, z_hidden=64, entropy_cost=0.01)


@pytest.mark.parametrize('task, episodes, config, chance, bar', [
    # Cue: answering at random returns 0 on average; remembering the cue returns 1.
    (embedding_tasks.Cue, 400, dict(batch_size=8, learning_rate=2e-3), 0.0, 0.6),
    # Catch (on a 6-row board): a random paddle catches one ball in five (mean return -0.6);
    # more learner steps (batches of 4) and a larger step size than Cue's.
    (embedding_tasks.short_catch, 700, dict(batch_size=4, learning_rate=5e-3), -0.6, 0.3),
])
def test_tvt_learns_a_plain_dm_env_task_in_acme_environment_loop(task, episodes, config,
                                                                 chance, bar):
  environment = task(seed=0)
  config = tvt_config.TVTConfig(**_TVT, **config)
  agent = tvt_agent.TVT(specs.make_environment_spec(environment), config, seed=0)
  assert isinstance(agent, acme.Actor)
  started = time.time()
  returns = _run(environment, agent, episodes)
  assert len(returns) == episodes
  first, last = returns[:episodes // 10].mean(), returns[-episodes // 10:].mean()
  assert first < chance + 0.3, (first, last)
  assert last > bar and last > first + 0.4, (first, last)
  # The learner stepped once per batch of finished episodes.
  assert agent.learner_steps == episodes // config.batch_size
  print(f'{task.__name__}: {episodes} episodes in {time.time() - started:.1f} s, mean return '
        f'{first:.2f} -> {last:.2f}')


def test_tvt_refuses_an_episode_longer_than_its_episode_length():
  environment = embedding_tasks.Cue(delay=12, seed=0)  # 14 steps.
  config = tvt_config.TVTConfig(**_TVT, batch_size=2)
  agent = tvt_agent.TVT(specs.make_environment_spec(environment), config)
  with pytest.raises(ValueError, match='longer than 12 steps'):
    _run(environment, agent, 1)


# A nested observation: a vector and a float "image" (not uint8: the generic encoder's
# convolutions and the flat decoder, not the release's image decoder).
_NESTED_SPEC = specs.EnvironmentSpec(
    observations={'vector': specs.Array((3,), np.float32),
                  'board': specs.Array((6, 6, 2), np.float32)},
    actions=specs.DiscreteArray(2), rewards=specs.Array((), np.float32),
    discounts=specs.BoundedArray((), np.float32, 0.0, 1.0))


def _episodes_with_padding(spec, extras_spec, lengths, rows, rng, padding):
  """An item batch of episodes of `lengths` transitions in `rows` rows, as the adders write
  them, with strong old memory reads everywhere (so TVT transports value); `padding`: what
  fills the rows after each final observation (zeros, as the adders write, or noise)."""
  batch = len(lengths)

  def random(array_spec, low=-1.0, high=1.0):
    shape = (batch, rows) + tuple(array_spec.shape)
    if np.issubdtype(array_spec.dtype, np.integer):
      return rng.integers(0, 2, size=shape).astype(array_spec.dtype)
    return rng.uniform(low, high, size=shape).astype(array_spec.dtype)

  extras = tree.map_structure(random, extras_spec)
  extras['read_strengths'] = 5.0 + extras['read_strengths']  # Above the threshold 2.
  extras['read_indices'][:] = 0  # Every read finds the first step's memory.
  data = adders_base.Step(
      observation=tree.map_structure(random, spec.observations), action=random(spec.actions),
      reward=random(spec.rewards), discount=random(spec.discounts, 0.0, 1.0),
      start_of_episode=np.arange(rows)[None].repeat(batch, 0) == 0, extras=extras)
  for b, length in enumerate(lengths):
    data.discount[b, :length - 1] = 1.0
    data.discount[b, length - 1] = 0.0  # The last transition ends the episode.
    if padding == 'zeros':
      # Row `length` holds the final observation with a dummy action, reward, discount and
      # extras; the rows after it are all zeros.
      for array in [data.action, data.reward, data.discount] + tree.flatten(data.extras):
        array[b, length:] = 0
      for array in tree.flatten(data.observation):
        array[b, length + 1:] = 0
  return reverb.ReplaySample(info=None, data=data)


class _Terms(loggers.Logger):

  def __init__(self):
    self.terms = []

  def write(self, data):
    self.terms.append(data)

  def close(self):
    pass


def test_tvt_learner_ignores_what_follows_a_shorter_episode_and_takes_nested_observations():
  """Noise after the final observations of short episodes changes no loss term, no TVT reward
  and no gradient (reward transport and memory included); the flat decoder is trained."""
  config = tvt_config.TVTConfig(**_TVT, batch_size=2, gamma=0.5)  # TVT's period: 2 steps.
  builder = tvt_builder.TVTBuilder(config)
  extras_spec = builder.extras_spec(_NESTED_SPEC)
  samples = [_episodes_with_padding(_NESTED_SPEC, extras_spec, [6, 9], 13,
                                    np.random.default_rng(0), padding)
             for padding in ('zeros', 'noise')]
  tf.random.set_seed(0)
  network = builder.make_networks(_NESTED_SPEC)
  assert not network.is_image
  logger = _Terms()
  learner = tvt_learning.TVTLearner(network, iter(samples), config, logger=logger)
  initial = [v.numpy() for v in network.trainable_variables]
  outcomes = []
  for _ in samples:  # One learner (one trace of its update), reset between the two steps.
    for variable, value in zip(network.trainable_variables, initial):
      variable.assign(value)
    for variable in learner._optimizer.variables():  # pylint: disable=protected-access
      variable.assign(tf.zeros_like(variable))  # Adam's initial state.
    learner.step()
    outcomes.append((logger.terms[-1], [v.numpy() for v in network.trainable_variables]))
  (zeros, weights), (noise, noisy_weights) = outcomes
  assert zeros['tvt_reward'] > 0.0 and zeros['recon_loss_image'] > 0.0
  for key in tvt_learning.LOSS_KEYS + ('tvt_reward', 'reward', 'gradient_norm'):
    assert noise[key] == pytest.approx(zeros[key], rel=1e-5, abs=1e-6), key
  assert zeros['env_steps'] == 6 + 9
  for a, b in zip(weights, noisy_weights):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_tvt_network_keeps_the_release_image_path_for_uint8_images():
  image = tvt_networks.make_network(tvt_config.TVTConfig(**_TVT), (5, 5, 3), 4)
  assert image.is_image and isinstance(image.decoders, tvt_networks.Decoders)
  floats = tvt_networks.make_network(tvt_config.TVTConfig(**_TVT),
                                     specs.Array((5, 5, 3), np.float32), 4)
  assert not floats.is_image
  assert isinstance(floats.decoders, tvt_networks.ObservationDecoders)


def test_the_core_torso_embeds_images_in_a_process_that_imported_nothing_else():
  """Sonnet 2.0.0's convolutions need a Python 3.10 fix; the torso must apply it itself (a
  meta-RL user on an image task imports no TVT or FTW module that would)."""
  script = ('import numpy as np, tensorflow as tf\n'
            'from acme import specs\n'
            'from agents.core import torsos\n'
            'torso = torsos.ObservationTorso(specs.Array((8, 8, 3), np.uint8))\n'
            'print(torso(tf.zeros([2, 8, 8, 3], tf.uint8)).shape)\n')
  result = subprocess.run([sys.executable, '-c', script], cwd=commands.ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == '(2, 64)'
