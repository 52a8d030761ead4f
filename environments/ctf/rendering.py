"""What players see: egocentric RGB views rotated to their facing direction, and a text map.

Colours are relative to the viewer's team (own versus enemy base, flag and players), and the
view is a square window of `view_size` cells centred on the player with its facing direction up,
each cell `pixels_per_cell` pixels wide. Cells outside the map look like walls. A player waiting
to respawn sees black.
"""

from typing import Optional

import numpy as np

from environments.ctf import game as game_lib

FLOOR = (0, 0, 0)
WALL = (110, 110, 110)
OWN_BASE = (0, 0, 120)
ENEMY_BASE = (120, 0, 0)
OWN_FLAG = (0, 150, 255)
ENEMY_FLAG = (255, 90, 0)
TEAMMATE = (0, 200, 0)
TEAMMATE_CARRIER = (160, 255, 0)
OPPONENT = (200, 0, 200)
OPPONENT_CARRIER = (255, 255, 0)
SELF = (255, 255, 255)
SELF_CARRIER = (255, 190, 190)


class Renderer:
  """Renders every seat's view of one game; `reset(game)` at each new map."""

  def __init__(self, view_size: int = 11, pixels_per_cell: int = 1):
    if view_size < 3 or view_size % 2 == 0:
      raise ValueError(f'view_size must be odd and at least 3, got {view_size}')
    if pixels_per_cell < 1:
      raise ValueError(f'pixels_per_cell must be at least 1, got {pixels_per_cell}')
    self.view_size = view_size
    self.pixels_per_cell = pixels_per_cell
    self._pad = view_size // 2
    self._static = None

  @property
  def observation_shape(self):
    side = self.view_size * self.pixels_per_cell
    return (side, side, 3)

  def reset(self, game: game_lib.Game):
    walls = game.map.walls
    image = np.where(walls[..., None], np.array(WALL, np.uint8), np.array(FLOOR, np.uint8))
    pad = self._pad
    padded = np.empty((walls.shape[0] + 2 * pad, walls.shape[1] + 2 * pad, 3), np.uint8)
    padded[:] = WALL
    padded[pad:-pad, pad:-pad] = image
    self._static = padded

  def _team_image(self, game: game_lib.Game, team: int) -> np.ndarray:
    image = self._static.copy()
    pad = self._pad
    for flag_team, base in enumerate(game.map.bases):
      image[base[0] + pad, base[1] + pad] = OWN_BASE if flag_team == team else ENEMY_BASE
    for flag_team, flag in enumerate(game.flags):
      if flag.state != game_lib.CARRIED:
        r, c = flag.position
        image[r + pad, c + pad] = OWN_FLAG if flag_team == team else ENEMY_FLAG
    for player in game.players:
      if not player.alive:
        continue
      r, c = player.position
      if player.team == team:
        colour = TEAMMATE_CARRIER if player.carrying else TEAMMATE
      else:
        colour = OPPONENT_CARRIER if player.carrying else OPPONENT
      image[r + pad, c + pad] = colour
    return image

  def observations(self, game: game_lib.Game) -> np.ndarray:
    """uint8 [num_players, S, S, 3] with S = view_size * pixels_per_cell."""
    out = np.zeros((game.num_players,) + self.observation_shape, np.uint8)
    images = [self._team_image(game, team) for team in (0, 1)]
    size, pad = self.view_size, self._pad
    for seat, player in enumerate(game.players):
      if not player.alive:
        continue
      r, c = player.position
      window = images[player.team][r:r + size, c:c + size].copy()  # Centred on the player.
      window[pad, pad] = SELF_CARRIER if player.carrying else SELF
      # Facing east means what is east appears up: rotate counter-clockwise `facing` times.
      window = np.rot90(window, k=player.facing)
      if self.pixels_per_cell > 1:
        window = window.repeat(self.pixels_per_cell, 0).repeat(self.pixels_per_cell, 1)
      out[seat] = window
    return out


_FACING_GLYPHS = '^>v<'


def ascii_map(game: game_lib.Game, seat: Optional[int] = None) -> str:
  """The whole map as text: '#' wall, 'A'/'B' bases, 'a'/'b' flags of team 0/1 lying on the
  ground, players as digits (their seat) or '@' for `seat`, drawn over what they stand on;
  facing shown by the next line."""
  h, w = game.map.walls.shape
  grid = [['#' if game.map.walls[r, c] else '.' for c in range(w)] for r in range(h)]
  for team, base in enumerate(game.map.bases):
    grid[base[0]][base[1]] = 'AB'[team]
  for team, flag in enumerate(game.flags):
    if flag.state != game_lib.CARRIED:
      grid[flag.position[0]][flag.position[1]] = 'ab'[team]
  # Players after bases and flags, and `seat` last: a player is seen on whatever it stands on.
  for index, player in sorted(enumerate(game.players), key=lambda item: item[0] == seat):
    if player.alive:
      grid[player.position[0]][player.position[1]] = '@' if index == seat else str(index)
  lines = [''.join(row) for row in grid]
  status = []
  for index, player in enumerate(game.players):
    where = (f'{_FACING_GLYPHS[player.facing]}' if player.alive
             else f'respawn in {player.respawn_timer}')
    status.append(f'{"@" if index == seat else index}: team {player.team} {where}'
                  f'{" carrying flag" if player.carrying else ""}')
  lines.append(f'step {game.t}  score {game.scores[0]}:{game.scores[1]}  ' + '  '.join(status))
  return '\n'.join(lines)
