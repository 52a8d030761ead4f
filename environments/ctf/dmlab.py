"""DeepMind Lab's capture the flag as a single-seat `dm_env` with the grid world's interface.

DeepMind Lab cannot be installed here (BUILD.md, "DeepMind Lab"); where it is, a CTF level
(e.g. `ctf_simple`, with the level's own bots in the other seats) plays like
`environments.ctf.SingleSeat`: RGB frames, the same 8 actions (as DeepMind Lab action vectors,
each held for `action_repeat` frames), and the same 13-event reward vector, read from the
level's `reward` events (reason, team, score, player id, location, other player id). So the FTW
agent runs on it unchanged (`agents.ftw.FTW`). Untested against a real DeepMind Lab build.
"""

import importlib
from typing import Dict, Optional, Sequence

import dm_env
from dm_env import specs
import numpy as np

from environments.ctf import game

# (look left/right, look down/up, strafe left/right, move back/forward, fire, jump, crouch).
ACTIONS = {
    game.NOOP: (0, 0, 0, 0, 0, 0, 0), game.FORWARD: (0, 0, 0, 1, 0, 0, 0),
    game.BACKWARD: (0, 0, 0, -1, 0, 0, 0), game.STRAFE_LEFT: (0, 0, -1, 0, 0, 0, 0),
    game.STRAFE_RIGHT: (0, 0, 1, 0, 0, 0, 0), game.TURN_LEFT: (-20, 0, 0, 0, 0, 0, 0),
    game.TURN_RIGHT: (20, 0, 0, 0, 0, 0, 0), game.TAG: (0, 0, 0, 0, 1, 0, 0),
}
# Reward reasons of DeepMind Lab's CTF (spec 7.1) -> events (mine, teammate's, opponent's).
_TEAM_EVENTS = {
    'CTF_FLAG_BONUS': (game.PICKUP, game.TEAMMATE_PICKUP, game.OPPONENT_PICKUP),
    'CTF_CAPTURE_BONUS': (game.CAPTURE, game.TEAMMATE_CAPTURE, game.OPPONENT_CAPTURE),
    'CTF_RECOVERY_BONUS': (game.RETURN, game.TEAMMATE_RETURN, game.OPPONENT_RETURN),
}


class DeepMindLabUnavailableError(RuntimeError):
  """deepmind_lab is not installed; the message says how to get it."""


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def events_vector(lab_events: Sequence, player_id: int, team: str) -> np.ndarray:
  """The 13-event vector of one step from DeepMind Lab's `events()` list."""
  events = np.zeros(game.NUM_EVENTS, np.float32)
  for name, info in lab_events:
    if _text(name) != 'reward':
      continue
    reason, scorer_team, _, scorer, _, other = info[:6]
    reason, scorer_team = _text(reason), _text(scorer_team)
    scorer, other = int(scorer), int(other)
    mine = scorer == player_id
    if reason in _TEAM_EVENTS:
      mine_event, teammate_event, opponent_event = _TEAM_EVENTS[reason]
      if mine:
        events[mine_event] = 1.0
      elif scorer_team == team:
        events[teammate_event] = 1.0
      else:
        events[opponent_event] = 1.0
    elif reason == 'CTF_FRAG_CARRIER_BONUS':
      if mine:
        events[game.TAG_CARRIER] = 1.0
      elif other == player_id:
        events[game.TAGGED_WITH_FLAG] = 1.0
    elif reason == 'TAG_PLAYER':
      if mine:
        events[game.TAG_OPPONENT] = 1.0
      elif other == player_id:
        events[game.TAGGED] = 1.0
  # A tag of a flag carrier is reported twice; count it once, as the carrier event.
  if events[game.TAG_CARRIER]:
    events[game.TAG_OPPONENT] = 0.0
  if events[game.TAGGED_WITH_FLAG]:
    events[game.TAGGED] = 0.0
  return events


class DeepMindLabCaptureTheFlag(dm_env.Environment):
  """One learning player in a DeepMind Lab CTF level (its team: `team`, its id: `player_id`)."""

  def __init__(self, level: str = 'ctf_simple', team: str = 'blue', player_id: int = 1,
               width: int = 84, height: int = 84, action_repeat: int = 4,
               config: Optional[Dict[str, str]] = None, seed: Optional[int] = None):
    try:
      deepmind_lab = importlib.import_module('deepmind_lab')
    except ImportError:
      raise DeepMindLabUnavailableError(
          'deepmind_lab is not installed: build it from https://github.com/deepmind/lab and '
          'pip install its wheel into .venv (BUILD.md, "DeepMind Lab")') from None
    settings = {'width': str(width), 'height': str(height)}
    settings.update(config or {})
    self._lab = deepmind_lab.Lab(level, ['RGB_INTERLEAVED'], settings)
    self._team, self._player_id = team, player_id
    self._shape = (height, width, 3)
    self._action_repeat = action_repeat
    self._rng = np.random.default_rng(seed)
    self._frame = np.zeros(self._shape, np.uint8)
    self._captures = [0, 0]  # Ours, theirs.
    self._done = True

  def reset(self) -> dm_env.TimeStep:
    self._lab.reset(seed=int(self._rng.integers(2**31 - 1)))
    self._captures = [0, 0]
    self._done = False
    self._frame = self._lab.observations()['RGB_INTERLEAVED']
    return dm_env.TimeStep(dm_env.StepType.FIRST, np.zeros(game.NUM_EVENTS, np.float32),
                           np.float32(1.0), self._frame)

  def step(self, action) -> dm_env.TimeStep:
    if self._done:
      return self.reset()
    self._lab.step(np.array(ACTIONS[int(action)], np.intc), num_steps=self._action_repeat)
    events = events_vector(self._lab.events(), self._player_id, self._team)
    self._captures[0] += int(events[game.CAPTURE] + events[game.TEAMMATE_CAPTURE])
    self._captures[1] += int(events[game.OPPONENT_CAPTURE])
    if not self._lab.is_running():
      self._done = True
      return dm_env.TimeStep(dm_env.StepType.LAST, events, np.float32(0.0), self._frame)
    self._frame = self._lab.observations()['RGB_INTERLEAVED']
    return dm_env.TimeStep(dm_env.StepType.MID, events, np.float32(1.0), self._frame)

  def get_outcome(self) -> float:
    """0.0 if the player's team captured more, 0.5 on a draw, 1.0 otherwise."""
    ours, theirs = self._captures
    return 0.5 if ours == theirs else (0.0 if ours > theirs else 1.0)

  def observation_spec(self):
    return specs.Array(self._shape, np.uint8, 'observation')

  def action_spec(self):
    return specs.DiscreteArray(game.NUM_ACTIONS, np.int32, 'action')

  def reward_spec(self):
    return specs.Array((game.NUM_EVENTS,), np.float32, 'events')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')

  def close(self):
    self._lab.close()
