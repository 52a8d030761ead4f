"""Keeps every server of a local run on loopback (see loopback_bind.c for why and how)."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

_SOURCE = pathlib.Path(__file__).with_name('loopback_bind.c')
_REEXEC_MARK = 'AGENTS_LOOPBACK_REEXEC'


class LoopbackUnavailableError(RuntimeError):
  """The shim could not be built (no C compiler)."""


def shim_path() -> str:
  """Path of the compiled shim, building it next to the source on first use."""
  digest = hashlib.sha256(_SOURCE.read_bytes()).hexdigest()[:12]
  target = _SOURCE.with_name(f'libloopback_bind-{digest}.so')
  if target.exists():
    return str(target)
  compiler = os.environ.get('CC') or shutil.which('cc') or shutil.which('gcc')
  if not compiler:
    raise LoopbackUnavailableError(
        'no C compiler to build the loopback shim; install gcc or pass --noloopback_only')
  with tempfile.TemporaryDirectory() as tmp:
    built = os.path.join(tmp, target.name)
    subprocess.run([compiler, '-shared', '-fPIC', '-O2', '-o', built, str(_SOURCE), '-ldl'],
                   check=True, capture_output=True)
    os.replace(built, target)  # Atomic, so concurrent first uses do not see half a file.
  return str(target)


def preload_env() -> dict:
  """Environment entries that make a new process bind its servers to loopback only."""
  path = shim_path()
  current = os.environ.get('LD_PRELOAD', '')
  if path in current.split(':'):
    return {'LD_PRELOAD': current}
  return {'LD_PRELOAD': f'{path}:{current}' if current else path}


def active_in_this_process() -> bool:
  return any('libloopback_bind' in p for p in os.environ.get('LD_PRELOAD', '').split(':'))


def reexec_with_shim():
  """Restarts this Python process with the shim preloaded (threads of `local_mt` need it)."""
  if active_in_this_process() or os.environ.get(_REEXEC_MARK):
    return
  env = dict(os.environ, **preload_env(), **{_REEXEC_MARK: '1'})
  sys.stdout.flush()
  sys.stderr.flush()
  os.execve(sys.executable, sys.orig_argv, env)
