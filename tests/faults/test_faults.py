"""The faults long runs meet, done to real `local_mp` programs of meta-RL and FTW.

For each family one run directory lives through them in turn, as a user's would: a second
command on the running directory, a SIGKILLed actor, a SIGKILLed learner, Ctrl-C and a
SIGKILLed launcher. FTW's chain keeps the faults whose handling involves its own nodes (a killed
arena, a killed learner of the population, the resumed population) and leaves out the lock,
Ctrl-C and the killed launcher, which the core's launcher handles alike for every family. Every
session after the first resumes what the ones before wrote. Re-running a finished run (its
checkpoint unchanged, optimizer slots included) is tested on the single-process path and the
distributed learner's runner in tests/test_checkpoints.py.
"""

import os
import time
from typing import NamedTuple, Tuple

from tests.faults import harness

START_TIMEOUT_S = 300  # From the command to the learner's first steps, on a loaded machine.


class Family(NamedTuple):
  module: str
  flags: Tuple[str, ...]
  budget_flag: str
  learner: str  # Node title of the (first) learner.
  actor: str  # Node title of an actor.
  learner_steps: str  # Regex of the learner's step figure on the console (group 1).
  checkpoints: str  # The learner's checkpoint directory under the run directory.
  final_evaluation: str  # Printed by the final evaluation only.
  checkpoint_steps: int  # --checkpoint_period_steps of every session.
  # The lock, Ctrl-C and a killed launcher are the core's alone (agents/core/launching.py and
  # run_dir.py, the same code for every family); to keep CI within its time, only meta-RL's
  # chain repeats them end to end.
  core_checks: bool = True


META_RL = Family(
    module='launch.meta_rl',
    flags=('--num_workers=1', '--envs_per_worker=8', '--num_trials=20', '--unroll_length=10',
           '--batch_size=4', '--eval_episodes=20'),
    budget_flag='--num_steps', learner='learner/0', actor='actor/0',
    learner_steps=r'^\[learner/0\] .*Learner Steps = (\d+)',
    checkpoints=os.path.join('checkpoints', 'learner'),
    final_evaluation='Expected cumulative regret', checkpoint_steps=20)

FTW = Family(
    module='launch.ftw_local',
    flags=('--population_size=2', '--num_arenas=1', '--matches_per_arena=2',
           '--episode_length=30', '--map_size=7', '--unroll_length=6', '--batch_size=2',
           '--eval_matches=1', '--eval_period_s=600', '--final_eval_matches=1',
           '--max_minutes=0'),
    budget_flag='--num_steps', learner='learner/0', actor='arena/0',
    learner_steps=r'^\[learner/0\] .*Learner 0 Steps = (\d+)',
    checkpoints=os.path.join('checkpoints', 'member_0'),
    final_evaluation='final evaluation of the checkpoints', checkpoint_steps=10,
    core_checks=False)


def _assert_named_soon(launch, node, killed_at):
  launch.wait_for(rf'^error: node {node} \(pid \d+\) was killed by SIGKILL', 30)
  assert time.monotonic() - killed_at < 5.0, launch.console()[-2000:]


def _assert_clean_stop(launch):
  assert launch.wait(180) == 1, launch.console()[-3000:]
  assert 'killing it' not in launch.console(), launch.console()[-3000:]
  assert not harness.wait_until_gone(launch.alive(), 5)


def _fault_chain(family: Family, tmp_path):
  run_dir = str(tmp_path / 'run')
  learner_checkpoints = os.path.join(run_dir, family.checkpoints)
  launches = []

  def launch(name, budget=10**9):
    launches.append(harness.Launch(
        family.module, '-l', run_dir, f'{family.budget_flag}={budget}', *family.flags,
        f'--checkpoint_period_steps={family.checkpoint_steps}',
        console_path=str(tmp_path / f'{name}.txt')))
    return launches[-1]

  def learner_steps(launch, minimum):
    return launch.wait_for_value(family.learner_steps, minimum, START_TIMEOUT_S)

  try:
    # 1. A second command on a running run's directory: one line, exit 2, the run unharmed.
    first = launch('first')
    learner_steps(first, 1)
    if family.core_checks:
      second = launch('second')
      assert second.wait(60) == 2
      errors = [line for line in second.console().splitlines() if line.startswith('error:')]
      assert len(errors) == 1 and 'in use by another run' in errors[0], second.console()
      assert f'pid {first.process.pid}' in errors[0]

    # 2. A killed actor is named within 5 s; the rest stop without a SIGKILL.
    seen = learner_steps(first, family.checkpoint_steps + 5)
    _assert_named_soon(first, family.actor, first.kill_node(family.actor))
    _assert_clean_stop(first)
    checkpointed = harness.checkpoint_steps(learner_checkpoints)
    assert checkpointed >= seen, (checkpointed, seen)

    # 3. The re-run resumes: its step figures are the restored ones. A killed learner loses at
    # most one checkpoint interval.
    resumed = launch('resumed')
    resumed.wait_for(r'\(resuming\)', 120)
    first_seen = learner_steps(resumed, 0)
    assert checkpointed < first_seen <= checkpointed + family.checkpoint_steps, (checkpointed,
                                                                          first_seen)
    seen = learner_steps(resumed, checkpointed + 2 * family.checkpoint_steps)
    _assert_named_soon(resumed, family.learner, resumed.kill_node(family.learner))
    _assert_clean_stop(resumed)
    checkpointed = harness.checkpoint_steps(learner_checkpoints)
    assert checkpointed >= seen - family.checkpoint_steps, (checkpointed, seen)
    if not family.core_checks:
      return

    # 4. Ctrl-C: exit 130 once the checkpoints are written, no final evaluation.
    interrupted = launch('interrupted')
    learner_steps(interrupted, checkpointed + 5)
    interrupted.interrupt()
    assert interrupted.wait(180) == 130, interrupted.console()[-3000:]
    console = interrupted.console()
    assert 'final evaluation was skipped' in console, console[-3000:]
    assert family.final_evaluation not in console and 'killing it' not in console
    after_interrupt = harness.checkpoint_steps(learner_checkpoints)
    assert after_interrupt >= checkpointed + 5

    # 5. A SIGKILLed launcher: every node gone within 10 s, and nothing written afterwards
    # (the checkpoints they left are the ones the sessions above resumed from).
    orphaned = launch('orphaned')
    learner_steps(orphaned, after_interrupt + 5)
    nodes = list(orphaned.nodes().values())
    orphaned.process.kill()
    assert not harness.wait_until_gone(nodes, 10.0), 'nodes outlived their launcher by 10 s'
    written = harness.checkpoint_files(os.path.join(run_dir, 'checkpoints'))
    time.sleep(3)
    assert harness.checkpoint_files(os.path.join(run_dir, 'checkpoints')) == written
    assert harness.checkpoint_steps(learner_checkpoints) >= after_interrupt
  finally:
    for each in launches:
      each.close()


def test_a_meta_rl_run_survives_the_faults_of_long_runs(tmp_path):
  _fault_chain(META_RL, tmp_path)


def test_an_ftw_run_survives_the_faults_of_long_runs(tmp_path):
  _fault_chain(FTW, tmp_path)
