"""The PBT controller node of the FTW program: Elo, matchmaking, readiness, exploit/explore.

`hyperparameters.population.PopulationController` over the program's learner nodes, whose PBT
methods run in each learner's own thread (`agents.core.rpc.LearnerCalls`). It writes
`population.json` and `evolution.jsonl` in the run directory; the core's coordinator ends the
program at the step budget.
"""

import os

from absl import logging

from agents.core import distributed as core_distributed
from agents.core import logging_utils
from agents.core import rpc
from agents.core import stopping
from agents.ftw import config as config_lib
from hyperparameters import population

CONTROLLER_STREAM = 99  # Seed key of the controller's draws.


class PbtController(population.PopulationController):
  """The population's controller as a program node (arenas and the evaluator call it)."""

  def __init__(self, context: core_distributed.ProgramContext, index: int, team_size: int,
               config: config_lib.ProgramConfig):
    del index  # One controller.
    logging.set_verbosity(logging.WARNING)
    super().__init__(
        [rpc.LearnerCalls(learner) for learner in context.learners], team_size, config.pbt,
        seed=core_distributed.derive_seed(config.seed, CONTROLLER_STREAM),
        state_path=os.path.join(config.run_dir, 'population.json'),
        events_path=os.path.join(config.run_dir, 'evolution.jsonl'),
        logger=logging_utils.make_logger('controller', config.run_dir, print_period_s=1e9,
                                         steps_key='total_steps', print_to_console=False),
        print_period_s=config.log_period_s * 2)

  def run(self):  # pylint: disable=arguments-differ
    try:
      super().run(stop_requested=stopping.stop_requested, wait=stopping.wait_for_stop)
    except rpc.ProgramStopping:
      pass  # A call to a learner was cut short by the stop.
