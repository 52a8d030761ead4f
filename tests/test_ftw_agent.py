"""The single-process FTW agent: adders and tables, learning steps, live hyperparameters, NaN
guard, PBT weight copies and seeded reproducibility (spec 8, items 11 and 16)."""

import dataclasses

from acme import specs
from acme.utils import loggers
from acme.wrappers import observation_action_reward
import dm_env
import numpy as np
import pytest
import reverb

from agents.core import servers
from agents.ftw import agent as agent_lib
from agents.ftw import config as config_lib
from agents.ftw import utils
from environments import ctf
from environments.ctf import bots

T = 4  # Rows per unroll; consecutive unrolls share a row.


def _small_config(**overrides):
  values = dict(sequence_length=T, batch_size=2, max_queue_size=16, hidden_size=16,
                num_dimensions=8, torso_conv_filters=((4, 3, 2),), torso_residual_filters=(),
                max_gradient_norm=10.0)
  values.update(overrides)
  return config_lib.grid_world_config(**values)


def _toy_spec():
  oar = observation_action_reward.OAR(
      specs.Array((2, 2, 3), np.uint8), specs.DiscreteArray(4, np.int32),
      specs.Array((2,), np.float32))
  return specs.EnvironmentSpec(oar, specs.DiscreteArray(4, np.int32),
                               specs.Array((2,), np.float32),
                               specs.BoundedArray((), np.float32, 0.0, 1.0))


def _timestep(step_type, row, events):
  pixels = np.full((2, 2, 3), row, np.uint8)  # Each row's pixels hold its index.
  observation = observation_action_reward.OAR(pixels, np.int32(0), np.zeros(2, np.float32))
  discount = np.float32(0.0 if step_type == dm_env.StepType.LAST else 1.0)
  return dm_env.TimeStep(step_type, np.asarray(events, np.float32), discount, observation)


def test_adders_write_overlapping_unrolls_with_the_first_core_state_and_route_windows():
  spec = _toy_spec()
  extras = {'core_state': {'h': specs.Array((3,), np.float32)},
            'logits': specs.Array((4,), np.float32)}
  tables, _, _ = utils.create_reverb_tables(
      batch_size=2, max_queue_size=10, use_pixel_control=True, use_reward_prediction=True,
      environment_spec=spec, extras_spec=extras, sequence_length=T)
  server = servers.make_local_server(tables)
  try:
    client = reverb.Client(f'localhost:{server.port}')
    adder, rp_adder = utils.create_adders(client, T, use_pixel_control=True,
                                          use_reward_prediction=True)
    length = 9  # Steps: rows 0..9, row 9 only bootstraps.
    with_events = {2, 5}  # Steps whose action was followed by an event.
    first = _timestep(dm_env.StepType.FIRST, 0, [0, 0])
    adder.add_first(first)
    rp_adder.add_first(first)
    for t in range(length):
      step_type = dm_env.StepType.LAST if t == length - 1 else dm_env.StepType.MID
      events = [1.0, 0.0] if t in with_events else [0.0, 0.0]
      following = _timestep(step_type, t + 1, events)
      extras_t = {'core_state': {'h': np.full(3, t, np.float32)},
                  'logits': np.full(4, t, np.float32)}
      adder.add(np.int32(t % 4), following, extras_t)
      rp_adder.add(np.int32(t % 4), following)
    names = utils.table_names()
    info = client.server_info()
    assert info[names.queue].current_size == 3  # Rows [0, 4), [3, 7), [6, 10).
    assert info[names.pixel_control].current_size == 3
    items = [s.data for s in client.sample(names.queue, 3, emit_timesteps=False,
                                           unpack_as_table_signature=True)]
    rows = [list(item.observation.observation[:, 0, 0, 0]) for item in items]
    assert rows == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    for item, start in zip(items, (0, 3, 6)):
      np.testing.assert_array_equal(item.extras['core_state']['h'], [[start] * 3])
      assert list(item.start_of_episode) == [start == 0, False, False, False]
      # The events of row t follow its action; the last transition's discount is 0.
      assert [float(e[0]) for e in item.reward[:3]] == [
          float(start + k in with_events) for k in range(3)]
    assert list(items[-1].discount) == [1.0, 1.0, 0.0, 0.0]
    assert list(items[-1].action) == [2, 3, 0, 0]  # Row 9 only holds the last observation.
    # Reward windows: 3 frames ending at every step t >= 2, routed by the last step's events.
    nonzero = info[names.nonzero_reward].current_size
    zero = info[names.zero_reward].current_size
    assert (nonzero, zero) == (2, length - 2 - 2)
    window = next(iter(client.sample(names.nonzero_reward, 1, emit_timesteps=False,
                                           unpack_as_table_signature=True))).data
    last_frame = int(window['observation'][-1, 0, 0, 0])
    assert last_frame in with_events and window['reward'][-1, 0] == 1.0
    assert list(window['observation'][:, 0, 0, 0]) == [last_frame - 2, last_frame - 1,
                                                      last_frame]
  finally:
    server.stop()


def _ctf_environment(bot: str, episode_length: int, seed: int = 0):
  arena = ctf.CaptureTheFlag(team_size=1, episode_length=episode_length, map_size=7, seed=seed)
  return observation_action_reward.ObservationActionRewardWrapper(
      ctf.SingleSeat(arena, 0, {1: bots.make_bot(bot, seed)}))


def _play(agent, environment, episodes):
  for _ in range(episodes):
    timestep = environment.reset()
    agent.observe_first(timestep)
    while not timestep.last():
      action = agent.select_action(timestep.observation)
      timestep = environment.step(action)
      agent.observe(action, timestep)
      agent.update()


def _make_agent(environment, seed=0, logger=None, **overrides):
  config = _small_config(**overrides)
  kwargs = {k: v for k, v in dataclasses.asdict(config).items() if k != 'sequence_length'}
  return agent_lib.FTW(specs.make_environment_spec(environment), config.sequence_length,
                       seed=seed, logger=logger, **kwargs)


def test_ftw_learns_from_every_unroll_with_auxiliary_tasks_and_finite_losses():
  environment = _ctf_environment('rusher', episode_length=30)
  logger = loggers.InMemoryLogger()
  agent = _make_agent(environment, logger=logger)
  before = [v.numpy().copy() for v in agent.networks.policy.trainable_variables]
  _play(agent, environment, episodes=2)
  # 31 rows per episode make 10 unrolls of 4 rows (period 3): 20 unrolls, batches of 2.
  assert agent.get_step() == 10
  after = agent.networks.policy.trainable_variables
  assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after))
  data = logger.data
  assert len(data) == 10
  for row in data:
    for key in ('loss', 'policy_gradient_loss', 'critic_loss', 'entropy_loss',
                'kld_prior_fixed_loss', 'kld_prior_posterior_loss'):
      assert np.isfinite(row[key]), key
  # The rusher takes our flag, an event for our seat: both reward-prediction tables fill and
  # the auxiliary updates run.
  auxiliary = [row for row in data if 'pixel_control_loss' in row]
  assert auxiliary and all(np.isfinite(row['reward_prediction_loss']) for row in auxiliary)
  agent.close()


def test_hyperparameter_changes_reach_the_next_learner_step_and_nan_changes_nothing():
  environment = _ctf_environment('random', episode_length=30)
  agent = _make_agent(environment, use_pixel_control=False, use_reward_prediction=False)
  hypers = agent.get_hypers().hyperparameters
  hypers['learning_rate'].set(0.0)
  weights = lambda: [v.numpy().copy() for v in agent.networks.policy.trainable_variables]  # pylint: disable=unnecessary-lambda-assignment
  before = weights()
  _play(agent, environment, episodes=1)
  assert agent.get_step() > 0
  assert all(np.array_equal(b, a) for b, a in zip(before, weights()))  # Rate 0: no change.
  hypers['learning_rate'].set(1e-3)
  _play(agent, environment, episodes=1)
  assert any(not np.array_equal(b, a) for b, a in zip(before, weights()))
  hypers['entropy_cost'].set(float('nan'))
  before = weights()
  with pytest.raises(FloatingPointError, match='main loss is not finite'):
    _play(agent, environment, episodes=1)
  assert all(np.array_equal(b, a) for b, a in zip(before, weights()))
  agent.close()


def test_exploit_copies_every_weight_between_members():
  environment = _ctf_environment('random', episode_length=20)
  spec = specs.make_environment_spec(environment)
  config = _small_config()
  parent = agent_lib.FTWWithoutActor(spec, T, config=config, seed=1)
  child = agent_lib.FTWWithoutActor(spec, T, config=config, seed=2)
  try:
    weights = parent.get_weights()
    assert set(weights) >= {'policy_network', 'optimizer', 'pixel_control_network',
                            'reward_prediction_network'}
    child.set_weights(weights)
    child.set_hypers(parent.get_hypers())
    child.set_rewards(parent.get_rewards())
    for key, values in child.get_weights().items():
      for mine, theirs in zip(values, weights[key]):
        np.testing.assert_array_equal(mine, theirs)
    assert child.get_hypers().get() == parent.get_hypers().get()
    # The period, gradient scale and internal rewards travel with the policy's variables.
    assert child.networks.policy.core.period.numpy() == parent.get_hypers().get()['period']
    explored = child.perturb()
    assert explored['hypers'] != parent.get_hypers().get()
    with pytest.raises(ValueError, match="'policy_network' has"):
      child.set_weights({'policy_network': weights['policy_network'][:-1]})
  finally:
    parent.close()
    child.close()


def test_seeded_single_process_runs_repeat_themselves():
  final = []
  for _ in range(2):
    environment = _ctf_environment('random', episode_length=20, seed=3)
    agent = _make_agent(environment, seed=7, use_pixel_control=False,
                        use_reward_prediction=False)
    _play(agent, environment, episodes=2)
    final.append([v.numpy() for v in agent.networks.policy.trainable_variables])
    agent.close()
  for a, b in zip(*final):
    np.testing.assert_array_equal(a, b)


def test_bad_configurations_name_the_problem():
  environment = _ctf_environment('random', episode_length=20)
  with pytest.raises(ValueError, match='unknown core_type'):
    _make_agent(environment, core_type='gru')
  with pytest.raises(ValueError, match='internal_reward_weights has 3 entries'):
    _make_agent(environment, internal_reward_weights=(1.0, 2.0, 3.0))
  with pytest.raises(TypeError, match='unknown FTW arguments: hidden'):
    agent_lib.FTW(specs.make_environment_spec(environment), 4, hidden=3)
  with pytest.raises(ValueError, match='must not already be an OAREmbedding'):
    from agents.ftw import networks  # pylint: disable=g-import-not-at-top
    torso = networks.OAREmbedding(networks.FtwTorso(((4, 3, 1),), (), 8), 8, None)
    agent_lib.FTW(specs.make_environment_spec(environment), 4, embed=torso)


@pytest.mark.parametrize('core_type', ['lstm', 'rpth_dnc'])
def test_the_other_cores_train(core_type):
  environment = _ctf_environment('rusher', episode_length=12)
  agent = _make_agent(environment, core_type=core_type, dnc_memory_size=16, dnc_word_size=4,
                      dnc_num_reads=2)
  _play(agent, environment, episodes=1)
  assert agent.get_step() == 2
  agent.close()


def test_reward_windows_hold_the_raw_event_vectors_of_the_steps_with_events():
  environment = _ctf_environment('rusher', episode_length=40, seed=1)
  agent = _make_agent(environment, use_pixel_control=False)
  timestep = environment.reset()
  agent.observe_first(timestep)
  steps_with_events = 0
  t = 0
  while not timestep.last():
    action = agent.select_action(timestep.observation)
    timestep = environment.step(action)
    agent.observe(action, timestep)
    steps_with_events += int(t >= 2 and np.any(timestep.reward != 0))
    t += 1
  agent.update()
  names = utils.table_names()
  assert agent.replay_client.server_info()[names.nonzero_reward].current_size == (
      steps_with_events)
  if steps_with_events:
    sample = next(iter(agent.replay_client.sample(
        names.nonzero_reward, 1, emit_timesteps=False, unpack_as_table_signature=True))).data
    assert sample['reward'].shape == (3, ctf.NUM_EVENTS)
    assert set(np.unique(sample['reward'])) <= {0.0, 1.0}  # Events, not weighted rewards.
    assert np.any(sample['reward'][-1] != 0)
  agent.close()


def test_xla_updates_give_the_graph_modes_losses_and_weights():
  """jit_compile=True (XLA) compiles the same main update: same loss and updated weights on one
  random batch (an LSTM core: XLA draws other random numbers than graph mode; the auxiliary
  updates share the same wrapper and are left out to keep the compile short)."""
  spec = _toy_spec()
  rng = np.random.default_rng(0)
  b, t = 2, 3  # A short unroll: XLA's compile time grows with it.
  batch = (observation_action_reward.OAR(rng.integers(0, 255, (b, t, 2, 2, 3), np.uint8),
                                         rng.integers(0, 4, (b, t), np.int32),
                                         rng.random((b, t, 2), np.float32)),
           rng.integers(0, 4, (b, t), np.int32), rng.random((b, t, 2), np.float32),
           np.ones((b, t), np.float32), rng.normal(size=(b, t, 4)).astype(np.float32))
  results = []
  for jit_compile in (False, True):
    config = _small_config(sequence_length=t, core_type='lstm', num_environment_events=2,
                           internal_reward_scales=None, use_pixel_control=False,
                           use_reward_prediction=False, jit_compile=jit_compile)
    member = agent_lib.FTWWithoutActor(spec, t, config=config, seed=5)
    state = member.networks.policy.initial_state(b)
    metrics = member.learner._main_update(*batch, state)  # pylint: disable=protected-access
    results.append((float(metrics['loss']),
                    [v.numpy() for v in member.networks.policy.trainable_variables]))
    member.close()
  (graph_loss, graph_weights), (xla_loss, xla_weights) = results
  np.testing.assert_allclose(xla_loss, graph_loss, rtol=1e-5)
  for graph, xla in zip(graph_weights, xla_weights):
    np.testing.assert_allclose(xla, graph, rtol=1e-4, atol=1e-6)


def test_the_learner_speed_ups_give_the_same_losses_and_weights():
  """FtwConfig's speed-ups (fused dueling head, fused RMSProp) change no result: one random
  batch through the main and pixel-control updates of two members from the same weights, one
  with them and one without."""
  spec = _toy_spec()
  rng = np.random.default_rng(1)
  b, t = 2, T
  observations = observation_action_reward.OAR(rng.integers(0, 255, (b, t, 2, 2, 3), np.uint8),
                                               rng.integers(0, 4, (b, t), np.int32),
                                               rng.random((b, t, 2), np.float32))
  actions = rng.integers(0, 4, (b, t), np.int32)
  events = rng.random((b, t, 2), np.float32)
  logits = rng.normal(size=(b, t, 4)).astype(np.float32)
  results = []
  for speed_ups in (True, False):
    config = _small_config(num_environment_events=2, internal_reward_scales=None,
                           use_reward_prediction=False, pixel_control_fused_dueling=speed_ups,
                           fused_rms_prop=speed_ups, sample_auxiliary_in_background=speed_ups)
    member = agent_lib.FTWWithoutActor(spec, t, config=config, seed=5)
    state = member.networks.policy.initial_state(b)
    # pylint: disable=protected-access
    main = member.learner._main_update(observations, actions, events,
                                       np.ones((b, t), np.float32), logits, state)
    pc = member.learner._pixel_control_update(observations, actions, state)
    results.append((float(main['loss']), float(pc['pixel_control_loss']),
                     [v.numpy() for v in member.networks.pixel_control.trainable_variables]))
    member.close()
  (fast_main, fast_pc, fast_weights), (main_loss, pc_loss, weights) = results
  np.testing.assert_allclose(fast_main, main_loss, rtol=1e-5)
  np.testing.assert_allclose(fast_pc, pc_loss, rtol=1e-5)
  assert pc_loss > 0
  for fast, plain in zip(fast_weights, weights):
    np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-6)


def test_the_fused_rms_prop_makes_sonnets_update():
  """One step by hand (decay 0.99, epsilon 0.01, learning rate 0.1, gradient 0.5 on 1.0):
  ms = 0.01 * 0.25 = 0.0025, mom = 0.1 * 0.5 / sqrt(0.0125) = 0.4472136, p = 0.5527864; a
  zero gradient moves nothing. Then two more steps as Sonnet's RMSProp makes them."""
  import sonnet as snt  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from agents.ftw import learning  # pylint: disable=g-import-not-at-top
  parameters = {'fused': tf.Variable([1.0, -2.0]), 'plain': tf.Variable([1.0, -2.0])}
  optimizers = {'fused': learning.FusedRMSProp(0.1, decay=0.99, momentum=0.0, epsilon=0.01),
                'plain': snt.optimizers.RMSProp(0.1, decay=0.99, momentum=0.0, epsilon=0.01)}
  for gradient in ([0.5, 0.0], [-1.5, 3.0], [0.25, -1.0]):
    for key, optimizer in optimizers.items():
      optimizer.apply([tf.constant(gradient)], [parameters[key]])
    if gradient == [0.5, 0.0]:
      np.testing.assert_allclose(parameters['fused'].numpy(), [0.5527864, -2.0], rtol=1e-6)
      np.testing.assert_allclose(optimizers['fused'].ms[0].numpy(), [0.0025, 0.0], rtol=1e-6)
    np.testing.assert_allclose(parameters['fused'].numpy(), parameters['plain'].numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(optimizers['fused'].ms[0].numpy(),
                               optimizers['plain'].ms[0].numpy(), rtol=1e-6)
