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


def _jax_suite(name: str) -> Callable[..., dm_env.Environment]:
  """A dm_env factory for an environment of `environments.jax_envs` (imports JAX on first use)."""

  def factory(**kwargs) -> dm_env.Environment:
    from environments import jax_envs  # pylint: disable=g-import-not-at-top
    return jax_envs.make_dm_env(name, **kwargs)

  return factory


# The model-based generalisation suite (pure JAX; parameters as in its configs' env_config).
register('ProcMaze-v0', _jax_suite('ProcMaze'), 'ProcMaze')
register('ButtonGrid-v0', _jax_suite('ButtonGrid'), 'ButtonGrid')
register('PanFlute-v0', _jax_suite('PanFlute'), 'PanFlute')
register('OpenGrid-v0', _jax_suite('OpenGrid'), 'OpenGrid')


def _tvt_pycolab(game: str) -> Callable[..., dm_env.Environment]:
  """A factory for one TVT pycolab task (environments.pycolab; imports pycolab on first use)."""

  def factory(**kwargs) -> dm_env.Environment:
    from environments.pycolab import env as pycolab_env  # pylint: disable=g-import-not-at-top
    return pycolab_env.PycolabEnvironment(game, **kwargs)

  return factory


# TVT's pycolab tasks (spec tvt.md section 1; keyword arguments as PycolabEnvironment's).
register('PycolabKeyToDoor-v0', _tvt_pycolab('key_to_door'), 'key_to_door')
register('PycolabActiveVisualMatch-v0', _tvt_pycolab('active_visual_match'),
         'active_visual_match')


# FTW's capture-the-flag arenas (agents/ftw): the multi-player grid world, by team size.
from environments import ctf  # pylint: disable=g-import-not-at-top,wrong-import-position

register('CaptureTheFlag1v1-v0', functools.partial(ctf.CaptureTheFlag, team_size=1), 'ctf_1v1')
register('CaptureTheFlag2v2-v0', functools.partial(ctf.CaptureTheFlag, team_size=2), 'ctf_2v2')


def _tvt_dmlab(level: str) -> Callable[..., dm_env.Environment]:
  """A factory for one of TVT's DeepMind Lab levels (needs deepmind_lab; see BUILD.md)."""

  def factory(**kwargs) -> dm_env.Environment:
    from agents.tvt import dmlab  # pylint: disable=g-import-not-at-top
    return dmlab.DeepMindLabEnvironment(level, **kwargs)

  return factory


# TVT's DeepMind Lab levels (spec tvt.md section 6), e.g. 'dmlab_key_to_door'.
for _level in ('passive_visual_match', 'active_visual_match', 'key_to_door',
               'key_to_door_bluekey', 'two_negative_keys', 'latent_information_acquisition',
               'key_to_door_to_match'):
  register(f'DeepMindLabTVT_{_level}-v0', _tvt_dmlab(_level), f'dmlab_{_level}')
del _level


def _dmlab_ctf(**kwargs):
  from environments.ctf import dmlab  # pylint: disable=g-import-not-at-top
  return dmlab.DeepMindLabCaptureTheFlag(**kwargs)


# DeepMind Lab's CTF, one learning seat against the level's bots (needs deepmind_lab, BUILD.md).
register('DeepMindLabCaptureTheFlag-v0', _dmlab_ctf, 'dmlab_ctf')
