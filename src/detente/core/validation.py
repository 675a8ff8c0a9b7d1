"""The semantic checks of a scenario: everything that needs the whole scenario at once.

References between parts, prerequisite cycles, numeric ranges after resolving expressions at
the parameters' best values, and schedule totals. :func:`semantic_problems` collects every
problem rather than stopping at the first; :class:`Lenient` says which checks to skip because
the value they would judge is already known to be bad.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Loc, Problem, did_you_mean
from .expr import Expr, ExpressionError
from .limits import MAX_CONCESSIONS, MAX_DELAY, MAX_HORIZON, MAX_LAG, MAX_PARTIES
from .models import EPS, Concession, DesignSpec, Environment, ScenarioFields, Schedule

__all__ = ["LENIENT_CONTEXT", "Lenient", "semantic_problems"]

# --------------------------------------------------------------------------- semantics

#: Key of the pydantic validation context that carries a :class:`Lenient`.
LENIENT_CONTEXT = "detente.lenient"


@dataclass(frozen=True)
class Lenient:
    """What the semantic checks must not judge, because its value is already known to be bad.

    The file layer validates a scenario a second time after removing the values that failed
    their type checks, so that one bad number does not hide every other problem. Checks that
    would depend on a removed value are skipped rather than reported twice or wrongly.
    """

    #: Parameters whose value is unknown (expressions using them are not evaluated).
    params: frozenset[str] = frozenset()
    #: Every parameter is unknown (the ``parameters`` section itself was bad).
    all_params: bool = False
    #: Concessions with a removed field (their divisibility and prerequisites are unknown).
    concessions: frozenset[str] = frozenset()
    #: Steps to ignore, by location (``("schedule", 3)``), with their concession if known.
    steps: Mapping[Loc, str | None] = field(default_factory=dict)
    #: The ``dimensions`` list was bad: dimension names cannot be checked.
    dimensions: bool = False


class _Checker:
    """Collects every semantic problem of a scenario (see :func:`semantic_problems`)."""

    def __init__(self, scn: ScenarioFields, lenient: Lenient | None = None) -> None:
        self.scn = scn
        self.lenient = lenient or Lenient()
        self.problems: list[Problem] = []
        self.env = {name: p.value for name, p in scn.parameters.items()}

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(message, loc))

    def number(self, value: float | int | Expr, loc: Loc) -> float | None:
        if not isinstance(value, Expr):
            return float(value)
        if self.lenient.all_params or value.names & self.lenient.params:
            return None
        unknown = sorted(value.names - self.env.keys())
        if unknown:
            name = unknown[0]
            known = ", ".join(self.env) or "none are defined"
            hint = did_you_mean(name, self.env)
            if value.source == name:
                message = f"expected a number or a parameter, found {name!r}, which is neither"
            else:
                message = f"unknown parameter {name!r} in {value.source!r}"
            self.add(loc, f"{message}{hint} (parameters: {known})")
            return None
        try:
            return float(value.evaluate(self.env))
        except ExpressionError as exc:
            self.add(loc, str(exc))
            return None

    def whole(self, value: int | Expr, loc: Loc, what: str, low: int = 0, high: int | None = None) -> int | None:
        number = self.number(value, loc)
        if number is None:
            return None
        if abs(number - round(number)) > EPS:
            self.add(loc, f"expected a whole number of periods for {what}, found {number:g}")
            return None
        if round(number) < low:
            self.add(loc, f"expected {what} >= {low}, found {number:g}")
            return None
        if high is not None and round(number) > high:
            self.add(loc, f"expected {what} of at most {high:,} (the limit), found {number:,.0f}")
            return None
        return round(number)

    def unknown_dimension(self, loc: Loc, dim: str, dims: set[str]) -> None:
        if dim in dims or self.lenient.dimensions:
            return
        self.add(
            loc,
            f"unknown dimension {dim!r}{did_you_mean(dim, dims)} "
            f"(dimensions: {', '.join(sorted(dims)) or 'none declared'})",
        )

    def run(self) -> list[Problem]:
        scn = self.scn
        self.check_parameters()
        dims = set(scn.dimensions)
        self.unique(scn.dimensions, ("dimensions",), "dimension")
        party_ids = [p.id for p in scn.parties]
        conc_ids = [c.id for c in scn.concessions]
        if not scn.parties:
            self.add(("parties",), "expected at least one party, found none")
        if not scn.concessions:
            self.add(("concessions",), "expected at least one concession, found none")
        if len(scn.concessions) > MAX_CONCESSIONS:
            self.add(
                ("concessions",), f"expected at most {MAX_CONCESSIONS:,} concessions, found {len(scn.concessions):,}"
            )
        if len(scn.parties) > MAX_PARTIES:
            self.add(("parties",), f"expected at most {MAX_PARTIES} parties, found {len(scn.parties):,}")
        self.unique(party_ids, ("parties",), "party id", "id")
        self.unique(conc_ids, ("concessions",), "concession id", "id")
        for i, cid in enumerate(conc_ids):
            if cid in party_ids:
                self.add(("concessions", i, "id"), f"{cid!r} is already a party id; use another id")
        for i, p in enumerate(scn.parties):
            d = self.number(p.discount, ("parties", i, "discount"))
            if d is not None and not 0.0 < d < 1.0:
                self.add(("parties", i, "discount"), f"expected a discount in (0, 1), found {d:g}")
            for dim, w in p.weights.items():
                self.unknown_dimension(("parties", i, "weights", dim), dim, dims)
                self.number(w, ("parties", i, "weights", dim))
        pset = set(party_ids)
        cset = set(conc_ids)  # built once: a set per concession made validation quadratic
        for i, c in enumerate(scn.concessions):
            self.check_concession(i, c, pset, dims, cset)
        self.check_cycles()
        if scn.schedule is not None:
            self.check_schedule(scn.schedule, ("schedule",))
            if "default" in scn.schedules:
                self.add(
                    ("schedules", "default"),
                    "the name 'default' belongs to the 'schedule:' section; rename this schedule",
                )
        for name, sched in scn.schedules.items():
            self.check_schedule(sched, ("schedules", name))
        if scn.design is not None:
            self.check_design(scn.design)
        if scn.environment is not None:
            self.check_environment(scn.environment, pset)
        self.unique([c.id for c in scn.claims], ("claims",), "claim id", "id")
        return self.problems

    def check_environment(self, env: Environment, parties: set[str]) -> None:
        def party(loc: Loc, pid: str) -> None:
            if pid not in parties:
                self.add(
                    loc, f"unknown party {pid!r}{did_you_mean(pid, parties)} (parties: {', '.join(sorted(parties))})"
                )

        def probability(loc: Loc, value: float | int | Expr) -> None:
            p = self.number(value, loc)
            if p is not None and not 0.0 <= p <= 1.0:
                self.add(loc, f"expected a probability in [0, 1], found {p:g}")

        if env.sanctions is not None:
            sanc = env.sanctions
            party(("environment", "sanctions", "target"), sanc.target)
            if sanc.sender is not None:
                party(("environment", "sanctions", "sender"), sanc.sender)
                if sanc.sender == sanc.target:
                    self.add(("environment", "sanctions", "sender"), "the sender cannot be the target")
            pressure = self.number(sanc.pressure, ("environment", "sanctions", "pressure"))
            if pressure is not None and pressure < 0:
                self.add(("environment", "sanctions", "pressure"), f"expected a pressure >= 0, found {pressure:g}")
            probability(("environment", "sanctions", "leakage"), sanc.leakage)
        for pid, hz in env.hazard.items():
            party(("environment", "hazard", pid), pid)
            probability(("environment", "hazard", pid, "base"), hz.base)
            growth = self.number(hz.growth, ("environment", "hazard", pid, "growth"))
            if growth is not None and growth < 0:
                self.add(("environment", "hazard", pid, "growth"), f"expected a growth >= 0, found {growth:g}")
            if hz.enough is not None:
                enough = self.number(hz.enough, ("environment", "hazard", pid, "enough"))
                if enough is not None and enough <= 0:
                    self.add(("environment", "hazard", pid, "enough"), f"expected an enough > 0, found {enough:g}")
        for pid, value in env.crisis.items():
            party(("environment", "crisis", pid), pid)
            self.number(value, ("environment", "crisis", pid))
        for i, shock in enumerate(env.shocks):
            loc: Loc = ("environment", "shocks", i)
            if (shock.at is None) == (shock.probability is None):
                self.add(loc, "a shock needs exactly one of 'at' (a period) or 'probability' (per period)")
            if shock.at is not None:
                self.whole(shock.at, (*loc, "at"), "a period")
            if shock.probability is not None:
                probability((*loc, "probability"), shock.probability)
            for name, value in shock.set.items():
                if name not in self.env:
                    self.add((*loc, "set", name), f"unknown parameter {name!r}{did_you_mean(name, self.env)}")
                self.number(value, (*loc, "set", name))
        if len(env.shocks) > 4:
            self.add(("environment", "shocks"), f"at most 4 shocks are supported, found {len(env.shocks)}")

    def unique(self, ids: Any, loc: Loc, what: str, key: str | None = None) -> None:
        seen: dict[str, int] = {}
        for i, x in enumerate(ids):
            if x in seen:
                where = (*loc, i, key) if key else (*loc, i)
                self.add(where, f"duplicate {what} {x!r} (first at {loc[0]}[{seen[x]}])")
            else:
                seen[x] = i

    def check_parameters(self) -> None:
        for name, p in self.scn.parameters.items():
            loc: Loc = ("parameters", name)
            if not name.isidentifier() or name in ("min", "max"):
                self.add(loc, f"parameter name {name!r} must be a plain identifier (letters, _)")
            if p.integer and not float(p.value).is_integer():
                self.add(
                    (*loc, "value"),
                    f"expected a whole number (integer: true), found {p.value:g}",
                )
            if p.range is not None:
                lo, hi = p.range
                if not lo <= p.value <= hi:
                    self.add(
                        (*loc, "value"),
                        f"expected the value inside its range [{lo:g}, {hi:g}], found {p.value:g}",
                    )

    def check_concession(self, i: int, c: Concession, parties: set[str], dims: set[str], concs: set[str]) -> None:
        loc: Loc = ("concessions", i)
        listed = f" (parties: {', '.join(sorted(parties))})"
        if c.by not in parties:
            self.add((*loc, "by"), f"unknown party {c.by!r}{did_you_mean(c.by, parties)}{listed}")
        for key in ("flow", "once"):
            for pid, v in getattr(c, key).items():
                if pid not in parties:
                    hint = did_you_mean(pid, parties)
                    self.add((*loc, key, pid), f"unknown party {pid!r}{hint}{listed}")
                self.number(v, (*loc, key, pid))
        for pid, effects in c.effects.items():
            if pid not in parties:
                hint = did_you_mean(pid, parties)
                self.add((*loc, "effects", pid), f"unknown party {pid!r}{hint}{listed}")
            if pid in c.flow:
                self.add(
                    (*loc, "effects", pid),
                    f"party {pid!r} has both a flow and effects; give one or the other",
                )
            for dim, v in effects.items():
                self.unknown_dimension((*loc, "effects", pid, dim), dim, dims)
                self.number(v, (*loc, "effects", pid, dim))
        if c.reversible is not None:
            self.whole(c.reversible.delay, (*loc, "reversible", "delay"), "a delay", high=MAX_DELAY)
            cost = self.number(c.reversible.cost, (*loc, "reversible", "cost"))
            if cost is not None and cost < 0:
                self.add((*loc, "reversible", "cost"), f"expected a cost >= 0, found {cost:g}")
        lag = self.whole(c.verification_lag, (*loc, "verification_lag"), "a verification lag", high=MAX_LAG)
        if c.verification is not None:
            v = c.verification
            vlag = self.whole(v.lag, (*loc, "verification", "lag"), "a verification lag", high=MAX_LAG)
            explicit = "lag" in v.model_fields_set and "verification_lag" in c.model_fields_set
            if explicit and lag is not None and vlag is not None and lag != vlag:
                self.add(
                    (*loc, "verification", "lag"),
                    f"expected the same lag as verification_lag ({lag}), found {vlag}; give the lag in one place only",
                )
            for key in ("detect", "false_alarm"):
                prob = self.number(getattr(v, key), (*loc, "verification", key))
                if prob is not None and not 0.0 <= prob <= 1.0:
                    self.add(
                        (*loc, "verification", key),
                        f"expected a probability in [0, 1], found {prob:g}",
                    )
        for j, req in enumerate(c.requires):
            if req == c.id:
                self.add((*loc, "requires", j), f"{c.id!r} cannot require itself")
            elif req not in concs:
                self.add(
                    (*loc, "requires", j),
                    f"unknown concession {req!r}{did_you_mean(req, concs)}",
                )

    def check_cycles(self) -> None:
        """Report each prerequisite cycle once, by an iterative depth-first search (a chain of
        any length uses no recursion)."""
        graph = {c.id: [r for r in c.requires if r != c.id] for c in self.scn.concessions}
        index = {c.id: i for i, c in enumerate(self.scn.concessions)}
        state: dict[str, int] = {}  # 1: on the current path, 2: finished
        reported: set[frozenset[str]] = set()
        for root in graph:
            if root in state:
                continue
            path: list[str] = [root]
            on_path: dict[str, int] = {root: 0}
            todo: list[Iterator[str]] = [iter(graph[root])]
            state[root] = 1
            while todo:
                nxt = next(todo[-1], None)
                if nxt is None:
                    done = path.pop()
                    del on_path[done]
                    todo.pop()
                    state[done] = 2
                    continue
                if nxt not in graph:
                    continue
                if state.get(nxt) == 1:
                    cycle = [*path[on_path[nxt] :], nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.add(("concessions", index[nxt], "requires"), "prerequisite cycle: " + " -> ".join(cycle))
                elif nxt not in state:
                    state[nxt] = 1
                    on_path[nxt] = len(path)
                    path.append(nxt)
                    todo.append(iter(graph[nxt]))

    def check_schedule(self, steps: Schedule, loc: Loc) -> None:
        concs = {c.id: c for c in self.scn.concessions}
        loose = self.lenient.concessions
        # concessions whose timing in this schedule is unknown: prerequisites are not judged
        unsure: set[str | None] = {cid for sloc, cid in self.lenient.steps.items() if sloc[:-1] == loc}
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        periods: dict[str, list[tuple[int, float]]] = {}
        for j, step in enumerate(steps):
            sloc = (*loc, j)
            if sloc in self.lenient.steps:
                continue
            c = concs.get(step.concession)
            if c is None:
                self.add(
                    (*sloc, "concession"),
                    f"unknown concession {step.concession!r}{did_you_mean(step.concession, concs)}",
                )
            period = self.whole(step.period, (*sloc, "period"), "a period")
            if period is not None and period > MAX_HORIZON:
                self.add((*sloc, "period"), f"expected a period <= {MAX_HORIZON}, found {period}")
            amount = self.number(step.amount, (*sloc, "amount"))
            if amount is not None and not 0.0 < amount <= 1.0 + EPS:
                self.add((*sloc, "amount"), f"expected an amount in (0, 1], found {amount:g}")
                amount = None
            if c is None:
                continue
            if amount is None or period is None:
                unsure.add(c.id)
                continue
            partial_ok = c.divisible or c.id in loose
            if not partial_ok and abs(amount - 1.0) > EPS:
                self.add(
                    (*sloc, "amount"),
                    f"{c.id!r} is not divisible: expected amount 1 (the whole concession), found {amount:g}",
                )
            totals[c.id] = totals.get(c.id, 0.0) + amount
            counts[c.id] = counts.get(c.id, 0) + 1
            periods.setdefault(c.id, []).append((period, amount))
            if totals[c.id] > 1.0 + EPS:
                self.add(
                    (*sloc, "amount"),
                    f"expected the amounts of {c.id!r} to add up to at most 1, found {totals[c.id]:g}",
                )
            elif not partial_ok and counts[c.id] > 1:
                n = counts[c.id]
                self.add(sloc, f"{c.id!r} is not divisible: expected one step, found {n}")
        # prerequisites: every step of k comes after each prerequisite is complete
        if None in unsure:
            return
        for j, step in enumerate(steps):
            c = concs.get(step.concession)
            if c is None or not c.requires or c.id in loose or (*loc, j) in self.lenient.steps:
                continue
            period = _plain_whole(step.period, self.env)
            if period is None:
                continue
            for req in c.requires:
                if req in unsure or req not in concs:
                    continue
                done = _completion(periods.get(req, []))
                if done is None or done >= period:
                    when = "never complete" if done is None else f"complete only in period {done}"
                    self.add(
                        (*loc, j),
                        f"{c.id!r} requires {req!r} fully in force in an earlier period: "
                        f"expected {req!r} complete before period {period}, found it {when}",
                    )

    def check_design(self, design: DesignSpec) -> None:
        if design.horizon is not None:
            h = self.whole(design.horizon, ("design", "horizon"), "the horizon")
            if h is not None and h > MAX_HORIZON:
                self.add(("design", "horizon"), f"expected a horizon <= {MAX_HORIZON}, found {h}")
        concs = {c.id: c for c in self.scn.concessions}
        for cid, m in design.tranches.items():
            loc: Loc = ("design", "tranches", cid)
            c = concs.get(cid)
            if c is None:
                self.add(loc, f"unknown concession {cid!r}{did_you_mean(cid, concs)}")
            elif not c.divisible and m != 1 and cid not in self.lenient.concessions:
                self.add(
                    loc,
                    f"{cid!r} is not divisible: expected 1 tranche, found {m} (mark it 'divisible: true' to split it)",
                )
            if m < 1:
                self.add(loc, f"expected at least 1 tranche, found {m}")
            elif m > 64:
                self.add(loc, f"expected at most 64 tranches, found {m}")
        for cid, gap in design.pace.items():
            loc = ("design", "pace", cid)
            if cid not in concs:
                self.add(loc, f"unknown concession {cid!r}{did_you_mean(cid, concs)}")
            if gap < 1 or gap > MAX_HORIZON:
                self.add(loc, f"expected a pace of 1 to {MAX_HORIZON} periods between tranches, found {gap}")


def _plain_whole(value: int | Expr, env: Mapping[str, float]) -> int | None:
    """``value`` as a whole number, or None when it cannot be evaluated (reported elsewhere)."""
    if not isinstance(value, Expr):
        return int(value)
    try:
        number = float(value.evaluate(env))
    except ExpressionError:
        return None
    return round(number) if abs(number - round(number)) <= EPS else None


def _completion(steps: list[tuple[int, float]]) -> int | None:
    total = 0.0
    for period, amount in sorted(steps):
        total += amount
        if total >= 1.0 - EPS:
            return period
    return None


def semantic_problems(scn: ScenarioFields, lenient: Lenient | None = None) -> list[Problem]:
    """Every semantic problem of ``scn``'s parts (references, cycles, ranges, schedule totals).

    ``lenient`` names values already known to be bad, whose checks are skipped.
    """
    return _Checker(scn, lenient).run()
