"""Meta-RL ("Learning to Reinforcement Learn", Wang et al. 2016): an LSTM actor-critic on bandits.

`MetaRL` (single process), `MetaRLBuilder` (for the shared core) and `MetaRLConfig` are loaded
on first use, so that importing the package (for its config, say) does not import TensorFlow.
"""

import importlib

_LAZY = {'MetaRL': 'agent', 'MetaRLBuilder': 'builder', 'MetaRLConfig': 'config'}


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(f'agents.meta_rl.{_LAZY[name]}'), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
