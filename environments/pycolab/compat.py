"""Lets pycolab 1.2 (and Sonnet 2.0.0, see agents/core/sonnet_compat.py) run on Python 3.10 unedited.

pycolab's `storytelling.Story` checks its chapters with `collections.Mapping` and
`collections.Sequence`, names that moved to `collections.abc` and were removed from
`collections` in Python 3.10, so building any multi-phase game raises AttributeError. Here the
`collections` name inside such a module is pointed at a stand-in that also answers the old
aliases; the interpreter's own `collections` module is left as it is.
"""

import collections
import collections.abc
import types
import warnings

from pycolab import storytelling


class _CollectionsWithAbcAliases(types.ModuleType):
  """`collections`, plus the ABC names (Mapping, Sequence, ...) it had before Python 3.10."""

  def __getattr__(self, name):
    try:
      return getattr(collections, name)
    except AttributeError:
      return getattr(collections.abc, name)


def alias_collections_abc(*modules: types.ModuleType):
  """Makes `collections.Mapping` etc. work inside each of `modules` (idempotent)."""
  for module in modules:
    if not isinstance(module.collections, _CollectionsWithAbcAliases):
      module.collections = _CollectionsWithAbcAliases('collections')


# pycolab builds boards with numpy calls that numpy 1.23 deprecates; harmless here.
warnings.filterwarnings('ignore', category=FutureWarning, module='pycolab.ascii_art')
warnings.filterwarnings('ignore', category=DeprecationWarning, module='pycolab.ascii_art')
alias_collections_abc(storytelling)
