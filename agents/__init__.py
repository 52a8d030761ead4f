"""Agents of the project, each in its own folder, on the shared actor-learner core (`agents.core`)."""

import sys
import types

# gym, which Acme's wrappers import, prints a three-line notice to stderr when it is imported,
# unless gym_notices has none for its version. Every agent module is imported through this
# package first, so an empty notice table here keeps it off every console and node log.
_NO_NOTICES = types.ModuleType('gym_notices.notices')
_NO_NOTICES.notices = {}
sys.modules.setdefault('gym_notices.notices', _NO_NOTICES)
