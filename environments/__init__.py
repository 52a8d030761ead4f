"""Every environment of the project, built by id through `make`.

Importing this registry imports no environment: each module (and dm_env, JAX, pycolab...) loads
when one of its environments is built, so that the model-based suite's pure-JAX environments
(`environments.jax_envs`) import with JAX alone.
"""

import functools
import importlib
from typing import TYPE_CHECKING, Callable, Dict

if TYPE_CHECKING:
  import dm_env  # pylint: disable=g-import-not-at-top


class UnknownEnvironmentError(ValueError):
  """Raised for an environment id that is not registered."""


_REGISTRY: Dict[str, Callable[..., 'dm_env.Environment']] = {}
_ALIASES: Dict[str, str] = {}


def register(env_id: str, factory: Callable[..., 'dm_env.Environment'], *aliases: str):
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


def make(env_id: str, **kwargs) -> 'dm_env.Environment':
  """Builds the environment registered as `env_id`, passing `kwargs` to its constructor."""
  return _REGISTRY[canonical_id(env_id)](**kwargs)


def ids():
  """The canonical ids of every registered environment."""
  return sorted(_REGISTRY)


def make_factory(env_id: str, **kwargs) -> Callable[[int], 'dm_env.Environment']:
  """A picklable `factory(seed)` building `env_id` with `kwargs`, as the distributed core wants."""
  return functools.partial(_make_seeded, canonical_id(env_id), kwargs)


def _make_seeded(env_id: str, kwargs: Dict, seed: int) -> 'dm_env.Environment':
  return make(env_id, seed=seed, **kwargs)


def _lazy(module: str, attribute: str, *args, **fixed) -> Callable[..., 'dm_env.Environment']:
  """A factory calling `module.attribute(*args, **fixed, **kwargs)`, importing `module` late.

  Importing this registry then stays light: dm_env, JAX, pycolab or DeepMind Lab load only when
  one of their environments is built.
  """

  def factory(**kwargs) -> 'dm_env.Environment':
    return getattr(importlib.import_module(module), attribute)(*args, **{**fixed, **kwargs})

  return factory


# The bandits of meta-RL (environments/bandits.py), by the distribution of their arms.
for _id, _distribution in (('BanditTwoArmedIndependentUniform-v0', 'independent'),
                           ('BanditTwoArmedDependentUniform-v0', 'dependent_uniform'),
                           ('BanditTwoArmedDependentEasy-v0', 'easy'),
                           ('BanditTwoArmedDependentMedium-v0', 'medium'),
                           ('BanditTwoArmedDependentHard-v0', 'hard')):
  register(_id, _lazy('environments.bandits', 'TwoArmedBernoulliBandit', _distribution),
           _distribution)
del _id, _distribution
register('BanditElevenArmedWithIndex-v0', _lazy('environments.bandits', 'ElevenArmedBandit'),
         'eleven_armed')


# The model-based generalisation suite (pure JAX; parameters as in its configs' env_config).
for _name in ('ProcMaze', 'ButtonGrid', 'PanFlute', 'OpenGrid'):
  register(f'{_name}-v0', _lazy('environments.jax_envs', 'make_dm_env', _name), _name)

# TVT's pycolab tasks (spec tvt.md section 1; keyword arguments as PycolabEnvironment's).
for _name in ('key_to_door', 'active_visual_match'):
  register(f'Pycolab{_name.title().replace("_", "")}-v0',
           _lazy('environments.pycolab.env', 'PycolabEnvironment', _name), _name)

# FTW's capture-the-flag arenas (agents/ftw): the multi-player grid world, by team size.
register('CaptureTheFlag1v1-v0', _lazy('environments.ctf', 'CaptureTheFlag', team_size=1), 'ctf_1v1')
register('CaptureTheFlag2v2-v0', _lazy('environments.ctf', 'CaptureTheFlag', team_size=2), 'ctf_2v2')

# TVT's DeepMind Lab levels (spec tvt.md section 6), e.g. 'dmlab_key_to_door'; they need
# deepmind_lab (BUILD.md).
for _name in ('passive_visual_match', 'active_visual_match', 'key_to_door',
              'key_to_door_bluekey', 'two_negative_keys', 'latent_information_acquisition',
              'key_to_door_to_match'):
  register(f'DeepMindLabTVT_{_name}-v0',
           _lazy('agents.tvt.dmlab', 'DeepMindLabEnvironment', _name), f'dmlab_{_name}')
del _name

# DeepMind Lab's CTF, one learning seat against the level's bots (needs deepmind_lab, BUILD.md).
register('DeepMindLabCaptureTheFlag-v0',
         _lazy('environments.ctf.dmlab', 'DeepMindLabCaptureTheFlag'), 'dmlab_ctf')
