"""The batched counterpart of `acme.EnvironmentLoop`, with progress logging and observers."""

import time
from typing import Callable, Dict, List, Optional, Sequence

from acme.utils import counting
from acme.utils import loggers
from acme.utils.observers import base as observers_base
import dm_env
import numpy as np

from agents.core import acting
from agents.core import stopping
from environments import batched

ObserverFactory = Callable[[], Sequence[observers_base.EnvLoopObserver]]


class BatchedEnvironmentLoop:
  """Steps a `BatchedEnvironment` with a `BatchedActor`, counts and logs what happened.

  Counts `steps` (environment transitions; the reset that follows a last step is not one) and
  `episodes`. Each write to the logger averages the episodes finished since the previous write:
  their return, length and whatever the per-environment observers report. `should_stop(counts)`
  ends `run` early, for example once the counts shared by all actors reach a budget.
  """

  def __init__(self, environment: batched.BatchedEnvironment, actor: acting.BatchedActor,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None, should_update: bool = True,
               observer_factory: Optional[ObserverFactory] = None,
               log_period_s: float = 10.0,
               should_stop: Optional[Callable[[Dict], bool]] = None):
    self._environment = environment
    self._actor = actor
    self._counter = counter or counting.Counter()
    self._logger = logger or loggers.NoOpLogger()
    self._should_update = should_update
    size = environment.batch_size
    self._observers = [list(observer_factory()) if observer_factory else []
                       for _ in range(size)]
    self._log_period_s = log_period_s
    self._should_stop = should_stop or (lambda counts: False)
    self._episode_return = np.zeros(size)
    self._episode_length = np.zeros(size, dtype=np.int64)
    self._finished: List[Dict[str, float]] = []
    self._timestep = None

  def _observe_first(self, index: int, timestep: dm_env.TimeStep):
    self._episode_return[index] = 0.0
    self._episode_length[index] = 0
    env = self._environment.environments[index]
    for observer in self._observers[index]:
      observer.observe_first(env, timestep)

  def _row(self, timesteps: dm_env.TimeStep, index: int) -> dm_env.TimeStep:
    return batched.unstack_timestep(timesteps, index)

  def run(self, num_steps: Optional[int] = None, num_episodes: Optional[int] = None) -> Dict:
    """Runs until `num_steps` transitions or `num_episodes` episodes (both None: until stopped).

    Returns the averages over every episode finished during this call, plus the counts.
    """
    all_finished: List[Dict[str, float]] = []
    steps = episodes = 0
    start = last_log = time.time()
    steps_at_last_log = 0
    if self._timestep is None:
      self._timestep = self._environment.reset()
      self._actor.observe_first(self._timestep)
      for i in range(self._environment.batch_size):
        self._observe_first(i, self._row(self._timestep, i))
    while ((num_steps is None or steps < num_steps) and
           (num_episodes is None or episodes < num_episodes) and
           not stopping.stop_requested()):
      actions = self._actor.select_actions(self._timestep.observation)
      timestep = self._environment.step(actions)
      self._actor.observe(actions, timestep)
      if self._should_update:
        self._actor.update()
      new_steps = new_episodes = 0
      for i in range(self._environment.batch_size):
        row = self._row(timestep, i)
        if row.first():
          self._observe_first(i, row)
          continue
        new_steps += 1
        self._episode_return[i] += row.reward
        self._episode_length[i] += 1
        env = self._environment.environments[i]
        for observer in self._observers[i]:
          observer.observe(env, row, actions[i])
        if row.last():
          episode = {'episode_return': float(self._episode_return[i]),
                     'episode_length': float(self._episode_length[i])}
          for observer in self._observers[i]:
            episode.update(observer.get_metrics())
          self._finished.append(episode)
          all_finished.append(episode)
          new_episodes += 1
      self._timestep = timestep
      steps += new_steps
      episodes += new_episodes
      counts = self._counter.increment(steps=new_steps, episodes=new_episodes)
      if self._should_stop(counts):
        break
      now = time.time()
      if now - last_log >= self._log_period_s:
        self._write_log(counts, (steps - steps_at_last_log) / (now - last_log))
        last_log, steps_at_last_log = now, steps
    result = _average(all_finished)
    result.update(self._counter.get_counts())
    result['steps_per_second'] = steps / max(time.time() - start, 1e-9)
    return result

  def _write_log(self, counts: Dict, steps_per_second: float):
    data = dict(counts)
    data['steps_per_second'] = steps_per_second
    data.update(_average(self._finished))
    self._finished = []
    self._logger.write(data)


def _average(episodes: Sequence[Dict[str, float]]) -> Dict[str, float]:
  if not episodes:
    return {}
  keys = episodes[0].keys()
  return {key: float(np.mean([e[key] for e in episodes])) for key in keys}
