"""The population controller of PBT: Elo fitness, matchmaking, readiness, exploit and explore.

Runs as a Launchpad node beside the members' learners (spec 6.4-6.6). Arenas ask it for matches
(`get_match`) and report their outcomes (`report`), which update the training Elo ratings. Its
`run` loop checks every member: once a member has trained `ready_steps` learner steps since its
last check, a random other member is drawn, and if that one beats it with probability at least
`exploit_threshold` the weak member copies the strong one's weights (optimizer slots included),
hyperparameters, internal rewards, learner step and rating (exploit), then perturbs its own copies
(explore). The strong member is never modified. Every decision is logged and kept in the state.
It also keeps each member's latest measured score against the scripted bots (`report_bot_scores`)
and draws the bot opponents of training matches from them (`choose_bot`).

Members are anything with the learner's PBT interface (`get_step`, `set_step`, `get_weights`,
`set_weights`, `get_hypers`, `set_hypers`, `get_rewards`, `set_rewards`, `perturb`): courier
clients of learner nodes in a program, or the learners themselves in one process.
"""

import dataclasses
import json
import os
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

from absl import logging
import numpy as np

from agents.core import cli
from hyperparameters import elo
from hyperparameters import matchmaking


@dataclasses.dataclass
class PbtConfig:
  """Constants of the outer loop (spec 6.1-6.4; the paper's values are unknown, section 9)."""
  ready_steps: int = 1000  # Learner steps between two evolution checks of a member.
  exploit_threshold: float = 0.7  # Exploit iff P(candidate beats member) >= this.
  elo_k: float = 16.0
  team_aggregate: str = 'sum'
  matchmaking_sd: float = matchmaking.DEFAULT_SD
  inherit_elo: bool = True  # The child takes its parent's rating.
  check_period_s: float = 2.0  # How often the controller looks for ready members.

  def validate(self):
    """Raises ValueError naming the first impossible (or non-finite) field."""
    cli.check_number('ready_steps', self.ready_steps, 1, integer=True)
    cli.check_number('exploit_threshold', self.exploit_threshold, 0.5, 1.0)
    cli.check_number('elo_k', self.elo_k, 0.0, min_inclusive=False)
    cli.check_number('matchmaking_sd', self.matchmaking_sd, 0.0, min_inclusive=False)
    cli.check_number('check_period_s', self.check_period_s, 0.0, min_inclusive=False)
    if self.team_aggregate not in elo.TEAM_AGGREGATES:
      raise ValueError(f'team_aggregate must be one of {elo.TEAM_AGGREGATES}, got '
                       f'{self.team_aggregate!r}')


def _to_jsonable(value):
  if isinstance(value, dict):
    return {k: _to_jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_to_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


class PopulationController:
  """Training Elo, matchmaking and PBT evolution over `len(members)` members.

  `stop_condition(controller) -> Optional[str]`, checked in `run`, ends the loop (and the program,
  through `on_stop`) with the reason it returns. State is written as JSON to `state_path` (if
  given) every `save_period_s` and at the end, and restored from it at construction, so a resumed
  run keeps its ratings and history. Evolution events are appended to `events_path` as JSON lines.
  """

  def __init__(self, members: Sequence, team_size: int, config: PbtConfig, seed: int = 0,
               state_path: Optional[str] = None, events_path: Optional[str] = None,
               stop_condition: Optional[Callable[['PopulationController'], Optional[str]]] = None,
               on_stop: Optional[Callable[[], None]] = None,
               logger=None, save_period_s: float = 10.0, print_period_s: float = 30.0):
    config.validate()
    if len(members) < 2:
      raise ValueError(f'a population needs at least 2 members, got {len(members)}')
    self._members = list(members)
    self._team_size = team_size
    self._config = config
    self._rng = np.random.default_rng(seed)
    self._lock = threading.Lock()
    self._state_path = state_path
    self._events_path = events_path
    self._stop_condition = stop_condition
    self._on_stop = on_stop
    self._logger = logger
    self._save_period_s = save_period_s
    self._print_period_s = print_period_s
    n = len(self._members)
    self.ratings = np.full(n, elo.INITIAL_RATING)
    self.matches = np.zeros(n, np.int64)  # Seats played per member.
    self.last_check_step = np.zeros(n, np.int64)
    self.total_matches = 0
    self.other_matches = 0  # Matches that rated nobody (against bots).
    self.total_steps = 0  # Environment steps of every reported match.
    self.elapsed_s = 0.0  # Wall time of earlier runs of this population (resume).
    self.history: List[Dict] = []  # Periodic snapshots of the ratings.
    # Member -> {bot: expected score (wins + draws / 2) in the latest evaluation}.
    self.bot_scores: Dict[int, Dict[str, float]] = {}
    self.events: List[Dict] = []  # Every evolution decision.
    self._started = time.time()
    if state_path and os.path.exists(state_path):
      with open(state_path) as f:
        self.restore(json.load(f))

  # ------------------------------------------------------------------------------------------
  # Matches (called by arenas from courier threads).

  def get_match(self) -> List[int]:
    """Member indices for the seats of one match; the first half is team 1."""
    with self._lock:
      return matchmaking.sample_match(self.ratings, self._team_size, self._rng,
                                      self._config.matchmaking_sd)

  def report(self, players: Sequence[int], outcome: float, steps: int = 0) -> None:
    """Records one finished match: outcome 0 team 1 won, 0.5 draw, 1 team 2 won."""
    with self._lock:
      self.ratings = elo.update(self.ratings, list(players), float(outcome), self._config.elo_k,
                                self._config.team_aggregate)
      np.add.at(self.matches, list(players), 1)
      self.total_matches += 1
      self.total_steps += int(steps)

  def report_steps(self, steps: int) -> None:
    """Counts a training match that does not rate members (for example, against bots)."""
    with self._lock:
      self.total_steps += int(steps)
      self.other_matches += 1

  def report_bot_scores(self, scores: Dict) -> None:
    """Records {member: {bot: expected score}} measured by an evaluation."""
    with self._lock:
      for member, per_bot in scores.items():
        self.bot_scores[int(member)] = {bot: float(s) for bot, s in per_bot.items()}

  def choose_bot(self, members: Sequence[int], bots: Sequence[str]) -> str:
    """The bot opponent of a training match of `members`: an even game is the most likely.

    A team's expected score is its members' mean; a bot not yet measured counts as even (0.5).
    """
    with self._lock:
      scores = {bot: float(np.mean([self.bot_scores.get(int(m), {}).get(bot, 0.5)
                                    for m in members])) for bot in bots}
      return matchmaking.sample_bot(scores, self._rng, self._config.matchmaking_sd)

  def get_ratings(self) -> List[float]:
    with self._lock:
      return self.ratings.tolist()

  def get_summary(self) -> Dict:
    """Ratings, counts and the latest evolution decisions, as plain values (for RPC and JSON)."""
    with self._lock:
      return _to_jsonable({
          'ratings': self.ratings, 'matches': self.matches, 'total_matches': self.total_matches,
          'other_matches': self.other_matches, 'total_steps': self.total_steps,
          'elapsed_s': self.elapsed_s + self.run_time_s(),
          'exploits': sum(e['decision'] == 'exploit' for e in self.events),
          'checks': len(self.events)})

  def run_time_s(self) -> float:
    return time.time() - self._started

  # ------------------------------------------------------------------------------------------
  # Evolution.

  def check_member(self, i: int) -> Optional[Dict]:
    """One readiness check of member i; exploits and explores if a drawn member is stronger."""
    step = int(self._members[i].get_step())
    if step - self.last_check_step[i] < self._config.ready_steps:
      return None
    others = [m for m in range(len(self._members)) if m != i]
    j = int(self._rng.choice(others))
    with self._lock:
      p_j_wins = float(elo.win_probability(self.ratings[j], self.ratings[i]))
      ratings_before = (float(self.ratings[i]), float(self.ratings[j]))
    event = {'time': time.time(), 'total_steps': self.total_steps, 'member': i, 'candidate': j,
             'member_step': step, 'member_elo': ratings_before[0],
             'candidate_elo': ratings_before[1], 'p_candidate_wins': p_j_wins}
    if p_j_wins < self._config.exploit_threshold:
      event['decision'] = 'keep'
      self.last_check_step[i] = step
    else:
      event.update(self.exploit_and_explore(i, j))
      event['decision'] = 'exploit'
    self._record(event)
    return event

  def exploit_and_explore(self, i: int, j: int) -> Dict:
    """Member i copies member j (weights, hypers, internal rewards, step, rating), then perturbs."""
    parent, child = self._members[j], self._members[i]
    weights = parent.get_weights()
    hypers = parent.get_hypers()
    rewards = parent.get_rewards()
    step = int(parent.get_step())
    child.set_weights(weights)
    child.set_hypers(hypers)
    child.set_rewards(rewards)
    child.set_step(step)
    explored = child.perturb()
    with self._lock:
      if self._config.inherit_elo:
        self.ratings[i] = self.ratings[j]
      if j in self.bot_scores:  # Until its next evaluation the child plays as its parent.
        self.bot_scores[i] = dict(self.bot_scores[j])
    self.last_check_step[i] = step
    return {'parent_hypers': _to_jsonable(hypers), 'parent_rewards': _to_jsonable(rewards),
            'child_hypers': _to_jsonable(explored['hypers']),
            'child_rewards': _to_jsonable(explored['rewards']), 'new_step': step}

  def evolve(self, stop_requested: Callable[[], bool] = lambda: False) -> List[Dict]:
    """Checks every member once (in random order); returns the decisions taken. A check whose
    calls the program's stop cut short ends the round quietly: nothing failed."""
    decisions = []
    for i in self._rng.permutation(len(self._members)):
      try:
        decision = self.check_member(int(i))
      except Exception as error:  # pylint: disable=broad-except
        if stop_requested():
          break
        logging.warning('evolution check of member %d failed: %s', i, error)
        continue
      if decision:
        decisions.append(decision)
    return decisions

  def _record(self, event: Dict):
    self.events.append(_to_jsonable(event))
    if event['decision'] == 'exploit':
      line = (f'[controller] exploit: member {event["member"]} (Elo '
              f'{event["member_elo"]:.0f}) <- member {event["candidate"]} (Elo '
              f'{event["candidate_elo"]:.0f}, P(win)={event["p_candidate_wins"]:.2f}); '
              f'explored hypers {_format_values(event["child_hypers"])}')
    else:
      line = (f'[controller] member {event["member"]} ready at step {event["member_step"]}: '
              f'kept (P(member {event["candidate"]} wins)={event["p_candidate_wins"]:.2f})')
    print(line, flush=True)
    if self._events_path:
      with open(self._events_path, 'a') as f:
        f.write(json.dumps(self.events[-1]) + '\n')

  # ------------------------------------------------------------------------------------------
  # State, logging and the node's main loop.

  def snapshot(self) -> Dict:
    with self._lock:
      entry = {'time': time.time(), 'elapsed_s': self.elapsed_s + self.run_time_s(),
               'total_steps': self.total_steps, 'total_matches': self.total_matches,
               'ratings': self.ratings.tolist()}
    self.history.append(entry)
    return entry

  def state(self) -> Dict:
    with self._lock:
      return _to_jsonable({
          'ratings': self.ratings, 'matches': self.matches,
          'last_check_step': self.last_check_step, 'total_matches': self.total_matches,
          'other_matches': self.other_matches, 'total_steps': self.total_steps,
          'elapsed_s': self.elapsed_s + self.run_time_s(),
          'history': self.history, 'events': self.events, 'bot_scores': self.bot_scores})

  def restore(self, state: Dict):
    n = len(self._members)
    if len(state['ratings']) != n:
      raise ValueError(f'the saved population has {len(state["ratings"])} members, not {n}')
    self.ratings = np.asarray(state['ratings'], np.float64)
    self.matches = np.asarray(state['matches'], np.int64)
    self.last_check_step = np.asarray(state['last_check_step'], np.int64)
    self.total_matches = int(state['total_matches'])
    self.other_matches = int(state.get('other_matches', 0))
    self.total_steps = int(state['total_steps'])
    self.elapsed_s = float(state.get('elapsed_s', 0.0))
    self.history = list(state.get('history', []))
    self.events = list(state.get('events', []))
    self.bot_scores = {int(m): dict(s) for m, s in state.get('bot_scores', {}).items()}

  def save(self):
    if not self._state_path:
      return
    temporary = self._state_path + '.tmp'
    with open(temporary, 'w') as f:
      json.dump(self.state(), f)
    os.replace(temporary, self._state_path)

  def format_table(self) -> str:
    with self._lock:
      cells = [f'm{i}={r:.0f}({n})' for i, (r, n) in enumerate(zip(self.ratings, self.matches))]
      return (f'[controller] {self.total_matches} matches, {self.total_steps} env steps; '
              f'Elo(seats): {" ".join(cells)}')

  def _log(self, entry: Dict):
    if self._logger is not None:
      data = {f'elo_member_{i}': r for i, r in enumerate(entry['ratings'])}
      data.update(total_steps=entry['total_steps'], total_matches=entry['total_matches'])
      self._logger.write(data)

  def run(self, stop_requested: Callable[[], bool] = lambda: False,
          wait: Callable[[float], bool] = None):
    """Evolves, snapshots and saves until `stop_condition` fires or the program stops."""
    wait = wait or (lambda s: time.sleep(s) or False)
    last_save = last_print = 0.0
    reason = None
    while not stop_requested():
      self.evolve(stop_requested)
      now = time.time()
      if now - last_save >= self._save_period_s:
        self._log(self.snapshot())
        self.save()
        last_save = now
      if now - last_print >= self._print_period_s:
        print(self.format_table(), flush=True)
        last_print = now
      reason = self._stop_condition(self) if self._stop_condition else None
      if reason or wait(self._config.check_period_s):
        break
    self._log(self.snapshot())
    self.save()
    print(self.format_table(), flush=True)
    if reason:
      print(f'[controller] stopping: {reason}', flush=True)
      if self._on_stop:
        self._on_stop()


def _format_values(values: Dict) -> str:
  return '{' + ', '.join(f'{k}={v:.3g}' for k, v in values.items()) + '}'
