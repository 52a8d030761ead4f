"""Loggers for every node: a progress line on the console and TensorBoard scalars in the run dir."""

import os
from typing import Optional

from acme.utils import loggers
from acme.utils.loggers import tf_summary


def _print_line(line: str):
  print(line, flush=True)


def make_logger(label: str, run_dir: Optional[str] = None, print_period_s: float = 10.0,
                summary_period_s: float = 1.0, steps_key: Optional[str] = None,
                print_to_console: bool = True) -> loggers.Logger:
  """Console lines every `print_period_s`; TensorBoard scalars under `run_dir/tensorboard/label`.

  `steps_key` names the count used as the TensorBoard x-axis (for example 'actor_steps');
  without it the logger's own write count is used.
  """
  destinations = []
  if print_to_console:
    destinations.append(loggers.TimeFilter(
        loggers.TerminalLogger(label, print_fn=_print_line), print_period_s))
  if run_dir:
    summary = tf_summary.TFSummaryLogger(
        os.path.join(run_dir, 'tensorboard', label), label=label, steps_key=steps_key)
    destinations.append(loggers.TimeFilter(summary, summary_period_s))
  return loggers.NoneFilter(loggers.Dispatcher(destinations))
