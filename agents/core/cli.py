"""Command-line conventions of every launch script: bad input is one line and exit status 2.

Kept free of TensorFlow and Launchpad imports so that a bad flag is refused at once.
"""

import math
import numbers
import re
import sys
from typing import Dict, List, Sequence, Tuple

from absl import flags

USAGE_ERROR = 2  # Exit status for bad flags, bad configs and missing inputs.
LAUNCH_TYPES = ('local_mp', 'local_mt')  # The launch types of a run on one machine.
_HELP = re.compile(r'^--?(\?|help|helpshort|helpfull|helpxml)(=.*)?$')  # absl's help flags.


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
  except SystemExit as stop:
    # absl's --help, --helpshort, --helpfull and --helpxml print the help and exit with
    # status 1 while parsing; asking for help is not a failure.
    if stop.code == 1 and any(_HELP.match(arg) for arg in argv[1:]):
      sys.exit(0)
    raise
  if 'logdir' in flags.FLAGS and flags.FLAGS['log_dir'].present:
    exit_with_usage_error('--log_dir is absl\'s directory for log files; the run directory '
                          'flag is --logdir (-l)')
  if len(remaining) > 1:
    exit_with_usage_error(f'unexpected arguments: {" ".join(remaining[1:])}')
  return remaining


def _range_text(minimum, maximum, min_inclusive: bool, max_inclusive: bool) -> str:
  """'at least 1', 'positive', 'in [0, 1]'... (empty when unbounded)."""
  if minimum is not None and maximum is not None:
    return (f'in {"[" if min_inclusive else "("}{minimum:g}, {maximum:g}'
            f'{"]" if max_inclusive else ")"}')
  if minimum is not None:
    if not min_inclusive and minimum == 0:
      return 'positive'
    return f'at least {minimum:g}' if min_inclusive else f'above {minimum:g}'
  if maximum is not None:
    return f'at most {maximum:g}' if max_inclusive else f'below {maximum:g}'
  return ''


def check_number(name: str, value, minimum=None, maximum=None, *, integer: bool = False,
                 min_inclusive: bool = True, max_inclusive: bool = True,
                 optional: bool = False):
  """Returns `value` if it is a finite number in range; else raises ValueError naming `name`.

  The one check of every numeric flag and config value: NaN and infinities are refused
  (every comparison with NaN is false, so a plain `value < minimum` lets it through, and a
  NaN learning rate or time limit silently ruins a run). `integer` also refuses fractions,
  `optional` accepts None (an unset budget). The message is one line, such as
  'learning_rate must be a finite number (positive), got nan'.
  """
  if value is None and optional:
    return value
  kind = 'an integer' if integer else 'a finite number'
  bounds = _range_text(minimum, maximum, min_inclusive, max_inclusive)
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not math.isfinite(value)):
    raise ValueError(f'{name} must be {kind}{f" ({bounds})" if bounds else ""}, got {value!r}')
  if integer and value != int(value):
    raise ValueError(f'{name} must be an integer, got {value!r}')
  too_low = minimum is not None and (value < minimum if min_inclusive else value <= minimum)
  too_high = maximum is not None and (value > maximum if max_inclusive else value >= maximum)
  if too_low or too_high:
    raise ValueError(f'{name} must be {bounds}, got {value!r}')
  return value


def check_flag(name: str, minimum=None, maximum=None, **kwargs):
  """`check_number` for the parsed flag --`name`; a bad value is a usage error (exit 2)."""
  try:
    return check_number(f'--{name}', flags.FLAGS[name].value, minimum, maximum, **kwargs)
  except ValueError as error:
    exit_with_usage_error(str(error))


def check_flags(limits: Dict[str, Tuple]):
  """Checks several flags at once: {name: (minimum, maximum) or (minimum, maximum, kwargs)}.

  Flags are checked in the order given; the first bad one ends the command (exit 2).
  """
  for name, limit in limits.items():
    minimum, maximum, *rest = limit
    check_flag(name, minimum, maximum, **(rest[0] if rest else {}))
