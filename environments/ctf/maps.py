"""Procedurally generated capture-the-flag maps: mirror-symmetric, connected, one base per team.

Team 0's base is near the left edge and team 1's at the mirrored cell near the right edge; the
walls are mirrored across the vertical midline so that neither side is favoured (spec 7.2).
"""

import collections
import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np

Cell = Tuple[int, int]
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # North, east, south, west.


@dataclasses.dataclass(frozen=True)
class CtfMap:
  walls: np.ndarray  # bool [H, W]; the border is all walls.
  bases: Tuple[Cell, Cell]  # Base cell of team 0 and team 1.
  spawns: Tuple[Tuple[Cell, ...], Tuple[Cell, ...]]  # Spawn cells of each team, nearest first.

  @property
  def shape(self) -> Tuple[int, int]:
    return self.walls.shape

  def is_open(self, cell: Cell) -> bool:
    r, c = cell
    h, w = self.walls.shape
    return 0 <= r < h and 0 <= c < w and not self.walls[r, c]


def distances_from(walls: np.ndarray, source: Cell) -> np.ndarray:
  """Shortest-path lengths (4-neighbour moves) from `source` to every cell; -1 if unreachable."""
  h, w = walls.shape
  distance = np.full((h, w), -1, np.int32)
  if walls[source]:
    return distance
  distance[source] = 0
  queue = collections.deque([source])
  while queue:
    r, c = queue.popleft()
    for dr, dc in MOVES:
      nr, nc = r + dr, c + dc
      if 0 <= nr < h and 0 <= nc < w and not walls[nr, nc] and distance[nr, nc] < 0:
        distance[nr, nc] = distance[r, c] + 1
        queue.append((nr, nc))
  return distance


def _spawn_cells(walls: np.ndarray, base: Cell, count: int) -> Tuple[Cell, ...]:
  distance = distances_from(walls, base)
  cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(distance > 0))]
  cells.sort(key=lambda cell: (distance[cell], cell))
  return tuple(cells[:count])


def generate(rng: np.random.Generator, size: int, wall_density: float = 0.2,
             spawns_per_team: int = 6, max_attempts: int = 50) -> CtfMap:
  """A random map of size x size cells (size odd, at least 7).

  Walls are random segments in the left half, mirrored to the right; the 3x3 neighbourhood of each
  base stays open; open cells that cannot reach the bases are filled in. Retries (with fewer
  walls) until the two bases are connected.
  """
  if size < 7 or size % 2 == 0:
    raise ValueError(f'map size must be odd and at least 7, got {size}')
  if not 0.0 <= wall_density < 0.6:
    raise ValueError(f'wall_density must be in [0, 0.6), got {wall_density}')
  density = wall_density
  for _ in range(max_attempts):
    walls = np.zeros((size, size), bool)
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = True
    middle = size // 2
    base_row = int(rng.integers(1, size - 1))
    left_base = (base_row, 1)
    interior_left = (size - 2) * middle
    for _ in range(int(density * interior_left / 2.5)):
      length = int(rng.integers(1, 5))
      r, c = int(rng.integers(1, size - 1)), int(rng.integers(1, middle + 1))
      dr, dc = MOVES[int(rng.integers(2))]  # Vertical or horizontal segments.
      for k in range(length):
        rr, cc = r + k * dr, c + k * dc
        if 1 <= rr < size - 1 and 1 <= cc <= middle:
          walls[rr, cc] = True
    walls[max(base_row - 1, 1):min(base_row + 2, size - 1), 1:3] = False
    walls[:, middle + 1:] = walls[:, :middle][:, ::-1]  # Mirror the left half to the right.
    right_base = (base_row, size - 2)
    distance = distances_from(walls, left_base)
    if distance[right_base] < 0:
      density *= 0.8
      continue
    walls[distance < 0] = True  # Fill pockets no player can reach.
    spawns = (_spawn_cells(walls, left_base, spawns_per_team),
              _spawn_cells(walls, right_base, spawns_per_team))
    return CtfMap(walls=walls, bases=(left_base, right_base), spawns=spawns)
  raise RuntimeError(f'no connected {size}x{size} map after {max_attempts} attempts')


def parse_ascii(rows: Sequence[str], spawns_per_team: int = 6) -> CtfMap:
  """A fixed map from text ('#' wall, '.' floor, '1' team 0 base, '2' team 1 base), for tests."""
  walls = np.array([[ch == '#' for ch in row] for row in rows], bool)
  bases: List[Optional[Cell]] = [None, None]
  for r, row in enumerate(rows):
    for c, ch in enumerate(row):
      if ch in '12':
        bases[int(ch) - 1] = (r, c)
  if None in bases:
    raise ValueError('an ascii map needs the bases "1" and "2"')
  spawns = tuple(_spawn_cells(walls, base, spawns_per_team) for base in bases)
  return CtfMap(walls=walls, bases=(bases[0], bases[1]), spawns=spawns)
