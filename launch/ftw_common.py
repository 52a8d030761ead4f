"""What the FTW commands share: their flags, validation into configs, the run directory, the run.

Every bad value ends the command before anything is created, with one line and exit status 2.
"""

import dataclasses
import json
import os
import signal
import sys
import time
from typing import Dict, List, Optional, Tuple

from absl import flags

import environments
from agents.core import cli
from agents.ftw import config as config_lib
from environments import ctf
from environments.ctf import bots as bots_lib
from hyperparameters import population

FLAGS = flags.FLAGS
RUN_CONFIG = 'run_config.json'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH_TYPES = cli.LAUNCH_TYPES + ('vertex_ai',)
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
  flags.DEFINE_enum('launch_type', 'local_mp', LAUNCH_TYPES,
                    'local_mp / local_mt on this machine, vertex_ai on Google Cloud.')
  flags.DEFINE_string('docker_requirements', os.path.join(ROOT, 'requirements.txt'),
                      'vertex_ai: the pip requirements baked into every node image.')
  flags.DEFINE_string('learner_accelerator', '',
                      'vertex_ai: accelerator of the learner nodes, e.g. V100 (default CPU).')
  flags.DEFINE_bool('loopback_only', True, 'Bind every server of the run to loopback.')
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
  flags.DEFINE_float('eval_period_s', 120.0, 'Seconds between periodic evaluations.')
  flags.DEFINE_integer('final_eval_matches', 10,
                       'Final evaluation of the checkpoints: matches per member and bot.')


def _floats(name: str, values: List[str]):
  try:
    numbers = [float(v) for v in values]
  except ValueError:
    cli.exit_with_usage_error(f'--{name} must be numbers, got {",".join(values)}')
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
    weights = tuple(float(v) for v in values)
  except ValueError:
    cli.exit_with_usage_error(f'--internal_rewards must be numbers, got {",".join(values)}')
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
  for name in ('num_steps', 'episode_length', 'eval_matches', 'final_eval_matches'):
    if getattr(FLAGS, name) < 1:
      cli.exit_with_usage_error(f'--{name} must be at least 1, got {getattr(FLAGS, name)}')
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
        slow_core_period_min_max=period, **evolved, **_internal_rewards())
    pbt = population.PbtConfig(ready_steps=FLAGS.ready_steps,
                               exploit_threshold=FLAGS.exploit_threshold)
    program_config = config_lib.ProgramConfig(
        run_dir=FLAGS.logdir, population_size=FLAGS.population_size,
        num_arenas=FLAGS.num_arenas, matches_per_arena=FLAGS.matches_per_arena,
        max_env_steps=FLAGS.num_steps, max_wall_s=FLAGS.max_minutes * 60 or None,
        seed=FLAGS.seed, pbt=pbt, bot_match_fraction=FLAGS.bot_match_fraction,
        training_bots=tuple(FLAGS.training_bots), evaluation_matches=FLAGS.eval_matches,
        evaluation_bots=tuple(FLAGS.eval_bots), evaluation_period_s=FLAGS.eval_period_s)
    program_config.validate()
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  return arena_id, arena_kwargs, agent_config, program_config


def _jsonable(value):
  return json.loads(json.dumps(value, default=str))


def write_or_check_run_config(run_dir: str, run_config: Dict) -> bool:
  """Writes the run's config, or checks a resumed run has the same shape; True on resume."""
  path = os.path.join(run_dir, RUN_CONFIG)
  run_config = _jsonable(run_config)
  if os.path.exists(path):
    with open(path) as f:
      existing = json.load(f)
    keys = ('arena', 'arena_kwargs', 'population_size', 'network')
    different = [k for k in keys if existing.get(k) != run_config.get(k)]
    if different:
      raise ValueError(f'{run_dir} holds a different run (it differs in {", ".join(different)});'
                       ' choose another --logdir or repeat its settings to resume it')
    return True
  os.makedirs(run_dir, exist_ok=True)
  with open(path, 'w') as f:
    json.dump(run_config, f, indent=2)
  return False


def network_shape(agent_config: config_lib.FtwConfig) -> Dict:
  """The config fields that fix the variables' shapes (a checkpoint needs them to match)."""
  names = ('core_type', 'hidden_size', 'num_dimensions', 'torso_conv_filters',
           'torso_residual_filters', 'use_pixel_control', 'use_reward_prediction',
           'dnc_memory_size', 'dnc_word_size', 'dnc_num_reads', 'batch_size',
           'sequence_length')
  return {name: getattr(agent_config, name) for name in names}


def run(arena_id: str, arena_kwargs: Dict, agent_config: config_lib.FtwConfig,
        program_config: config_lib.ProgramConfig, final_eval_matches: int,
        launch_type: str, loopback_only: bool) -> Dict:
  """Launches the population program, then evaluates the final checkpoints and summarises."""
  # pylint: disable=g-import-not-at-top
  from agents.core import launching
  from agents.ftw import builder as ftw_builder
  from agents.ftw import evaluation
  # pylint: enable=g-import-not-at-top
  run_dir = program_config.run_dir
  team_size = ctf.ARENA_TEAM_SIZES[arena_id]
  run_config = {'arena': arena_id, 'arena_kwargs': arena_kwargs,
                'population_size': program_config.population_size,
                'network': network_shape(agent_config),
                'agent': dataclasses.asdict(agent_config),
                'program': dataclasses.asdict(program_config)}
  if launch_type == 'vertex_ai':
    check_vertex_ai_installed()
  try:
    resumed = write_or_check_run_config(run_dir, run_config)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  if launch_type == 'vertex_ai':
    return launch_on_vertex_ai(arena_id, arena_kwargs, agent_config, program_config)
  launching.prepare_launcher(launch_type, loopback_only)
  print(f'FTW on {arena_id}: population {program_config.population_size}, '
        f'{program_config.num_arenas} arenas x {program_config.matches_per_arena} matches, '
        f'budget {program_config.max_env_steps} environment steps'
        f'{f" or {program_config.max_wall_s / 60:.0f} min" if program_config.max_wall_s else ""}'
        f', run directory {run_dir}{" (resuming)" if resumed else ""}', flush=True)
  arena_factory = environments.make_factory(arena_id, **arena_kwargs)
  program = ftw_builder.make_program(agent_config, arena_factory, team_size, program_config)
  started = time.time()
  try:
    launching.launch(program, launch_type, run_dir, loopback_only=loopback_only)
  except launching.NodeFailedError as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    print(evaluation.format_summary(run_dir), flush=True)
    sys.exit(1)
  # Launchpad's launcher keeps its stop handlers; Ctrl-C and SIGTERM end the evaluation again.
  signal.signal(signal.SIGINT, signal.default_int_handler)
  signal.signal(signal.SIGTERM, signal.SIG_DFL)
  print(f'program ended after {(time.time() - started) / 60:.1f} min; final evaluation of the '
        f'checkpoints ({final_eval_matches} matches per member and bot)', flush=True)
  policies = evaluation.restore_policies(run_dir, arena_factory, agent_config,
                                         program_config.population_size)
  evaluator = evaluation.BotEvaluator(arena_factory, agent_config,
                                      bots=program_config.evaluation_bots,
                                      matches=final_eval_matches,
                                      seed=program_config.seed + 777, policies=policies)
  final = evaluator.evaluate(range(program_config.population_size))
  final['total_steps'] = (evaluation.read_json(os.path.join(run_dir, 'population.json'))
                          or {}).get('total_steps')
  with open(os.path.join(run_dir, 'final_evaluation.json'), 'w') as f:
    json.dump(final, f, indent=1)
  print(evaluation.format_summary(run_dir, final), flush=True)
  plot = evaluation.plot_progress(run_dir, os.path.join(run_dir, 'elo.png'), final)
  if plot:
    print(f'Elo and win-rate curves plotted in {plot}', flush=True)
  return final


def vertex_ai_resources(program, requirements: str, learner_accelerator: str = ''):
  """One Docker configuration per node group (Vertex AI allows at most four distinct ones)."""
  import launchpad as lp  # pylint: disable=g-import-not-at-top
  cpu = lp.DockerConfig(code_directory=ROOT, docker_requirements=requirements)
  learner = cpu
  if learner_accelerator:
    from xmanager import xm  # pylint: disable=g-import-not-at-top
    learner = lp.DockerConfig(
        code_directory=ROOT, docker_requirements=requirements,
        hw_requirements=xm.JobRequirements(**{learner_accelerator: 1}))
  return {group: learner if group == 'learner' else cpu for group in program.groups}


def check_vertex_ai_installed():
  try:
    import xmanager  # pylint: disable=g-import-not-at-top,unused-import
    import google.cloud.aiplatform  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as error:
    cli.exit_with_usage_error(
        f'--launch_type=vertex_ai needs xmanager and google-cloud-aiplatform ({error}); see '
        'BUILD.md, "FTW on a cluster"')


def launch_on_vertex_ai(arena_id: str, arena_kwargs: Dict,
                        agent_config: config_lib.FtwConfig,
                        program_config: config_lib.ProgramConfig):
  """Submits the same program to Vertex AI (needs xmanager, Docker and a Google Cloud project).

  The run directory must be a path every node can write (a shared mount); the final evaluation
  of the checkpoints is then run with `launch.ftw_local` on that directory once the job ends.
  """
  import launchpad as lp  # pylint: disable=g-import-not-at-top
  from agents.ftw import builder as ftw_builder  # pylint: disable=g-import-not-at-top
  program = ftw_builder.make_program(
      agent_config, environments.make_factory(arena_id, **arena_kwargs),
      ctf.ARENA_TEAM_SIZES[arena_id], program_config)
  resources = vertex_ai_resources(program, FLAGS.docker_requirements, FLAGS.learner_accelerator)
  lp.launch(program, launch_type='vertex_ai', xm_resources=resources)
  print(f'submitted to Vertex AI; the population writes to {program_config.run_dir}',
        flush=True)
  return None
