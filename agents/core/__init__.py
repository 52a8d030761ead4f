"""The shared actor-learner core: builders, batched acting, Reverb datasets, Launchpad programs."""

import logging


class _NoRetracingWarnings(logging.Filter):
  """Drops TensorFlow's tf.function retracing warnings, expected here and not actionable.

  Batched policies see a varying batch (an arena's seats per member change every round), and
  TF 2.8's checkpoint saver retraces at every save; every node and test imports `agents.core`,
  so this is the one place that keeps those lines off the console.
  """

  def filter(self, record: logging.LogRecord) -> bool:
    return 'triggered tf.function retracing' not in record.getMessage()


logging.getLogger('tensorflow').addFilter(_NoRetracingWarnings())
