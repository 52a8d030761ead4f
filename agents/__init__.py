"""Agents of the project, each in its own folder, on the shared actor-learner core (`agents.core`)."""

import os
import sys
import types

# TensorFlow's C++ INFO lines (the oneDNN and CPU-feature banners of every process) are not this
# project's; its warnings and errors still show. Read at TensorFlow's import, which comes later.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

# gym, which Acme's wrappers import, prints a three-line notice to stderr when it is imported,
# unless gym_notices has none for its version. Every agent module is imported through this
# package first, so an empty notice table here keeps it off every console and node log.
_NO_NOTICES = types.ModuleType('gym_notices.notices')
_NO_NOTICES.notices = {}
sys.modules.setdefault('gym_notices.notices', _NO_NOTICES)
