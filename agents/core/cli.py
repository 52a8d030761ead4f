"""Command-line conventions of every launch script: bad input is one line and exit status 2.

Kept free of TensorFlow and Launchpad imports so that a bad flag is refused at once.
"""

import sys
from typing import List, Sequence

from absl import flags

USAGE_ERROR = 2  # Exit status for bad flags, bad configs and missing inputs.
LAUNCH_TYPES = ('local_mp', 'local_mt')  # The launch types of a run on one machine.


def exit_with_usage_error(message: str):
  """Prints one line naming the problem and exits with status 2."""
  print(f'error: {message}', file=sys.stderr, flush=True)
  sys.exit(USAGE_ERROR)


def parse_flags(argv: Sequence[str]) -> List[str]:
  """`app.run` flags parser whose errors are one line and exit status 2 (absl's is 1)."""
  try:
    remaining = flags.FLAGS(argv)
  except flags.Error as error:
    exit_with_usage_error(str(error).splitlines()[0])
  if 'logdir' in flags.FLAGS and flags.FLAGS['log_dir'].present:
    exit_with_usage_error('--log_dir is absl\'s directory for log files; the run directory '
                          'flag is --logdir (-l)')
  if len(remaining) > 1:
    exit_with_usage_error(f'unexpected arguments: {" ".join(remaining[1:])}')
  return remaining
