"""The flags of the FTW training commands and their validation into configs.

Every bad value (NaN and infinities included) and an unusable --logdir end the command before
anything is created, with one line and exit status 2.
"""

from typing import Dict, List, Tuple

from absl import flags

import environments
from agents.core import cli
from agents.core import launching
from agents.core import run_dir
from agents.ftw import config as config_lib
from environments import ctf
from environments.ctf import bots as bots_lib
from hyperparameters import population

FLAGS = flags.FLAGS
_GRID = config_lib.grid_world_config()
_PBT = population.PbtConfig()


def _pair(value) -> str:
  return ','.join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def define_flags(logdir: str, num_steps: int, max_minutes: float):
  """The flags of ftw_local and of the learning script (which only changes their defaults)."""
  flags.DEFINE_integer('population_size', 4, 'Members of the population (at least 2).',
                       short_name='p')
  flags.DEFINE_string('arena', 'CaptureTheFlag1v1-v0',
                      f'Arena id: {", ".join(ctf.ARENA_TEAM_SIZES)} (or ctf_1v1, ctf_2v2).')
  flags.DEFINE_integer('num_arenas', 2, 'Arena processes playing training matches.')
  flags.DEFINE_integer('matches_per_arena', 4, 'Matches each arena plays at once.')
  # 16: agents.core.distributed.CACHE_THRESHOLD (not imported here: it brings TensorFlow).
  flags.DEFINE_integer('arenas_per_cache', None, 'Arenas per weight cache of each member (0: '
                       'none, arenas pull from the learners; default: above 16 arenas, one '
                       'per 16).')
  flags.DEFINE_float('cache_period_s', 1.0, 'Seconds between a weight cache\'s pulls.')
  flags.DEFINE_integer('episode_length', 210,
                       'Steps per match (210: 7 unrolls of 30 steps, so no tail is dropped).')
  flags.DEFINE_list('map_size', ['9', '11'], 'Map side, or min,max (odd sizes are drawn).')
  flags.DEFINE_integer('num_steps', num_steps,
                       'Budget: environment steps of training matches, all arenas.')
  flags.DEFINE_float('max_minutes', max_minutes,
                     'Wall-clock limit of the program (0: none); the final evaluation follows.')
  flags.DEFINE_string('logdir', logdir, 'Run directory: checkpoints, TensorBoard, logs.',
                      short_name='l')
  flags.DEFINE_integer('seed', 0, 'Base seed of every member, arena and evaluation.')
  flags.DEFINE_enum('launch_type', 'local_mp', launching.CLUSTER_LAUNCH_TYPES,
                    'local_mp / local_mt on this machine, vertex_ai on Google Cloud.')
  launching.define_cluster_flags()
  flags.DEFINE_bool('loopback_only', True, 'Bind every server of the run to loopback.')
  flags.DEFINE_bool('dry_run', False, 'Print the program\'s node groups and what each node '
                    'asks for (per --launch_type), without launching or writing anything.')
  flags.DEFINE_enum('core_type', _GRID.core_type, ['lstm', 'rpth', 'rpth_dnc'],
                    'Core: plain LSTM, RPTH, or RPTH with the shared DNC memory.')
  flags.DEFINE_integer('unroll_length', _GRID.sequence_length, 'Rows per learner unroll.')
  flags.DEFINE_integer('batch_size', _GRID.batch_size, 'Unrolls per learner step.')
  for name in config_lib.EVOLVED_FLOATS:
    flags.DEFINE_list(name, _pair(getattr(_GRID, name)).split(','),
                      f'Initial {name}: a value, or min,max for a log-uniform draw.')
  flags.DEFINE_list('slow_core_period', _pair(_GRID.slow_core_period_min_max).split(','),
                    'Slow-core period range min,max (integers).')
  flags.DEFINE_list('internal_rewards', _pair(_GRID.internal_rewards).split(','),
                    'Internal-reward draw min,max (times each event\'s signed scale), or one '
                    f'weight per event ({ctf.NUM_EVENTS} values: {", ".join(ctf.EVENT_NAMES)}).')
  flags.DEFINE_integer('ready_steps', 100, 'PBT: learner steps between evolution checks.')
  flags.DEFINE_float('exploit_threshold', _PBT.exploit_threshold,
                     'PBT: exploit when a drawn member wins with at least this probability.')
  flags.DEFINE_float('bot_match_fraction', 0.5,
                     'Share of training matches against scripted bots (drawn by expected score; '
                     'no Elo change).')
  flags.DEFINE_list('training_bots', ['random', 'rusher'], 'Bots of those training matches.')
  flags.DEFINE_list('eval_bots', ['random', 'rusher'], 'Scripted bots of the evaluations.')
  flags.DEFINE_integer('eval_matches', 6, 'Periodic evaluation: matches per member and bot.')
  flags.DEFINE_float('eval_period_s', 120.0, 'Periodic evaluation: at least this many seconds '
                     'between rounds.')
  flags.DEFINE_float('eval_share', 0.1, 'Periodic evaluation: at most this share of the training '
                     'matches\' environment steps (0 < share <= 1).')
  flags.DEFINE_integer('checkpoint_period_steps', 100,
                       'Learner steps between checkpoints (there is one every minute as well).')
  flags.DEFINE_bool('jit_compile', _GRID.jit_compile,
                    'XLA for the learner updates and the policy step (slower on 2-core CPUs).')
  flags.DEFINE_integer('final_eval_matches', 10,
                       'Final evaluation of the checkpoints: matches per member and bot.')


def _floats(name: str, values: List[str]):
  try:
    numbers = [cli.check_number(f'--{name}', float(v)) for v in values]
  except ValueError:
    cli.exit_with_usage_error(f'--{name} must be finite numbers, got {",".join(values)}')
  if len(numbers) == 1:
    return numbers[0]
  if len(numbers) == 2:
    return tuple(numbers)
  cli.exit_with_usage_error(f'--{name} takes a value or min,max; got {len(numbers)} values')


def _internal_rewards() -> Dict:
  values = FLAGS.internal_rewards
  if len(values) in (1, 2):
    return {'internal_rewards': _floats('internal_rewards', values)}
  try:
    weights = tuple(cli.check_number('--internal_rewards', float(v)) for v in values)
  except ValueError:
    cli.exit_with_usage_error(
        f'--internal_rewards must be finite numbers, got {",".join(values)}')
  if len(weights) != ctf.NUM_EVENTS:
    cli.exit_with_usage_error(
        f'--internal_rewards has {len(weights)} weights but the arena has {ctf.NUM_EVENTS} '
        f'events ({", ".join(ctf.EVENT_NAMES)})')
  return {'internal_reward_weights': weights}


def arena_id_from_flag(arena: str) -> str:
  """The canonical id of a capture-the-flag arena; exits with status 2 for any other id."""
  try:
    arena_id = environments.canonical_id(arena)
  except environments.UnknownEnvironmentError:
    arena_id = arena
  if arena_id not in ctf.ARENA_TEAM_SIZES:
    cli.exit_with_usage_error(f'unknown arena {arena!r}; valid arenas: '
                              f'{", ".join(ctf.ARENA_TEAM_SIZES)} (aliases ctf_1v1, ctf_2v2)')
  return arena_id


def configs_from_flags() -> Tuple[str, Dict, config_lib.FtwConfig, config_lib.ProgramConfig]:
  """(arena id, arena kwargs, agent config, program config); exits with status 2 if invalid."""
  arena_id = arena_id_from_flag(FLAGS.arena)
  if FLAGS.population_size < 2:
    cli.exit_with_usage_error(
        f'--population_size must be at least 2 (PBT needs members to compare), got '
        f'{FLAGS.population_size}')
  positive = {'min_inclusive': False}
  cli.check_flags({
      'num_steps': (1, None), 'episode_length': (1, None), 'eval_matches': (1, None),
      'final_eval_matches': (1, None), 'num_arenas': (1, None), 'matches_per_arena': (1, None),
      'unroll_length': (2, None), 'batch_size': (1, None), 'ready_steps': (1, None),
      'max_minutes': (0, None), 'exploit_threshold': (0.5, 1), 'bot_match_fraction': (0, 1),
      'eval_period_s': (0, None, positive), 'eval_share': (0, 1, positive),
      'checkpoint_period_steps': (1, None)})
  for name in ('eval_bots', 'training_bots'):
    for bot in getattr(FLAGS, name):
      if bot not in bots_lib.BOT_NAMES:
        cli.exit_with_usage_error(f'unknown bot {bot!r} in --{name}; valid: '
                                  f'{", ".join(bots_lib.BOT_NAMES)}')
  try:
    map_size = tuple(int(v) for v in FLAGS.map_size)
    period = tuple(int(v) for v in FLAGS.slow_core_period)
  except ValueError as error:
    cli.exit_with_usage_error(f'--map_size and --slow_core_period take integers: {error}')
  if len(period) != 2:
    cli.exit_with_usage_error('--slow_core_period takes min,max')
  if period[0] > period[1]:
    cli.exit_with_usage_error(f'--slow_core_period range has min {period[0]} above max '
                              f'{period[1]}')
  arena_kwargs = dict(episode_length=FLAGS.episode_length,
                      map_size=map_size[0] if len(map_size) == 1 else map_size)
  evolved = {name: _floats(name, getattr(FLAGS, name)) for name in config_lib.EVOLVED_FLOATS}
  try:
    environments.make(arena_id, **arena_kwargs)  # Checks the arena's own arguments.
    agent_config = config_lib.grid_world_config(
        core_type=FLAGS.core_type, sequence_length=FLAGS.unroll_length,
        batch_size=FLAGS.batch_size, max_queue_size=max(64, 2 * FLAGS.batch_size),
        slow_core_period_min_max=period, jit_compile=FLAGS.jit_compile, **evolved,
        **_internal_rewards())
    pbt = population.PbtConfig(ready_steps=FLAGS.ready_steps,
                               exploit_threshold=FLAGS.exploit_threshold)
    program_config = config_lib.ProgramConfig(
        run_dir=FLAGS.logdir, population_size=FLAGS.population_size,
        num_arenas=FLAGS.num_arenas, matches_per_arena=FLAGS.matches_per_arena,
        max_env_steps=FLAGS.num_steps, max_wall_s=FLAGS.max_minutes * 60 or None,
        seed=FLAGS.seed, pbt=pbt, bot_match_fraction=FLAGS.bot_match_fraction,
        training_bots=tuple(FLAGS.training_bots), evaluation_matches=FLAGS.eval_matches,
        evaluation_bots=tuple(FLAGS.eval_bots), evaluation_period_s=FLAGS.eval_period_s,
        evaluation_share=FLAGS.eval_share,
        checkpoint_period_steps=FLAGS.checkpoint_period_steps,
        arenas_per_cache=FLAGS.arenas_per_cache, cache_period_s=FLAGS.cache_period_s)
    program_config.validate()
    run_dir.check_usable(FLAGS.logdir)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  return arena_id, arena_kwargs, agent_config, program_config
