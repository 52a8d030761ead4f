"""Shared test set-up: a private HOME so Acme never writes into the real one, and the loopback
shim preloaded so that every Reverb server a test makes in-process listens on loopback only."""

import os
import subprocess
import sys
import tempfile
import time
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
  if not loopback.active_in_this_process():
    try:
      loopback.shim_path()
    except loopback.LoopbackUnavailableError as error:
      warnings.warn(f'tests run without the loopback shim: {error}')
    else:
      capture = config.pluginmanager.getplugin('capturemanager')
      if capture is not None:
        capture.suspend_global_capture(in_=True)
      loopback.reexec_with_shim()
  # In the first process of a run with xdist workers (a run without them has no parallel
  # servers, and its tests would find the portserver among their own children).
  if getattr(config.option, 'numprocesses', 0) and not hasattr(config, 'workerinput'):
    _start_port_server(config)


def _start_port_server(config):
  """One portserver (portpicker's) for the whole run: every xdist worker and every program they
  start picks its ports through it, so no two servers get one port. gRPC servers bind with
  SO_REUSEPORT, so two that picked the same port both listen on it and split its connections:
  once a Launchpad program's actors wrote into another worker's in-process Reverb table, and
  that worker's learner then waited forever for items that the program's learner had taken."""
  script = os.path.join(os.path.dirname(sys.executable), 'portserver.py')
  if 'PORTSERVER_ADDRESS' in os.environ or not os.path.exists(script):
    return
  import portpicker  # pylint: disable=g-import-not-at-top
  address = f'@agents-tests-portserver-{os.getpid()}'
  process = subprocess.Popen([sys.executable, script, f'--portserver_address={address}'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 10
  while not portpicker.get_port_from_port_server(address):
    if time.monotonic() > deadline or process.poll() is not None:
      process.kill()
      warnings.warn('tests run without a portserver: it did not answer')
      return
    time.sleep(0.1)
  os.environ['PORTSERVER_ADDRESS'] = address
  config.port_server = process


def pytest_unconfigure(config):
  process = getattr(config, 'port_server', None)
  if process is not None:
    process.terminate()
    process.wait(10)


@pytest.fixture(autouse=True, scope='session')
def _private_home():
  with tempfile.TemporaryDirectory() as home:
    previous = os.environ.get('HOME')
    os.environ['HOME'] = home
    yield
    if previous is not None:
      os.environ['HOME'] = previous


# Modules whose tests launch multi-process programs (Launchpad programs, or commands that do).
# Under pytest-xdist (pytest.ini runs two workers) they run one after another on one worker, so
# that two programs never share the 2 cores with each other, only with one single-process test;
# every other module runs whole on one worker, so a module's fixtures are built once.
PROGRAM_MODULES = frozenset({
    'tests/faults/test_faults.py', 'tests/test_command_line.py',
    'tests/test_core_extra_agent.py', 'tests/test_distributed.py',
    'tests/test_ftw_command_line.py', 'tests/test_ftw_program.py',
    'tests/test_model_based_sweep.py', 'tests/test_tvt_command_line.py',
    'tests/test_tvt_distributed.py', 'tests/test_tvt_sweep.py'})


@pytest.hookimpl(tryfirst=True)  # Before xdist's own hook reads the groups.
def pytest_collection_modifyitems(items):
  for item in items:
    module = os.path.relpath(str(item.path), ROOT)
    group = 'programs' if module in PROGRAM_MODULES else module
    item.add_marker(pytest.mark.xdist_group(group))
