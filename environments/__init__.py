"""Every environment of the project, built by id through `make`."""

import functools
from typing import Callable, Dict

import dm_env

from environments import bandits


class UnknownEnvironmentError(ValueError):
  """Raised for an environment id that is not registered."""


_REGISTRY: Dict[str, Callable[..., dm_env.Environment]] = {}
_ALIASES: Dict[str, str] = {}


def register(env_id: str, factory: Callable[..., dm_env.Environment], *aliases: str):
  """Makes `factory(**kwargs)` reachable as `make(env_id, **kwargs)` (and by its aliases)."""
  if env_id in _REGISTRY or env_id in _ALIASES:
    raise ValueError(f'environment id {env_id!r} is already registered')
  _REGISTRY[env_id] = factory
  for alias in aliases:
    _ALIASES[alias] = env_id


def canonical_id(env_id: str) -> str:
  """Resolves an alias; raises UnknownEnvironmentError listing the valid ids."""
  env_id = _ALIASES.get(env_id, env_id)
  if env_id not in _REGISTRY:
    valid = sorted(list(_REGISTRY) + list(_ALIASES))
    raise UnknownEnvironmentError(
        f'unknown environment id {env_id!r}; valid ids: {", ".join(valid)}')
  return env_id


def make(env_id: str, **kwargs) -> dm_env.Environment:
  """Builds the environment registered as `env_id`, passing `kwargs` to its constructor."""
  return _REGISTRY[canonical_id(env_id)](**kwargs)


def ids():
  """The canonical ids of every registered environment."""
  return sorted(_REGISTRY)


def _two_armed(distribution: str):
  return lambda **kwargs: bandits.TwoArmedBernoulliBandit(distribution, **kwargs)


register('BanditTwoArmedIndependentUniform-v0', _two_armed('independent'), 'independent')
register('BanditTwoArmedDependentUniform-v0', _two_armed('dependent_uniform'),
         'dependent_uniform')
register('BanditTwoArmedDependentEasy-v0', _two_armed('easy'), 'easy')
register('BanditTwoArmedDependentMedium-v0', _two_armed('medium'), 'medium')
register('BanditTwoArmedDependentHard-v0', _two_armed('hard'), 'hard')
register('BanditElevenArmedWithIndex-v0', bandits.ElevenArmedBandit, 'eleven_armed')


def make_factory(env_id: str, **kwargs) -> Callable[[int], dm_env.Environment]:
  """A picklable `factory(seed)` building `env_id` with `kwargs`, as the distributed core wants."""
  return functools.partial(_make_seeded, canonical_id(env_id), kwargs)


def _make_seeded(env_id: str, kwargs: Dict, seed: int) -> dm_env.Environment:
  return make(env_id, seed=seed, **kwargs)
