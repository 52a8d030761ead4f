r"""The FTW learning curve: a population trained long enough to beat the scripted bots.

  python -m launch.ftw_learning_curve          # 1.5M environment steps: about 1 h on 2 idle cores
  python -m launch.ftw_learning_curve --num_steps=3000000 -l runs/ftw_curve

The same program as launch/ftw_local.py with a larger budget, 2 members, rarer readiness checks
and longer gaps between evaluations (all flags are ftw_local's); running it again resumes it. At
the end it prints the population summary, the environment steps at which the evaluations first
showed a member winning at least 90% of its matches against the random bot and more than 50%
against the flag-rusher, and whether the final evaluation of the checkpoints clears both bars;
curves go to <logdir>/elo.png.
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

ftw_common.define_flags(logdir='runs/ftw_learning_curve', num_steps=1_500_000, max_minutes=0.0)
FLAGS = ftw_common.FLAGS


def main(argv):
  del argv
  arena_id, arena_kwargs, agent_config, program_config = ftw_common.configs_from_flags()
  final = experiment.run(arena_id, arena_kwargs, agent_config, program_config,
                         FLAGS.final_eval_matches, FLAGS.launch_type, FLAGS.loopback_only,
                         FLAGS.docker_requirements, FLAGS.learner_accelerator, FLAGS.dry_run)
  if final is None:  # Submitted to a cluster or a dry run: nothing to summarise here.
    return
  from agents.ftw import evaluation  # pylint: disable=g-import-not-at-top
  reports = evaluation.read_jsonl(os.path.join(FLAGS.logdir, 'evaluation.jsonl'))
  crossings = evaluation.first_crossings(reports + [final])
  for bot, bar in evaluation.LEARNING_BARS.items():
    best = max(r[bot]['win'] for r in final['members'].values()) if bot in next(
        iter(final['members'].values())) else float('nan')
    where = (f'first cleared at {crossings[bot]} environment steps' if bot in crossings
             else 'not cleared during training')
    cleared = 'cleared' if evaluation.clears_bar(best, bot) else 'NOT cleared'
    print(f'win rate against {bot}: best member {best:.0%} in the final evaluation '
          f'(bar {"at least" if bot == "random" else "above"} {bar:.0%}: {cleared}); {where}',
          flush=True)


if __name__ == '__main__':
  FLAGS.set_default('population_size', 2)  # Each member gets half the experience, not a quarter.
  FLAGS.set_default('eval_period_s', 600.0)
  FLAGS.set_default('eval_matches', 10)
  FLAGS.set_default('final_eval_matches', 30)
  FLAGS.set_default('ready_steps', 300)
  app.run(main, flags_parser=cli.parse_flags)
