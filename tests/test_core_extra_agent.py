"""A fifth family from the core pieces alone: plain A2C on a two-armed bandit.

The agent code (network, learner, builder) stays under 100 lines; the rest of the program, in
one process or distributed, is the core's. On the 'easy' bandits (arms paying with probability
0.9 and 0.1, drawn anew each episode) a memoryless policy that sees the previous action and
reward can learn win-stay-lose-shift, about 0.8 reward a trial, where chance is 0.5.
"""

import os
import time

from acme import specs
from acme.adders import reverb as reverb_adders
from acme.tf import utils as tf2_utils
from acme.tf import variable_utils
import cloudpickle
import psutil
import reverb
import sonnet as snt
import tensorflow as tf

import environments
from agents.core import acting
from agents.core import builders
from agents.core import datasets
from agents.core import distributed
from agents.core import environment_loop
from agents.core import launching
from agents.core import learning
from agents.core import local
from agents.core import losses
from agents.core import runners

# ---------------------------------------------------------------- agent code (under 100 lines)


class A2CNetwork(snt.Module):
  """An MLP from the previous action and reward to policy logits and a value."""

  def __init__(self, num_actions: int):
    super().__init__(name='a2c_network')
    self._torso = snt.nets.MLP([32, 32], activate_final=True)
    self._policy = snt.Linear(num_actions)
    self._value = snt.Linear(1)

  def __call__(self, observation):
    inputs = tf.concat([observation['previous_action'],
                        observation['previous_reward'][..., None]], axis=-1)
    hidden = self._torso(inputs)
    return self._policy(hidden), tf.squeeze(self._value(hidden), -1)


class A2CLearner(learning.Learner):
  """On-policy n-step actor-critic on [B, T+1] sequences from Acme's SequenceAdder."""

  def __init__(self, network, dataset, discount, learning_rate, entropy_cost, counter=None,
               logger=None):
    super().__init__('A2C learner', network, dataset, counter, logger)
    self._network = network
    self._optimizer = snt.optimizers.Adam(learning_rate)
    self._discount, self._entropy_cost = discount, entropy_cost

  @property
  def state(self):
    return {'network': self._network, 'optimizer': self._optimizer,
            'num_steps': self._num_steps}

  @tf.function
  def _update(self, observation, action, reward, discount):
    observation, action, reward, discount = tf2_utils.batch_to_sequence(
        (observation, action, reward, discount))
    with tf.GradientTape() as tape:
      logits, values = snt.BatchApply(self._network)(observation)
      loss, metrics = losses.actor_critic_loss(
          logits[:-1], values[:-1], action[:-1], reward[:-1], self._discount * discount[:-1],
          values[-1], entropy_cost=self._entropy_cost)
    variables = self._network.trainable_variables
    finite, norm = self._apply_if_finite(loss, tape.gradient(loss, variables), variables,
                                         self._optimizer)
    return finite, dict(metrics, loss=loss, gradient_norm=norm)

  def step(self):
    data = self._next_batch().data
    finite, metrics = self._update(data.observation, data.action, data.reward, data.discount)
    metrics = tf2_utils.to_numpy(metrics)
    self._check_finite(finite, metrics['loss'], metrics['gradient_norm'])
    self._end_step(metrics)


class A2CBuilder(builders.ActorLearnerBuilder):
  """A queue of (unroll + 1)-step sequences between batched actors and the A2C learner."""

  def __init__(self, unroll: int = 5, batch_size: int = 16, learning_rate: float = 3e-3,
               entropy_cost: float = 0.01, discount: float = 0.9):
    self._unroll, self._batch_size = unroll, batch_size
    self._learning_rate, self._entropy_cost = learning_rate, entropy_cost
    self._discount = discount

  @property
  def batch_size(self):
    return self._batch_size

  def make_networks(self, environment_spec):
    network = A2CNetwork(environment_spec.actions.num_values)
    tf2_utils.create_variables(network, [environment_spec.observations])
    return network

  def make_replay_tables(self, environment_spec):
    signature = reverb_adders.SequenceAdder.signature(environment_spec,
                                                      sequence_length=self._unroll + 1)
    return [reverb.Table.queue('queue', 100 * self._batch_size, signature=signature)]

  def make_dataset_iterator(self, replay_client):
    return datasets.ReverbBatchIterator(replay_client.server_address, 'queue', self._batch_size)

  def make_adder(self, replay_client):
    return reverb_adders.SequenceAdder(replay_client, sequence_length=self._unroll + 1,
                                       period=self._unroll, priority_fns={'queue': None})

  def make_learner(self, networks, dataset, counter=None, logger=None):
    return A2CLearner(networks, dataset, self._discount, self._learning_rate,
                      self._entropy_cost, counter, logger)

  def make_actor(self, networks, variable_source, adders_per_env, seed, evaluation=False):
    client = None
    if variable_source is not None:
      client = variable_utils.VariableClient(variable_source, {'policy': networks.variables},
                                             update_period=1)

    @tf.function
    def policy(observations, state, is_first, seed):
      del is_first  # Memoryless: no state to reset.
      logits, _ = networks(observations)
      actions = tf.random.stateless_categorical(logits, 1, seed)[:, 0]
      return tf.cast(actions, tf.int32), (), state

    return acting.BatchedRecurrentActor(policy, lambda batch_size: (), adders_per_env, client,
                                        seed)

# ---------------------------------------------------------------- end of the agent code

NUM_TRIALS = 10  # Two unrolls of 5 per episode: no padded sequences.
ENV_FACTORY = environments.make_factory('BanditTwoArmedDependentEasy-v0', num_trials=NUM_TRIALS)


def _mean_reward(builder, networks, seed, episodes=256):
  """Reward per trial of the sampled policy with frozen weights, on fresh bandits."""
  env = distributed.make_batched_environment(ENV_FACTORY, episodes, seed)
  actor = builder.make_actor(networks, None, None, seed, evaluation=True)
  result = environment_loop.BatchedEnvironmentLoop(env, actor).run(num_episodes=episodes)
  return result['episode_return'] / NUM_TRIALS


def test_single_process_a2c_learns_win_stay_lose_shift():
  builder = A2CBuilder()
  spec = specs.make_environment_spec(ENV_FACTORY(0))
  untrained = _mean_reward(builder, builder.make_networks(spec), seed=1)
  agent = local.SingleProcessAgent(builder, spec, num_envs=16, seed=0)
  env = distributed.make_batched_environment(ENV_FACTORY, 16, 0)
  # 300 learner steps, about 30 s on two cores; seeded, so the run repeats itself.
  environment_loop.BatchedEnvironmentLoop(env, agent).run(num_steps=24_000)
  agent.close()
  trained = _mean_reward(builder, agent.networks, seed=1)
  assert agent.learner.num_steps == 300
  assert untrained < 0.6 and trained > 0.7, (untrained, trained)


def _children():
  return [p for p in psutil.Process().children(recursive=True)
          if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_distributed_a2c_stops_at_its_budget_having_learned(tmp_path):
  cloudpickle.register_pickle_by_value(__import__(__name__))
  run_dir = str(tmp_path)
  config = distributed.DistributedConfig(run_dir=run_dir, num_actors=2, envs_per_actor=4,
                                         max_actor_steps=4000, with_evaluator=False,
                                         log_period_s=1.0)
  program = distributed.make_program(A2CBuilder(batch_size=4), ENV_FACTORY, config)
  started = time.time()
  launching.launch(program, 'local_mp', run_dir, console=False)  # Returns at the budget.
  assert time.time() - started < 240
  counts = runners.CounterRunner(run_dir, 1.0).get_counts()
  assert counts['actor_steps'] >= 4000
  assert counts['learner_steps'] > 0
  assert os.path.exists(os.path.join(run_dir, 'checkpoints', 'learner', 'checkpoint'))
  time.sleep(1.0)
  assert not _children()
