"""Two small `dm_env` tasks that are none of the project's own, for the embedding tests.

`Catch`: a ball falls down a 10 x 5 grid for 9 steps while the agent moves a paddle along the
bottom row (left, stay, right); the last step pays +1 if the paddle is under the ball, else -1.
A random paddle is under the ball one time in five, whatever the number of rows (mean return
-0.6). The learning tests use `short_catch`, 6 rows (5 steps), which learns in fewer steps.
`Cue`: the first observation shows one of two cues, then `delay` blank steps follow; at the
last step the agent is asked, and pays +1 if its action names the cue, else -1. Chance: 0.
"""

import dm_env
from dm_env import specs
import numpy as np


class Catch(dm_env.Environment):
  """Catch the falling ball; observations are the grid as a float [rows, columns] matrix."""

  def __init__(self, rows: int = 10, columns: int = 5, seed: int = 0):
    self._rows, self._columns = rows, columns
    self._rng = np.random.default_rng(seed)
    self._ball = self._paddle = None

  def _observation(self):
    board = np.zeros((self._rows, self._columns), np.float32)
    board[self._ball[0], self._ball[1]] = 1.0
    board[-1, self._paddle] = 1.0
    return board

  def reset(self):
    self._ball = [0, int(self._rng.integers(self._columns))]
    self._paddle = self._columns // 2
    return dm_env.restart(self._observation())

  def step(self, action):
    self._paddle = int(np.clip(self._paddle + int(action) - 1, 0, self._columns - 1))
    self._ball[0] += 1
    if self._ball[0] == self._rows - 1:
      reward = 1.0 if self._paddle == self._ball[1] else -1.0
      return dm_env.termination(np.float32(reward), self._observation())
    return dm_env.transition(np.float32(0.0), self._observation())

  def observation_spec(self):
    return specs.Array((self._rows, self._columns), np.float32, 'board')

  def action_spec(self):
    return specs.DiscreteArray(3, name='move')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')


def short_catch(seed: int = 0) -> Catch:
  """Catch on a 6 x 5 board: 5-step episodes."""
  return Catch(rows=6, seed=seed)


class Cue(dm_env.Environment):
  """Remember the first observation's cue; observations are [cue one-hot (2), asked flag]."""

  def __init__(self, delay: int = 3, seed: int = 0):
    self._delay = delay
    self._rng = np.random.default_rng(seed)
    self._cue = self._step = None

  def _observation(self, cue: bool = False, asked: bool = False):
    observation = np.zeros(3, np.float32)
    if cue:
      observation[self._cue] = 1.0
    observation[2] = float(asked)
    return observation

  def reset(self):
    self._cue = int(self._rng.integers(2))
    self._step = 0
    return dm_env.restart(self._observation(cue=True))

  def step(self, action):
    self._step += 1
    if self._step == self._delay + 2:  # The step after the question.
      reward = 1.0 if int(action) == self._cue else -1.0
      return dm_env.termination(np.float32(reward), self._observation())
    return dm_env.transition(np.float32(0.0),
                             self._observation(asked=self._step == self._delay + 1))

  def observation_spec(self):
    return specs.Array((3,), np.float32, 'cue_and_question')

  def action_spec(self):
    return specs.DiscreteArray(2, name='answer')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')
