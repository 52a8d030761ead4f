"""A run directory's settings and node logs: one resume rule for every program.

A run directory holds one run: `run_config.json` (the settings it was started with), its
checkpoints and `node_logs/`. Running the same command on it again resumes the run. Only the
settings that fix what a checkpoint holds (network shapes, environment, population size...) must
then match; the caller declares them as `resume_keys`, and every other setting (the budget, the
learning rate, seeds of evaluation...) may change between sessions:

  resumed = run_dir.write_or_check(path, {'env_id': ..., 'agent': dataclasses.asdict(config),
                                          'num_steps': budget},
                                   resume_keys=('env_id', 'agent.lstm_units'))
"""

import fcntl
import json
import os
import re
import socket
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

RUN_CONFIG = 'run_config.json'
LOCK = '.lock'  # Held by the process running the run (see `lock`).
NODE_LOCK = '.nodes.lock'  # Held, shared, by the nodes of its program (agents.core.lifetime).
NODE_LOGS = 'node_logs'
_MISSING = object()


def _jsonable(run_config: Dict[str, Any]) -> Dict[str, Any]:
  """The config as it reads back from JSON (tuples become lists, other objects strings)."""
  return json.loads(json.dumps(run_config, default=str))


def _lookup(config: Dict[str, Any], key: str) -> Any:
  """The value of a dotted key ('agent.lstm_units' is config['agent']['lstm_units'])."""
  value = config
  for part in key.split('.'):
    if not isinstance(value, dict) or part not in value:
      return _MISSING
    value = value[part]
  return value


def read_config(run_dir: str) -> Optional[Dict[str, Any]]:
  """The run config in `run_dir`, or None if it holds none."""
  path = os.path.join(run_dir, RUN_CONFIG)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def write_atomically(path: str, text: str):
  """Writes `text` to `path` so that a reader (or a crash) sees the old file or the new one,
  never half of one."""
  directory, name = os.path.split(path)
  os.makedirs(directory or '.', exist_ok=True)
  fd, temp_path = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=directory or '.')
  try:
    with os.fdopen(fd, 'w') as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(temp_path, path)
  except BaseException:
    if os.path.exists(temp_path):
      os.remove(temp_path)
    raise


def write_config(run_dir: str, run_config: Dict[str, Any]):
  """Writes `run_config` atomically (see `write_atomically`)."""
  write_atomically(os.path.join(run_dir, RUN_CONFIG), json.dumps(_jsonable(run_config), indent=2))


def differing_keys(existing: Dict[str, Any], run_config: Dict[str, Any],
                   resume_keys: Sequence[str]) -> List[str]:
  """The `resume_keys` (dotted for nested dicts) whose values differ between the two configs."""
  existing, run_config = _jsonable(existing), _jsonable(run_config)
  return [key for key in resume_keys if _lookup(existing, key) != _lookup(run_config, key)]


class RunLockedError(ValueError):
  """Another process holds the run directory (a usage error: one line, exit status 2)."""


_held_locks: Dict[str, int] = {}  # Run directory (absolute) -> file descriptor of its lock.


def lock(run_dir: str, wait_for_nodes_s: float = 15.0):
  """Makes this process the one run of `run_dir` until it exits (or calls `unlock`).

  An exclusive lock on `run_dir/.lock` (flock: the kernel releases it however the process
  ends), recording who holds it; idempotent within a process. Then waits up to
  `wait_for_nodes_s` for the nodes of an earlier program on this directory, which hold
  `NODE_LOCK` shared (agents.core.lifetime), to be gone (orphaned nodes stop within seconds of
  their launcher's death). Raises RunLockedError naming the holder.
  """
  path = os.path.abspath(run_dir)
  if path in _held_locks:
    return
  os.makedirs(path, exist_ok=True)
  fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = os.read(fd, 4096).decode(errors='replace').strip() or 'unknown process'
    os.close(fd)
    raise RunLockedError(f'{run_dir} is in use by another run ({holder}); wait for it to end '
                         'or choose another --logdir') from None
  try:
    _wait_for_nodes(path, wait_for_nodes_s)
  except BaseException:
    os.close(fd)
    raise
  os.ftruncate(fd, 0)
  os.write(fd, (f'pid {os.getpid()} on {socket.gethostname()}, started '
                f'{time.strftime("%Y-%m-%d %H:%M:%S")}: {" ".join(sys.argv)}\n').encode())
  _held_locks[path] = fd


def _wait_for_nodes(path: str, timeout_s: float):
  try:
    fd = os.open(os.path.join(path, NODE_LOCK), os.O_RDWR)  # Made by the first node.
  except FileNotFoundError:
    return
  try:
    deadline = time.monotonic() + timeout_s
    while True:
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return  # Closing the descriptor releases it for this run's nodes.
      except BlockingIOError:
        if time.monotonic() > deadline:
          raise RunLockedError(
              f'processes of an earlier run still hold {os.path.join(path, NODE_LOCK)} after '
              f'{timeout_s:.0f} s; end them (fuser -k {os.path.join(path, NODE_LOCK)}) and '
              'try again') from None
        time.sleep(0.2)
  finally:
    os.close(fd)


def unlock(run_dir: str):
  """Releases this process's lock on `run_dir`, if it holds one."""
  fd = _held_locks.pop(os.path.abspath(run_dir), None)
  if fd is not None:
    os.close(fd)


def write_or_check(run_dir: str, run_config: Dict[str, Any],
                   resume_keys: Sequence[str]) -> bool:
  """Starts or resumes the run in `run_dir` with `run_config`; True when resuming.

  A fresh directory gets `run_config` (JSON; non-JSON values as strings). A directory already
  holding a run config resumes that run if every one of `resume_keys` (the settings that fix
  what a checkpoint holds; 'a.b' names run_config['a']['b']) has the same value; the file is
  then rewritten with `run_config`, so that it records the latest session's settings. Raises
  ValueError, touching nothing, naming the differing keys if one does not match, and
  RunLockedError if another process runs the directory. This process holds the directory's
  lock from here until it exits (see `lock`).
  """
  _check_resumable(run_dir, run_config, resume_keys)  # Before the lock, which writes a file.
  lock(run_dir)
  existing = _check_resumable(run_dir, run_config, resume_keys)  # As it is under the lock.
  write_config(run_dir, run_config)
  return existing is not None


def _check_resumable(run_dir: str, run_config: Dict[str, Any],
                     resume_keys: Sequence[str]) -> Optional[Dict[str, Any]]:
  """The run config in `run_dir` (None if none); ValueError if it is another run's."""
  existing = read_config(run_dir)
  if existing is not None:
    different = differing_keys(existing, run_config, resume_keys)
    if different:
      raise ValueError(f'{run_dir} holds a different run (it differs in {", ".join(different)});'
                       ' choose another --logdir or repeat its settings to resume it')
  return existing


def rotate_node_logs(run_dir: str) -> str:
  """An empty `run_dir/node_logs` for this session; the logs of every earlier session are kept.

  Launchpad overwrites node logs, so those of the previous session (if any) move to
  `node_logs.<n>/`, n counting sessions from 1 (the highest is the latest). Nothing is ever
  deleted: a crash's logs are still there however many resumes follow. Returns the node log
  directory.
  """
  log_dir = os.path.join(run_dir, NODE_LOGS)
  if os.path.isdir(log_dir) and any(files for _, _, files in os.walk(log_dir)):
    number = 1 + max([int(name[len(NODE_LOGS) + 1:]) for name in os.listdir(run_dir)
                      if re.fullmatch(re.escape(NODE_LOGS) + r'\.[0-9]+', name)], default=0)
    os.rename(log_dir, f'{log_dir}.{number}')
  os.makedirs(log_dir, exist_ok=True)
  return log_dir


def check_usable(run_dir: str) -> None:
  """Raises ValueError (one line) unless `run_dir` is a writable directory or can be created.

  Called by every command before it writes anything, so that a --logdir that is a file, is not
  writable or lies under a file is a usage error, not a traceback after half a run directory
  was made. Writes nothing itself.
  """
  if not run_dir:
    raise ValueError('the run directory (--logdir) must not be empty')
  path = os.path.abspath(run_dir)
  if os.path.exists(path):
    if not os.path.isdir(path):
      raise ValueError(f'run directory {run_dir} exists and is not a directory')
    if not os.access(path, os.W_OK | os.X_OK):
      raise ValueError(f'run directory {run_dir} is not writable')
    return
  ancestor = os.path.dirname(path)
  while not os.path.exists(ancestor):
    ancestor = os.path.dirname(ancestor)
  if not os.path.isdir(ancestor):
    raise ValueError(f'cannot create run directory {run_dir}: {ancestor} is not a directory')
  if not os.access(ancestor, os.W_OK | os.X_OK):
    raise ValueError(f'cannot create run directory {run_dir}: {ancestor} is not writable')
