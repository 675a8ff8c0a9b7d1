"""Robust design: the fastest schedule that is self-enforcing at a target share of a sample.

A scenario-based MILP (chance-constrained design by sampling). The plausible parameter space
is sampled (``samples`` points); each point ``s`` is a scenario with its own compiled package,
and gets a binary ``z[s]``. The schedule variables (tranche counts per period, steps,
fragility and prerequisite indicators) are shared by all scenarios, as in the master problem
of :mod:`detente.design.master`; every row of scenario ``s`` (its participation constraints
and the lazily added self-enforcement cuts) is relaxed by ``M (1 - z[s])``, where ``M`` is the
row's largest possible violation over the variables' bounds, so that the row binds when
``z[s] = 1`` and is void when ``z[s] = 0``; and ``sum z >= ceil(target * samples)``.

The search is that of :func:`detente.design.milp.design`: completion periods ``T`` upward from
the longest prerequisite chain; for each, solve, check the schedule with the exact kernel at
every scenario, add the cuts each failing scenario violates, solve again. A schedule that
passes at enough scenarios is accepted; an infeasible master proves that no schedule
completing by ``T`` passes at enough of them (every row is a true constraint of its scenario,
relaxed only when that scenario is given up), so the first ``T`` accepted is the smallest.
Termination: while the accepted share is short, some scenario with ``z = 1`` fails, and the
cut it violates is not yet in the master.

The schedule's coverage is then measured on a fresh, independent sample (another seed), with
a Wilson 95 % interval, and the region where it fails is found by PRIM
(:mod:`detente.sweeps.discovery` lives above this layer: the caller does that).

Scenarios must share the package's structure (concessions, tranches, prerequisites, pace,
horizon); parameters may change values, lags, delays, costs and which concessions can be
reversed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from ..core.scenario import Scenario
from .master import CutKey, Master
from .package import Package, build_package, check_counts, completion_of, requires_ok, steps_of

__all__ = ["RobustResult", "robust_design"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class RobustResult:
    """The robust schedule (or why there is none) and its coverage."""

    target: float
    samples: int
    status: str  # optimal | infeasible | time_limit | error
    completion_period: int | None
    schedule: list[dict[str, Any]]
    coverage_in_sample: float | None
    passes: NDArray[np.bool_] | None = None  # per in-sample point
    counts: IntArray | None = None  # tranches in force [K, T + 1]
    lower_bound: int = 0
    solves: int = 0
    cuts: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _relax(master: Master, first_row: int, z: int) -> None:
    """Relax the rows ``first_row..`` of ``master`` by ``M (1 - z)``: void when ``z = 0``."""
    lb, ub = master._lb, master._ub
    for r in range(first_row, len(master._rows_i)):
        idx, val, lo = master._rows_i[r], master._rows_v[r], master._rows_lo[r]
        if not math.isfinite(lo) or z in idx:
            continue
        low = sum(min(v * lb[j], v * ub[j]) for j, v in zip(idx, val, strict=True))
        big = lo - low
        if big <= 0:
            continue
        master._rows_i[r] = [*idx, z]
        master._rows_v[r] = [*val, -(big + 1e-6)]
        master._rows_lo[r] = lo - (big + 1e-6)


class _UnionFragile:
    """A compiled scenario whose ``fragile`` is given (the union over the scenarios)."""

    def __init__(self, comp: Any, fragile: NDArray[np.bool_]) -> None:
        self._comp = comp
        self.fragile = fragile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._comp, name)


class _SharedMaster(Master):
    """The master's schedule variables and structural rows, without any participation row:
    each scenario adds its own (relaxed) through :class:`_RobustMaster`."""

    _building = True

    def _participation(self, i: int) -> None:
        if not self._building:
            super()._participation(i)


class _RobustMaster:
    """One master over the shared schedule variables, with every scenario's rows relaxed by its z."""

    def __init__(self, pkgs: Sequence[Package], T: int, need: int) -> None:
        self.pkgs = pkgs
        # a concession reversible at any scenario gets its "in force" indicators (harmless where
        # it is not reversible: they only follow the tranche counts)
        fragile = np.logical_or.reduce([p.comp.fragile for p in pkgs])
        base = dataclasses.replace(pkgs[0], comp=cast(Any, _UnionFragile(pkgs[0].comp, fragile)))
        self.master = _SharedMaster(base, T, "feasible")
        self.master._building = False
        self.z = [self.master._var(0.0, 1.0, 1) for _ in pkgs]
        self.cuts: list[dict[CutKey, float]] = [{} for _ in pkgs]
        for s, pkg in enumerate(pkgs):
            first = len(self.master._rows_i)
            parties = range(pkg.comp.n_parties)
            self._with(s, lambda parties=parties: self._participation(parties))
            _relax(self.master, first, self.z[s])
        self.master._row(list(self.z), [1.0] * len(self.z), float(need), math.inf)

    def _participation(self, parties: range) -> None:
        for i in parties:
            self.master._participation(i)

    def _with(self, s: int, fn: Any) -> Any:
        """Run ``fn`` with the master reading scenario ``s``'s package and cut book."""
        m = self.master
        saved_pkg, saved_cuts, saved_flag = m.pkg, m.cuts, m.trivially_infeasible
        m.pkg, m.cuts, m.trivially_infeasible = self.pkgs[s], self.cuts[s], False
        try:
            return fn()
        finally:
            if m.trivially_infeasible:  # scenario s can never pass: give it up
                m._ub[self.z[s]] = 0.0
            m.pkg, m.cuts, m.trivially_infeasible = saved_pkg, saved_cuts, saved_flag

    def add_cuts(self, s: int, keys: Sequence[CutKey]) -> int:
        first = len(self.master._rows_i)
        added = int(self._with(s, lambda: sum(self.master.add_cut(k) for k in keys)))
        _relax(self.master, first, self.z[s])
        return added


def _passes(pkg: Package, counts: IntArray) -> tuple[bool, list[CutKey]]:
    from .milp import _passes as participation_ok
    from .milp import _violations

    check = check_counts(pkg, counts)
    keys = _violations(pkg, check, "feasible", 0.0, None)
    return (not keys and participation_ok(pkg, check, "feasible", 0.0, None)), keys


def _same_structure(pkgs: Sequence[Package]) -> None:
    a = pkgs[0]
    for p in pkgs[1:]:
        same = (
            np.array_equal(a.m, p.m)
            and list(map(tuple, a.comp.requires)) == list(map(tuple, p.comp.requires))
            and np.array_equal(a.comp.giver, p.comp.giver)
            and np.array_equal(np.zeros(0) if a.pace is None else a.pace, np.zeros(0) if p.pace is None else p.pace)
            and a.horizon == p.horizon
        )
        if not same:
            raise UsageError(
                "robust design needs every sample point to have the same package structure (tranches, "
                "prerequisites, pace, horizon); a ranged parameter changes it"
            )


def robust_design(
    scenario: Scenario,
    points: Sequence[Mapping[str, float]],
    target: float,
    *,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    time_limit: float | None = None,
) -> RobustResult:
    """The fastest schedule self-enforcing at ``ceil(target * len(points))`` of ``points``.

    ``points`` are full parameter assignments (the sample). Raises UsageError for a target
    outside (0, 1] or an empty sample.
    """
    start = time.perf_counter()
    if not (isinstance(target, int | float) and 0.0 < float(target) <= 1.0):
        raise UsageError(f"--robust must be a share in (0, 1], e.g. 0.9; found {target!r}")
    if not points:
        raise UsageError("robust design needs at least one sample point")
    pkgs = [build_package(scenario, horizon, tranches, dict(p)) for p in points]
    _same_structure(pkgs)
    n = len(pkgs)
    need = math.ceil(float(target) * n - 1e-9)
    deadline = None if time_limit is None else start + time_limit
    lower = max(p.lower_bound for p in pkgs[:1])
    book: list[set[CutKey]] = [set() for _ in pkgs]
    solves = 0
    T = lower
    while pkgs[0].horizon >= T:
        rm = _RobustMaster(pkgs, T, need)
        for s in range(n):
            if book[s]:
                rm.add_cuts(s, sorted(book[s]))
        while True:
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                return _result(target, n, "time_limit", None, pkgs[0], None, T, solves, book, start)
            out = rm.master.solve(left)
            solves += 1
            if out.status == "infeasible":
                break
            if out.counts is None or not requires_ok(out.counts, pkgs[0]):
                status = "time_limit" if out.status == "time_limit" else "error"
                return _result(target, n, status, None, pkgs[0], None, T, solves, book, start)
            counts = out.counts
            verdicts = [_passes(p, counts) for p in pkgs]
            ok = np.array([v[0] for v in verdicts])
            if int(ok.sum()) >= need:
                return _result(target, n, "optimal", counts, pkgs[0], ok, T, solves, book, start)
            added = 0
            for s, (passed, keys) in enumerate(verdicts):
                if passed:
                    continue
                new = [k for k in keys if k not in book[s]]
                book[s].update(new)
                added += rm.add_cuts(s, new)
            if added == 0:
                return _result(target, n, "error", None, pkgs[0], None, T, solves, book, start)
        T += 1
    return _result(target, n, "infeasible", None, pkgs[0], None, T, solves, book, start)


def _result(
    target: float,
    n: int,
    status: str,
    counts: IntArray | None,
    pkg: Package,
    ok: NDArray[np.bool_] | None,
    lower: int,
    solves: int,
    book: Sequence[set[CutKey]],
    start: float,
) -> RobustResult:
    schedule: list[dict[str, Any]] = []
    if counts is not None:
        ids = pkg.comp.concession_ids
        schedule = [{"period": int(t), "concession": ids[k], "amount": float(a)} for t, k, a in steps_of(counts, pkg.m)]
    return RobustResult(
        target=float(target),
        samples=n,
        status=status,
        completion_period=None if counts is None else int(completion_of(counts)),
        schedule=schedule,
        coverage_in_sample=None if ok is None else float(ok.mean()),
        passes=ok,
        counts=counts,
        lower_bound=lower,
        solves=solves,
        cuts=sum(len(b) for b in book),
        seconds=time.perf_counter() - start,
    )


def coverage(
    scenario: Scenario,
    counts: IntArray,
    points: Sequence[Mapping[str, float]],
    *,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
) -> NDArray[np.bool_]:
    """Whether the schedule ``counts`` is self-enforcing at each of ``points`` (the exact kernel)."""
    return np.array([_passes(build_package(scenario, horizon, tranches, dict(p)), counts)[0] for p in points])
