"""Running the project's commands as a user would, and checking their usage errors."""

import os
import subprocess
import sys

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
