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
