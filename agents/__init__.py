"""Agents of the project, each in its own folder, on the shared actor-learner core (`agents.core`)."""

import warnings

# Matplotlib 3.8 calls pyparsing names that pyparsing 3.3 deprecates; the warnings are not ours
# to act on and would end every plotting command's console output. One filter, for every agent.
warnings.filterwarnings('ignore', message=r".*deprecated - use '", module=r'matplotlib(\..*)?')
