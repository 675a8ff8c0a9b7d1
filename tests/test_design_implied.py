"""The implied rows of detente.design.implied keep the master a relaxation (docs/design.md).

Every self-enforcing schedule must satisfy them, at its own minimum normalised slack for the
max-min master; the designer must give the same answers with and without them; and the
periods in which a deviation can be seen must be those the cut keys use.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from detente.core.scenario import Scenario
from detente.design import search
from detente.design.bruteforce import schedules
from detente.design.implied import add_implied_rows, seen_periods
from detente.design.instances import random_package
from detente.design.master import Master, Objective
from detente.design.milp import design
from detente.design.package import Package, build_package, check_counts, requires_ok
from detente.design.search import all_keys, eta_upper_bound


def _packages(seed: int, n: int) -> Iterator[Package]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        scn = random_package(
            rng,
            max_tranches_total=5,
            horizon=int(rng.integers(1, 4)),
            p_reversible=float(rng.uniform(0.5, 1.0)),
        )
        yield build_package(scn)


def _admits(pkg: Package, counts: np.ndarray, objective: Objective, eta: float = 0.0) -> bool:
    """Whether the master with only the implied rows has a point with these tranche counts."""
    T = counts.shape[1] - 1
    if objective == "maxmin":
        master = Master(pkg, T, "maxmin", eta_lb=eta, eta_ub=max(eta, eta_upper_bound(pkg)))
    else:
        master = Master(pkg, T, objective)
    add_implied_rows(master)
    for k in range(counts.shape[0]):
        for t in range(T + 1):
            var = int(master.X[k, t])
            master._lb[var] = master._ub[var] = float(counts[k, t])
    return master.solve(None).status == "optimal"


def test_seen_periods_are_those_of_the_cut_keys() -> None:
    for pkg in _packages(5, 20):
        for T in range(pkg.horizon + 1):
            grouped: dict[tuple[int, int, int], list[int]] = {}
            for i, tau, plan, d in all_keys(pkg, T):
                grouped.setdefault((i, tau, plan), []).append(d)
            assert seen_periods(pkg, T) == grouped


def test_every_self_enforcing_schedule_satisfies_the_implied_rows() -> None:
    """Over every schedule of small seeded packages: each one that passes the exact check is
    a point of the master with the implied rows, for feasibility and for the max-min master
    at the schedule's own minimum normalised slack (less the check's tolerance)."""
    passing = 0
    for pkg in _packages(11, 25):
        T = pkg.horizon
        for counts in schedules(pkg.m, T):
            if not requires_ok(counts, pkg):
                continue
            check = check_counts(pkg, counts)
            if not check.ok:
                continue
            passing += 1
            assert _admits(pkg, counts, "feasible")
            level = check.min_norm_slack - 1e-9 / float(pkg.stake.max())
            assert _admits(pkg, counts, "maxmin", eta=min(level, eta_upper_bound(pkg)))
    assert passing >= 100  # the seeds give plenty of self-enforcing schedules


def _scenarios(seed: int, n: int) -> Iterator[Scenario]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield random_package(rng, max_tranches_total=6, horizon=int(rng.integers(0, 5)))


def test_designer_gives_the_same_answers_without_the_implied_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = list(_scenarios(3, 30))
    with_rows = [design(scn) for scn in cases]
    monkeypatch.setattr(search, "IMPLIED_ROWS", False)
    without = [design(scn) for scn in cases]
    infeasible = 0
    for a, b in zip(with_rows, without, strict=True):
        assert a.status == b.status
        assert a.completion_period == b.completion_period
        infeasible += not a.feasible
        if a.feasible:
            assert a.min_slack == pytest.approx(b.min_slack, abs=1e-6)
        elif a.side_payment is not None and b.side_payment is not None:
            assert a.side_payment.amount == pytest.approx(b.side_payment.amount, rel=1e-6, abs=1e-9)
    assert 0 < infeasible < len(cases)
