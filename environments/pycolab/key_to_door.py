"""key_to_door (spec 1.4): find the key, eat apples, then open the door with the key.

Phase 1: two rooms; the key lies in the top room, the player starts in the bottom one. Picking
the key up gives no reward but lights a white indicator on the top wall for one frame.
Phase 2: the apple room. Phase 3: a small room whose door, two steps north of the start, gives
the final reward once if the player holds the key; without it the door is a wall.
"""

from typing import Dict, Tuple

import numpy as np
from pycolab import ascii_art
from pycolab import storytelling
from pycolab import things

from environments.pycolab import objects

EXPLORE_GRID = (
    '  #######  ',
    '  #kkkkk#  ',
    '  #kkkkk#  ',
    '  ##   ##  ',
    '  #+++++#  ',
    '  #+++++#  ',
    '  #######  ',
)
INDICATOR_CELL = (0, 5)  # On the top wall, above the middle of the key room.

REWARD_GRID = (
    '           ',
    '   ##d##   ',
    '   #   #   ',
    '   # + #   ',
    '   #   #   ',
    '   #####   ',
    '           ',
)

COLOURS = dict(objects.FIXED_COLOURS)


class KeySprite(things.Sprite):
  """Disappears when the player steps on it and sets the plot's `has_key` flag."""

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop
    if self._visible and things_[objects.PLAYER].position == self.position:
      self._visible = False
      the_plot['has_key'] = True
      the_plot['key_collected_frame'] = the_plot.frame


class IndicatorSprite(things.Sprite):
  """Visible only in the frame in which the key was collected."""

  def __init__(self, corner, position, character):
    super().__init__(corner, position, character)
    self._visible = False

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop, things_
    self._visible = the_plot.get('key_collected_frame') == the_plot.frame


class DoorSprite(things.Sprite):
  """Gives `final_reward` when the player steps onto it holding the key, then takes the key."""

  def __init__(self, corner, position, character, final_reward: float):
    super().__init__(corner, position, character)
    self._final_reward = final_reward

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop
    if the_plot.get('has_key') and things_[objects.PLAYER].position == self.position:
      the_plot.add_reward(self._final_reward)
      the_plot['has_key'] = False


def _player(key_opens: str = ''):
  impassable = objects.WALL + objects.INDICATOR + objects.DOOR
  return ascii_art.Partial(objects.PlayerSprite, impassable, key_opens)


class KeyToDoorGame:
  """Builds the three-phase `Story` of one episode from the environment's random stream."""

  def __init__(self, rng: np.random.RandomState, num_apples: int = 10,
               apple_reward: Tuple[float, float] = (1.0, 10.0),
               fix_apple_reward_in_episode: bool = True, final_reward: float = 10.0,
               max_frames_per_phase: Dict[str, int] = None):
    self._rng = rng
    self._num_apples = num_apples
    self._apple_reward = apple_reward
    self._fix_apple_reward_in_episode = fix_apple_reward_in_episode
    self._final_reward = final_reward
    self._max_frames = max_frames_per_phase or objects.DEFAULT_MAX_FRAMES_PER_PHASE
    self.colours = COLOURS

  def _timer(self, phase: str):
    return ascii_art.Partial(objects.TimerSprite, self._max_frames[phase])

  def _explore_phase(self):
    art = objects.keep_n_characters(EXPLORE_GRID, objects.KEY, 1, self._rng)
    art = list(objects.keep_n_characters(art, objects.PLAYER, 1, self._rng))
    beneath = [row.replace(objects.KEY, ' ').replace(objects.PLAYER, ' ') for row in art]
    row, col = INDICATOR_CELL
    art[row] = art[row][:col] + objects.INDICATOR + art[row][col + 1:]
    return ascii_art.ascii_art_to_game(
        art, what_lies_beneath=beneath,
        sprites={objects.PLAYER: _player(), objects.KEY: KeySprite,
                 objects.INDICATOR: IndicatorSprite, objects.TIMER: self._timer('explore')},
        update_schedule=[objects.PLAYER, objects.KEY, objects.INDICATOR, objects.TIMER],
        z_order=[objects.KEY, objects.INDICATOR, objects.PLAYER, objects.TIMER])

  def _distractor_phase(self):
    art = objects.distractor_phase_art(self._num_apples, self._rng)
    return ascii_art.ascii_art_to_game(
        art, what_lies_beneath=' ',
        sprites={objects.PLAYER: _player(), objects.TIMER: self._timer('distractor')},
        drapes={objects.APPLE: ascii_art.Partial(
            objects.AppleDrape, self._apple_reward, self._fix_apple_reward_in_episode,
            self._rng)},
        update_schedule=[objects.PLAYER, objects.APPLE, objects.TIMER],
        z_order=[objects.APPLE, objects.PLAYER, objects.TIMER])

  def _reward_phase(self):
    return ascii_art.ascii_art_to_game(
        REWARD_GRID, what_lies_beneath=' ',
        sprites={objects.PLAYER: _player(key_opens=objects.DOOR),
                 objects.DOOR: ascii_art.Partial(DoorSprite, self._final_reward),
                 objects.TIMER: self._timer('reward')},
        update_schedule=[objects.PLAYER, objects.DOOR, objects.TIMER],
        z_order=[objects.PLAYER, objects.DOOR, objects.TIMER])  # The door hides the player.

  def make_episode(self) -> storytelling.Story:
    return storytelling.Story(
        [self._explore_phase, self._distractor_phase, self._reward_phase])
