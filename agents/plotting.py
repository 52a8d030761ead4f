"""matplotlib for every plot of the project: the Agg backend, and no third-party notices.

matplotlib 3.8 calls pyparsing names that pyparsing 3.3 deprecates, and each plot would print
three PyparsingDeprecationWarnings; TensorFlow and absl put a warnings filter of their own in
front of any set at import time, so the filter goes in here, at the first plot.
"""

import logging
import warnings


def pyplot():
  """`matplotlib.pyplot`, drawing to files only, with matplotlib's own notices silenced."""
  # Raised with the location of matplotlib's call, or of pyparsing's own (mathtext's parser).
  for module in ('matplotlib', 'pyparsing'):
    warnings.filterwarnings('ignore', category=DeprecationWarning, module=module)
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  logging.getLogger('matplotlib').setLevel(logging.ERROR)
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt
