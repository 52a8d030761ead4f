"""Running an FTW population: the run directory, the program, the final evaluation, the cluster.

What the FTW commands (`launch.ftw_local`, `launch.ftw_learning_curve`) do once their flags are
valid configs. Bad input found here (a run directory holding another run, a cluster launch
without its packages) ends the command with one line and exit status 2.
"""

import dataclasses
import json
import os
import sys
import time
from typing import Dict

import environments
from agents.core import cli
from agents.core import run_dir as run_dir_lib
from agents.ftw import config as config_lib
from environments import ctf

# What a resumed run must share with the run it resumes (what the checkpoints hold).
RESUME_KEYS = ('arena', 'arena_kwargs', 'population_size', 'network')


def network_shape(agent_config: config_lib.FtwConfig) -> Dict:
  """The config fields that fix the variables' shapes (a checkpoint needs them to match)."""
  names = ('core_type', 'hidden_size', 'num_dimensions', 'torso_conv_filters',
           'torso_residual_filters', 'use_pixel_control', 'use_reward_prediction',
           'dnc_memory_size', 'dnc_word_size', 'dnc_num_reads', 'batch_size',
           'sequence_length')
  return {name: getattr(agent_config, name) for name in names}


def run(arena_id: str, arena_kwargs: Dict, agent_config: config_lib.FtwConfig,
        program_config: config_lib.ProgramConfig, final_eval_matches: int,
        launch_type: str, loopback_only: bool, docker_requirements: str = '',
        learner_accelerator: str = '', dry_run: bool = False) -> Dict:
  """Launches the population program, then evaluates the final checkpoints and summarises.

  With `launch_type='vertex_ai'` the program is submitted to the cluster instead (None). With
  `dry_run` it only prints the program's node groups and what each node asks for (None).
  """
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
  # Everything that can refuse the command comes before the run directory is written, so that
  # a refused command leaves nothing behind (and local_mt's restart with the loopback shim
  # does not see its own run config as a run to resume).
  if dry_run:
    program = ftw_builder.make_program(agent_config,
                                       environments.make_factory(arena_id, **arena_kwargs),
                                       team_size, program_config)
    resources = (launching.vertex_ai_descriptions(program, docker_requirements,
                                                  learner_accelerator)
                 if launch_type == launching.VERTEX_AI else None)
    print(launching.describe_program(program, launch_type, resources), flush=True)
    return None
  if launch_type == launching.VERTEX_AI:
    launching.check_vertex_ai_installed()
  else:
    launching.prepare_launcher(launch_type, loopback_only)
  try:
    run_dir_lib.check_usable(run_dir)
    resumed = run_dir_lib.write_or_check(run_dir, run_config, RESUME_KEYS)
  except ValueError as error:
    cli.exit_with_usage_error(str(error))
  if launch_type == launching.VERTEX_AI:
    return launch_on_vertex_ai(arena_id, arena_kwargs, agent_config, program_config,
                               docker_requirements, learner_accelerator)
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
  except launching.ProgramInterrupted as error:
    print(evaluation.format_summary(run_dir), flush=True)
    launching.exit_interrupted(error, run_dir, 'the final evaluation',
                               'the same command again: it resumes the run, then evaluates')
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


def launch_on_vertex_ai(arena_id: str, arena_kwargs: Dict,
                        agent_config: config_lib.FtwConfig,
                        program_config: config_lib.ProgramConfig, docker_requirements: str,
                        learner_accelerator: str = ''):
  """Submits the same program to Vertex AI (needs xmanager, Docker and a Google Cloud project).

  The run directory must be a path every node can write (a shared mount); the final evaluation
  of the checkpoints is then run with `launch.ftw_local` on that directory once the job ends.
  """
  # pylint: disable=g-import-not-at-top
  from agents.core import launching
  from agents.ftw import builder as ftw_builder
  # pylint: enable=g-import-not-at-top
  program = ftw_builder.make_program(
      agent_config, environments.make_factory(arena_id, **arena_kwargs),
      ctf.ARENA_TEAM_SIZES[arena_id], program_config)
  launching.submit_to_vertex_ai(program, docker_requirements, learner_accelerator)
  print(f'submitted to Vertex AI; the population writes to {program_config.run_dir}',
        flush=True)
  return None
