"""TVT: the Reconstructive Memory Agent with Temporal Value Transport (Hung et al. 2019)."""
