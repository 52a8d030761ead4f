"""Launching programs from the command line: flag errors, local launch types, console, failures."""

import os
import re
import sys
import threading
import time
from typing import Dict, List, Optional

from absl import flags
import launchpad as lp
from launchpad.launch.run_locally import launch_local_output_to_files
from launchpad.nodes.python import local_multi_processing

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
                      r'Gym has been unmaintained|Please upgrade to Gymnasium|migration_guide|'
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


def last_error_of_nodes(log_dir: str) -> Optional[str]:
  """'node: last exception line' for the first node log that ends in a traceback."""
  for name in _node_log_names(log_dir):
    with open(os.path.join(log_dir, name), errors='replace') as f:
      lines = f.read().splitlines()
    if not any(line.startswith('Traceback') for line in lines):
      continue
    error_lines = [line for line in lines
                   if re.match(r'^[A-Za-z_.]*(Error|Exception|Exit)\b', line)]
    return f'{name}: {error_lines[-1] if error_lines else lines[-1]}'
  return None


def launch(program: lp.Program, launch_type: str, run_dir: str, *, loopback_only: bool = True,
           console: bool = True, extra_env: Optional[Dict[str, str]] = None,
           termination_notice_s: int = 30):
  """Launches `program` and blocks until it ends; raises NodeFailedError if a node died.

  local_mp: one process per node, each node's output in `run_dir/node_logs/<label>_<i>` and,
  with `console`, copied to the console. A node that exits with an error stops the program.
  local_mt: every node is a thread of this process (call `prepare_launcher` first).
  Nodes get `termination_notice_s` to stop after a stop request before they are killed.
  """
  if not flags.FLAGS.is_parsed():
    flags.FLAGS(sys.argv[:1], known_only=True)
  if not flags.FLAGS['lp_termination_notice_secs'].present:
    flags.FLAGS.lp_termination_notice_secs = termination_notice_s
  if launch_type == 'local_mt':
    manager = lp.launch(program, launch_type='local_mt', serialize_py_nodes=False)
    manager.wait()
    return
  if launch_type != 'local_mp':
    raise ValueError(f'unknown launch type {launch_type!r}; valid: {", ".join(LAUNCH_TYPES)}')
  env = dict(NODE_ENV)
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
  try:
    manager = lp.launch(program, launch_type='local_mp', local_resources=resources,
                        terminal='output_to_files')
    # Launchpad gives the termination notice only to the first program launched in a process
    # (later ones never kill a stuck node) and, when the notice runs out, kills the launcher
    # too. Every program launched here gets the notice, and only its own nodes are killed.
    manager._termination_notice_secs = flags.FLAGS.lp_termination_notice_secs  # pylint: disable=protected-access
    manager._kill_main_thread = False  # pylint: disable=protected-access
    try:
      manager.wait()
    except RuntimeError as error:
      manager.wait(raise_error=False)  # Let the other nodes stop (they were told to).
      time.sleep(0.5)
      raise NodeFailedError(
          f'node failed: {last_error_of_nodes(log_dir) or error}; logs in {log_dir}') from None
  finally:
    if tailer:
      tailer.stop()
