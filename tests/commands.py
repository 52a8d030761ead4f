"""Running the project's commands as a user would, and checking their usage errors."""

import os
import pty
import re
import select
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, timeout=180, cwd=ROOT, extra_env=None):
  """Runs `python -m module args...` in a fresh interpreter; returns the CompletedProcess."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', **(extra_env or {}))
  return subprocess.run([sys.executable, '-m', module, *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout)


def assert_usage_error(result, *fragments):
  """Exit status 2 and exactly one 'error:' line that contains every fragment."""
  assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
  errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1, result.stderr[-2000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def unusable_logdirs(tmp_path):
  """(--logdir value, error fragment) pairs of run directories no command may use.

  A file, a directory under a file and, unless this runs as root (whom no permission stops),
  a read-only directory. Each is made here; a test asserts the command left them unchanged.
  """
  a_file = tmp_path / 'a_file'
  a_file.write_text('not a directory')
  cases = [(str(a_file), 'exists and is not a directory'),
           (str(a_file / 'run'), 'is not a directory')]
  if os.geteuid() != 0:
    read_only = tmp_path / 'read_only'
    read_only.mkdir(mode=0o555)
    cases += [(str(read_only), 'is not writable'), (str(read_only / 'run'), 'is not writable')]
  return cases


def snapshot(path):
  """Every file under `path` with its contents, to show that a refused command wrote nothing."""
  files = {}
  for directory, _, names in os.walk(path):
    for name in names:
      full = os.path.join(directory, name)
      with open(full, 'rb') as f:
        files[os.path.relpath(full, path)] = f.read()
  return files


class Terminal:
  """`python -m module args...` on a pseudo-terminal (real key presses); collects its output."""

  def __init__(self, module, *args, lines=24, columns=80):
    main, child = pty.openpty()
    env = dict(os.environ, TERM='xterm', LINES=str(lines), COLUMNS=str(columns),
               TF_CPP_MIN_LOG_LEVEL='3')
    self.process = subprocess.Popen(
        [sys.executable, '-m', module, *args], cwd=ROOT, env=env,
        stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    self._fd = main
    self.screen = ''  # Everything read so far.

  def read(self, until: str, timeout: float = 60.0) -> str:
    """Reads output until `until` (a regex) appears in what came since the last call."""
    start, seen = time.time(), ''
    while time.time() - start < timeout:
      ready, _, _ = select.select([self._fd], [], [], 0.2)
      if ready:
        try:
          seen += os.read(self._fd, 65536).decode(errors='replace')
        except OSError:
          break
        if re.search(until, seen):
          self.screen += seen
          return seen
    raise AssertionError(f'{until!r} not shown; got {seen[-500:]!r}')

  def press(self, keys: str):
    os.write(self._fd, keys.encode())

  def close(self):
    """Kills the command if it still runs and closes the terminal."""
    if self.process.poll() is None:
      self.process.kill()
      self.process.wait()
    os.close(self._fd)


class FakeScreen:
  """What a curses window draws, as text: enough of the window's interface for a screen's
  drawing function, without a terminal."""

  def __init__(self, lines=24, columns=80):
    self._size = (lines, columns)
    self._cells = {}
    self.attributes = {}  # (row, column) -> the attributes it was drawn with.

  def getmaxyx(self):
    return self._size

  def clear(self):
    self._cells, self.attributes = {}, {}

  def addstr(self, row, column, text, attributes=0):
    for i, character in enumerate(text):
      self._cells[(row, column + i)] = character
      self.attributes[(row, column + i)] = attributes

  def refresh(self):
    pass

  def lines(self):
    rows, columns = self._size
    return [''.join(self._cells.get((r, c), ' ') for c in range(columns)).rstrip()
            for r in range(rows)]
