r"""Trains an FTW population on capture the flag on one machine, then summarises it.

  python -m launch.ftw_local                            # the defaults: 2 members, 1v1, 2 arenas
  python -m launch.ftw_local -p 6 --arena=ctf_2v2 --num_arenas=3 -l runs/ftw_2v2

A Launchpad program (one Reverb server with every member's queue and replays, a learner per
member, K arenas playing matches chosen by Elo matchmaking, a PBT controller and an evaluator
against scripted bots) runs until --num_steps environment steps or --max_minutes, checkpointing
every member into --logdir; the same command again resumes it. Then every member's checkpoint
plays --final_eval_matches matches against each bot, and the Elo table, win rates and evolved
hyperparameters are printed; curves go to <logdir>/elo.png.
"""

import os

# oneDNN kernels make the FTW learner 1.6x to 2x and the arenas' batched policy step about 1.2x
# faster on CPU (benchmarks/ftw_throughput.py); TensorFlow reads this once, at import, so it is
# set before any import below, and every node of the program inherits it.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app

from agents.core import cli
from agents.ftw import experiment
from launch import ftw_common

ftw_common.define_flags(logdir='runs/ftw_local', num_steps=450_000, max_minutes=11.0)
FLAGS = ftw_common.FLAGS


def main(argv):
  del argv
  arena_id, arena_kwargs, agent_config, program_config = ftw_common.configs_from_flags()
  experiment.run(arena_id, arena_kwargs, agent_config, program_config,
                 FLAGS.final_eval_matches, FLAGS.launch_type, FLAGS.loopback_only,
                 FLAGS.docker_requirements, FLAGS.learner_accelerator, FLAGS.dry_run)


if __name__ == '__main__':
  # What learns within the 11 minutes on 2 cores (README, "FTW"): two members (each learner gets
  # half the experience and CPU, not a quarter), eight matches per arena (one batched policy
  # call serves twice the seats: about twice the environment steps per second), and 20 final
  # matches per member and bot (the summary gives each win rate its Wilson interval).
  FLAGS.set_default('population_size', 2)
  FLAGS.set_default('matches_per_arena', 8)
  FLAGS.set_default('final_eval_matches', 20)
  app.run(main, flags_parser=cli.parse_flags)
