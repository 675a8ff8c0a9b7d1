"""Is a phased agreement self-enforcing? The check of docs/model.md §3, with its reasons.

:func:`check` is a pure function of a scenario and a schedule; it returns a frozen
:class:`EnforcementReport` that records its provenance and serialises to the JSON contract of
docs/model.md §7. The arithmetic lives in :mod:`detente.analysis.kernel`; this module turns
its arrays into constraints, sentences an analyst can read, exposure and leverage, and batch
entry points (:func:`check_many`, :func:`check_params`) for sweeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..core.compiled import Compiled, CompiledSchedule, compile_scenario, compile_schedule
from ..core.errors import UsageError
from ..core.results import pandas, report_html
from ..core.scenario import Scenario, Step
from .kernel import PLANS, KernelResult, run_kernel, run_kernel_batch
from .kernel import margins as kernel_margins

__all__ = [
    "TOLERANCE",
    "Constraint",
    "EnforcementReport",
    "LeverageRow",
    "check",
    "check_many",
    "check_params",
    "margin",
    "refuse_overflow",
]

#: Slack and participation at or above -TOLERANCE count as holding.
TOLERANCE = 1e-9

ScheduleLike = str | Sequence[Step] | CompiledSchedule | None


@dataclass(frozen=True)
class Constraint:
    """The incentive constraint of one party at one period: comply versus the best deviation."""

    party: str
    period: int
    comply: float
    deviate: float
    slack: float
    plan: str
    seen: int
    response_period: int
    explanation: str = ""

    @property
    def violated(self) -> bool:
        return self.slack < -TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "party": self.party,
            "period": self.period,
            "comply": self.comply,
            "deviate": self.deviate,
            "slack": self.slack,
            "plan": self.plan,
            "seen": self.seen,
            "response_period": self.response_period,
        }
        if self.explanation:
            out["explanation"] = self.explanation
        return out


@dataclass(frozen=True)
class LeverageRow:
    """What a party stands to lose (exposure) and could take (leverage) at one period."""

    party: str
    period: int
    exposure: float
    exposure_from: str | None
    leverage: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "period": self.period,
            "exposure": self.exposure,
            "exposure_from": self.exposure_from,
            "leverage": self.leverage,
        }


@dataclass(frozen=True)
class EnforcementReport:
    """The result of :func:`check`: verdict, constraints, participation and provenance."""

    self_enforcing: bool
    participation: dict[str, float]
    constraints: tuple[Constraint, ...]
    comply: dict[str, tuple[float, ...]]
    schedule: tuple[tuple[int, str, float], ...]
    schedule_name: str | None
    period_label: str
    leverage: tuple[LeverageRow, ...] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def violations(self) -> tuple[Constraint, ...]:
        return tuple(c for c in self.constraints if c.violated)

    @property
    def min_slack(self) -> float:
        """The smallest slack over all constraints (inf when there are none)."""
        return min((c.slack for c in self.constraints), default=float("inf"))

    def min_slack_by_party(self) -> dict[str, float]:
        out = {p: float("inf") for p in self.participation}
        for c in self.constraints:
            out[c.party] = min(out[c.party], c.slack)
        return out

    @property
    def margin(self) -> float:
        """min(smallest slack, smallest participation): the verdict holds iff >= -1e-9."""
        return min(self.min_slack, min(self.participation.values(), default=float("inf")))

    def summary(self) -> str:
        """One or more sentences giving the verdict in words."""
        p = self.period_label
        name = f"Schedule {self.schedule_name!r}" if self.schedule_name else "The schedule"
        if self.self_enforcing:
            tight = min(self.constraints, key=lambda c: c.slack, default=None)
            if tight is None:
                return f"{name} is self-enforcing: no party has a step it could withhold."
            return (
                f"{name} is self-enforcing: no party gains by cheating at any {p}. The tightest "
                f"point is {tight.party} in {p} {tight.period} (slack {tight.slack:.3g})."
            )
        parts = [f"{name} is not self-enforcing."]
        for party, value in self.participation.items():
            if value < -TOLERANCE:
                parts.append(
                    f"{party} would rather not sign: the deal is worth {value:.3g} to it against the status quo."
                )
        by_party: dict[str, list[Constraint]] = {}
        for c in self.violations:
            by_party.setdefault(c.party, []).append(c)
        for party, cs in by_party.items():
            periods = ", ".join(str(c.period) for c in cs)
            parts.append(f"{party} gains by cheating in {p} {periods}.")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of docs/model.md §7, with extra keys."""
        out: dict[str, Any] = {
            "self_enforcing": self.self_enforcing,
            "participation": dict(self.participation),
            "constraints": [c.to_dict() for c in self.constraints],
            "violations": [c.to_dict() for c in self.violations],
            "min_slack": _finite_or_none(self.min_slack),
            "min_slack_by_party": {k: _finite_or_none(v) for k, v in self.min_slack_by_party().items()},
            "comply": {k: list(v) for k, v in self.comply.items()},
            "schedule_name": self.schedule_name,
            "schedule": [{"period": t, "concession": k, "amount": a} for t, k, a in self.schedule],
            "summary": self.summary(),
            "provenance": dict(self.provenance),
        }
        if self.leverage is not None:
            out["leverage"] = [row.to_dict() for row in self.leverage]
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One row per constraint: tidy data for a DataFrame (``pandas.DataFrame(records)``)."""
        return [c.to_dict() for c in self.constraints]

    def to_frame(self) -> Any:
        """One row per incentive constraint (a party at a period), in the order of ``constraints``.

        Columns: ``party``, ``period``, ``comply`` (value of complying), ``deviate`` (value of the
        best deviation), ``slack`` (comply − deviate), ``violated`` (slack < −1e-9), ``plan`` (the
        best deviation), ``seen`` (period the deviation is seen), ``response_period``,
        ``explanation`` (empty for constraints that hold). A schedule without steps has no rows.
        """
        columns = ["party", "period", "comply", "deviate", "slack", "violated", "plan", "seen", "response_period"]
        rows = [{**c.to_dict(), "violated": c.violated, "explanation": c.explanation} for c in self.constraints]
        return pandas().DataFrame(rows, columns=[*columns, "explanation"])

    def _repr_html_(self) -> str:
        return report_html(self)


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# --------------------------------------------------------------------------- sentences


def _join(words: Sequence[str]) -> str:
    words = list(dict.fromkeys(words))
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _explain(
    comp: Compiled,
    sched: CompiledSchedule,
    party: int,
    tau: int,
    plan: int,
    seen: int,
    rho: int,
    gain: float,
    *,
    fragile: np.ndarray | None = None,
    in_force: np.ndarray | None = None,
    uncertain: bool = False,
) -> str:
    """Why ``party`` gains by deviating at ``tau`` (``fragile`` and ``in_force``, the
    cumulative amounts per [concession, period], may be passed in precomputed)."""
    p = comp.period_label
    if fragile is None:
        fragile = comp.fragile
    if in_force is None:
        in_force = np.minimum(np.cumsum(sched.amounts, axis=1), 1.0)
    name = comp.party_ids[party]
    own_steps = [(t, k) for t, k, _ in sched.steps if comp.giver[k] == party and t >= tau]
    due: dict[str, int] = {}
    for t, k in own_steps:
        due.setdefault(comp.labels[k], t)
    items = list(due.items())
    skipped = _join([f"{label} (due in {p} {t})" for label, t in items[:3]])
    if len(items) > 3:
        skipped += " and later steps"
    undone: list[str] = []
    if plan == 1 and tau > 0:
        for k in range(comp.n_concessions):
            if comp.giver[k] == party and fragile[k] and in_force[k, tau - 1] > 0:
                undone.append(comp.labels[k])
    if plan == 1 and undone and skipped:
        action = f"undoing {_join(undone)} and withholding {skipped}"
    elif plan == 1 and undone:
        action = f"undoing {_join(undone)}"
    else:
        action = f"withholding {skipped}"
    kept: list[str] = []
    kept_for_good: list[str] = []
    for t, k, _ in sched.steps:
        if comp.giver[k] != party and (t < rho or seen < 0) and comp.flow[k, party] > 0:
            if fragile[k]:
                kept.append(comp.labels[k])
            else:
                why = "irreversible" if not comp.reversible[k] else "not worth undoing"
                kept_for_good.append(f"{comp.labels[k]} ({why})")
    watchers = [comp.party_ids[j] for j in range(comp.n_parties) if j != party]
    who = _join(watchers) or "the others"
    verb = "sees" if len(watchers) == 1 else "see"
    if seen < 0:  # no breach event can ever be seen (every detection probability is 0)
        gifts = kept_for_good + kept
        never = f"{who} never {verb} the breach"
        if gifts:
            return (
                f"In {p} {tau} {name} gains {gain:.3g} by {action}: it keeps {_join(gifts[:4])} for good, as {never}."
            )
        saves = "it saves the cost of its own steps for good"
        return f"In {p} {tau} {name} gains {gain:.3g} by {action}: {saves}, as {never}."
    if uncertain:
        seen_at = f"{who} {verb} the breach, at the earliest at the end of {p} {seen} and perhaps much later"
    else:
        seen_at = f"{who} {verb} the breach at the end of {p} {seen}"
    if kept_for_good and kept:
        keeps = f"it keeps {_join(kept_for_good[:3])} for good, and {_join(kept[:3])} until {seen_at}"
    elif kept_for_good:
        keeps = f"it keeps {_join(kept_for_good[:3])} for good; {seen_at}"
    elif kept:
        keeps = f"it keeps {_join(kept[:3])} until {seen_at}"
    else:
        keeps = f"it saves the cost of its own steps until {seen_at}"
    if uncertain:
        return (
            f"In {p} {tau} {name} gains {gain:.3g} in expectation by {action}: {keeps}, which "
            f"outweighs what it expects to lose once the response starts."
        )
    return (
        f"In {p} {tau} {name} gains {gain:.3g} by {action}: {keeps}, which outweighs what it "
        f"loses afterwards (the response starts in {p} {rho})."
    )


# --------------------------------------------------------------------------- building reports


def _resolve_schedule(
    scn: Scenario, schedule: ScheduleLike, params: Mapping[str, float] | None
) -> tuple[CompiledSchedule, str | None]:
    if isinstance(schedule, CompiledSchedule):
        return schedule, None
    if schedule is None or isinstance(schedule, str):
        steps = scn.get_schedule(schedule)
        name = schedule
        if name is None:
            name = "default" if scn.schedule is not None else next(iter(scn.schedules), None)
        return compile_schedule(scn, steps, params), name
    return compile_schedule(scn, list(schedule), params), None


def _report(
    comp: Compiled,
    sched: CompiledSchedule,
    res: KernelResult,
    *,
    name: str | None,
    provenance: dict[str, Any],
    explain: bool = True,
) -> EnforcementReport:
    best = res.best_plan.tolist()
    dev = res.best_deviate.tolist()
    any_plan = res.any_plan.tolist()
    comply_v = res.comply.tolist()
    seen_v = res.seen.tolist()
    rho_v = res.response.tolist()
    fragile = comp.fragile
    in_force = np.minimum(np.cumsum(sched.amounts, axis=1), 1.0)
    uncertain_v = res.uncertain.tolist() if res.uncertain is not None else None
    constraints: list[Constraint] = []
    P, Tn = res.comply.shape
    for i in range(P):
        for t in range(Tn):
            if not any_plan[i][t]:
                continue
            plan = best[i][t]
            comply = comply_v[i][t]
            deviate = dev[i][t]
            slack = comply - deviate
            seen = seen_v[plan][i][t]
            rho = rho_v[plan][i][t]
            text = ""
            if explain and slack < -TOLERANCE:
                unsure = bool(uncertain_v[plan][i][t]) if uncertain_v is not None else False
                text = _explain(
                    comp, sched, i, t, plan, seen, rho, -slack, fragile=fragile, in_force=in_force, uncertain=unsure
                )
            constraints.append(Constraint(comp.party_ids[i], t, comply, deviate, slack, PLANS[plan], seen, rho, text))
    participation = {comp.party_ids[i]: float(res.comply[i, 0]) for i in range(P)}
    ok = all(c.slack >= -TOLERANCE for c in constraints) and all(v >= -TOLERANCE for v in participation.values())
    leverage = None
    if res.others is not None:
        leverage = _leverage(comp, res)
    return EnforcementReport(
        self_enforcing=ok,
        participation=participation,
        constraints=tuple(constraints),
        comply={comp.party_ids[i]: tuple(float(v) for v in res.comply[i]) for i in range(P)},
        schedule=tuple((t, comp.concession_ids[k], a) for t, k, a in sched.steps),
        schedule_name=name,
        period_label=comp.period_label,
        leverage=leverage,
        provenance=provenance,
    )


def _leverage(comp: Compiled, res: KernelResult) -> tuple[LeverageRow, ...]:
    assert res.others is not None
    P, Tn = res.comply.shape
    # loss[plan, deviator, τ, j] = V_j(τ) - value_j along the deviator's path
    loss = res.comply.T[None, None, :, :] - res.others  # [2, P, Tn, P]
    loss = np.where(res.exists[..., None], loss, -np.inf)
    rows = []
    for i in range(P):
        for t in range(Tn):
            best_exp, src = 0.0, None
            for j in range(P):
                if j == i:
                    continue
                value = float(loss[:, j, t, i].max())
                if value > best_exp:
                    best_exp, src = value, comp.party_ids[j]
            taken = loss[:, i, t, :].copy()
            taken[:, i] = 0.0
            gains = np.where(np.isfinite(taken), taken, 0.0).sum(axis=1)
            lev = float(gains[res.exists[:, i, t]].max(initial=0.0))
            rows.append(LeverageRow(comp.party_ids[i], t, best_exp, src, max(lev, 0.0)))
    return tuple(rows)


def _provenance(
    scn: Scenario,
    comp: Compiled,
    schedule_name: str | None,
    params: Mapping[str, float] | None,
) -> dict[str, Any]:
    return {
        "analysis": "check",
        "scenario": scn.name,
        "scenario_hash": scn.content_hash,
        "schedule": schedule_name,
        "parameters": dict(comp.params),
        "overrides": dict(params or {}),
        "version": __version__,
    }


#: A value this large in size is refused as an overflow even when it is still finite.
_HUGE = 1e300


def refuse_overflow(comp: Compiled, comply: np.ndarray, deviate: np.ndarray, exists: np.ndarray) -> None:
    """Raise a :class:`UsageError` naming what overflows when a value of the check is not finite.

    ``comply`` is [..., P, Tn], ``deviate`` and ``exists`` [..., 2, P, Tn] (any leading batch axes).
    A flow of 1e308 kept for ever is worth 1e308 / (1 − discount): beyond the largest float.
    """
    dev = np.where(exists, deviate, 0.0)
    bad_c = ~np.isfinite(comply) | (np.abs(comply) > _HUGE)
    bad_d = ~np.isfinite(dev) | (np.abs(dev) > _HUGE)
    if not (bad_c.any() or bad_d.any()):
        return
    P = comp.n_parties
    parties = [
        comp.party_ids[i]
        for i in range(P)
        if bad_c.reshape(-1, P, bad_c.shape[-1])[:, i].any() or bad_d.reshape(-1, 2, P, bad_d.shape[-1])[:, :, i].any()
    ]
    with np.errstate(over="ignore"):
        scale = np.abs(comp.flow) / (1.0 - comp.discount[None, :]) + np.abs(comp.once) + comp.cost[:, None]
    biggest = np.max(scale, axis=1) if comp.n_concessions else np.zeros(0)
    order = np.argsort(-biggest, kind="stable")
    culprits = []
    for k in order[:3]:
        if biggest[k] > 1e150:
            size = max(float(np.abs(comp.flow[k]).max()), float(np.abs(comp.once[k]).max()), float(comp.cost[k]))
            culprits.append(f"{comp.concession_ids[k]} (values up to {size:.3g})")
    what = "; the largest values come from " + ", ".join(culprits) if culprits else ""
    raise UsageError(
        f"the values of {', '.join(parties)} overflow: the check's sums of discounted flows are beyond "
        f"the range of floating-point numbers (about 1e308){what}. Express the flows in larger units."
    )


def check(
    scenario: Scenario,
    schedule: ScheduleLike = None,
    *,
    params: Mapping[str, float] | None = None,
    leverage: bool = False,
    explain: bool = True,
) -> EnforcementReport:
    """Check whether ``schedule`` is self-enforcing under docs/model.md §3.

    ``schedule`` is a schedule name, a list of steps, or None for the scenario's only schedule.
    ``params`` overrides parameter values; ``leverage`` adds exposure and leverage per period.
    """
    comp = compile_scenario(scenario, params)
    sched, name = _resolve_schedule(scenario, schedule, params)
    with np.errstate(over="ignore", invalid="ignore"):
        res = run_kernel(comp, sched.amounts)
    refuse_overflow(comp, res.comply, res.deviate, res.exists)
    if leverage:
        with np.errstate(over="ignore", invalid="ignore"):
            res = run_kernel(comp, sched.amounts, all_values=True)
    provenance = _provenance(scenario, comp, name, params)
    return _report(comp, sched, res, name=name, provenance=provenance, explain=explain)


def margin(comp: Compiled, amounts: np.ndarray) -> float:
    """min(smallest slack, smallest participation) of one schedule: >= -1e-9 means it holds."""
    return float(kernel_margins(comp, np.asarray(amounts, dtype=float)[None, :, :])[0])


#: check_many runs the kernel on chunks of schedules of about this many amounts cells.
_CHUNK_CELLS = 1_000_000


def _batches(
    scheds: Sequence[CompiledSchedule], n_concessions: int
) -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Chunks of schedules as (indices, amounts [B, K, H+1] zero-padded, last periods [B]).

    Schedules are grouped by their last period, so that padding costs little.
    """
    last = np.array([s.amounts.shape[1] - 1 for s in scheds], dtype=np.int64)
    order = np.argsort(last, kind="stable")
    longest = int(last.max(initial=-1)) + 1
    size = max(1, _CHUNK_CELLS // max(1, n_concessions * (longest + 8)))
    for i in range(0, len(order), size):
        idx = order[i : i + size]
        width = int(last[idx].max()) + 1
        amounts = np.zeros((len(idx), n_concessions, width))
        for b, j in enumerate(idx):
            a = scheds[j].amounts
            amounts[b, :, : a.shape[1]] = a
        yield idx, amounts, last[idx]


def check_many(
    scenario: Scenario,
    schedules: Iterable[ScheduleLike],
    *,
    params: Mapping[str, float] | None = None,
    reports: bool = False,
) -> list[EnforcementReport] | np.ndarray:
    """Check many schedules of one scenario.

    Returns the margin of each schedule (an array: min slack and participation, >= -1e-9
    means self-enforcing), or full reports with ``reports=True``. The scenario is compiled
    once, and the schedules go through the kernel in batches (a leading batch axis).
    """
    comp = compile_scenario(scenario, params)
    scheds: list[CompiledSchedule] = []
    names: list[str | None] = []
    for s in schedules:
        if isinstance(s, CompiledSchedule):
            scheds.append(s)
            names.append(None)
        else:
            sched, name = _resolve_schedule(scenario, s, params)
            scheds.append(sched)
            names.append(name)
    if reports:
        out: list[EnforcementReport | None] = [None] * len(scheds)
        for idx, amounts, last in _batches(scheds, comp.n_concessions):
            with np.errstate(over="ignore", invalid="ignore"):
                batch = run_kernel_batch(comp, amounts, last)
            refuse_overflow(comp, batch.comply, batch.deviate, batch.exists)
            for b, j in enumerate(idx):
                name = names[j]
                out[j] = _report(
                    comp,
                    scheds[j],
                    batch.item(b),
                    name=name,
                    provenance=_provenance(scenario, comp, name, params),
                    explain=False,
                )
        return [r for r in out if r is not None]
    result = np.empty(len(scheds))
    for idx, amounts, last in _batches(scheds, comp.n_concessions):
        with np.errstate(over="ignore", invalid="ignore"):
            batch = run_kernel_batch(comp, amounts, last)
        refuse_overflow(comp, batch.comply, batch.deviate, batch.exists)
        result[idx] = batch.margins()
    return result


def check_params(
    scenario: Scenario,
    points: Iterable[Mapping[str, float]],
    schedule: str | Sequence[Step] | None = None,
) -> list[dict[str, Any]]:
    """Check one schedule at many parameter points (a sweep's inner loop).

    Each result row has ``self_enforcing``, ``margin``, ``min_slack`` and the minimum slack
    and participation per party.
    """
    rows = []
    if schedule is None or isinstance(schedule, str):
        steps: Sequence[Step] = scenario.get_schedule(schedule)
    else:
        steps = schedule
    names: dict[int, str] = {}
    for point in points:
        comp = compile_scenario(scenario, point)
        sched = compile_schedule(scenario, list(steps), point)
        with np.errstate(over="ignore", invalid="ignore"):
            res = run_kernel(comp, sched.amounts)
        refuse_overflow(comp, res.comply, res.deviate, res.exists)
        slack = np.where(res.any_plan, res.comply - res.best_deviate, np.inf)
        per_party = slack.min(axis=1, initial=np.inf)
        part = res.comply[:, 0]
        m = float(min(per_party.min(initial=np.inf), part.min()))
        if not names:
            names = dict(enumerate(comp.party_ids))
        row: dict[str, Any] = {
            "self_enforcing": m >= -TOLERANCE,
            "margin": m,
            "min_slack": float(per_party.min(initial=np.inf)),
        }
        for i, pid in names.items():
            row[f"min_slack.{pid}"] = float(per_party[i])
            row[f"participation.{pid}"] = float(part[i])
        rows.append(row)
    return rows
