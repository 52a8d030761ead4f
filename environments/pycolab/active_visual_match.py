"""active_visual_match (spec 1.5): find a coloured square, eat apples, then touch the same colour.

Phase 1: the two-room layout; one of the 26 wall cells shows the episode's colour, so with the
5x5 view the player often has to walk around to see it. Phase 2: the apple room. Phase 3: three
squares of different colours; touching the one of the remembered colour gives the final reward,
and touching any square removes all three, so only the first choice counts.
"""

from typing import Dict, Tuple

import numpy as np
from pycolab import ascii_art
from pycolab import storytelling
from pycolab import things

from environments.pycolab import objects

SQUARE_CANDIDATE = 'p'
EXPLORE_GRID = (
    '  ppppppp  ',
    '  p     p  ',
    '  p     p  ',
    '  pp   pp  ',
    '  p+++++p  ',
    '  p+++++p  ',
    '  ppppppp  ',
)

REWARD_GRID = (
    '###########',
    '# b  c  e #',
    '#         #',
    '#         #',
    '####   ####',
    '   # + #   ',
    '   #####   ',
)


class StaticSprite(things.Sprite):
  """A sprite that never changes (the colour square in the wall of the first phase)."""

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    pass


class ColourSquareSprite(things.Sprite):
  """One of the three squares of the last phase; the player picks one by stepping onto it.

  The first square to notice the touch flags it in the plot, so that all three vanish in the
  same frame; the touched square pays `final_reward` if it has the episode's colour.
  """

  def __init__(self, corner, position, character, target: str, final_reward: float):
    super().__init__(corner, position, character)
    self._target = target
    self._final_reward = final_reward

  def update(self, actions, board, layers, backdrop, things_, the_plot):
    del actions, board, layers, backdrop
    if not self._visible:
      return
    player = things_[objects.PLAYER].position
    if (the_plot.get('square_touched') or
        any(things_[s].position == player for s in objects.COLOUR_SQUARES)):
      the_plot['square_touched'] = True
      self._visible = False
      if self.position == player and self.character == self._target:
        the_plot.add_reward(self._final_reward)


class ActiveVisualMatchGame:
  """Builds the three-phase `Story` of one episode; square colours are fixed per instance."""

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
    # Spec 1.3/1.5: one shuffle when the game is made, so each colour keeps its place in the
    # reward room for this environment's whole life.
    self.colours = dict(objects.FIXED_COLOURS, **objects.shuffled_square_colours(rng))
    self.target = None

  def _timer(self, phase: str):
    return ascii_art.Partial(objects.TimerSprite, self._max_frames[phase])

  def _explore_phase(self):
    art = objects.keep_n_characters(EXPLORE_GRID, SQUARE_CANDIDATE, 1, self._rng,
                                    replacement=objects.WALL)
    art = [row.replace(SQUARE_CANDIDATE, self.target) for row in art]
    art = objects.keep_n_characters(art, objects.PLAYER, 1, self._rng)
    # The square is a sprite (as in the last phase, which pycolab's Story requires) lying on
    # a wall cell.
    beneath = [row.replace(self.target, objects.WALL).replace(objects.PLAYER, ' ')
               for row in art]
    return ascii_art.ascii_art_to_game(
        art, what_lies_beneath=beneath,
        sprites={objects.PLAYER: ascii_art.Partial(objects.PlayerSprite,
                                                   objects.WALL + self.target),
                 self.target: StaticSprite,
                 objects.TIMER: self._timer('explore')},
        update_schedule=[objects.PLAYER, self.target, objects.TIMER],
        z_order=[self.target, objects.PLAYER, objects.TIMER])

  def _distractor_phase(self):
    art = objects.distractor_phase_art(self._num_apples, self._rng)
    return ascii_art.ascii_art_to_game(
        art, what_lies_beneath=' ',
        sprites={objects.PLAYER: ascii_art.Partial(objects.PlayerSprite, objects.WALL),
                 objects.TIMER: self._timer('distractor')},
        drapes={objects.APPLE: ascii_art.Partial(
            objects.AppleDrape, self._apple_reward, self._fix_apple_reward_in_episode,
            self._rng)},
        update_schedule=[objects.PLAYER, objects.APPLE, objects.TIMER],
        z_order=[objects.APPLE, objects.PLAYER, objects.TIMER])

  def _reward_phase(self):
    square = ascii_art.Partial(ColourSquareSprite, self.target, self._final_reward)
    return ascii_art.ascii_art_to_game(
        REWARD_GRID, what_lies_beneath=' ',
        sprites=dict({s: square for s in objects.COLOUR_SQUARES},
                     **{objects.PLAYER: ascii_art.Partial(objects.PlayerSprite, objects.WALL),
                        objects.TIMER: self._timer('reward')}),
        update_schedule=[objects.PLAYER, *objects.COLOUR_SQUARES, objects.TIMER],
        z_order=[objects.PLAYER, *objects.COLOUR_SQUARES, objects.TIMER])

  def make_episode(self) -> storytelling.Story:
    self.target = objects.COLOUR_SQUARES[self._rng.randint(len(objects.COLOUR_SQUARES))]
    return storytelling.Story(
        [self._explore_phase, self._distractor_phase, self._reward_phase])
