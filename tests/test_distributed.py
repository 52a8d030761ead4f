"""The real local_mp program: Reverb server, counter, learner, two weight caches, four actors,
evaluator, limiter.

The builder below is the real meta-RL builder; it only records what its parts see into files
of the run directory (batches reaching the learner, weights held by the actors), which the test
reads after the program has stopped by itself at its step budget.
"""

import json
import os
import pickle
import re
import threading
import time

import cloudpickle
import numpy as np
import psutil
import pytest
import tensorflow as tf

import environments
from agents.core import distributed
from agents.core import launching
from agents.meta_rl import builder as builder_lib
from agents.meta_rl import config as config_lib
from agents.meta_rl import learning as learning_lib

NUM_TRIALS = 20
UNROLL = 10
EVALUATION_SHARE = 0.25
CACHE_PERIOD_S = 0.5  # Two caches (one per two actors) pull the learner's weights this often.


class _RecordingIterator:
  """Appends a description of every learner batch to `path` (one JSON line per batch)."""

  def __init__(self, iterator, path):
    self._iterator = iterator
    self._path = path

  def __iter__(self):
    return self

  def ready(self):
    # Without it the learner would always step, and block in a sample once the actors stop,
    # until the coordinator gives up waiting for it to finish.
    return self._iterator.ready()

  def __next__(self):
    sample = next(self._iterator)
    data = sample.data
    record = {
        'observation_shapes': {k: list(v.shape) for k, v in data.observation.items()},
        'observation_dtypes': {k: str(v.dtype) for k, v in data.observation.items()},
        'action': [list(data.action.shape), str(data.action.dtype)],
        'reward': [list(data.reward.shape), str(data.reward.dtype)],
        'discount': data.discount.tolist(),
        'start_of_episode': data.start_of_episode.tolist(),
        'trial': data.observation['trial'].tolist(),
        'previous_action': data.observation['previous_action'].tolist(),
        'action_values': data.action.tolist(),
        'logits_shape': list(data.extras['logits'].shape),
    }
    with open(self._path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    return sample


class _RecordingActor:
  """Delegates to the real actor; after each weight pull writes a fingerprint of its weights
  and the learner step its variable source says they are from."""

  def __init__(self, actor, variables, path, source):
    self._actor = actor
    self._variables = variables
    self._path = path
    self._source = source
    self._calls = 0

  def __getattr__(self, name):  # Everything else of the actor (its step extras, say).
    if name == '_actor':
      raise AttributeError(name)
    return getattr(self._actor, name)

  def update(self, wait=False):
    self._actor.update(wait)
    self._calls += 1
    if self._calls % 5 == 1:
      fingerprint = float(sum(np.abs(v.numpy()).sum() for v in self._variables))
      with open(self._path, 'a') as f:
        f.write(f'{time.time()} {fingerprint} {self._source.learner_step} {self._calls}\n')


class _CountingLearner(learning_lib.MetaRLLearner):
  """The real learner; appends a line to `path` for every weight pull it serves."""

  def __init__(self, path, *args):
    super().__init__(*args)
    self._path = path

  def get_variables_with_step(self, names):
    with open(self._path, 'a') as f:
      f.write('pull\n')
    return super().get_variables_with_step(names)


class RecordingBuilder(builder_lib.MetaRLBuilder):

  def __init__(self, config, record_dir):
    super().__init__(config)
    self._record_dir = record_dir

  def make_dataset_iterator(self, replay_client):
    return _RecordingIterator(super().make_dataset_iterator(replay_client),
                              os.path.join(self._record_dir, 'batches.jsonl'))

  def make_learner(self, networks, dataset, counter=None, logger=None):
    return _CountingLearner(os.path.join(self._record_dir, 'learner_pulls.txt'), networks,
                            dataset, self._config, counter, logger)

  def make_actor(self, networks, variable_source, adders_per_env, seed, evaluation=False):
    actor = super().make_actor(networks, variable_source, adders_per_env, seed, evaluation)
    if evaluation:
      return actor
    return _RecordingActor(actor, networks.variables,
                           os.path.join(self._record_dir, f'weights_{seed}.txt'),
                           variable_source)


def _listening_addresses(root: psutil.Process):
  addresses = set()
  for process in root.children(recursive=True):
    try:
      for connection in process.net_connections(kind='inet'):
        if connection.status == psutil.CONN_LISTEN:
          addresses.add(connection.laddr.ip)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
      pass
  return addresses


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  cloudpickle.register_pickle_by_value(__import__(__name__))
  run_dir = str(tmp_path_factory.mktemp('run'))
  config = config_lib.MetaRLConfig(num_trials=NUM_TRIALS, unroll_length=UNROLL, batch_size=4,
                                   max_queue_size=64, variable_update_period=2)
  program_config = distributed.DistributedConfig(
      run_dir=run_dir, num_actors=4, envs_per_actor=2, max_actor_steps=6000,
      evaluation_envs=8, evaluation_period_s=1.0, evaluation_share=EVALUATION_SHARE,
      log_period_s=2.0, actors_per_cache=2, cache_period_s=CACHE_PERIOD_S)
  program = distributed.make_program(
      RecordingBuilder(config, run_dir),
      environments.make_factory('easy', num_trials=NUM_TRIALS), program_config)

  me = psutil.Process()
  seen_addresses = set()
  done = threading.Event()

  def watch_sockets():
    while not done.wait(0.5):
      seen_addresses.update(_listening_addresses(me))

  watcher = threading.Thread(target=watch_sockets, daemon=True)
  watcher.start()
  started = time.time()
  launching.launch(program, 'local_mp', run_dir, console=False)
  elapsed = time.time() - started
  done.set()
  watcher.join()
  time.sleep(1.0)
  leftovers = [p for p in me.children(recursive=True) if p.is_running()
               and p.status() != psutil.STATUS_ZOMBIE]
  return dict(run_dir=run_dir, addresses=seen_addresses, leftovers=leftovers,
              elapsed=elapsed)


def _batches(run_dir):
  with open(os.path.join(run_dir, 'batches.jsonl')) as f:
    return [json.loads(line) for line in f]


def test_trajectories_reach_the_learner_intact(finished_run):
  batches = _batches(finished_run['run_dir'])
  assert len(batches) >= 10, 'the learner should have stepped many times'
  rows = UNROLL + 1
  for batch in batches:
    assert batch['observation_shapes'] == {'previous_action': [4, rows, 2],
                                           'previous_reward': [4, rows], 'trial': [4, rows]}
    assert set(batch['observation_dtypes'].values()) == {'float32'}
    assert batch['action'] == [[4, rows], 'int32']
    assert batch['reward'] == [[4, rows], 'float32']
    assert batch['logits_shape'] == [4, rows, 2]
    for trials, starts, discounts, previous in zip(batch['trial'], batch['start_of_episode'],
                                                   batch['discount'], batch['previous_action']):
      # Each sequence is one half of a 20-trial episode: trials 0..10 or 10..20.
      assert trials in (list(range(0, 11)), list(range(10, 21)))
      assert starts == [trials[0] == 0] + [False] * UNROLL
      if trials[0] == 0:
        assert previous[0] == [0.0, 0.0]  # No previous action on the first trial.
      # Discount 0 only on the last transition of the episode (then the dummy final row).
      expected = ([1.0] * (UNROLL + 1) if trials[0] == 0 else
                  [1.0] * (UNROLL - 1) + [0.0, 0.0])
      assert discounts == expected
  for batch in batches:
    for actions, previous in zip(batch['action_values'], batch['previous_action']):
      # The action of row t shows up as the previous action of row t + 1.
      for t in range(UNROLL):
        assert previous[t + 1][actions[t]] == 1.0


def test_learner_steps_advance_and_actor_weights_change(finished_run):
  run_dir = finished_run['run_dir']
  assert os.path.exists(os.path.join(run_dir, 'checkpoints', 'learner', 'checkpoint'))
  weight_files = [f for f in os.listdir(run_dir) if f.startswith('weights_')]
  assert len(weight_files) == 4
  for name in weight_files:
    fingerprints = np.loadtxt(os.path.join(run_dir, name))[:, 1]
    assert len(np.unique(fingerprints)) > 2, f'{name}: actor weights never changed'
  with open(os.path.join(run_dir, 'node_logs', 'learner', '0')) as f:
    log = f.read()
  assert 'Learner Steps' in log


def test_actors_take_weights_from_their_caches_which_follow_the_learner(finished_run):
  run_dir = finished_run['run_dir']
  actor_pulls = 0
  for name in (f for f in os.listdir(run_dir) if f.startswith('weights_')):
    records = np.loadtxt(os.path.join(run_dir, name))
    # The first record comes from the first `update` call, which Acme's VariableClient (a pull
    # every 2 calls) answers without a pull; the node calls again before it acts.
    steps = records[1:, 2]
    assert steps[0] >= 0 and np.all(np.diff(steps) >= 0), f'{name}: {steps}'
    assert steps[-1] > steps[0] + 5, f'{name}: the weights\' learner step did not advance'
    actor_pulls += records[-1, 3] / 2  # variable_update_period 2: a pull every other update.
  with open(os.path.join(run_dir, 'learner_pulls.txt')) as f:
    learner_pulls = len(f.readlines())
  # The learner serves the two caches (and their first fetches), not the actors' many pulls.
  assert learner_pulls <= 2 * (finished_run['elapsed'] / CACHE_PERIOD_S + 2), learner_pulls
  assert learner_pulls < actor_pulls / 4, (learner_pulls, actor_pulls)


def test_the_learner_logs_the_policy_lag_of_what_it_learns_from(finished_run):
  with open(os.path.join(finished_run['run_dir'], 'node_logs', 'learner', '0')) as f:
    lines = [line for line in f if 'Policy Lag P99' in line]
  assert lines, 'the learner logged no policy lag'
  figures = [{name: float(re.search(rf'Policy Lag {name} = ([-\d.e+]+)', line).group(1))
              for name in ('Mean', 'P50', 'P99')} for line in lines]
  for each in figures:
    # In learner steps: never negative (no item is from weights newer than the learner's).
    assert 0 <= each['P50'] <= each['P99'] and 0 <= each['Mean'] <= each['P99'], each
  # Actors act with weights at most a cache period plus two pulls old; the learner takes
  # several steps in that time, so some items lag.
  assert max(each['P99'] for each in figures) > 0, figures


def test_evaluation_stays_within_its_share_of_the_environment_steps(finished_run):
  reader = tf.train.load_checkpoint(os.path.join(finished_run['run_dir'], 'checkpoints',
                                                 'counter'))
  counts = pickle.loads(reader.get_tensor('counter/.ATTRIBUTES/py_state'))['counts']
  round_steps = 8 * NUM_TRIALS
  assert counts['evaluator_steps'] >= round_steps, counts  # It evaluated,
  assert counts['evaluator_steps'] <= EVALUATION_SHARE * counts['actor_steps'], counts  # within.


def test_evaluation_is_affordable_only_within_its_share():
  counts = {'actor_steps': 1000, distributed.EVALUATION_STEPS: 50}
  assert distributed.evaluation_affordable(counts, 50, 0.1)  # 100 of 1000.
  assert not distributed.evaluation_affordable(counts, 51, 0.1)
  assert not distributed.evaluation_affordable({}, 1, 0.5)  # Nothing trained yet.


def test_the_cpu_of_every_node_is_reported(finished_run):
  report = launching.cpu_reports(finished_run['run_dir'])[-1]
  nodes = report['nodes']
  actors = [f'actor/{i}' for i in range(4)]
  assert {*actors, 'learner/0', 'evaluator/0', 'replay/0', 'counter/0', 'coordinator/0',
          'cache/0', 'cache/1', 'launcher'} <= set(nodes), nodes
  assert all(seconds > 0 for seconds in nodes.values()), nodes
  assert report['categories']['data generation'] == pytest.approx(
      sum(nodes[actor] for actor in actors))
  assert report['categories']['evaluation'] == nodes['evaluator/0']
  assert sum(report['categories'].values()) == pytest.approx(report['total_s'])
  assert 'data generation' in launching.format_cpu_report(report)


def test_every_server_listens_on_loopback_only(finished_run):
  addresses = finished_run['addresses']
  assert addresses, 'no listening socket was seen'
  assert addresses <= {'127.0.0.1', '::ffff:127.0.0.1', '::1'}, addresses


def test_program_stops_by_itself_leaving_no_process(finished_run):
  assert not finished_run['leftovers'], finished_run['leftovers']
  assert finished_run['elapsed'] < 240


class _FailingBandit:
  """A bandit that raises after `fail_after` steps, standing in for an actor that dies."""

  def __init__(self, env, fail_after):
    self._env = env
    self._steps = 0
    self._fail_after = fail_after

  def __getattr__(self, name):
    return getattr(self._env, name)

  def step(self, action):
    self._steps += 1
    if self._steps > self._fail_after:
      raise RuntimeError('bandit hardware on fire')
    return self._env.step(action)


def _failing_factory(seed):
  return _FailingBandit(environments.make('easy', num_trials=NUM_TRIALS, seed=seed), 300)


def _small_program(run_dir, max_steps, environment_factory=None):
  config = config_lib.MetaRLConfig(num_trials=NUM_TRIALS, unroll_length=UNROLL, batch_size=4,
                                   max_queue_size=64)
  program_config = distributed.DistributedConfig(
      run_dir=run_dir, num_actors=2, envs_per_actor=4, max_actor_steps=max_steps,
      with_evaluator=False, log_period_s=2.0)
  return distributed.make_program(
      builder_lib.MetaRLBuilder(config),
      environment_factory or environments.make_factory('easy', num_trials=NUM_TRIALS),
      program_config)


def test_a_dead_actor_stops_the_program_with_one_line_naming_it(tmp_path):
  cloudpickle.register_pickle_by_value(__import__(__name__))
  run_dir = str(tmp_path)
  with pytest.raises(launching.NodeFailedError) as error:
    launching.launch(_small_program(run_dir, 10**9, _failing_factory), 'local_mp', run_dir,
                     console=False)
  message = str(error.value)
  assert '\n' not in message
  assert 'actor/' in message and 'bandit hardware on fire' in message
  # What was collected before the failure is kept: the learner checkpointed when it stopped.
  assert os.path.exists(os.path.join(run_dir, 'checkpoints', 'learner', 'checkpoint'))
  time.sleep(1.0)
  assert not [p for p in psutil.Process().children(recursive=True)
              if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_restored_learner_serves_the_restored_weights_to_actors(tmp_path):
  from acme import specs  # pylint: disable=g-import-not-at-top
  from agents.core import runners  # pylint: disable=g-import-not-at-top
  run_dir = str(tmp_path)
  builder = builder_lib.MetaRLBuilder(config_lib.MetaRLConfig(num_trials=NUM_TRIALS,
                                                              unroll_length=UNROLL))
  spec = specs.make_environment_spec(environments.make('easy', num_trials=NUM_TRIALS))
  trained = builder.make_learner(builder.make_networks(spec), iter(()))
  for variable in trained.state['network'].variables:
    variable.assign(variable + 1.0)
  runners.make_checkpointer({'learner': trained.state}, run_dir, 'learner', 1.0).save(force=True)
  saved = [v.numpy() for v in trained.state['network'].variables]

  resumed = runners.LearnerRunner(builder.make_learner(builder.make_networks(spec), iter(())),
                                  run_dir, 1.0)
  served = resumed.get_variables(['policy'])[0]
  assert len(served) == len(saved)
  for served_value, saved_value in zip(served, saved):
    np.testing.assert_array_equal(served_value, saved_value)
