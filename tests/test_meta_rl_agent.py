"""The meta-RL agent in one process: it learns and it refuses NaN losses (seeded single-process
runs repeat themselves: the core's property, tested with TVT's and FTW's agents)."""

import numpy as np
import pytest
import reverb
import tensorflow as tf
from acme import specs

import environments
from agents.core import distributed
from agents.core import environment_loop
from agents.core import servers
from agents.meta_rl import agent as agent_lib
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib
from agents.meta_rl import evaluation


def test_short_training_clearly_beats_random_on_independent_arms():
  # Settings for a quick start rather than the best final policy: a larger step size, a small
  # entropy cost and 20-step unrolls learn within 120k steps, where the training defaults need
  # about 400k steps before they start to improve. At this step size the policy may also
  # collapse again within the budget, depending on the CPU's arithmetic: regret 10.2 at 120k
  # on one machine; 9.4 at 60k but 15.6 at 120k on an AMD EPYC. So the policy is evaluated
  # every 20k steps, and training must take it clearly beyond random at one of them.
  config = config_lib.MetaRLConfig(learning_rate=1e-2, entropy_cost_start=0.01,
                                   unroll_length=20, batch_size=16)
  spec = specs.make_environment_spec(environments.make('independent'))
  agent = agent_lib.MetaRL(spec, config, num_envs=16, seed=0)
  env = distributed.make_batched_environment(environments.make_factory('independent'), 16, 0)
  loop = environment_loop.BatchedEnvironmentLoop(env, agent)
  results = []
  for _ in range(6):
    loop.run(num_steps=20_000)
    results.append(evaluation.evaluate(agent.network, 'independent', num_episodes=1000))
  agent.close()
  best = min(results, key=lambda result: result.final_regret)
  # Uniform random play has expected regret 16.67 at t = 100.
  assert best.final_regret < 12.0, [result.final_regret for result in results]
  assert best.regret_standard_error < 0.75


def test_nan_loss_is_refused_before_touching_the_weights():
  env = environments.make('independent', num_trials=10, seed=0)
  spec = specs.make_environment_spec(env)
  config = config_lib.MetaRLConfig(num_trials=10, unroll_length=10, batch_size=1)
  builder = builder_lib.MetaRLBuilder(config)
  server = servers.make_local_server(builder.make_replay_tables(spec))
  client = reverb.Client(f'localhost:{server.port}')
  network = builder.make_networks(spec)
  adder = builder.make_adder(client)
  actor = builder.make_actor(network, None, [adder], seed=0)
  timestep = env.reset()
  batched = lambda ts: tf.nest.map_structure(lambda x: np.asarray(x)[None], ts)
  actor.observe_first(batched(timestep))
  while not timestep.last():
    action = actor.select_actions(batched(timestep).observation)
    timestep = env.step(action[0])
    actor.observe(action, batched(timestep._replace(reward=np.float32(np.nan))))
  learner = builder.make_learner(network, builder.make_dataset_iterator(client))
  before = [v.numpy().copy() for v in network.variables]
  with pytest.raises(FloatingPointError, match='loss is nan'):
    learner.step()
  for old, variable in zip(before, network.variables):
    np.testing.assert_array_equal(old, variable.numpy())
  server.stop()
