"""Members against scripted bots: win rates, evaluation Elo, the population summary and its plot.

Training Elo only ranks members against each other (it sums to a constant), so it cannot show
the population improving; evaluation Elo can: ratings fitted to matches against fixed bots, with
the random bot held at 1000 (spec 6.2).
"""

import glob
import json
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from agents.core import distributed as core_distributed
from agents.core import rpc
from agents.ftw import arena as arena_lib
from agents.ftw import config as config_lib
from environments.ctf import bots as bots_lib
from environments.ctf import environment as ctf_environment
from hyperparameters import elo

ANCHOR = 'random'
EVALUATION_STREAM = 3_000_000  # Seed key of the evaluator's matches.
ANCHOR_RATING = 1000.0
def member_name(member: int) -> str:
  return f'member_{member}'


class BotEvaluator:
  """Plays each member against each bot `matches` times, all matches in one lockstep batch.

  A member fills every seat of one team (both sides in turn), bots the other. The same seeds are
  used at every round, so successive rounds play the same maps and differ only by the members.
  """

  def __init__(self, arena_factory, agent_config: config_lib.FtwConfig, sources=None,
               bots: Sequence[str] = ('random', 'rusher'), matches: int = 8, seed: int = 0,
               policies: Optional[arena_lib.MemberPolicies] = None):
    for bot in bots:
      bots_lib.make_bot(bot)  # Raises for an unknown bot name.
    self._arena_factory = arena_factory
    self._bots = tuple(bots)
    self._matches = matches
    self._seed = seed
    probe = arena_factory(0)
    self._team_size = probe.team_size
    self._episode_length = probe.episode_length
    self.steps_played = 0  # Environment steps of every match played so far.
    self._policies = policies or arena_lib.MemberPolicies(
        arena_lib.seat_environment_spec(probe), agent_config, sources, seed=seed)
    self._bot_baseline = None

  def _lineup(self, player, bot: str, k: int, seed: int):
    team = [player] * self._team_size
    opponents = [bots_lib.make_bot(bot, core_distributed.derive_seed(seed, s))
                 for s in range(self._team_size)]
    member_side = k % 2
    return (team + opponents) if member_side == 0 else (opponents + team), member_side

  def _play(self, entries):
    """entries: (label, player, bot, k) -> [(label, bot, score of player, captures for/against)]."""
    environments, lineups, sides = [], [], []
    for i, (_, player, bot, k) in enumerate(entries):
      seed = core_distributed.derive_seed(self._seed, i)
      environments.append(self._arena_factory(seed))
      lineup, side = self._lineup(player, bot, k, seed)
      lineups.append(lineup)
      sides.append(side)
    results = arena_lib.play_matches(environments, lineups, self._policies,
                                     update_weights=False)
    if results is None:
      return None
    self.steps_played += sum(result.steps for result in results)
    scored = []
    for (label, _, bot, _), side, result in zip(entries, sides, results):
      seat = side * self._team_size
      score = ctf_environment.seat_won(result.outcome, seat, self._team_size)
      scored.append((label, bot, score, result.scores[side], result.scores[1 - side]))
    return scored

  def bot_baseline(self):
    """Every other bot against the anchor bot (played once): it places the bots on the scale."""
    if self._bot_baseline is None:
      entries = [(bot, bots_lib.make_bot(bot, k), ANCHOR, k)
                 for bot in self._bots if bot != ANCHOR for k in range(self._matches)]
      self._bot_baseline = self._play(entries) if entries else []
    return self._bot_baseline

  def round_steps(self, num_members: int) -> int:
    """Environment steps of the next evaluation of `num_members` members (matches last their
    full length), with the bots' baseline if it is still to be played."""
    matches = num_members * len(self._bots) * self._matches
    if self._bot_baseline is None:
      matches += (len(self._bots) - (ANCHOR in self._bots)) * self._matches
    return matches * self._episode_length

  def evaluate(self, members: Sequence[int]) -> Optional[Dict]:
    """Win/draw/loss rates and captures of each member against each bot, and evaluation Elo."""
    baseline = self.bot_baseline()
    if baseline is None:
      return None
    for member in members:
      self._policies.refresh(member)
    entries = [(member_name(m), m, bot, k) for m in members for bot in self._bots
               for k in range(self._matches)]
    scored = self._play(entries)
    if scored is None:
      return None
    report = {'members': {}, 'matches_per_bot': self._matches}
    for m in members:
      per_bot = {}
      for bot in self._bots:
        rows = [s for s in scored if s[0] == member_name(m) and s[1] == bot]
        scores = np.array([r[2] for r in rows])
        per_bot[bot] = {'win': float(np.mean(scores == 1.0)),
                        'draw': float(np.mean(scores == 0.5)),
                        'loss': float(np.mean(scores == 0.0)),
                        'captures': float(np.mean([r[3] for r in rows])),
                        'conceded': float(np.mean([r[4] for r in rows]))}
      report['members'][str(m)] = per_bot
    results = [(label, bot, score) for label, bot, score, _, _ in scored + baseline]
    report['eval_elo'] = elo.fit_ratings(results, {ANCHOR: ANCHOR_RATING})
    return report


def expected_scores(report: Dict) -> Dict[str, Dict[str, float]]:
  """{member: {bot: wins + draws / 2}} of an evaluation report (what bot matchmaking uses)."""
  return {member: {bot: rates['win'] + 0.5 * rates['draw'] for bot, rates in per_bot.items()}
          for member, per_bot in report['members'].items()}


def flat_metrics(report: Dict) -> Dict[str, float]:
  """A report as TensorBoard scalars."""
  data = {}
  for member, per_bot in report['members'].items():
    for bot, rates in per_bot.items():
      data[f'member_{member}_win_rate_vs_{bot}'] = rates['win']
    data[f'member_{member}_eval_elo'] = report['eval_elo'][member_name(int(member))]
  for bot in report['members'][next(iter(report['members']))]:
    data[f'best_win_rate_vs_{bot}'] = max(r[bot]['win'] for r in report['members'].values())
  if report.get('total_steps') is not None:
    data['total_steps'] = report['total_steps']
  return data


def restore_policies(run_dir: str, arena_factory, agent_config: config_lib.FtwConfig,
                     population_size: int) -> arena_lib.MemberPolicies:
  """Member policy networks with the weights of their latest checkpoints in `run_dir`."""
  policies = arena_lib.MemberPolicies(arena_lib.seat_environment_spec(arena_factory(0)),
                                      agent_config)
  for member in range(population_size):
    directory = os.path.join(run_dir, 'checkpoints', f'member_{member}')
    path = tf.train.latest_checkpoint(directory)
    if path is None:
      raise FileNotFoundError(f'no checkpoint of member {member} in {directory}')
    tf.train.Checkpoint(policy_network=policies.network(member)).restore(path).expect_partial()
  return policies


# ----------------------------------------------------------------------------------------------
# The population summary and its plot, from the files the program writes.

def read_jsonl(path: str) -> List[Dict]:
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def read_json(path: str) -> Optional[Dict]:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def member_summaries(run_dir: str) -> Dict[int, Dict]:
  summaries = {}
  for path in glob.glob(os.path.join(run_dir, 'members', 'member_*.json')):
    data = read_json(path)
    summaries[int(data['member'])] = data
  return summaries


def wilson_interval(wins: int, matches: int, confidence: float = 0.95) -> Tuple[float, float]:
  """The Wilson score interval of a win rate of `wins` in `matches` (scipy's)."""
  from scipy import stats  # pylint: disable=g-import-not-at-top
  interval = stats.binomtest(wins, matches).proportion_ci(confidence, method='wilson')
  return float(interval.low), float(interval.high)


def evaluation_share(run_dir: str) -> Optional[Tuple[int, int, float]]:
  """(rounds, environment steps, share of the training steps) of the periodic evaluations."""
  evaluations = read_jsonl(os.path.join(run_dir, 'evaluation.jsonl'))
  total_steps = (read_json(os.path.join(run_dir, 'population.json')) or {}).get('total_steps')
  if not total_steps:
    return None
  steps = sum(e.get('steps', 0) for e in evaluations)
  return len(evaluations), steps, steps / total_steps


def format_summary(run_dir: str, final: Optional[Dict] = None) -> str:
  """The population at a glance: Elo, learner steps, win rates against bots, hyperparameters."""
  state = read_json(os.path.join(run_dir, 'population.json')) or {}
  evaluations = read_jsonl(os.path.join(run_dir, 'evaluation.jsonl'))
  report = final or (evaluations[-1] if evaluations else None)
  members = member_summaries(run_dir)
  ratings = state.get('ratings', [])
  lines = [f'population summary ({run_dir}): {state.get("total_matches", 0)} training matches, '
           f'{state.get("total_steps", 0)} environment steps, '
           f'{sum(e["decision"] == "exploit" for e in state.get("events", []))} exploits in '
           f'{len(state.get("events", []))} readiness checks, '
           f'{state.get("elapsed_s", 0.0) / 60:.1f} min']
  share = evaluation_share(run_dir)
  if share:
    lines.append(f'periodic evaluation: {share[0]} rounds, {share[1]} environment steps, '
                 f'{share[2]:.1%} of the training steps')
  bots = list(next(iter(report['members'].values())).keys()) if report else []
  matches = report.get('matches_per_bot') if report else None
  header = f'  {"member":>6} {"train Elo":>9} {"eval Elo":>8} {"learner steps":>13} ' + ' '.join(
      f'{"win [95% CI] / draw vs " + b:>30}' for b in bots) + '  lr      entropy  period'
  lines.append(header)
  for m in sorted(set(range(len(ratings))) | set(members)):
    info = members.get(m, {})
    hypers = info.get('hypers', {})
    row = f'  {m:>6} {ratings[m] if m < len(ratings) else float("nan"):>9.0f} '
    if report:
      row += f'{report["eval_elo"].get(member_name(m), float("nan")):>8.0f} '
    else:
      row += f'{"-":>8} '
    row += f'{info.get("learner_steps", 0):>13} '
    for bot in bots:
      rates = report['members'].get(str(m), {}).get(bot, {})
      win = rates.get('win', float('nan'))
      interval = ''
      if matches and not np.isnan(win):
        low, high = wilson_interval(int(round(win * matches)), matches)
        interval = f'[{low:.0%}-{high:.0%}]'
      row += f'{win:>14.0%} {interval:>9} /{rates.get("draw", float("nan")):>5.0%} '
    row += (f' {hypers.get("learning_rate", float("nan")):.1e} '
            f'{hypers.get("entropy_cost", float("nan")):.1e} {hypers.get("period", "-")}')
    lines.append(row)
  if report:
    anchors = {k: v for k, v in report['eval_elo'].items() if not k.startswith('member_')}
    lines.append('  evaluation Elo of the bots: ' + ', '.join(
        f'{k} {v:.0f}' for k, v in sorted(anchors.items())) +
                 f' ({report.get("matches_per_bot", "?")} matches per member and bot)')
  return '\n'.join(lines)


def plot_progress(run_dir: str, path: str, final: Optional[Dict] = None) -> Optional[str]:
  """Evaluation Elo and win rates against the bots over training steps, and training Elo."""
  evaluations = read_jsonl(os.path.join(run_dir, 'evaluation.jsonl'))
  state = read_json(os.path.join(run_dir, 'population.json')) or {}
  history = state.get('history', [])
  if final is not None:
    evaluations = evaluations + [dict(final, total_steps=state.get('total_steps'))]
  evaluations = [e for e in evaluations if e.get('total_steps') is not None]
  if not evaluations and not history:
    return None
  from agents import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
  bots = list(next(iter(evaluations[-1]['members'].values())).keys()) if evaluations else []
  fig, axes = plt.subplots(1, 2 + len(bots), figsize=(5 * (2 + len(bots)), 4.2))
  steps = [e['total_steps'] for e in evaluations]
  members = sorted(evaluations[-1]['members'], key=int) if evaluations else []
  for m in members:
    axes[0].plot(steps, [e['eval_elo'].get(member_name(int(m)), np.nan) for e in evaluations],
                 marker='o', label=f'member {m}')
    for ax, bot in zip(axes[2:], bots):
      ax.plot(steps, [e['members'].get(m, {}).get(bot, {}).get('win', np.nan)
                      for e in evaluations], marker='o', label=f'member {m}')
  bot_names = sorted({k for e in evaluations for k in e['eval_elo'] if not k.startswith('member')})
  for name, style in zip(bot_names, ('--', ':', '-.', (0, (5, 5)))):
    axes[0].plot(steps, [e['eval_elo'].get(name, np.nan) for e in evaluations], color='k',
                 linestyle=style, linewidth=1, label=f'{name} bot')
  axes[0].set_title('evaluation Elo (random bot = 1000)')
  if history:
    hist_steps = [h['total_steps'] for h in history]
    ratings = np.array([h['ratings'] for h in history])
    for m in range(ratings.shape[1]):
      axes[1].plot(hist_steps, ratings[:, m], label=f'member {m}')
  axes[1].set_title('training Elo (within the population)')
  for ax, bot in zip(axes[2:], bots):
    ax.set_title(f'win rate against the {bot} bot')
    ax.set_ylim(-0.05, 1.05)
    if bot == 'random':
      ax.axhline(0.9, color='0.6', linestyle=':')
    else:
      ax.axhline(0.5, color='0.6', linestyle=':')
  for ax in axes:
    ax.set_xlabel('environment steps of training matches')
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


class BotEvaluatorWorker(core_distributed.EvaluatorWorker):
  """The evaluator node of the FTW program: every member against every bot, frozen weights.

  Each round goes to `evaluation.jsonl` (with the controller's training Elo) and TensorBoard,
  and the members' expected scores go to the controller, which draws training bots from them.
  """

  def __init__(self, context: core_distributed.ProgramContext, index: int,
               config: config_lib.ProgramConfig):
    del index  # One evaluator.
    logging.set_verbosity(logging.WARNING)
    super().__init__(context.config, context.counter, steps_key='total_steps')
    self._evaluator = BotEvaluator(
        context.environment_factory, context.builder.config,
        [rpc.ResilientVariableSource(context.variable_source(0, member))
         for member in range(config.population_size)],
        config.evaluation_bots, config.evaluation_matches,
        seed=core_distributed.derive_seed(config.seed, EVALUATION_STREAM))
    self._members = range(config.population_size)
    self._controller = rpc.stop_aware(context.controller)
    self._path = os.path.join(config.run_dir, 'evaluation.jsonl')

  def round_steps(self) -> float:
    return self._evaluator.round_steps(len(self._members))

  def evaluate(self) -> Optional[Dict[str, float]]:
    started = time.time()
    steps_before = self._evaluator.steps_played
    report = self._evaluator.evaluate(self._members)
    if report is None:
      return None
    report['steps'] = self._evaluator.steps_played - steps_before  # Baseline matches included.
    rpc.call_with_retries(
        lambda: self._counter.increment(**{core_distributed.EVALUATION_STEPS: report['steps']}),
        'counting the evaluation steps')
    try:
      self._controller.report_bot_scores(expected_scores(report))
      summary = self._controller.get_summary()
    except Exception as error:  # pylint: disable=broad-except
      logging.warning('evaluator: no controller summary: %s', error)
      summary = {}
    report.update(time=time.time(), duration_s=time.time() - started,
                  total_steps=summary.get('total_steps'),
                  total_matches=summary.get('total_matches'),
                  training_elo=summary.get('ratings'), elapsed_s=summary.get('elapsed_s'))
    with open(self._path, 'a') as f:
      f.write(json.dumps(report) + '\n')
    return flat_metrics(report)


# The bars of `launch.ftw_learning_curve`: at least 90% wins against random, above 50% against
# the rusher.
LEARNING_BARS = {'random': 0.9, 'rusher': 0.5}


def clears_bar(rate: float, bot: str) -> bool:
  """Whether a win rate against `bot` clears its learning bar."""
  return rate >= LEARNING_BARS[bot] if bot == 'random' else rate > LEARNING_BARS[bot]


def first_crossings(reports):
  """{bot: environment steps of the first evaluation where some member cleared the bar}."""
  crossings = {}
  for report in reports:
    for bot in LEARNING_BARS:
      rates = [r[bot]['win'] for r in report['members'].values() if bot in r]
      if bot not in crossings and rates and clears_bar(max(rates), bot):
        crossings[bot] = report.get('total_steps')
  return crossings
