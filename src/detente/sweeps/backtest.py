"""The backtest: does the model retrodict what happened to past agreements?

For each case of the library (a scenario with an ``outcome:`` block, see
:mod:`detente.core.outcome`) the backtest confronts the model's prediction with the record:

- **at the best values** of the parameters: whether the agreed schedule is self-enforcing
  (:func:`detente.analysis.enforcement.check`); the first party and step where deviating pays
  and when; whether the simulation with every party playing ``reciprocal`` under the case's
  verification and environment completes the schedule;
- **across the plausible parameter space**: the share of points, sampled over every ranged
  parameter (:mod:`detente.sweeps.sampling`), at which the prediction matches the record on
  completion and on the first breacher, with its Wilson interval.

The prediction, precisely (the rules are fixed here, before any case is scored):

- the *first breach* is the earliest period with a violated constraint (a participation value
  below zero counts as period 0); between parties at that period, the one with the smallest
  slack. Its *step* is the deviator's step it saves: of its steps due at the first period at or
  after the breach, the one that costs it most to perform (own flow over the rest of the
  schedule plus once); when it has none left, the fragile concession it undoes that costs it
  most to keep. Without a violated constraint there is no predicted breach;
- the agreement is predicted to *complete* when it is self-enforcing and the simulation
  completes it in at least half of its episodes;
- the *match* compares completion, the first breacher (both none counts as a match), the kind
  of the breached step, and the timing: the predicted and recorded breach periods within
  ``window`` months of each other (both none counts as a match).

Outcomes are read here and nowhere else: no analysis sees them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..analysis.enforcement import TOLERANCE, EnforcementReport, check
from ..core.errors import UsageError
from ..core.expr import Expr
from ..core.outcome import Outcome
from ..core.results import pandas, report_html
from ..core.scenario import Scenario
from ..simulation.simulate import simulate
from .sampling import ParameterSpace, sample

__all__ = [
    "DEFAULT_WINDOW",
    "BacktestResult",
    "Breach",
    "CaseResult",
    "Prediction",
    "backtest",
    "backtest_case",
    "predict",
    "recorded",
    "wilson",
]

#: Predicted and recorded breach months within this many months of each other match.
DEFAULT_WINDOW = 12
#: Episodes of the reciprocal simulation at the best values and at each sample point.
BEST_EPISODES = 200
SAMPLE_EPISODES = 64
#: Months the simulation runs past the last scheduled step.
TAIL = 24


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion (well behaved at 0 and 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    if successes <= 0 or successes >= n:  # exact at the edges (no rounding past the share)
        lo, hi = _wilson_bounds(p, n, z)
        return (0.0, hi) if successes <= 0 else (lo, 1.0)
    return _wilson_bounds(p, n, z)


def _wilson_bounds(p: float, n: int, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Breach:
    """A first breach: who, in which month, at which step (a concession id) of which kind."""

    party: str
    period: int
    step: str
    kind: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "period": self.period, "step": self.step, "kind": self.kind}


@dataclass(frozen=True)
class Prediction:
    """The model's prediction for one case at one parameter point."""

    self_enforcing: bool
    completed: bool
    first_breach: Breach | None
    simulated_completion: float | None  # share of reciprocal episodes that complete (None: not run)
    plan: str | None = None  # the deviation plan of the first breach ("participation" at period 0)
    #: At best values, for a case that records the parties' demands (``demands:``): the agreement
    #: zone under them, ``{"empty", "conflict": [demand ids], "drop": [...], "text"}``.
    zone: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "self_enforcing": self.self_enforcing,
            "completed": self.completed,
            "first_breach": self.first_breach.to_dict() if self.first_breach else None,
            "simulated_completion": self.simulated_completion,
            "plan": self.plan,
        }
        if self.zone is not None:
            out["zone"] = dict(self.zone)
        return out


@dataclass(frozen=True)
class CaseResult:
    """The backtest of one case."""

    case: str
    title: str
    outcome: Outcome
    recorded: Breach | None
    predicted: Prediction
    match: dict[str, bool]
    share: float | None
    share_ci: tuple[float, float] | None
    samples: int

    @property
    def matched(self) -> bool:
        """Whether the prediction at the best values matches on every count."""
        return all(self.match.values())

    def to_dict(self) -> dict[str, Any]:
        out = self.outcome
        return {
            "case": self.case,
            "title": self.title,
            "outcome": {
                "completed": out.completed,
                "first_breach": self.recorded.to_dict() if self.recorded else None,
                "signed": out.signed.isoformat() if out.signed else None,
                "start": out.start.isoformat(),
                "exit": (
                    {"party": out.exit.party, "period": out.period(out.exit.date), "date": out.exit.date.isoformat()}
                    if out.exit
                    else None
                ),
                "summary": out.summary,
            },
            "predicted": self.predicted.to_dict(),
            "match": dict(self.match),
            "matched": self.matched,
            "share": self.share,
            "share_ci": list(self.share_ci) if self.share_ci else None,
            "samples": self.samples,
        }


@dataclass(frozen=True)
class BacktestResult:
    """The backtest of several cases, with a summary."""

    cases: tuple[CaseResult, ...]
    window: int
    samples: int
    seed: int
    seconds: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def missed(self) -> list[str]:
        return [c.case for c in self.cases if not c.matched]

    def summary(self) -> dict[str, Any]:
        shares = [c.share for c in self.cases if c.share is not None]
        counts = {key: sum(c.match[key] for c in self.cases) for key in ("completed", "party", "kind", "timing")}
        return {
            "cases": len(self.cases),
            "matches_at_best": sum(c.matched for c in self.cases),
            "matches": counts,
            "mean_share": float(np.mean(shares)) if shares else None,
            "missed": self.missed,
            "window": self.window,
            "samples": self.samples,
            "seed": self.seed,
        }

    def summary_line(self) -> str:
        s = self.summary()
        n = s["cases"]
        line = f"{s['matches_at_best']} of {n} cases match at the best values"
        if s["mean_share"] is not None:
            line += f"; mean share of the parameter space that predicts the record {s['mean_share']:.0%}"
        if s["missed"]:
            line += f"; the model gets wrong: {', '.join(s['missed'])}"
        return line + "."

    def to_frame(self) -> Any:
        """One row per case: ``case``, ``completed`` (the record), ``matched``, ``match.K`` for
        each count K (completed, party, kind, timing), ``share`` (of the parameter space that
        predicts the record), ``share_ci_low``, ``share_ci_high``, ``samples``."""
        rows = []
        for c in self.cases:
            row: dict[str, Any] = {"case": c.case, "completed": c.outcome.completed, "matched": c.matched}
            row.update({f"match.{k}": v for k, v in c.match.items()})
            low, high = c.share_ci if c.share_ci else (None, None)
            row.update({"share": c.share, "share_ci_low": low, "share_ci_high": high, "samples": c.samples})
            rows.append(row)
        return pandas().DataFrame(rows)

    def _repr_html_(self) -> str:
        return report_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": [c.to_dict() for c in self.cases],
            "summary": self.summary(),
            "provenance": dict(self.provenance),
        }


# --------------------------------------------------------------------------- prediction


def recorded(scn: Scenario) -> Breach | None:
    """The recorded first breach of a case, as a :class:`Breach` (None when there was none)."""
    out = _outcome(scn)
    fb = out.first_breach
    if fb is None:
        return None
    return Breach(fb.party, out.period(fb.date), fb.step, scn.concession(fb.step).kind)


def _outcome(scn: Scenario) -> Outcome:
    if scn.outcome is None:
        raise UsageError(f"scenario {scn.name!r} has no 'outcome:' block, so it cannot be backtested")
    return scn.outcome


def _schedule_name(scn: Scenario) -> str:
    out = _outcome(scn)
    return out.schedule if out.schedule is not None else scn.schedule_names[0]


def _plain(value: float | int | Expr) -> float:
    """A number of a resolved scenario (expressions are gone once resolved)."""
    if isinstance(value, Expr):  # pragma: no cover - resolve() leaves none
        raise TypeError(f"unresolved expression {value.source!r}")
    return float(value)


def _own_cost(resolved: Scenario, cid: str, party: str, discount: float) -> float:
    """What performing concession ``cid`` costs ``party`` for good: own flow forever plus once."""
    c = resolved.concession(cid)
    flow = -_plain(c.flow.get(party, 0.0))
    once = -_plain(c.once.get(party, 0.0))
    return flow / (1.0 - discount) + once


def _fragile(resolved: Scenario, cid: str, discount: float) -> bool:
    """Whether undoing ``cid`` pays its giver on its own (docs/model.md §3, same tolerance)."""
    c = resolved.concession(cid)
    if c.reversible is None:
        return False
    flow = -_plain(c.flow.get(c.by, 0.0))
    cost = _plain(c.reversible.cost)
    gain = flow * discount ** _plain(c.reversible.delay) / (1.0 - discount) - cost
    return bool(gain > 1e-9 * max(1.0, abs(cost), abs(flow) / (1.0 - discount)))


def _breach_step(resolved: Scenario, schedule: str, party: str, period: int) -> str | None:
    """The step ``party`` saves by deviating at ``period`` (see the module docstring)."""
    steps = resolved.get_schedule(schedule)
    discount = _plain(resolved.party(party).discount)
    own = [s for s in steps if resolved.concession(s.concession).by == party]
    due = [int(_plain(s.period)) for s in own if int(_plain(s.period)) >= period]
    if due:
        first = min(due)
        candidates = list(dict.fromkeys(s.concession for s in own if int(_plain(s.period)) == first))
    else:
        candidates = list(
            dict.fromkeys(
                s.concession
                for s in own
                if int(_plain(s.period)) < period and _fragile(resolved, s.concession, discount)
            )
        )
    if not candidates:
        return None
    return max(candidates, key=lambda cid: _own_cost(resolved, cid, party, discount))


def _first_violation(report: EnforcementReport, parties: Sequence[str]) -> tuple[str, int, str] | None:
    """(party, period, plan) of the earliest failing constraint; ties go to the smallest slack,
    then to the party listed first. A participation value below zero counts as period 0."""
    failing = [(0, value, parties.index(pid), pid, "participation") for pid, value in report.participation.items()]
    failing = [f for f in failing if f[1] < -TOLERANCE]
    failing += [(c.period, c.slack, parties.index(c.party), c.party, c.plan) for c in report.violations]
    if not failing:
        return None
    period, _, _, party, plan = min(failing)
    return party, period, plan


def _resolved(scn: Scenario, params: Mapping[str, float] | None) -> Scenario:
    """``scn`` with plain numbers at ``params`` (values outside a range widen it, as ``--set`` does)."""
    return scn.with_overrides(dict(params)).resolve() if params else scn.resolve()


def predict(
    scn: Scenario,
    params: Mapping[str, float] | None = None,
    *,
    episodes: int = BEST_EPISODES,
    seed: int = 0,
) -> Prediction:
    """The model's prediction for case ``scn`` at one parameter point (best values by default)."""
    schedule = _schedule_name(scn)
    report = check(scn, schedule, params=params, explain=False)
    first = _first_violation(report, scn.party_ids)
    breach: Breach | None = None
    plan: str | None = None
    if first is not None:
        party, period, plan = first
        resolved = _resolved(scn, params)
        step = _breach_step(resolved, schedule, party, period)
        if step is not None:
            breach = Breach(party, period, step, resolved.concession(step).kind)
    sim_share: float | None = None
    completed = False
    if report.self_enforcing:
        last = max(int(_plain(s.period)) for s in _resolved(scn, params).get_schedule(schedule))
        result = simulate(scn, {}, episodes=episodes, seed=seed, schedule=schedule, horizon=last + TAIL, params=params)
        sim_share = float((result.completion_period >= 0).mean())
        completed = sim_share >= 0.5
    return Prediction(report.self_enforcing, completed, breach, sim_share, plan)


def zone_summary(scn: Scenario) -> dict[str, Any]:
    """The agreement zone of case ``scn`` under every demand it records, at best values: whether
    any self-enforcing schedule meets them all, and if not the demands that collide and the
    fewest to drop (:func:`detente.design.zone.zone`). It says whether the model expects a deal
    to be signed at all, which the check of one proposal cannot."""
    from ..design.zone import zone

    found = zone(scn, points=2)
    return {
        "empty": found.empty,
        "conflict": [c.demand for c in found.conflict],
        "drop": list(found.drop),
        "text": found.message,
    }


def compare(pred: Prediction, out: Outcome, actual: Breach | None, window: int) -> dict[str, bool]:
    """Whether ``pred`` matches the record on completion, first breacher, step kind and timing."""
    guess = pred.first_breach
    if guess is None or actual is None:
        party = kind = timing = guess is None and actual is None
    else:
        party = guess.party == actual.party
        kind = guess.kind == actual.kind
        timing = abs(guess.period - actual.period) <= window
    return {"completed": pred.completed == out.completed, "party": party, "kind": kind, "timing": timing}


def backtest_case(
    name: str,
    scn: Scenario,
    *,
    samples: int = 0,
    seed: int = 0,
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int], None] | None = None,
) -> CaseResult:
    """Backtest one case: the prediction at the best values, and the share over ``samples`` points.

    At each sample point the prediction "predicts the record" when it matches on completion and
    on the first breacher. ``progress(n)`` is called after each sample point with n = 1.
    """
    out = _outcome(scn)
    actual = recorded(scn)
    best = predict(scn, seed=seed)
    if scn.demands:
        best = replace(best, zone=zone_summary(scn))
    match = compare(best, out, actual, window)
    share: float | None = None
    ci: tuple[float, float] | None = None
    if samples > 0:
        space = ParameterSpace.from_scenario(scn)
        matrix = sample(space, "lhs", samples, seed)
        hits = 0
        for i, point in enumerate(space.points(matrix)):
            pred = predict(scn, point, episodes=SAMPLE_EPISODES, seed=seed + i + 1)
            m = compare(pred, out, actual, window)
            hits += bool(m["completed"] and m["party"])
            if progress is not None:
                progress(1)
        share = hits / samples
        ci = wilson(hits, samples)
    return CaseResult(name, scn.name, out, actual, best, match, share, ci, samples)


def backtest(
    cases: Sequence[tuple[str, Scenario]],
    *,
    samples: int = 0,
    seed: int = 0,
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``cases`` (pairs of a case id and its scenario); see the module docstring.

    ``progress(done, total)`` counts parameter points over all cases (one per case at the best
    values, plus ``samples`` each).
    """
    if samples < 0:
        raise UsageError(f"--samples must be at least 0, found {samples}")
    if window < 0:
        raise UsageError(f"--window must be at least 0 months, found {window}")
    for name, scn in cases:
        if scn.outcome is None:
            raise UsageError(f"{name}: no 'outcome:' block, so it cannot be backtested")
    total = len(cases) * (samples + 1)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    started = time.perf_counter()
    results = []
    for name, scn in cases:
        results.append(backtest_case(name, scn, samples=samples, seed=seed, window=window, progress=tick))
        tick(1)
    seconds = time.perf_counter() - started
    from .. import __version__

    provenance = {
        "analysis": "backtest",
        "cases": {name: scn.content_hash for name, scn in cases},
        "samples": samples,
        "seed": seed,
        "window": window,
        "method": "lhs",
        "version": __version__,
        "seconds": seconds,
    }
    return BacktestResult(tuple(results), window, samples, seed, seconds, provenance)
