"""A person playing key_to_door in a terminal (a real pseudo-terminal, real key presses)."""

import os
import pty
import re
import select
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UP, DOWN = '\x1bOA', '\x1bOB'  # xterm's arrow keys in keypad (application) mode.


class Terminal:
  """`python -m environments.pycolab.play ...` on a pseudo-terminal; collects what it prints."""

  def __init__(self, *args):
    main, child = pty.openpty()
    env = dict(os.environ, TERM='xterm', LINES='24', COLUMNS='80')
    self.process = subprocess.Popen(
        [sys.executable, '-m', 'environments.pycolab.play', *args], cwd=ROOT, env=env,
        stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    self._fd = main
    self.screen = ''

  def read(self, until: str, timeout: float = 60.0) -> str:
    """Reads output until `until` (a regex) appears in what came since the last call."""
    start, seen = time.time(), ''
    while time.time() - start < timeout:
      ready, _, _ = select.select([self._fd], [], [], 0.2)
      if ready:
        try:
          seen += os.read(self._fd, 65536).decode(errors='replace')
        except OSError:
          break
        if re.search(until, seen):
          self.screen += seen
          return seen
    raise AssertionError(f'{until!r} not shown; got {seen[-500:]!r}')

  def press(self, keys: str):
    os.write(self._fd, keys.encode())


def test_play_key_to_door_in_a_terminal_and_quit_with_q():
  terminal = Terminal('key_to_door', '--seed=3')
  try:
    terminal.read(r'phase 1/3: explore +step 0/15')
    terminal.press(UP)
    terminal.read(r'step 1/15')
    terminal.press(DOWN * 14)  # Explore ends after 15 steps: the apples come next.
    terminal.read(r'phase 2/3: distractor +step 0/90')
    terminal.press(' ' * 90)  # Waiting also advances the frame.
    terminal.read(r'phase 3/3: reward +step 0/15')
    terminal.press(UP * 2)  # Without the key the door stays shut.
    terminal.read(r'step 2/15')
    terminal.press(' ' * 13)
    terminal.read(r'episode over: reward [0-9.]+, last-phase reward 0')
    terminal.press('q')
    assert terminal.process.wait(timeout=30) == 0
    terminal.read(r'episode 1: reward [0-9.]+, last-phase reward 0', timeout=10)
  finally:
    if terminal.process.poll() is None:
      terminal.process.kill()
