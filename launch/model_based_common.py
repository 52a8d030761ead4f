"""What the model-based commands share: reading a config with overrides, one-line errors."""

import json
import logging
from typing import Iterable

from agents.core import launching
from agents.model_based import config as config_lib


def quiet_jax_logs():
  """Hides JAX's INFO lines about missing GPU/TPU backends (absl logs INFO under app.run)."""
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.WARNING)


def parse_value(text: str):
  """A command-line value as JSON (numbers, true/false, lists), else as a plain string."""
  try:
    return json.loads(text)
  except json.JSONDecodeError:
    return text


def parse_overrides(overrides: Iterable[str]) -> dict:
  """{key: value} from KEY=VALUE strings; ValueError naming a malformed one."""
  changes = {}
  for override in overrides:
    key, separator, text = override.partition('=')
    if not separator or not key:
      raise ValueError(f'--override must be KEY=VALUE, got {override!r}')
    changes[key] = parse_value(text)
  return changes


def load_config(path: str, overrides: Iterable[str]) -> config_lib.ExperimentConfig:
  """The checked config of `path` with `overrides`; exits with status 2 naming the problem."""
  try:
    with open(path) as f:
      raw = json.load(f)
    if isinstance(raw, dict):
      raw.update(parse_overrides(overrides))
    return config_lib.from_dict(raw)
  except OSError as error:
    launching.exit_with_usage_error(f'cannot read config {path}: {error.strerror}')
  except json.JSONDecodeError as error:
    launching.exit_with_usage_error(f'config {path} is not valid JSON: {error}')
  except ValueError as error:  # ConfigError, bad overrides.
    launching.exit_with_usage_error(f'{path}: {error}')
