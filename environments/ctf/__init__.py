"""Grid-world capture the flag: the stand-in for DeepMind Lab's CTF that FTW populations play.

Modules: `maps` (procedural, mirror-symmetric maps), `game` (the rules and the 13 game events),
`rendering` (egocentric RGB views, a text map), `environment` (the multi-player arena and a
single-seat view of it as `dm_env.Environment`s), `bots` (scripted random / rusher / defender).
"""

from environments.ctf.environment import CaptureTheFlag
from environments.ctf.environment import SingleSeat
from environments.ctf.game import ACTION_NAMES
from environments.ctf.game import EVENT_NAMES
from environments.ctf.game import EVENT_REWARD_SCALES
from environments.ctf.game import NUM_ACTIONS
from environments.ctf.game import NUM_EVENTS
from environments.ctf.game import Rules

__all__ = ['ACTION_NAMES', 'ARENA_TEAM_SIZES', 'CaptureTheFlag', 'EVENT_NAMES',
           'EVENT_REWARD_SCALES', 'NUM_ACTIONS', 'NUM_EVENTS', 'Rules', 'SingleSeat']

# Registered ids of multi-player arenas (what `launch.ftw_local --arena` accepts), with the
# team size each one fixes.
ARENA_TEAM_SIZES = {'CaptureTheFlag1v1-v0': 1, 'CaptureTheFlag2v2-v0': 2}
