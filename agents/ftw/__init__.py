"""FTW (Jaderberg et al. 2019): RPTH + DNC agents, auxiliary tasks, internal rewards and PBT.

The public names of the original `ftw` package (spec 2): the single-process agent `FTW`, the
learner `FtwLearner`, the actor `FtwActor` and the helpers of `ftw.agents.tf.ftw.utils`. The
population program is `agents.ftw.distributed`; its entry point `launch/ftw_local.py`.
"""

from agents.ftw.acting import FtwActor
from agents.ftw.agent import FTW
from agents.ftw.agent import FTWWithoutActor
from agents.ftw.config import FtwConfig
from agents.ftw.learning import FtwLearner
from agents.ftw.utils import create_adders
from agents.ftw.utils import create_datasets
from agents.ftw.utils import create_reverb_tables
from agents.ftw.utils import initialize_hypers
from agents.ftw.utils import initialize_internal_rewards
