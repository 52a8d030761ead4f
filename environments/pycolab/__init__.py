"""The TVT pycolab tasks, key_to_door and active_visual_match, as `dm_env` environments.

Importing this package first makes pycolab 1.2 usable on Python 3.10 (see `compat`).
"""

from environments.pycolab import compat  # pylint: disable=unused-import  # Before any Story.
from environments.pycolab.env import GAMES
from environments.pycolab.env import PycolabEnvironment
