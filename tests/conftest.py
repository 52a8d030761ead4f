"""Shared test set-up: a private HOME so Acme never writes into the real one, and the loopback
shim preloaded so that every Reverb server a test makes in-process listens on loopback only."""

import os
import sys
import tempfile
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def pytest_configure(config):
  """Restarts the test run with the loopback shim preloaded, once, before any test runs.

  Reverb's in-process servers listen on every interface otherwise (see agents/core/servers.py).
  pytest's output capture is suspended first, so that the restarted run writes to the real
  terminal and not into a capture file of this process.
  """
  from agents.core import loopback  # pylint: disable=g-import-not-at-top
  if loopback.active_in_this_process():
    return
  try:
    loopback.shim_path()
  except loopback.LoopbackUnavailableError as error:
    warnings.warn(f'tests run without the loopback shim: {error}')
    return
  capture = config.pluginmanager.getplugin('capturemanager')
  if capture is not None:
    capture.suspend_global_capture(in_=True)
  loopback.reexec_with_shim()


@pytest.fixture(autouse=True, scope='session')
def _private_home():
  with tempfile.TemporaryDirectory() as home:
    previous = os.environ.get('HOME')
    os.environ['HOME'] = home
    yield
    if previous is not None:
      os.environ['HOME'] = previous
