"""The agreement zone: which self-enforcing phasings meet every party's demands (docs/zone.md).

:func:`zone` answers, within the design horizon:

* whether some schedule is self-enforcing (docs/model.md §3) and meets every demand;
* when none is (the zone is **empty**): an irreducible infeasible subset of the demands, found
  by deletion filtering over the exact MILP's feasibility (drop a demand; if the zone stays
  empty, leave it out for good; otherwise keep it), and for each demand in it how far it must
  move, everything else held, to open the zone (a share, a period or a value);
* when some is: the Pareto frontier of the first two parties' values relative to no deal
  (status quo 0, as in the check) by the epsilon-constraint method, with the fair point (the
  Nash bargaining solution) and the fastest point marked.

Every schedule returned is run through the exact kernel and the code asserts that it passes
and meets the demands.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.demands import needed_tranches
from ..core.errors import UsageError
from ..core.results import missing_part, pandas, report_html
from ..core.scenario import Scenario
from .demands import Rule, compile_rules, describe, holds
from .milp import _Search, assert_self_enforcing, named_steps
from .objectives import Solved, fastest, optimise
from .package import Package, build_package, completion_of

__all__ = ["Conflict", "Point", "ZoneResult", "zone"]

IntArray = NDArray[np.int64]

#: Frontier points requested by default (the two ends included).
DEFAULT_POINTS = 12


@dataclass(frozen=True)
class Point:
    """A self-enforcing schedule that meets the demands, with each party's value V_i(0)."""

    schedule: tuple[tuple[int, str, float], ...]
    values: Mapping[str, float]
    completes: int
    min_slack: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": [{"period": t, "concession": k, "amount": a} for t, k, a in self.schedule],
            "values": dict(self.values),
            "completes": self.completes,
            "min_slack": self.min_slack,
        }


@dataclass(frozen=True)
class Conflict:
    """A demand of the irreducible infeasible subset and the level that opens the zone.

    ``relax_to`` is the share, period or value (by form) at which, every other demand held,
    the zone opens; None when moving this demand alone cannot open it.
    """

    demand: str
    party: str
    form: str
    level: float
    relax_to: float | None
    text: str
    relax_period: int | None = None  # in_force: the latest period by which the share opens it

    def to_dict(self) -> dict[str, Any]:
        return {
            "demand": self.demand,
            "party": self.party,
            "form": self.form,
            "level": self.level,
            "relax_to": self.relax_to,
            "relax_period": self.relax_period,
            "text": self.text,
        }


@dataclass(frozen=True)
class ZoneResult:
    """What :func:`zone` found (see the module docstring)."""

    empty: bool
    demands: tuple[str, ...]  # the demands in force
    horizon: int
    parties: tuple[str, ...]  # the frontier's axes
    conflict: tuple[Conflict, ...] = ()
    drop: tuple[str, ...] = ()  # the fewest demands whose removal opens the zone
    frontier: tuple[Point, ...] = ()
    fair: Point | None = None
    fastest: Point | None = None
    message: str = ""
    solve_time: float = 0.0
    stats: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "empty": self.empty,
            "demands": list(self.demands),
            "horizon": self.horizon,
            "parties": list(self.parties),
            "conflict": [c.to_dict() for c in self.conflict],
            "drop": list(self.drop),
            "frontier": [p.to_dict() for p in self.frontier],
            "fair": None if self.fair is None else self.fair.to_dict(),
            "fastest": None if self.fastest is None else self.fastest.to_dict(),
            "message": self.message,
            "solve_time": self.solve_time,
            "stats": dict(self.stats),
        }

    def to_frame(self) -> Any:
        """One row per point of the frontier, its fields flattened with dotted names (as in
        :meth:`Point.to_dict`), plus ``fair`` and ``fastest`` (whether the point is that one).
        An empty zone has no frontier: that raises, naming the demands that collide."""
        if self.empty or not self.frontier:
            why = (
                f"the zone is empty; drop {', '.join(self.drop)}" if self.drop else self.message or "the zone is empty"
            )
            raise missing_part("ZoneResult", "frontier", why)
        rows = [p.to_dict() for p in self.frontier]
        frame = pandas().json_normalize(rows, sep=".")
        frame["fair"] = [p == self.fair for p in self.frontier]
        frame["fastest"] = [p == self.fastest for p in self.frontier]
        return frame

    def _repr_html_(self) -> str:
        return report_html(self)


# --------------------------------------------------------------------------- helpers


def _point(pkg: Package, found: Solved, rules: Sequence[Rule]) -> Point:
    assert found.counts is not None
    counts = found.counts
    check = assert_self_enforcing(pkg, counts)
    for rule in rules:
        if not holds(pkg, counts, check, rule):
            raise AssertionError(f"the zone produced a schedule that breaks the demand {rule.id!r}")
    ids = pkg.comp.party_ids
    return Point(
        schedule=named_steps(pkg, counts),
        values={p: float(check.participation[i]) for i, p in enumerate(ids)},
        completes=completion_of(counts),
        min_slack=float(check.min_norm_slack),
    )


def _smallest(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The smallest q in lo..hi with ok(q), for ok false up to some point and true after
    (moving a demand further only helps); None when even ok(hi) fails."""
    if hi < lo or not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _relax(search: _Search, rules: Sequence[Rule], rule: Rule) -> float | None:
    """The level of ``rule`` nearest its own at which the zone opens, the others held."""
    pkg = search.pkg
    others = [r for r in rules if r is not rule]
    T = pkg.horizon

    def opens(level: float) -> bool:
        return optimise(search, T, "feasible", [*others, rule.at(level)]).status == "optimal"

    if rule.form in ("after", "in_force"):
        assert rule.concession is not None
        m = int(pkg.m[rule.concession])
        n = needed_tranches(rule.level, m)
        j = _smallest(lambda q: opens((n - 1 - q) / m), 0, n - 1) if n > 0 else None
        return None if j is None else (n - 1 - j) / m
    if rule.form == "no_irreversible_before":
        t = int(rule.level)
        j = _smallest(lambda q: opens(float(t - 1 - q)), 0, t - 1) if t > 0 else None
        return None if j is None else float(t - 1 - j)
    if rule.form == "completes_by":
        t = int(rule.level)
        j = _smallest(lambda q: opens(float(t + 1 + q)), 0, T - t - 1) if t < T else None
        return None if j is None else float(t + 1 + j)
    # value_at_least: the largest value the party can get with everything else held
    weights = [0.0] * pkg.comp.n_parties
    weights[rule.party] = 1.0
    best = optimise(search, T, "value", others, weights=weights)
    return best.value if best.status == "optimal" else None


def _relax_period(search: _Search, rules: Sequence[Rule], rule: Rule) -> int | None:
    """For ``in_force``: the earliest period at which the demanded share opens the zone."""
    pkg = search.pkg
    T = pkg.horizon
    assert rule.period is not None
    others = [r for r in rules if r is not rule]
    t0 = rule.period

    def opens(q: int) -> bool:
        moved = replace(rule, period=t0 + 1 + q)
        return optimise(search, T, "feasible", [*others, moved]).status == "optimal"

    q = _smallest(opens, 0, T - t0 - 1) if t0 < T else None
    return None if q is None else t0 + 1 + q


def _fewest_to_drop(search: _Search, rules: Sequence[Rule], limit: int = 3) -> tuple[str, ...]:
    """The smallest set of demands (up to ``limit``) whose removal opens the zone, by
    increasing size (the first found in file order); empty when none that small exists."""
    T = search.pkg.horizon
    for size in range(1, min(limit, len(rules)) + 1):
        for group in itertools.combinations(rules, size):
            rest = [r for r in rules if r not in group]
            if optimise(search, T, "feasible", rest).status == "optimal":
                return tuple(r.id for r in group)
    return ()


def _ok(found: Solved) -> bool:
    return found.status == "optimal" and found.counts is not None


def _conflict_text(pkg: Package, conflict: Sequence[Rule]) -> str:
    comp = pkg.comp
    parts = [f"the {comp.party_ids[r.party]} demand '{describe(r, pkg)}'" for r in conflict]
    who = sorted({r.party for r in conflict} | set(range(min(2, comp.n_parties))))
    discounts = " and ".join(f"{comp.party_ids[i]}'s discount at {float(comp.discount[i]):g}" for i in who)
    if len(parts) == 1:
        return f"The zone is empty because {parts[0]} cannot hold on a self-enforcing schedule with {discounts}."
    joined = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    both = "both" if len(parts) == 2 else "all"
    return f"The zone is empty because {joined} cannot {both} hold with {discounts}."


def _relax_text(pkg: Package, rule: Rule, relax_to: float | None, period: int | None = None) -> str:
    who = pkg.comp.party_ids[rule.party]
    head = f"{who} '{rule.id}' ({describe(rule, pkg)})"
    if relax_to is None and period is None:
        return f"{head}: moving it alone does not open the zone"
    opens = []
    if relax_to is not None and relax_to <= 0.0 and rule.form in ("after", "in_force", "no_irreversible_before"):
        opens.append("if it is dropped")
    elif relax_to is not None:
        opens.append(f"at '{describe(rule, pkg, relax_to)}'")
    if period is not None:
        opens.append(f"at '{describe(replace(rule, period=period), pkg)}'")
    return f"{head}: the zone opens " + " or ".join(opens)


def zone(
    scenario: Scenario | str | os.PathLike[str],
    demands: Sequence[str] | None = None,
    *,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    points: int = DEFAULT_POINTS,
    params: Mapping[str, float] | None = None,
    time_limit: float | None = None,
) -> ZoneResult:
    """The agreement zone of ``scenario`` under ``demands`` (ids; default: every demand).

    ``points`` frontier points are asked for (at least 2: the two ends); fewer come back when
    several ask for the same schedule or one is dominated. Raises UsageError for bad inputs.
    """
    start = time.perf_counter()
    if not 2 <= points <= 200:
        raise UsageError(f"points: expected 2 to 200 frontier points, found {points}")
    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, found {time_limit!r}")
    if not isinstance(scenario, Scenario):
        from ..io.yaml import load

        scenario = load(scenario)
    pkg = build_package(scenario, horizon, tranches, params)
    rules = compile_rules(pkg, demands)
    deadline = None if time_limit is None else start + float(time_limit)
    search = _Search(pkg, deadline)
    T = pkg.horizon
    comp = pkg.comp
    axes = tuple(comp.party_ids[:2])
    in_force = tuple(r.id for r in rules)

    def done(**kw: Any) -> ZoneResult:
        stats = {"solves": search.solves, "iterations": search.iterations, "cuts": len(search.keys)}
        return ZoneResult(
            demands=in_force,
            horizon=T,
            parties=axes,
            solve_time=time.perf_counter() - start,
            stats=stats,
            **kw,
        )

    def timed_out(found: Solved) -> None:
        if found.status not in ("optimal", "infeasible"):
            raise UsageError(
                f"the zone could not be settled ({found.status.replace('_', ' ')}); "
                "raise --time-limit or lower --points"
            )

    first = optimise(search, T, "feasible", rules)
    timed_out(first)
    word = scenario.period
    if first.status == "infeasible":
        bare = optimise(search, T, "feasible", []) if rules else first
        timed_out(bare)
        if bare.status == "infeasible":
            return done(
                empty=True,
                message=(
                    f"The zone is empty before any demand: no self-enforcing schedule completes within "
                    f"{word} {T} (see `detente design`)."
                ),
            )
        core = list(rules)
        for rule in list(core):
            trial = [r for r in core if r is not rule]
            found = optimise(search, T, "feasible", trial)
            timed_out(found)
            if found.status == "infeasible":
                core = trial
        conflict = []
        for rule in core:
            relax_to = _relax(search, rules, rule)
            period = _relax_period(search, rules, rule) if rule.form == "in_force" else None
            conflict.append(
                Conflict(
                    demand=rule.id,
                    party=comp.party_ids[rule.party],
                    form=rule.form,
                    level=rule.level,
                    relax_to=relax_to,
                    text=_relax_text(pkg, rule, relax_to, period),
                    relax_period=period,
                )
            )
        drop = _fewest_to_drop(search, rules)
        message = _conflict_text(pkg, core)
        if drop and all(c.relax_to is None for c in conflict):
            message += (
                f" Moving one demand of it is not enough; dropping {', '.join(repr(d) for d in drop)} opens the zone."
            )
        return done(empty=True, conflict=tuple(conflict), drop=drop, message=message)

    # the zone is open: frontier, fair point, fastest point
    frontier: list[Point] = []
    frontier = _frontier(search, rules, points) if comp.n_parties >= 2 else [_point(pkg, first, rules)]
    hints = [[p.values[pid] for pid in comp.party_ids] for p in frontier]
    fair_found = optimise(search, T, "fair", rules, hints=hints)
    fair = _point(pkg, fair_found, rules) if _ok(fair_found) else None
    if fair is not None and comp.n_parties >= 2:  # the Nash point is efficient: it belongs on the frontier
        frontier = _efficient([*frontier, fair], comp.party_ids[:2])
    _, fast_found = fastest(search, rules)
    fast = _point(pkg, fast_found, rules) if _ok(fast_found) else None
    n = len(frontier)
    held = f"meet every demand ({len(rules)} in force)" if rules else "exist (no demands held)"
    points_word = "point" if n == 1 else "points"
    msg = f"The zone is open: self-enforcing schedules within {word} {T} {held}; {n} frontier {points_word}."
    if fast is not None:
        msg += f" The fastest completes in {word} {fast.completes}."
    return done(empty=False, frontier=tuple(frontier), fair=fair, fastest=fast, message=msg)


def _frontier(search: _Search, rules: Sequence[Rule], points: int) -> list[Point]:
    """The Pareto frontier of parties 0 and 1 by the epsilon-constraint method.

    The ends maximise one party's value (the other's as a tie-break, with a weight 1e-6 of the
    ratio of stakes); in between, party 0's value is maximised with party 1's at least ε, for
    ``points − 2`` values of ε evenly spaced between the ends. Points that repeat a schedule
    or are dominated are dropped.
    """
    pkg = search.pkg
    T = pkg.horizon
    P = pkg.comp.n_parties
    s0, s1 = float(pkg.stake[0]), float(pkg.stake[1])
    tie = 1e-6

    def weights(main: int) -> list[float]:
        w = [0.0] * P
        w[main] = 1.0
        w[1 - main] = tie * (s0 / s1 if main == 0 else s1 / s0)
        return w

    found: list[Solved] = []
    a = optimise(search, T, "value", rules, weights=weights(0))
    b = optimise(search, T, "value", rules, weights=weights(1))
    for end in (a, b):
        if not _ok(end):
            raise UsageError(f"the frontier could not be settled ({end.status.replace('_', ' ')})")
        found.append(end)
    assert a.check is not None
    assert b.check is not None
    lo, hi = float(a.check.participation[1]), float(b.check.participation[1])
    for q in range(1, points - 1):
        eps = lo + (hi - lo) * q / (points - 1)
        floors: list[float | None] = [None] * P
        floors[1] = eps
        mid = optimise(search, T, "value", rules, weights=weights(0), floors=floors)
        if _ok(mid):
            found.append(mid)
    pts: dict[bytes, Point] = {}
    for f in found:
        assert f.counts is not None
        key = f.counts.tobytes()
        if key not in pts:
            pts[key] = _point(pkg, f, rules)
    return _efficient(list(pts.values()), pkg.comp.party_ids[:2])


def _efficient(points: Sequence[Point], ids: Sequence[str]) -> list[Point]:
    """The points no other point dominates on ``ids``' values, one per schedule, sorted."""
    out = list({p.schedule: p for p in points}.values())
    kept = [
        p
        for p in out
        if not any(
            all(q.values[i] >= p.values[i] - 1e-9 for i in ids) and any(q.values[i] > p.values[i] + 1e-9 for i in ids)
            for q in out
        )
    ]
    kept.sort(key=lambda p: (p.values[ids[0]], -p.values[ids[1]]))
    return kept
