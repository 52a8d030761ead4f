"""Running a launch command as a user would, and doing to it what long runs meet.

`Launch` starts `python -m <module> ...` in a session of its own (as a terminal would: Ctrl-C
goes to the launcher and every node at once), records its console in a file, finds its node
processes (a node's stdout is its log file `node_logs/<label>/<i>`) and kills or interrupts
them. Nothing is left behind: `close()` kills whatever of the program is still alive.
"""

import os
import re
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Launch:
  """One launch command running in the background."""

  def __init__(self, module: str, *args: str, console_path: str):
    self.console_path = console_path
    self._console = open(console_path, 'w')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONUNBUFFERED='1')
    self.process = subprocess.Popen([sys.executable, '-m', module, *args], cwd=ROOT, env=env,
                                    stdout=self._console, stderr=subprocess.STDOUT,
                                    start_new_session=True)
    self._known: Dict[int, psutil.Process] = {}

  def console(self) -> str:
    with open(self.console_path, errors='replace') as f:
      return f.read()

  def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
    """The first match of `pattern` (a regex, multiline) on the console, waiting for it."""
    deadline = time.monotonic() + timeout_s
    while True:
      match = re.search(pattern, self.console(), re.MULTILINE)
      if match:
        return match
      if self.process.poll() is not None:
        raise AssertionError(f'the command ended ({self.process.returncode}) before printing '
                             f'{pattern!r}:\n{self.console()[-3000:]}')
      if time.monotonic() > deadline:
        raise AssertionError(f'{pattern!r} not printed within {timeout_s} s:\n'
                             f'{self.console()[-3000:]}')
      time.sleep(0.1)

  def wait_for_value(self, pattern: str, minimum: float, timeout_s: float) -> float:
    """Waits until the last number that `pattern`'s group 1 matches reaches `minimum`."""
    deadline = time.monotonic() + timeout_s
    while True:
      values = [float(v) for v in re.findall(pattern, self.console(), re.MULTILINE)]
      if values and values[-1] >= minimum:
        return values[-1]
      if self.process.poll() is not None or time.monotonic() > deadline:
        raise AssertionError(f'{pattern!r} did not reach {minimum} (last {values[-1:]}):\n'
                             f'{self.console()[-3000:]}')
      time.sleep(0.2)

  def nodes(self) -> Dict[str, psutil.Process]:
    """The program's live node processes by title ('learner/0'): a node's stdout is its log
    file, node_logs/<label>/<index>."""
    found = {}
    try:
      children = psutil.Process(self.process.pid).children()
    except psutil.NoSuchProcess:
      children = []
    for child in children:
      try:
        log_path = os.readlink(f'/proc/{child.pid}/fd/1')
      except OSError:
        continue
      parts = log_path.split(os.sep)
      if len(parts) >= 3 and parts[-3] == 'node_logs':
        found[f'{parts[-2]}/{parts[-1]}'] = child
        self._known[child.pid] = child
    return found

  def wait_for_nodes(self, titles: List[str], timeout_s: float = 120) -> Dict[str, psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while True:
      nodes = self.nodes()
      if all(title in nodes for title in titles):
        return nodes
      if time.monotonic() > deadline or self.process.poll() is not None:
        raise AssertionError(f'nodes {titles} not all up (found {sorted(nodes)}):\n'
                             f'{self.console()[-3000:]}')
      time.sleep(0.2)

  def alive(self) -> List[psutil.Process]:
    """Every process of the program (launcher and nodes seen so far) still running."""
    processes = [psutil.Process(self.process.pid)] if self.process.poll() is None else []
    processes += list(self._known.values())
    return [p for p in processes if _running(p)]

  def kill_node(self, title: str) -> float:
    """SIGKILLs node `title`; returns the monotonic time of the kill."""
    node = self.nodes()[title]
    node.send_signal(signal.SIGKILL)
    return time.monotonic()

  def interrupt(self):
    """Ctrl-C in the launcher's terminal: SIGINT to its whole process group."""
    os.killpg(self.process.pid, signal.SIGINT)

  def wait(self, timeout_s: float) -> int:
    try:
      return self.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
      raise AssertionError(f'the command did not end within {timeout_s} s:\n'
                           f'{self.console()[-3000:]}') from None

  def close(self):
    """Kills what is left of the program."""
    for process in self.alive():
      try:
        process.kill()
      except psutil.NoSuchProcess:
        pass
    if self.process.poll() is None:
      self.process.wait(10)
    self._console.close()


def _running(process: psutil.Process) -> bool:
  try:
    return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
  except psutil.NoSuchProcess:
    return False


def wait_until_gone(processes: List[psutil.Process], timeout_s: float) -> List[psutil.Process]:
  """Waits up to `timeout_s` for `processes` to end; returns those still running."""
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    processes = [p for p in processes if _running(p)]
    if not processes:
      return []
    time.sleep(0.2)
  return [p for p in processes if _running(p)]


def checkpoint_files(directory: str) -> Dict[str, float]:
  """Every file under `directory` with its modification time."""
  found = {}
  for root, _, files in os.walk(directory):
    for name in files:
      path = os.path.join(root, name)
      found[os.path.relpath(path, directory)] = os.stat(path).st_mtime_ns
  return found


def checkpoint_tensors(directory: str) -> Dict[str, 'object']:
  """Every tensor of the latest checkpoint in `directory`, by name (numpy arrays)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  latest = tf.train.latest_checkpoint(directory)
  assert latest, f'no checkpoint in {directory}'
  reader = tf.train.load_checkpoint(latest)
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if name != '_CHECKPOINTABLE_OBJECT_GRAPH'}


def checkpoint_steps(directory: str) -> Optional[int]:
  """The learner step recorded in the latest checkpoint of `directory` (None if none)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not tf.train.latest_checkpoint(directory):
    return None
  tensors = checkpoint_tensors(directory)
  (steps,) = [v for k, v in tensors.items() if 'num_steps' in k]
  return int(steps)
