"""Semantic checks of a scenario's ``demands:`` section (docs/zone.md).

:func:`demand_problems` reports, with the field path of each problem: a duplicate demand id,
an unknown party or concession, a field the form needs but lacks or does not use, a share
outside (0, 1], a period outside the horizon, and **contradictory demands of one party**:
demands of the same party that no schedule can meet together, whatever the others do and
whether or not it is self-enforcing.

The contradiction test is exact for the schedule-shape forms (``after``, ``in_force``,
``no_irreversible_before``, ``completes_by``): every one of them either forbids steps before
some period ("not before") or sets a deadline, and the package adds only "not before" rules
(``requires``, ``design.pace``). The earliest schedule, each tranche as early as every "not
before" rule allows, is therefore feasible for the deadlines whenever any schedule is: if it
misses a deadline, the demands contradict each other. The earliest periods are a longest-path
computation; a cycle (a party demanding a step of the other side that itself requires one of
the party's own steps) never settles and is reported too. ``value_at_least`` demands depend on
every party's values and are left to the zone, which reports an unreachable value as a
conflict with the amount it must move.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .errors import Loc, Problem, did_you_mean
from .expr import Expr, ExpressionError

if TYPE_CHECKING:  # pragma: no cover
    from .models import Demand, ScenarioFields

__all__ = ["FIELDS", "demand_problems", "earliest_periods", "needed_tranches"]

#: The fields each form uses (besides id, party, form, text and source); ``share`` is optional
#: for ``after`` (default 1) and ``in_force`` (default 1).
FIELDS: Mapping[str, tuple[str, ...]] = {
    "after": ("concession", "share"),
    "in_force": ("concession", "share", "period"),
    "no_irreversible_before": ("period",),
    "value_at_least": ("value",),
    "completes_by": ("period",),
}
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "after": ("concession",),
    "in_force": ("concession", "period"),
    "no_irreversible_before": ("period",),
    "value_at_least": ("value",),
    "completes_by": ("period",),
}
_OPTIONAL = ("concession", "share", "period", "value")
_UNSETTLED = 1 << 30


def needed_tranches(share: float, m: int) -> int:
    """Tranches of a concession cut into ``m`` that put at least ``share`` of it in force."""
    return max(0, min(m, math.ceil(share * m - 1e-9)))


def _num(value: float | int | Expr | None, env: Mapping[str, float]) -> float | None:
    if value is None:
        return None
    if isinstance(value, Expr):
        try:
            return float(value.evaluate(env))
        except ExpressionError:
            return None
    return float(value)


def earliest_periods(
    scn: ScenarioFields,
    demands: Sequence[Demand],
    env: Mapping[str, float],
    tranches: Mapping[str, int] | None = None,
) -> dict[str, int] | None:
    """The earliest period each concession can start under ``requires``, pace and the
    "not before" demands in ``demands``; None when the rules form a cycle (never settle)."""
    concs = {c.id: c for c in scn.concessions}
    spec = scn.design
    m = dict.fromkeys(concs, 1)
    m.update({k: v for k, v in (spec.tranches.items() if spec is not None else ()) if k in concs})
    m.update({k: v for k, v in (tranches or {}).items() if k in concs})
    pace = {k: v for k, v in (spec.pace.items() if spec is not None else ()) if k in concs}
    lag = {cid: _num(c.lag, env) or 0.0 for cid, c in concs.items()}

    def share(d: Demand) -> float:
        value = _num(d.share, env) if d.share is not None else 1.0
        return 1.0 if value is None else value

    start = dict.fromkeys(concs, 0)

    def reach(cid: str, n: int) -> int:
        """The earliest period at which n tranches of cid are in force."""
        return start[cid] + max(0, n - 1) * int(pace.get(cid, 0))

    for _ in range(len(concs) + 2):
        changed = False
        for cid, c in concs.items():
            low = 0
            for r in c.requires:
                if r in concs:
                    low = max(low, reach(r, m[r]) + 1)
            for d in demands:
                if d.party != c.by:
                    continue
                if d.form == "no_irreversible_before" and c.reversible is None:
                    low = max(low, int(_num(d.period, env) or 0))
                elif d.form == "after" and d.concession in concs and d.concession != cid:
                    x = d.concession
                    n = needed_tranches(share(d), m[x])
                    if n > 0:
                        low = max(low, reach(x, n) + int(lag[x]) + 1)
            if low > start[cid]:
                if low > _UNSETTLED:
                    return None
                start[cid] = low
                changed = True
        if not changed:
            return {cid: start[cid] for cid in concs}
    return None


def _missed(scn: ScenarioFields, demands: Sequence[Demand], env: Mapping[str, float]) -> str | None:
    """Why ``demands`` cannot all hold on any schedule, or None when they can."""
    starts = earliest_periods(scn, demands, env)
    if starts is None:
        return "they wait on each other in a cycle (a step demanded first requires one of the party's own)"
    concs = {c.id: c for c in scn.concessions}
    spec = scn.design
    m = dict.fromkeys(concs, 1)
    m.update({k: v for k, v in (spec.tranches.items() if spec is not None else ()) if k in concs})
    pace = {k: v for k, v in (spec.pace.items() if spec is not None else ()) if k in concs}
    word = scn.period
    for d in demands:
        if d.form == "in_force" and d.concession in concs:
            cid = d.concession
            given = _num(d.share, env) if d.share is not None else 1.0
            n = needed_tranches(1.0 if given is None else given, m[cid])
            when = starts[cid] + max(0, n - 1) * int(pace.get(cid, 0))
            t = _num(d.period, env)
            if n > 0 and t is not None and when > t:
                return (
                    f"'{d.id}' needs {cid} in force by {word} {t:g}, "
                    f"possible from {word} {when} at the earliest under its other demands"
                )
        if d.form == "completes_by":
            t = _num(d.period, env)
            last = max(starts[c] + (m[c] - 1) * int(pace.get(c, 0)) for c in concs)
            if t is not None and last > t:
                return (
                    f"'{d.id}' needs the deal complete by {word} {t:g}, "
                    f"possible from {word} {last} at the earliest under its other demands"
                )
    return None


def demand_problems(scn: ScenarioFields) -> list[Problem]:
    """Every problem of ``scn.demands`` (see the module docstring)."""
    from .limits import MAX_HORIZON

    problems: list[Problem] = []
    env = {name: p.value for name, p in scn.parameters.items()}
    parties = {p.id for p in scn.parties}
    concs = {c.id: c for c in scn.concessions}
    horizon = MAX_HORIZON
    if scn.design is not None and isinstance(scn.design.horizon, int):
        horizon = scn.design.horizon
    seen: set[str] = set()
    valid: list[tuple[int, Demand]] = []
    for i, d in enumerate(scn.demands):
        base: Loc = ("demands", i)
        before = len(problems)

        def add(field: str | None, message: str, _base: Loc = base) -> None:
            problems.append(Problem(message, (*_base, field) if field else _base))

        if d.id in seen:
            add("id", f"duplicate demand id {d.id!r}")
        seen.add(d.id)
        if d.party not in parties:
            add(
                "party",
                f"unknown party {d.party!r}{did_you_mean(d.party, parties)} (parties: {', '.join(sorted(parties))})",
            )
        used = FIELDS[d.form]
        for name in _REQUIRED[d.form]:
            if getattr(d, name) is None:
                add(None, f"the form {d.form!r} needs the field {name!r} ({d.form} uses: {', '.join(used)})")
        for name in _OPTIONAL:
            if name not in used and getattr(d, name) is not None:
                add(name, f"the form {d.form!r} does not use the field {name!r} ({d.form} uses: {', '.join(used)})")
        if d.concession is not None and "concession" in used:
            c = concs.get(d.concession)
            if c is None:
                add(
                    "concession",
                    f"unknown concession {d.concession!r}{did_you_mean(d.concession, concs)} "
                    f"(concessions: {', '.join(concs)})",
                )
            elif d.form == "after" and c.by == d.party:
                add("concession", f"'after' waits for a step of another party, but {d.concession!r} is {d.party}'s own")
        for name in ("share", "value"):
            raw = getattr(d, name)
            if raw is None or name not in used:
                continue
            number = _num(raw, env)
            if number is None:
                add(name, f"expected a number or an expression over the parameters, found {raw!r}")
            elif name == "share" and not 0.0 < number <= 1.0:
                add(name, f"expected a share in (0, 1], found {number:g}")
        if d.period is not None and "period" in used:
            t = _num(d.period, env)
            if t is None or abs(t - round(t)) > 1e-9:
                add("period", f"expected a whole period, found {d.period!r}")
            elif not 0 <= t <= horizon:
                add("period", f"unknown period {t:g}: expected a period from 0 to the horizon {horizon}")
        if len(problems) == before and d.party in parties:
            valid.append((i, d))
    # contradictory demands of one party: the smallest subset (singles, then pairs, then all)
    shape = ("after", "in_force", "no_irreversible_before", "completes_by")
    by_party: dict[str, list[tuple[int, Demand]]] = {}
    for i, d in valid:
        if d.form in shape:
            by_party.setdefault(d.party, []).append((i, d))
    for party, own in by_party.items():
        for size in (1, 2, len(own)):
            if size > len(own):
                continue
            found = False
            for group in itertools.combinations(own, size):
                why = _missed(scn, [d for _, d in group], env)
                if why is None:
                    continue
                last = group[-1][0]
                names = " and ".join(f"'{d.id}'" for _, d in group)
                kind = "cannot hold on any schedule" if size == 1 else "contradict each other"
                problems.append(
                    Problem(f"{party}'s demand{'s' if size > 1 else ''} {names} {kind}: {why}", ("demands", last))
                )
                found = True
                break
            if found:
                break
    return problems
