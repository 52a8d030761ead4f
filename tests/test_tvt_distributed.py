"""The distributed TVT agent as a real local_mp program: Reverb queue, learner, two actors.

The builder is the real TVT builder; it only records, into files of the run directory, what
every learner batch looked like. The program stops by itself at its step budget.
"""

import json
import os
import time

import cloudpickle
import numpy as np
import psutil
import pytest

from agents.core import distributed
from agents.core import launching
from agents.tvt import builder as builder_lib
from agents.tvt import config as config_lib
from agents.tvt import experiment
from agents.tvt import summaries

BATCH = 2
EPISODES = 16  # In all, over 2 actors x 2 environments; several batches beyond what
# the queue, the dataset's prefetch and the writers can hold, so the learner must step.


class _RecordingIterator:
  """Appends a description of every learner batch to `path` (one JSON line per batch)."""

  def __init__(self, iterator, path):
    self._iterator = iterator
    self._path = path

  def ready(self):
    # Without it the learner would always step, and block in a sample once the actors stop,
    # until the coordinator gives up waiting for it to finish.
    return self._iterator.ready()

  def __next__(self):
    sample = next(self._iterator)
    data = sample.data
    record = {
        'observation': [list(data.observation.shape), str(data.observation.dtype)],
        'extras': {k: [list(v.shape), str(v.dtype)] for k, v in data.extras.items()},
        'start_of_episode': data.start_of_episode.tolist(),
        'discount': data.discount.tolist(),
        'read_weight_sums': np.sum(data.extras['read_weights'][:, :120], -1).tolist(),
    }
    with open(self._path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    return sample


class RecordingBuilder(builder_lib.TVTBuilder):

  def make_dataset_iterator(self, replay_client):
    return _RecordingIterator(super().make_dataset_iterator(replay_client),
                              os.path.join(self._run_dir, 'batches.jsonl'))


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  cloudpickle.register_pickle_by_value(__import__(__name__))
  run_dir = str(tmp_path_factory.mktemp('tvt_run'))
  # A queue of one batch keeps the actors at most one batch ahead of the learner.
  config = config_lib.TVTConfig(batch_size=BATCH, max_queue_size=BATCH)
  program_config = distributed.DistributedConfig(
      run_dir=run_dir, num_actors=2, envs_per_actor=2, max_actor_steps=EPISODES * 120,
      with_evaluator=False, log_period_s=2.0)
  program = distributed.make_program(
      # The actors step the vectorised tasks, as launch.tvt's do by default.
      RecordingBuilder(config, run_dir), experiment.make_factory('key_to_door', {}),
      program_config, name='tvt')
  me = psutil.Process()
  started = time.time()
  launching.launch(program, 'local_mp', run_dir, console=False)
  elapsed = time.time() - started
  time.sleep(1.0)
  leftovers = [p for p in me.children(recursive=True) if p.is_running()
               and p.status() != psutil.STATUS_ZOMBIE]
  return dict(run_dir=run_dir, leftovers=leftovers, elapsed=elapsed)


def test_whole_episodes_with_read_info_reach_the_learner(finished_run):
  with open(os.path.join(finished_run['run_dir'], 'batches.jsonl')) as f:
    batches = [json.loads(line) for line in f]
  assert len(batches) >= 2
  for batch in batches:
    assert batch['observation'] == [[BATCH, 121, 5, 5, 3], 'uint8']
    assert batch['extras'] == {
        'logits': [[BATCH, 121, 4], 'float32'], 'value': [[BATCH, 121], 'float32'],
        'read_weights': [[BATCH, 121, 3, 50], 'float32'],
        'read_indices': [[BATCH, 121, 3, 50], 'int32'],
        'read_strengths': [[BATCH, 121, 3], 'float32'],
        'weights_step': [[BATCH, 121], 'int32']}  # The learner step of the acting weights.
    for starts, discounts in zip(batch['start_of_episode'], batch['discount']):
      assert starts == [True] + [False] * 120
      assert discounts == [1.0] * 119 + [0.0, 0.0]
    # Every head's read weights over its 50 slots sum to 1 on every step of the episode.
    np.testing.assert_allclose(batch['read_weight_sums'], 1.0, rtol=1e-5)


def test_learner_trains_logs_and_checkpoints(finished_run):
  run_dir = finished_run['run_dir']
  records = summaries.read_json_lines(os.path.join(run_dir, summaries.PROGRESS_FILE))
  assert len(records) >= 2
  assert [r['episodes'] for r in records] == [BATCH * (i + 1) for i in range(len(records))]
  assert all(np.isfinite(r['total_loss']) and 'tvt_reward' in r for r in records)
  assert records[-1]['env_steps'] == 120 * records[-1]['episodes']
  assert os.path.exists(os.path.join(run_dir, 'checkpoints', 'learner', 'checkpoint'))
  for axis in ('by_episodes', 'by_env_steps'):
    assert os.listdir(os.path.join(run_dir, 'tensorboard', 'learner', axis))
  # Every step learns from episodes acted with known weights: the policy lag is logged.
  for record in records:
    assert 0 <= record['policy_lag_p50'] <= record['policy_lag_p99'], record


def test_program_stops_by_itself_leaving_no_process(finished_run):
  assert not finished_run['leftovers'], finished_run['leftovers']
  assert finished_run['elapsed'] < 400
