"""The faults long runs meet, done to a real `launch.meta_rl` program, one run directory.

One run directory lives through them in turn, as a user's would: a second command on the
running directory, a SIGKILLed actor, a SIGKILLed learner, Ctrl-C, a SIGKILLed launcher and a
re-run once the run has finished. Every session after the first resumes what the ones before
wrote.
"""

import os
import time

from tests.faults import harness

# Small and quick: one actor of 8 bandits, checkpoints every 20 learner steps.
FLAGS = ('--num_workers=1', '--envs_per_worker=8', '--num_trials=20', '--unroll_length=10',
         '--batch_size=4', '--eval_episodes=20', '--checkpoint_period_steps=20')
LEARNER_STEPS = r'\[learner/0\] .*Learner Steps = (\d+)'
START_TIMEOUT_S = 240


def _launch(run_dir, console, budget=10**9):
  return harness.Launch('launch.meta_rl', '-l', run_dir, f'--num_steps={budget}', *FLAGS,
                        console_path=console)


def _assert_named_soon(launch, node, killed_at):
  match = launch.wait_for(rf'^error: node {node} \(pid \d+\) was killed by SIGKILL', 30)
  assert time.monotonic() - killed_at < 5.0, launch.console()[-2000:]
  return match


def _assert_clean_stop(launch):
  assert launch.wait(120) == 1, launch.console()[-3000:]
  assert 'killing it' not in launch.console(), launch.console()[-3000:]
  assert not harness.wait_until_gone(launch.alive(), 5)


def test_a_run_survives_the_faults_of_long_runs(tmp_path):
  run_dir = str(tmp_path / 'run')
  learner_checkpoints = os.path.join(run_dir, 'checkpoints', 'learner')
  launches = []

  def launch(name, **kwargs):
    launches.append(_launch(run_dir, str(tmp_path / f'{name}.txt'), **kwargs))
    return launches[-1]

  try:
    # 1. A second command on a running run's directory: one line, exit 2, the run unharmed.
    first = launch('first')
    first.wait_for_value(LEARNER_STEPS, 1, START_TIMEOUT_S)
    second = harness.Launch('launch.meta_rl', '-l', run_dir, *FLAGS,
                            console_path=str(tmp_path / 'second.txt'))
    assert second.wait(60) == 2
    errors = [line for line in second.console().splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'in use by another run' in errors[0], second.console()
    assert f'pid {first.process.pid}' in errors[0]
    second.close()
    # 2. A killed actor is named within 5 s; the rest stop cleanly.
    steps_before = first.wait_for_value(LEARNER_STEPS, 25, START_TIMEOUT_S)
    _assert_named_soon(first, 'actor/0', first.kill_node('actor/0'))
    _assert_clean_stop(first)
    checkpointed = harness.checkpoint_steps(learner_checkpoints)
    assert checkpointed >= steps_before, (checkpointed, steps_before)

    # 3. The re-run resumes from the checkpoint, its step figures the restored ones; a killed
    # learner loses at most one checkpoint interval (20 steps).
    resumed = launch('resumed')
    resumed.wait_for(r'\(resuming\)', 60)
    first_steps = resumed.wait_for_value(LEARNER_STEPS, 0, START_TIMEOUT_S)
    assert checkpointed < first_steps <= checkpointed + 20, (checkpointed, first_steps)
    last_seen = resumed.wait_for_value(LEARNER_STEPS, checkpointed + 60, START_TIMEOUT_S)
    _assert_named_soon(resumed, 'learner/0', resumed.kill_node('learner/0'))
    _assert_clean_stop(resumed)
    checkpointed = harness.checkpoint_steps(learner_checkpoints)
    assert checkpointed >= last_seen - 20, (checkpointed, last_seen)

    # 4. Ctrl-C: exit 130 after the checkpoints, no final evaluation.
    interrupted = launch('interrupted')
    interrupted.wait_for_value(LEARNER_STEPS, checkpointed + 10, START_TIMEOUT_S)
    interrupted.interrupt()
    assert interrupted.wait(120) == 130, interrupted.console()[-3000:]
    console = interrupted.console()
    assert 'final evaluation was skipped' in console and 'Expected cumulative regret' not in console
    assert 'killing it' not in console
    after_interrupt = harness.checkpoint_steps(learner_checkpoints)
    assert after_interrupt >= checkpointed + 10

    # 5. A SIGKILLed launcher: every node gone within 10 s, nothing written afterwards.
    orphaned = launch('orphaned')
    orphaned.wait_for_value(LEARNER_STEPS, after_interrupt + 10, START_TIMEOUT_S)
    nodes = list(orphaned.wait_for_nodes(['learner/0', 'actor/0', 'replay/0']).values())
    orphaned.process.kill()
    assert not harness.wait_until_gone(nodes, 10.0), 'nodes outlived their launcher by 10 s'
    written = harness.checkpoint_files(os.path.join(run_dir, 'checkpoints'))
    time.sleep(3)
    assert harness.checkpoint_files(os.path.join(run_dir, 'checkpoints')) == written
    final_steps = harness.checkpoint_steps(learner_checkpoints)
    assert final_steps >= after_interrupt

    # 6. Re-running a finished run: exit 0, its checkpoint unchanged, optimizer slots included.
    tensors = harness.checkpoint_tensors(learner_checkpoints)
    assert any('optimizer' in name or 'Adam' in name or '/m/' in name for name in tensors)
    finished = launch('finished', budget=1)
    assert finished.wait(300) == 0, finished.console()[-3000:]
    assert 'Expected cumulative regret' in finished.console()
    after = harness.checkpoint_tensors(learner_checkpoints)
    assert sorted(after) == sorted(tensors)
    assert all((after[name] == tensors[name]).all() for name in tensors)
  finally:
    for each in launches:
      each.close()
