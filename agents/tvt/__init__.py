"""TVT: the Reconstructive Memory Agent with Temporal Value Transport (Hung et al. 2019)."""

from agents.tvt import compat  # noqa: F401  # pylint: disable=unused-import  # Before any Sonnet conv.
