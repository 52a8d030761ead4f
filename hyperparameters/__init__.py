"""Population-based training: evolvable hyperparameters, internal rewards, Elo, matchmaking, PBT.

Modules are imported one by one (`from hyperparameters import elo`): `base` and
`internal_rewards` need TensorFlow, while `elo`, `matchmaking` and `population` do not, so the
population controller's node starts without it.
"""
