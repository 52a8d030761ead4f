"""The TVT pycolab tasks, key_to_door and active_visual_match, as `dm_env` environments.

Importing this package first makes pycolab 1.2 usable on Python 3.10 (see `compat`).
"""

# Imported for its side effect, before any Story is built.
from environments.pycolab import compat  # noqa: F401  # pylint: disable=unused-import
from environments.pycolab.env import GAMES
from environments.pycolab.env import PycolabEnvironment

__all__ = ['GAMES', 'PycolabEnvironment']
