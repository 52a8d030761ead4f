"""A real population program under local_mp: 2 members, one arena, the controller, the evaluator,
and a weight cache for each member, from which the arena and the evaluator take its weights.

Half of the training matches are against bots, chosen by the controller from the evaluator's scores.

It runs to its step budget and stops by itself; the test then reads what the nodes wrote:
learner summaries (trajectories and auxiliary samples were learned from), the controller's
evolution log (a PBT exploit with perturbed hyperparameters), the evaluations against bots,
per-member checkpoints, and that no process or non-loopback socket was left behind.
"""

import glob
import json
import os
import pickle
import threading
import time

import numpy as np
import psutil
import pytest
import tensorflow as tf

import environments
from agents.core import launching
from agents.ftw import config as config_lib
from agents.ftw import builder as ftw_builder
from agents.ftw import evaluation
from hyperparameters import population

EPISODE = 20
EVALUATION_SHARE = 0.5
CACHE_PERIOD_S = 0.5


def _scalars(directory):
  """{tag: [values]} of every TensorBoard event file under `directory`."""
  values = {}
  for path in glob.glob(os.path.join(directory, '**', 'events.out.tfevents.*'), recursive=True):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = (float(tf.make_ndarray(value.tensor)) if value.HasField('tensor')
                  else value.simple_value)
        values.setdefault(value.tag, []).append(number)
  return values


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
  run_dir = str(tmp_path_factory.mktemp('ftw_run'))
  agent_config = config_lib.grid_world_config(
      sequence_length=6, batch_size=2, max_queue_size=8, hidden_size=16, num_dimensions=8,
      torso_conv_filters=((4, 3, 2),), torso_residual_filters=(), max_gradient_norm=10.0)
  program_config = config_lib.ProgramConfig(
      run_dir=run_dir, population_size=2, num_arenas=1, matches_per_arena=2,
      max_env_steps=30 * EPISODE, max_wall_s=400.0, seed=1,
      pbt=population.PbtConfig(ready_steps=3, exploit_threshold=0.5, check_period_s=0.5),
      evaluation_matches=1, evaluation_period_s=2.0, evaluation_share=EVALUATION_SHARE,
      variable_update_period=5, arenas_per_cache=1, cache_period_s=CACHE_PERIOD_S,
      log_period_s=2.0, bot_match_fraction=0.5)
  factory = environments.make_factory('ctf_1v1', episode_length=EPISODE, map_size=7)
  program = ftw_builder.make_program(agent_config, factory, team_size=1,
                                     config=program_config)
  me = psutil.Process()
  seen = set()
  done = threading.Event()

  def watch():
    while not done.wait(0.5):
      seen.update(_listening_addresses(me))

  watcher = threading.Thread(target=watch, daemon=True)
  watcher.start()
  started = time.time()
  launching.launch(program, 'local_mp', run_dir, console=False)
  elapsed = time.time() - started
  done.set()
  watcher.join()
  time.sleep(1.0)
  leftovers = [p for p in me.children(recursive=True)
               if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
  return dict(run_dir=run_dir, elapsed=elapsed, addresses=seen, leftovers=leftovers)


def test_the_program_stops_at_its_budget_leaving_no_process(finished_run):
  state = evaluation.read_json(os.path.join(finished_run['run_dir'], 'population.json'))
  assert state['total_steps'] >= 30 * EPISODE
  assert state['total_matches'] + state['other_matches'] == state['total_steps'] // EPISODE
  assert state['total_matches'] > 0 and state['other_matches'] > 0  # Members and bots played.
  # The program's counter (the core's, as in every program) checkpointed the arenas' steps.
  counter = tf.train.load_checkpoint(os.path.join(finished_run['run_dir'], 'checkpoints',
                                                  'counter'))
  counts = pickle.loads(counter.get_tensor('counter/.ATTRIBUTES/py_state'))['counts']
  assert counts['actor_steps'] >= 30 * EPISODE, counts
  assert counts['learner_0_steps'] > 0 and counts['learner_1_steps'] > 0, counts
  assert not finished_run['leftovers'], finished_run['leftovers']
  assert finished_run['elapsed'] < 400


def test_both_learners_trained_on_trajectories_and_auxiliary_samples(finished_run):
  run_dir = finished_run['run_dir']
  for member in (0, 1):
    summary = evaluation.read_json(os.path.join(run_dir, 'members', f'member_{member}.json'))
    assert summary['learner_steps'] > 0
    assert len(summary['internal_rewards']) == 13
    checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, 'checkpoints',
                                                         f'member_{member}'))
    assert checkpoint is not None
  scalars = _scalars(os.path.join(run_dir, 'tensorboard'))
  losses = {tag: values for tag, values in scalars.items() if tag.startswith('learner_')}
  assert any(tag.endswith('/Loss') for tag in losses)
  assert any(tag.endswith('/PixelControlLoss') for tag in losses), sorted(losses)
  assert any(tag.endswith('/RewardPredictionLoss') for tag in losses)
  assert all(np.isfinite(v).all() for v in losses.values())


def test_each_members_weights_come_through_its_cache_and_follow_its_learner(finished_run):
  scalars = _scalars(os.path.join(finished_run['run_dir'], 'tensorboard'))
  for member in (0, 1):
    steps = scalars[f'cache_0_{member}/WeightsLearnerStep']
    # Forward as the learner trains (a PBT exploit may set a member's step back).
    assert max(steps) > steps[0], (member, steps)
    # The arena's items carry the learner step of the cached weights that acted them.
    lags = scalars[f'learner_{member}/PolicyLagP50']
    assert all(lag >= 0 for lag in lags), (member, lags)


def test_the_controller_exploited_and_explored(finished_run):
  run_dir = finished_run['run_dir']
  with open(os.path.join(run_dir, 'evolution.jsonl')) as f:
    events = [json.loads(line) for line in f]
  exploits = [e for e in events if e['decision'] == 'exploit']
  assert exploits, events
  event = exploits[0]
  assert event['member'] != event['candidate']
  for name, value in event['parent_hypers'].items():
    if name != 'period':  # The period is resampled; the floats move by at most 20%.
      assert 0.8 - 1e-6 <= event['child_hypers'][name] / value <= 1.2 + 1e-6
  ratios = np.array(event['child_rewards']) / np.array(event['parent_rewards'])
  assert np.all((ratios >= 0.8 - 1e-6) & (ratios <= 1.2 + 1e-6))


def test_members_were_evaluated_against_the_bots(finished_run):
  reports = evaluation.read_jsonl(os.path.join(finished_run['run_dir'], 'evaluation.jsonl'))
  assert reports
  for member in ('0', '1'):
    assert set(reports[-1]['members'][member]) == {'random', 'rusher'}
  assert reports[-1]['eval_elo']['random'] == 1000.0
  # The controller got the scores that choose the bot opponents of training matches.
  state = evaluation.read_json(os.path.join(finished_run['run_dir'], 'population.json'))
  assert set(state['bot_scores']) == {'0', '1'}
  assert all(0.0 <= s <= 1.0 for scores in state['bot_scores'].values() for s in scores.values())
  summary = evaluation.format_summary(finished_run['run_dir'])
  assert 'population summary' in summary and '/ draw vs rusher' in summary
  # Evaluation stayed within its share of the training steps, baseline matches included.
  rounds, steps, share = evaluation.evaluation_share(finished_run['run_dir'])
  assert rounds == len(reports) and steps >= rounds * 4 * EPISODE
  assert 0 < share <= EVALUATION_SHARE, share
  assert f'periodic evaluation: {rounds} rounds' in summary


def test_the_cpu_of_every_node_is_reported(finished_run):
  report = launching.cpu_reports(finished_run['run_dir'])[-1]
  nodes = report['nodes']
  assert {'arena/0', 'learner/0', 'learner/1', 'evaluator/0', 'controller/0', 'replay/0',
          'counter/0', 'cache/0', 'cache/1', 'launcher'} <= set(nodes), nodes
  assert all(seconds > 0 for seconds in nodes.values()), nodes
  assert report['total_s'] == pytest.approx(sum(nodes.values()))
  assert report['categories']['data generation'] == nodes['arena/0']
  assert report['categories']['learning'] == nodes['learner/0'] + nodes['learner/1']


def test_win_rate_intervals_are_wilsons():
  # 18 wins in 20: centre (0.9 + 1.96^2/40) / (1 + 1.96^2/20) = 0.8356, half-width 0.1366.
  low, high = evaluation.wilson_interval(18, 20)
  assert low == pytest.approx(0.6990, abs=1e-4) and high == pytest.approx(0.9721, abs=1e-4)
  assert evaluation.wilson_interval(0, 10)[0] == 0.0


def test_every_server_listened_on_loopback_only(finished_run):
  addresses = finished_run['addresses']
  assert addresses, 'no listening socket was seen'
  assert addresses <= {'127.0.0.1', '::ffff:127.0.0.1', '::1'}, addresses
