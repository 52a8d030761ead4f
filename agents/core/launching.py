"""Launching programs from the command line: flag errors, local launch types, console, failures."""

import contextlib
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from absl import flags
import launchpad as lp
import psutil
from launchpad.launch import worker_manager
from launchpad.launch.run_locally import launch_local_output_to_files
from launchpad.nodes.python import local_multi_processing

from agents.core import lifetime
from agents.core import loopback
from agents.core import run_dir as run_dir_lib
# Re-exported so that launch scripts need one import for the command-line conventions too.
from agents.core.cli import exit_with_usage_error  # pylint: disable=unused-import
from agents.core.cli import LAUNCH_TYPES
from agents.core.cli import parse_flags  # noqa: F401  # pylint: disable=unused-import
from agents.core.cli import USAGE_ERROR  # noqa: F401  # pylint: disable=unused-import

# Node environment for local_mp: quiet TensorFlow, and one thread per op so that N nodes on a
# small machine do not each spawn one thread per core.
NODE_ENV = {'TF_CPP_MIN_LOG_LEVEL': '2', 'TF_NUM_INTRAOP_THREADS': '1',
            'TF_NUM_INTEROP_THREADS': '1', 'OMP_NUM_THREADS': '1'}


# Launch type of a program on Google Cloud (Vertex AI, through xmanager): one job per node.
VERTEX_AI = 'vertex_ai'
# What a command whose program may also run on Vertex AI accepts as `--launch_type`.
CLUSTER_LAUNCH_TYPES = LAUNCH_TYPES + (VERTEX_AI,)
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def define_cluster_flags():
  """The flags of a command whose program may also be launched on Vertex AI."""
  flags.DEFINE_string('docker_requirements', os.path.join(_ROOT, 'requirements.txt'),
                      f'{VERTEX_AI}: the pip requirements baked into every node image.')
  flags.DEFINE_string('learner_accelerator', '', f'{VERTEX_AI}: accelerator of the learner '
                      'nodes, e.g. V100 (default CPU).')


def vertex_ai_resources(program: lp.Program, requirements: str,
                        learner_accelerator: str = '') -> Dict[str, Any]:
  """One Docker configuration per node group (Vertex AI allows at most four distinct ones):
  this repository with `requirements`, on CPU, but the learners on `learner_accelerator`."""
  cpu = lp.DockerConfig(code_directory=_ROOT, docker_requirements=requirements)
  learner = cpu
  if learner_accelerator:
    from xmanager import xm  # pylint: disable=g-import-not-at-top
    learner = lp.DockerConfig(
        code_directory=_ROOT, docker_requirements=requirements,
        hw_requirements=xm.JobRequirements(**{learner_accelerator: 1}))
  return {group: learner if group == 'learner' else cpu for group in program.groups}


def vertex_ai_descriptions(program: lp.Program, requirements: str,
                           learner_accelerator: str = '') -> Dict[str, str]:
  """What each node of each group asks Vertex AI for (`vertex_ai_resources`), in words."""
  image = f'a Vertex AI job, Docker image with {os.path.basename(requirements)}'
  return {group: f'{image}, ' + (f'1 x {learner_accelerator}'
                                 if group == 'learner' and learner_accelerator else 'CPU')
          for group in program.groups}


def check_vertex_ai_installed():
  """Exits with a usage error unless xmanager and the Vertex AI client are installed."""
  try:
    import xmanager  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
    import google.cloud.aiplatform  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as error:
    exit_with_usage_error(
        f'--launch_type={VERTEX_AI} needs xmanager and google-cloud-aiplatform ({error}); see '
        'BUILD.md, "FTW (and TVT) on a cluster"')


def submit_to_vertex_ai(program: lp.Program, requirements: str, learner_accelerator: str = ''):
  """Submits `program` to Vertex AI (needs xmanager, Docker and a Google Cloud project); the
  run directory must be a path every node can write (a shared mount)."""
  lp.launch(program, launch_type=VERTEX_AI,
            xm_resources=vertex_ai_resources(program, requirements, learner_accelerator))


class NodeFailedError(RuntimeError):
  """A node of the program died; the message names it and its last error line."""


def prepare_launcher(launch_type: str, loopback_only: bool):
  """Checks the launch type; for local_mt with loopback, restarts this process with the shim."""
  if launch_type not in LAUNCH_TYPES:
    exit_with_usage_error(f'unknown launch type {launch_type!r}; valid: {", ".join(LAUNCH_TYPES)}')
  if loopback_only and launch_type == 'local_mt':
    try:
      loopback.reexec_with_shim()
    except loopback.LoopbackUnavailableError as error:
      exit_with_usage_error(str(error))


class _LogTailer(threading.Thread):
  """Copies new lines of every node's log file to the console, prefixed with the node name."""

  _NOISE = re.compile(r'^I\d{4} |DeprecationWarning|warnings\.warn|^\s*$|Logging before flag|'
                      r'Returning a port that was not given')

  def __init__(self, directory: str, period_s: float = 0.5):
    super().__init__(daemon=True)
    self._directory = directory
    self._period_s = period_s
    self._offsets: Dict[str, int] = {}
    self._stopped = threading.Event()

  def run(self):
    while not self._stopped.is_set():
      self.flush()
      self._stopped.wait(self._period_s)
    self.flush()

  def stop(self):
    self._stopped.set()
    self.join(timeout=5)

  def flush(self):
    for name in _node_log_names(self._directory):
      path = os.path.join(self._directory, name)
      offset = self._offsets.get(name, 0)
      try:
        with open(path, 'rb') as f:
          if os.fstat(f.fileno()).st_size < offset:  # Rewritten by a new node: start over.
            offset = 0
          f.seek(offset)
          data = f.read()
      except OSError:
        continue
      end = data.rfind(b'\n') + 1
      self._offsets[name] = offset + end
      for line in data[:end].decode(errors='replace').splitlines():
        if not self._NOISE.search(line):
          print(f'[{name}] {line}', flush=True)


def _node_log_names(log_dir: str) -> List[str]:
  """Node log files under `log_dir`, as 'label/index' paths."""
  names = []
  for root, _, files in os.walk(log_dir):
    names += [os.path.relpath(os.path.join(root, f), log_dir) for f in files]
  return sorted(names)


def last_error(log_path: str) -> Optional[str]:
  """The last exception line of a node log that holds a traceback (None if it holds none)."""
  try:
    with open(log_path, errors='replace') as f:
      lines = f.read().splitlines()
  except OSError:
    return None
  if not any(line.startswith('Traceback') for line in lines):
    return None
  error_lines = [line for line in lines
                 if re.match(r'^[A-Za-z_.]*(Error|Exception|Exit)\b', line)]
  return error_lines[-1] if error_lines else lines[-1]


_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGALRM, signal.SIGHUP,
                    lifetime.PROGRAM_DONE_SIGNAL)


class ProgramInterrupted(KeyboardInterrupt):
  """The launcher was told to stop (Ctrl-C, SIGTERM, a closed terminal) and the program has
  stopped, its checkpoints written; `signal_number` says which signal."""

  def __init__(self, signal_number: int):
    super().__init__(signal.Signals(signal_number).name)
    self.signal_number = signal_number

  @property
  def exit_status(self) -> int:
    return 128 + self.signal_number


def exit_interrupted(error: ProgramInterrupted, run_dir: str, skipped: str = '',
                     how_to_run_it: str = ''):
  """Says that the run stopped on `error`'s signal with its checkpoints, and what was skipped
  (the final evaluation, say, with the command that runs it); exits with 128 + the signal."""
  message = f'interrupted ({error}): the program stopped; its checkpoints are in {run_dir}'
  if skipped:
    message += f'; {skipped} was skipped' + (f' (run it with: {how_to_run_it})'
                                              if how_to_run_it else '')
  print(message, file=sys.stderr, flush=True)
  sys.exit(error.exit_status)


def describe_exit(code: int) -> str:
  """How a process ended, from its return code ('was killed by SIGKILL, ...')."""
  if code >= 0:
    return f'exited with status {code}'
  name = signal.Signals(-code).name
  return f'was killed by {name}' + (
      ' (possibly out of memory)' if -code == signal.SIGKILL else '')


def log_tail(path: str, lines: int = 8) -> List[str]:
  """The last `lines` lines of a node log that are not third-party noise."""
  try:
    with open(path, errors='replace') as f:
      text = f.read().splitlines()
  except OSError:
    return []
  return [line for line in text if not _LogTailer._NOISE.search(line)][-lines:]  # pylint: disable=protected-access


# A program stops in stages, so that every node's peers outlive it: first the nodes that use
# the others (actors, evaluators, coordinator), then the learners (their final checkpoint
# needs the replay and counter servers) and FTW's controller (which the arenas call), then the
# servers. Any other node is in stage 0.
_STOP_STAGES = ((), ('learner', 'controller'), ('replay', 'counter'))
STOP_STAGE_S = 10.0  # How long a stage may take before the next is stopped anyway.
_STACK_DUMP_S = 1.0  # How long stuck nodes get to write their stacks before they are killed.
_GDB_TIMEOUT_S = 60.0  # The longest a stuck node's native stacks may take to collect.


# What each node label's CPU goes to, in the program's CPU report; other labels are overhead.
CPU_CATEGORIES = {'actor': 'data generation', 'arena': 'data generation', 'learner': 'learning',
                  'worker': 'learning', 'evaluator': 'evaluation'}
CPU_REPORT_FILE = 'cpu_usage.json'


class _CpuMeter:
  """CPU seconds (user + system) of each node process and of the launcher, sampled while the
  program runs: a node's last sample before it ends is its figure (at most one period short)."""

  def __init__(self, nodes, period_s: float = 1.0):
    self._nodes = nodes
    self._period_s = period_s
    self._next = 0.0
    self._seconds: Dict[str, float] = {}
    self._launcher_start = self._launcher_seconds()

  @staticmethod
  def _launcher_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

  def sample(self):
    if time.monotonic() < self._next:
      return
    self._next = time.monotonic() + self._period_s
    for title, process in self._nodes:
      try:
        tree = psutil.Process(process.pid)
        seconds = sum(sum(p.cpu_times()[:2]) for p in [tree] + tree.children(recursive=True))
      except psutil.Error:  # Ended since: keep its last sample.
        continue
      self._seconds[title] = max(seconds, self._seconds.get(title, 0.0))

  def report(self, elapsed_s: float) -> Dict[str, Any]:
    """{'nodes': {title: seconds}, 'categories': {category: seconds}, totals, wall time}."""
    nodes = dict(sorted(self._seconds.items()))
    nodes['launcher'] = self._launcher_seconds() - self._launcher_start
    categories: Dict[str, float] = {}
    for title, seconds in nodes.items():
      category = CPU_CATEGORIES.get(title.split('/')[0], 'overhead')
      categories[category] = categories.get(category, 0.0) + seconds
    return {'nodes': nodes, 'categories': categories, 'total_s': sum(nodes.values()),
            'wall_s': elapsed_s, 'cores': os.cpu_count()}


def format_cpu_report(report: Dict[str, Any]) -> str:
  """Where the program's CPU went: each category's and each node's share of the CPU seconds."""
  total = max(report['total_s'], 1e-9)
  order = ('data generation', 'learning', 'evaluation', 'overhead')
  categories = sorted(report['categories'].items(),
                      key=lambda item: order.index(item[0]) if item[0] in order else len(order))
  lines = [f'CPU: {report["total_s"]:.0f} s over {report["wall_s"] / 60:.1f} min on '
           f'{report["cores"]} cores ({report["total_s"] / max(report["wall_s"], 1e-9):.2f} '
           'cores busy): ' + ', '.join(f'{name} {seconds / total:.0%}'
                                      for name, seconds in categories)]
  lines.append('  by node: ' + ', '.join(f'{title} {seconds / total:.0%}'
                                         for title, seconds in report['nodes'].items()))
  return '\n'.join(lines)


def _stop_stage(title: str) -> int:
  label = title.split('/')[0]
  return next((i for i, labels in enumerate(_STOP_STAGES) if label in labels), 0)


def _append_native_stacks(pid: int, log_path: str):
  """Appends the native stacks of every thread of `pid` to its log, where gdb is installed: a
  node stuck in native code (a destructor, a blocked call) shows no Python frame there."""
  gdb = shutil.which('gdb')
  if gdb is None:
    return
  try:
    with open(log_path, 'a') as log:
      log.write(f'\nnative stacks of pid {pid} (gdb):\n')
      log.flush()
      subprocess.run([gdb, '-p', str(pid), '-batch', '-nx', '-ex', 'thread apply all bt 30'],
                     stdout=log, stderr=subprocess.STDOUT, timeout=_GDB_TIMEOUT_S, check=False)
  except (OSError, subprocess.TimeoutExpired):
    pass


class _ProgramWatch:
  """Runs a launched local_mp program from the launcher's main thread until its nodes end.

  Takes over the launcher's signals from Launchpad. The first node that dies with an error is
  named on the console at once (exit code or signal, the tail of its log) and the rest are
  stopped. A stop signal (SIGINT, SIGTERM, SIGHUP) stops the program and is recorded; a second
  SIGINT kills the nodes at once. A node asks for the program's end with
  `lifetime.PROGRAM_DONE_SIGNAL`. Stopping sends SIGTERM to the nodes in stages
  (`_STOP_STAGES`; each checkpoints and ends) and SIGKILL, named on the console, only to nodes
  still alive `notice_s` after the stop began.
  """

  def __init__(self, manager, log_dir: str, notice_s: float):
    self._manager = manager
    self._log_dir = log_dir
    self._notice_s = notice_s
    # Launchpad drops ended processes from its table: keep them to read their exit codes.
    self._nodes = [(title, process)
                   for title, processes in manager._active_workers.items()  # pylint: disable=protected-access
                   for process in processes]
    self.failure: Optional[str] = None
    self.interrupted: Optional[int] = None
    self._kill_at: Optional[float] = None
    self._kill_reason: Optional[str] = None
    self._stage = -1  # The stop stage reached (see _STOP_STAGES).
    self._stage_deadline = 0.0
    self.cpu = _CpuMeter(self._nodes)
    manager._disable_signals()  # pylint: disable=protected-access
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
      signal.signal(sig, self._on_signal)
    signal.signal(lifetime.PROGRAM_DONE_SIGNAL, lambda *_: self._stop())

  def _on_signal(self, signal_number: int, unused_frame):
    if self.interrupted is None:
      self.interrupted = signal_number
      print(f'{signal.Signals(signal_number).name}: stopping the program; the nodes write '
            'their checkpoints (Ctrl-C again kills them at once)', file=sys.stderr,
            flush=True)
      self._stop()
    elif signal_number == signal.SIGINT:
      self._kill_at = time.monotonic()
      self._kill_reason = 'a second Ctrl-C'

  def _alive(self, stage: Optional[int] = None):
    return [(title, process) for title, process in self._nodes
            if process.poll() is None and (stage is None or _stop_stage(title) == stage)]

  def _stop(self):
    if self._kill_at is None:
      self._kill_at = time.monotonic() + self._notice_s
      self._advance_stop()

  def _advance_stop(self):
    """Sends SIGTERM to the next stage's nodes once the current stage has ended or had its
    time (`STOP_STAGE_S`)."""
    now = time.monotonic()
    while self._stage < len(_STOP_STAGES) and (now >= self._stage_deadline
                                                or not self._alive(self._stage)):
      self._stage += 1
      self._stage_deadline = now + STOP_STAGE_S
      for _, process in self._alive(self._stage):
        process.send_signal(signal.SIGTERM)

  def _kill_the_rest(self):
    """Kills the nodes still alive, after each has written its threads' stacks to its log
    (`lifetime.guard_node` registers SIGUSR1 for that): where a stuck node was stuck."""
    reason = self._kill_reason or f'it did not stop within {self._notice_s:.0f} s'
    stuck = self._alive()
    if self._kill_reason is None:
      for _, process in stuck:
        process.send_signal(signal.SIGUSR1)
      time.sleep(_STACK_DUMP_S)
      for title, process in stuck:
        _append_native_stacks(process.pid, os.path.join(self._log_dir, title))
    for title, process in stuck:
      print(f'node {title} (pid {process.pid}): {reason}; killing it (log, with its threads\' '
            f'stacks: {os.path.join(self._log_dir, title)})', file=sys.stderr, flush=True)
      process.kill()

  def _check_for_failure(self):
    if self.failure is not None or self._kill_at is not None:
      return
    for title, process in self._nodes:
      code = process.poll()
      if code is None or code == 0:
        continue
      log_path = os.path.join(self._log_dir, title)
      error = last_error(log_path)
      self.failure = (f'node {title} (pid {process.pid}) {describe_exit(code)}'
                      f'{f" ({error})" if error else ""}; log: {log_path}')
      print(f'error: {self.failure}' + ''.join(f'\n  | {line}' for line in log_tail(log_path)),
            file=sys.stderr, flush=True)
      print('stopping the other nodes', file=sys.stderr, flush=True)
      self._stop()
      return

  def wait(self, period_s: float = 0.1):
    while self._alive():
      self.cpu.sample()
      self._check_for_failure()
      if self._kill_at is not None:
        if time.monotonic() >= self._kill_at:
          self._kill_the_rest()
        self._advance_stop()
      time.sleep(period_s)
    self._check_for_failure()
    with self._manager._mutex:  # pylint: disable=protected-access
      self._manager._active_workers.clear()  # pylint: disable=protected-access


def _restore_signal_handlers(saved: Dict[int, Any]):
  """Puts back the handlers a launch replaced, so that Ctrl-C works again after the program
  (Launchpad leaves its dispatcher in place, which ignores signals once the program is over);
  the next launch in this process installs Launchpad's dispatcher anew."""
  for sig, handler in saved.items():
    signal.signal(sig, handler)
  worker_manager._SIGNAL_HANDLERS = None  # pylint: disable=protected-access


def cpu_reports(run_dir: str) -> List[Dict[str, Any]]:
  """The CPU reports of every launch on `run_dir`, oldest first (none: an empty list)."""
  try:
    with open(os.path.join(run_dir, CPU_REPORT_FILE)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return []


def _record_cpu(report: Dict[str, Any], run_dir: str, console: bool):
  """Adds the program's CPU report to `run_dir/cpu_usage.json` (one entry per launch) and
  prints it."""
  history = cpu_reports(run_dir) + [dict(report, time=time.time())]
  run_dir_lib.write_atomically(os.path.join(run_dir, CPU_REPORT_FILE),
                               json.dumps(history, indent=1))
  if console:
    print(format_cpu_report(report), flush=True)


def describe_program(program: lp.Program, launch_type: str = 'local_mp',
                     resources: Optional[Dict[str, str]] = None) -> str:
  """The program's node groups, their node counts and what each node asks for, for `--dry_run`
  (`resources`: group -> description, for a cluster; locally a process or a thread each)."""
  local = 'a thread of the launcher' if launch_type == 'local_mt' else 'one local process'

  groups = {group: len(nodes) for group, nodes in program.groups.items()}
  width = max(len(group) for group in groups)
  lines = [f'program {program.name!r}: {sum(groups.values())} nodes in {len(groups)} groups '
           '(nothing launched, nothing written)',
           f'  {"group":{width}s}  nodes  each node']
  for group, count in groups.items():
    described = (resources or {}).get(group, f'{local}, CPU')
    lines.append(f'  {group:{width}s}  {count:5d}  {described}')
  return '\n'.join(lines)


def launch(program: lp.Program, launch_type: str, run_dir: str, *, loopback_only: bool = True,
           console: bool = True, extra_env: Optional[Dict[str, str]] = None,
           termination_notice_s: int = 30):
  """Launches `program` and blocks until it ends, holding the run directory's lock.

  local_mp: one process per node, each node's output in `run_dir/node_logs/<label>/<i>` and,
  with `console`, copied to the console; every node exits soon after this process dies. A
  node that dies with an error is named at once and the others are stopped: raises
  NodeFailedError. A stop signal (Ctrl-C, SIGTERM, SIGHUP) stops the program, letting the nodes
  write their checkpoints, and raises ProgramInterrupted. local_mt: every node is a thread of
  this process (call `prepare_launcher` first). Nodes get `termination_notice_s` to stop after
  a stop request before they are killed.
  """
  if not flags.FLAGS.is_parsed():
    flags.FLAGS(sys.argv[:1], known_only=True)
  if not flags.FLAGS['lp_termination_notice_secs'].present:
    flags.FLAGS.lp_termination_notice_secs = termination_notice_s
  run_dir_lib.lock(run_dir)
  if launch_type == 'local_mt':
    manager = lp.launch(program, launch_type='local_mt', serialize_py_nodes=False)
    manager.wait()
    return
  if launch_type != 'local_mp':
    raise ValueError(f'unknown launch type {launch_type!r}; valid: {", ".join(LAUNCH_TYPES)}')
  env = dict(NODE_ENV, **lifetime.node_env(run_dir))
  if loopback_only:
    env.update(loopback.preload_env())
  env.update(extra_env or {})
  resources = {label: local_multi_processing.PythonProcess(env=dict(env))
               for label in program.groups}
  log_dir = run_dir_lib.rotate_node_logs(run_dir)
  launch_local_output_to_files._LOGGING_DIR = log_dir  # pylint: disable=protected-access
  tailer = _LogTailer(log_dir) if console else None
  if tailer:
    tailer.start()
  saved_handlers = {sig: signal.getsignal(sig) for sig in _HANDLED_SIGNALS}
  try:
    with contextlib.redirect_stdout(io.StringIO()):  # Launchpad's "Logging to: <file>" lines.
      manager = lp.launch(program, launch_type='local_mp', local_resources=resources,
                          terminal='output_to_files')
    started = time.time()
    watch = _ProgramWatch(manager, log_dir, flags.FLAGS.lp_termination_notice_secs)
    watch.wait()
  finally:
    if tailer:
      tailer.stop()
    _restore_signal_handlers(saved_handlers)
  _record_cpu(watch.cpu.report(time.time() - started), run_dir, console)
  if watch.failure is not None:
    raise NodeFailedError(watch.failure)
  if watch.interrupted is not None:
    raise ProgramInterrupted(watch.interrupted)
