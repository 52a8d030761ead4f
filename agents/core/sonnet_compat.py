"""Makes Sonnet 2.0.0's convolutions work on Python 3.10 without editing the installed package.

`sonnet.src.utils.replicate` (called by every Conv for its kernel shape) tests
`isinstance(x, collections.Sequence)`, a name Python 3.10 removed, so building any snt.Conv2D
raises AttributeError; `sonnet.src.initializers` has the same with `collections.Mapping`.
Imported by every module that builds Sonnet convolutions (the core's torsos, TVT's and FTW's
networks), so that each works whatever was imported before it.
"""

from sonnet.src import initializers
from sonnet.src import utils

from environments.pycolab import compat

compat.alias_collections_abc(utils, initializers)
