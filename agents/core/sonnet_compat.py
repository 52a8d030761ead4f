"""Makes Sonnet 2.0.0's convolutions work on Python 3.10 without editing the installed package.

`sonnet.src.utils.replicate` (called by every Conv for its kernel shape) tests
`isinstance(x, collections.Sequence)`, a name Python 3.10 removed, so building any snt.Conv2D
raises AttributeError; `sonnet.src.initializers` has the same with `collections.Mapping`.
Also keeps TF 2.8's set warning off the console (below).
Imported by every module that builds Sonnet convolutions (the core's torsos, TVT's and FTW's
networks), so that each works whatever was imported before it.
"""

import sonnet as snt
from sonnet.src import initializers
from sonnet.src import utils

from environments.pycolab import compat

compat.alias_collections_abc(utils, initializers)

# Sonnet 2.0.0 keeps a set on each module (`_snt_once`, which `@snt.once` methods have run), as
# does TensorFlow's checkpointing (`_self_name_based_restores`); TF 2.8's `Module.variables`
# walks every attribute and logs "Sets are not currently considered sequences" at the first
# set. Neither holds variables or modules: the walk skips them.
snt.Module._TF_MODULE_IGNORED_PROPERTIES = (  # pylint: disable=protected-access
    snt.Module._TF_MODULE_IGNORED_PROPERTIES | {'_snt_once', '_self_name_based_restores'})  # pylint: disable=protected-access
