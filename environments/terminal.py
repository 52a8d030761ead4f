"""Keys and drawing for the curses play commands (`environments.pycolab.play`, `launch.ftw_play`).

Both commands read one key at a time and name arrows the same way. Curses decodes an arrow only
when the terminal's terminfo entry names the sequence the terminal sends, and xterm-like
terminals send either ESC O A (keypad mode, what terminfo names) or ESC [ A (cursor mode, what
many terminals and multiplexers send anyway), so `read_key` decodes the other form itself.
"""

import curses
from typing import Optional

UP, DOWN, LEFT, RIGHT = 'up', 'down', 'left', 'right'
_CURSES_ARROWS = {curses.KEY_UP: UP, curses.KEY_DOWN: DOWN, curses.KEY_LEFT: LEFT,
                  curses.KEY_RIGHT: RIGHT}
_ESCAPE_ARROWS = {'A': UP, 'B': DOWN, 'C': RIGHT, 'D': LEFT}  # The last byte of ESC [ A etc.
_ESCAPE = 27
_ESCAPE_WAIT_MS = 50  # The rest of an escape sequence arrives with its ESC, in practice at once.


def read_key(screen) -> Optional[str]:
  """Waits for a key: UP, DOWN, LEFT or RIGHT for an arrow, else the character typed.

  None for keys that are neither (function keys, a lone Escape, a terminal resize), which the
  caller ignores by redrawing.
  """
  key = screen.getch()
  if key in _CURSES_ARROWS:
    return _CURSES_ARROWS[key]
  if key == _ESCAPE:
    return _read_escape_sequence(screen)
  if 0 <= key < 256:
    return chr(key)
  return None


def _read_escape_sequence(screen) -> Optional[str]:
  """The arrow an ESC [ X or ESC O X that curses did not decode stands for, or None."""
  screen.timeout(_ESCAPE_WAIT_MS)
  try:
    introducer = screen.getch()
    if introducer not in (ord('['), ord('O')):
      if introducer != -1:
        curses.ungetch(introducer)  # Escape then a key: the key still counts.
      return None
    final = screen.getch()
  finally:
    screen.timeout(-1)
  return _ESCAPE_ARROWS.get(chr(final)) if 0 <= final < 256 else None


def put(screen, row: int, column: int, text: str, attributes: int = curses.A_NORMAL):
  """Writes `text` at (row, column), cut at the screen's edges instead of failing there."""
  height, width = screen.getmaxyx()
  if not (0 <= row < height and 0 <= column < width):
    return
  text = text[:width - column]
  try:
    screen.addstr(row, column, text, attributes)
  except curses.error:
    pass  # Writing the bottom-right cell moves the cursor off the screen; the text is drawn.
