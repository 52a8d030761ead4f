"""FTW on the shared core: the builder of one population member, its learner, and the program.

The population program is the core's (`agents.core.distributed.make_program`) with P learners,
one per member, plus FTW's own nodes: arenas as the actors (`arena.ArenaWorker`), the PBT
controller (`controller.PbtController`) and the evaluator against scripted bots
(`evaluation.BotEvaluatorWorker`).
"""

import json
import os
import time
from typing import Dict, List, Optional

from acme import specs
from acme.tf import variable_utils
from acme.utils import counting
from acme.utils import loggers
import launchpad as lp
import numpy as np
import reverb
import tensorflow as tf

from agents.core import acting as core_acting
from agents.core import builders
from agents.core import distributed as core_distributed
from agents.core import run_dir as run_dir_lib
from agents.ftw import acting
from agents.ftw import agent as agent_lib
from agents.ftw import arena as arena_lib
from agents.ftw import config as config_lib
from agents.ftw import controller as controller_lib
from agents.ftw import evaluation
from agents.ftw import learning
from hyperparameters import base as hyper_base

ArenaFactory = core_distributed.EnvironmentFactory  # seed -> a multi-player arena.


def members_dir(run_dir: str) -> str:
  return os.path.join(run_dir, 'members')


class MemberLearner(learning.FtwLearner):
  """A population member's learner: the `FtwLearner` plus the member's evolved values.

  PBT reads and writes it through `get_step/set_step`, `get_weights/set_weights`,
  `get_hypers/set_hypers`, `get_rewards/set_rewards` and `perturb`, in plain values (so the
  calls travel over RPC). With a `summary_path` it writes the member's step, hyperparameters and
  internal rewards there as JSON, at most every 10 s and after every PBT change.
  """

  def __init__(self, *, evolved: agent_lib.FtwMember, index: int = 0,
               summary_path: Optional[str] = None, **learner_kwargs):
    super().__init__(**learner_kwargs)
    self._hypers = hyper_base.HyperparametersContainer(evolved.hypers)
    self._rewards = evolved.rewards
    self._index = index
    self._summary_path = summary_path
    self._last_summary = 0.0

  @property
  def state(self):
    """The learner's state plus every evolved value (all of it is checkpointed)."""
    state = dict(super().state)
    state.update({f'hyper_{k}': h.variable for k, h in self._hypers.hyperparameters.items()})
    state['internal_rewards'] = self._rewards.variable
    return state

  def step(self):
    super().step()
    self._write_summary()

  def set_step(self, step: int):
    super().set_step(step)
    self._write_summary(force=True)

  def get_hypers(self) -> Dict[str, float]:
    return self._hypers.get()

  def set_hypers(self, hypers):
    self._hypers.set(hyper_base.values_of(hypers))
    self._write_summary(force=True)

  def get_rewards(self) -> List[float]:
    return self._rewards.get().tolist()

  def set_rewards(self, rewards):
    self._rewards.set(np.asarray(rewards, np.float32))
    self._write_summary(force=True)

  def perturb(self) -> Dict:
    """PBT explore: perturbs every hyperparameter and internal reward; returns the new values."""
    explored = {'hypers': self._hypers.perturb(), 'rewards': self._rewards.perturb().tolist()}
    self._write_summary(force=True)
    return explored

  def _write_summary(self, force: bool = False):
    now = time.time()
    if not self._summary_path or (not force and now - self._last_summary < 10.0):
      return
    self._last_summary = now
    run_dir_lib.write_atomically(self._summary_path, json.dumps(
        {'member': self._index, 'learner_steps': self.get_step(), 'hypers': self.get_hypers(),
         'internal_rewards': self.get_rewards()}, indent=1))


class FtwBuilder(builders.ActorLearnerBuilder):
  """One member of an FTW population: its tables, datasets, adders, networks and learner.

  Member i draws its initial hyperparameters and internal rewards with a seed derived from
  `seed` and i. With `run_dir`, its learner writes `members/member_<i>.json`.
  """

  def __init__(self, config: config_lib.FtwConfig, seed: int = 0,
               run_dir: Optional[str] = None):
    config.validate()
    self._config = config
    self._seed = seed
    self._run_dir = run_dir

  @property
  def config(self) -> config_lib.FtwConfig:
    return self._config

  @property
  def batch_size(self) -> int:
    return self._config.batch_size

  @property
  def _table_suffix(self) -> str:
    return self.table_name('')  # The core's per-member table names, as FTW's table suffix.

  def make_networks(self, environment_spec: specs.EnvironmentSpec) -> agent_lib.FtwMember:
    seed = core_distributed.derive_seed(self._seed, self.member)
    tf.random.set_seed(seed)
    hypers, rewards = agent_lib.make_hypers_and_rewards(self._config,
                                                        np.random.default_rng(seed))
    networks = agent_lib.make_networks(environment_spec, self._config, hypers, rewards)
    return agent_lib.FtwMember(networks, hypers, rewards)

  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec) -> List[reverb.Table]:
    return agent_lib.make_tables(self._config, environment_spec,
                                 self.extras_spec(environment_spec), self._table_suffix)

  def extras_spec(self, environment_spec: specs.EnvironmentSpec):
    # The policy network alone records them: no need to build the auxiliary networks.
    policy = arena_lib.MemberPolicies(environment_spec, self._config).network(0)
    return agent_lib.extras_spec(policy, environment_spec.observations)

  def make_dataset_iterator(self, replay_client: reverb.Client) -> agent_lib.FtwDatasets:
    return agent_lib.make_datasets(replay_client, self._config, self._table_suffix)

  def make_adder(self, replay_client: reverb.Client) -> acting.CombinedAdder:
    return agent_lib.make_adder(replay_client, self._config, self._table_suffix)

  def make_learner(self, networks: agent_lib.FtwMember, dataset: agent_lib.FtwDatasets,
                   counter: Optional[counting.Counter] = None,
                   logger: Optional[loggers.Logger] = None) -> MemberLearner:
    summary_path = None
    if self._run_dir:
      os.makedirs(members_dir(self._run_dir), exist_ok=True)
      summary_path = os.path.join(members_dir(self._run_dir), f'member_{self.member}.json')
    return agent_lib.make_learner(self._config, networks, dataset, counter, logger, self.member,
                                  learner_class=MemberLearner, evolved=networks,
                                  index=self.member, summary_path=summary_path)

  def make_actor(self, networks: agent_lib.FtwMember, variable_source, adders_per_env, seed: int,
                 evaluation: bool = False):
    del evaluation  # Members act by sampling in training and evaluation alike.
    policy = networks.networks.policy
    client = None
    if variable_source is not None:
      client = variable_utils.VariableClient(variable_source, {'policy': policy.variables})
    return core_acting.BatchedRecurrentActor(acting.make_policy(policy, self._config.jit_compile),
                                             policy.initial_state, adders_per_env, client, seed)

  def checkpoint_objects(self, learner: MemberLearner):
    return learner.state  # member_<i>/ holds the learner's state at the top level.


def make_program(agent_config: config_lib.FtwConfig, arena_factory: ArenaFactory,
                 team_size: int, config: config_lib.ProgramConfig,
                 name: str = 'ftw') -> lp.Program:
  """The whole population as one program of the core (launch it with `launching.launch`)."""
  config.validate()
  agent_config.validate()
  spec = arena_lib.seat_environment_spec(arena_factory(0))
  return core_distributed.make_program(
      FtwBuilder(agent_config, config.seed, config.run_dir), arena_factory,
      config.core_config(), name, environment_spec=spec,
      actors=core_distributed.NodeFactory('arena', arena_lib.ArenaWorker,
                                          count=config.num_arenas, args=(config,)),
      evaluator=core_distributed.NodeFactory('evaluator', evaluation.BotEvaluatorWorker,
                                             args=(config,)),
      controller=core_distributed.NodeFactory('controller', controller_lib.PbtController,
                                              args=(team_size, config)))
