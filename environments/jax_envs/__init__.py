"""The pure-JAX environments of the model-based generalisation suite (Young et al., 2023).

`make(name, **params)` builds one by its name in the original configs ("ProcMaze", "ButtonGrid",
"PanFlute", "OpenGrid"); `make_dm_env` wraps it as a `dm_env.Environment`. The same four are
registered in `environments` as ProcMaze-v0, ButtonGrid-v0, PanFlute-v0 and OpenGrid-v0.
"""

from typing import TYPE_CHECKING, Any, Dict, Optional, Type

from environments.jax_envs.base import JaxEnvironment
from environments.jax_envs.button_grid import ButtonGrid
from environments.jax_envs.open_grid import OpenGrid
from environments.jax_envs.pan_flute import PanFlute
from environments.jax_envs.proc_maze import ProcMaze

if TYPE_CHECKING:  # The adapter needs dm_env, which the suite's training loop does not.
  from environments.jax_envs.dm_env_adapter import JaxEnvironmentAdapter  # pylint: disable=g-import-not-at-top

ENVIRONMENTS: Dict[str, Type[JaxEnvironment]] = {
    'ProcMaze': ProcMaze, 'ButtonGrid': ButtonGrid, 'PanFlute': PanFlute, 'OpenGrid': OpenGrid}

# dm_env episode length of the continuing tasks (the length of one evaluation run).
CONTINUING_EPISODE_STEPS = 100


def check_parameters(name: str, params: Dict[str, Any]) -> Type[JaxEnvironment]:
  """The class of `name`; ValueError naming an unknown name, parameter or badly typed value."""
  if name not in ENVIRONMENTS:
    raise ValueError(f'unknown environment {name!r}; valid: {", ".join(sorted(ENVIRONMENTS))}')
  cls = ENVIRONMENTS[name]
  types = cls.parameters()
  for key, value in params.items():
    if key not in types:
      raise ValueError(f'{name} has no parameter {key!r}; valid: {", ".join(types)}')
    if type(value) is not types[key]:  # pylint: disable=unidiomatic-typecheck
      raise ValueError(f'{name} parameter {key!r} must be {types[key].__name__}, got '
                       f'{type(value).__name__} {value!r}')
  return cls


def make(name: str, **params) -> JaxEnvironment:
  """The environment `name` with constructor parameters `params` (checked first)."""
  return check_parameters(name, params)(**params)


def make_dm_env(name: str, seed: Optional[int] = None,
                max_episode_steps: Optional[int] = None, **params) -> 'JaxEnvironmentAdapter':
  """`make(name, **params)` as a dm_env; continuing tasks get 100-step episodes by default."""
  from environments.jax_envs import dm_env_adapter  # pylint: disable=g-import-not-at-top
  environment = make(name, **params)
  if max_episode_steps is None and not environment.episodic:
    max_episode_steps = CONTINUING_EPISODE_STEPS
  return dm_env_adapter.JaxEnvironmentAdapter(environment, seed, max_episode_steps)
