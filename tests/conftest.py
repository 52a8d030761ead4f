"""Shared test set-up: a private HOME so Acme never writes into the real one."""

import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


@pytest.fixture(autouse=True, scope='session')
def _private_home():
  with tempfile.TemporaryDirectory() as home:
    previous = os.environ.get('HOME')
    os.environ['HOME'] = home
    yield
    if previous is not None:
      os.environ['HOME'] = previous
