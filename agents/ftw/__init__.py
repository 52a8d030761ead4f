"""FTW (Jaderberg et al. 2019): RPTH + DNC agents, auxiliary tasks, internal rewards and PBT.

The public names of the original `ftw` package (spec 2): the single-process agent `FTW`, the
learner `FtwLearner`, the actor `FtwActor` and the helpers of `ftw.agents.tf.ftw.utils`. The
population program is `agents.ftw.builder.make_program` (the core's program with FTW's nodes); its
entry point `launch/ftw_local.py`.

The names load on first use, so that `agents.ftw.config` (what command lines validate their
flags with) imports without TensorFlow.
"""

import importlib

_EXPORTS = {
    'FTW': 'agent', 'FTWWithoutActor': 'agent', 'FtwActor': 'acting', 'FtwConfig': 'config',
    'FtwLearner': 'learning', 'create_adders': 'utils', 'create_datasets': 'utils',
    'create_reverb_tables': 'utils', 'initialize_hypers': 'utils',
    'initialize_internal_rewards': 'utils',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(f'agents.ftw.{_EXPORTS[name]}'), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
