"""The exhaustive oracle: every schedule of a small package, each checked by the kernel.

Deliberately plain: it enumerates every placement of every tranche in periods 0..T (the
tranches of one concession as a multiset of periods, so equal schedules are not repeated),
drops those that break ``requires``, runs :func:`detente.analysis.kernel.run_kernel` on each
and keeps

* the smallest completion period of a passing schedule, and among those the largest minimum
  normalised slack (the designer's primary and secondary objectives);
* when nothing passes: the largest minimum normalised slack over all schedules (the closest
  schedule) and, for each party ``j``, the smallest payment
  ``(1 − δ_j) · max(0, −min(slacks and participation of j))`` over the schedules on which
  every other party's constraints hold (the side payment of :class:`SidePayment`), with the
  fastest schedule that needs no more than that.

It shares nothing with the MILP but the package, the kernel and the result type, so the
tests can hold the two against each other. Limited to 7 tranches and a horizon of 6.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from ..core.scenario import Scenario
from .explain import binding_constraints
from .objectives import NASH_FLOOR, objective_value
from .package import Check, Package, build_package, check_counts, completion_of, requires_ok
from .result import DesignResult, SidePayment
from .search import PAY_TOL, feasible_message, infeasible_message, named_steps, provenance

if TYPE_CHECKING:  # pragma: no cover
    from .demands import Rule

__all__ = [
    "MAX_HORIZON",
    "MAX_TRANCHES",
    "brute_force_design",
    "brute_force_objective",
    "brute_force_package",
    "schedules",
]

IntArray = NDArray[np.int64]

#: The oracle's limits: at most this many tranches in all, and this horizon.
MAX_TRANCHES = 7
MAX_HORIZON = 6


def schedules(m: IntArray, T: int) -> Iterator[IntArray]:
    """Every schedule within T as cumulative counts ``X[k, t]`` (periods 0..T)."""
    per_k = [list(itertools.combinations_with_replacement(range(T + 1), int(mk))) for mk in m]
    K = len(m)
    for combo in itertools.product(*per_k):
        counts = np.zeros((K, T + 1), dtype=np.int64)
        for k, periods in enumerate(combo):
            for t in periods:
                counts[k, t:] += 1
        yield counts


def brute_force_design(
    scenario: Scenario | str | os.PathLike[str],
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    *,
    params: Mapping[str, float] | None = None,
) -> DesignResult:
    """Same inputs and result as :func:`detente.design.milp.design`, by enumeration."""
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        from ..io.yaml import load

        scenario = load(scenario)
    pkg = build_package(scenario, horizon, tranches, params)
    return brute_force_package(pkg, start=start)


def _party_worst(check: Check, j: int) -> float:
    slack = check.slack[j]
    plans = check.kernel.any_plan[j]
    worst = float(check.participation[j])
    if plans.any():
        worst = min(worst, float(np.min(slack[plans])))
    return worst


def _others_ok(check: Check, j: int, tol: float = 1e-9) -> bool:
    P = check.participation.shape[0]
    for i in range(P):
        if i == j:
            continue
        if _party_worst(check, i) < -tol:
            return False
    return True


def brute_force_package(pkg: Package, *, start: float | None = None) -> DesignResult:
    """The oracle on a built package (see the module docstring)."""
    t0 = time.perf_counter() if start is None else start
    if pkg.n_tranches > MAX_TRANCHES:
        raise UsageError(f"the brute-force oracle handles at most {MAX_TRANCHES} tranches, found {pkg.n_tranches}")
    if pkg.horizon > MAX_HORIZON:
        raise UsageError(f"the brute-force oracle handles a horizon of at most {MAX_HORIZON}, found {pkg.horizon}")
    P = pkg.comp.n_parties
    best: dict[int, tuple[float, IntArray, Check]] = {}  # completion -> best (min slack, ...)
    closest: tuple[float, IntArray, Check] | None = None
    pay: dict[int, tuple[float, IntArray, Check]] = {}
    count = 0
    for counts in schedules(pkg.m, pkg.horizon):
        if not requires_ok(counts, pkg):
            continue
        count += 1
        check = check_counts(pkg, counts)
        score = check.min_norm_slack
        if check.ok:
            c = completion_of(counts)
            if c not in best or score > best[c][0]:
                best[c] = (score, counts, check)
            continue
        if best:
            continue  # diagnostics of infeasibility are only needed when nothing passes
        if closest is None or score > closest[0]:
            closest = (score, counts, check)
        c = completion_of(counts)
        for j in range(P):
            if _others_ok(check, j):
                amount = max(0.0, -_party_worst(check, j)) * (1.0 - float(pkg.comp.discount[j]))
                # the smallest payment, then the fastest schedule that needs no more
                if (
                    j not in pay
                    or amount < pay[j][0] - PAY_TOL
                    or (amount <= pay[j][0] + PAY_TOL and c < completion_of(pay[j][1]))
                ):
                    if j in pay and amount > pay[j][0]:
                        amount = pay[j][0]
                    pay[j] = (amount, counts, check)
    prov = provenance(pkg)
    stats = {"schedules": count, "tranches": pkg.n_tranches}
    if best:
        T = min(best)
        score, counts, check = best[T]
        return DesignResult(
            feasible=True,
            status="optimal",
            completion_period=T,
            schedule=named_steps(pkg, counts),
            min_slack=score,
            binding=binding_constraints(pkg, counts, check),
            side_payment=None,
            solve_time=time.perf_counter() - t0,
            method="bruteforce",
            provenance=prov,
            lower_bound=T,
            message=feasible_message(pkg, T),
            stats=stats,
        )
    side = None
    if pay:
        j = min(pay, key=lambda q: (pay[q][0], q))
        amount, counts, check = pay[j]
        d = float(pkg.comp.discount[j])
        side = SidePayment(
            party=pkg.comp.party_ids[j],
            amount=amount,
            by_party={pid: (pay[q][0] if q in pay else None) for q, pid in enumerate(pkg.comp.party_ids)},
            schedule=named_steps(pkg, counts),
            completion_period=completion_of(counts),
            binding=binding_constraints(pkg, counts, check, party=j, shift=amount / (1.0 - d)),
        )
    binding = () if closest is None else binding_constraints(pkg, closest[1], closest[2])
    return DesignResult(
        feasible=False,
        status="infeasible",
        completion_period=None,
        schedule=(),
        min_slack=None,
        binding=binding,
        side_payment=side,
        solve_time=time.perf_counter() - t0,
        method="bruteforce",
        provenance=prov,
        lower_bound=max(pkg.horizon + 1, pkg.lower_bound),
        message=infeasible_message(pkg, side),
        stats={**stats, "closest_min_slack": None if closest is None else closest[0]},
    )


def brute_force_objective(
    pkg: Package,
    kind: str,
    rules: Sequence[Rule] = (),
    *,
    weights: Sequence[float] | None = None,
    floors: Sequence[float | None] | None = None,
) -> tuple[float, IntArray] | None:
    """The oracle of :func:`detente.design.objectives.optimise`: the best value of ``kind``
    (``feasible``, ``value``, ``deepest``, ``fair``, ``robust-slack``; ``fastest`` gives
    ``-completion`` then the largest minimum normalised slack as a tuple-free score
    ``-completion + slack / 16``) over every self-enforcing schedule within the horizon that
    meets ``rules`` and the value ``floors``, with a schedule attaining it; None when there is
    none. Demands are evaluated by :func:`detente.design.demands.holds`, independently of
    their MILP rows.
    """
    from .demands import holds

    if pkg.n_tranches > MAX_TRANCHES or pkg.horizon > MAX_HORIZON:
        raise UsageError("the brute-force oracle handles at most 7 tranches and a horizon of 6")
    best: tuple[float, IntArray] | None = None
    for counts in schedules(pkg.m, pkg.horizon):
        if not requires_ok(counts, pkg):
            continue
        check = check_counts(pkg, counts)
        if not check.ok:
            continue
        if not all(holds(pkg, counts, check, r) for r in rules):
            continue
        if floors is not None and any(
            lo is not None and check.participation[i] < lo - 1e-9 for i, lo in enumerate(floors)
        ):
            continue
        if kind == "fastest":
            score = -float(completion_of(counts)) + check.min_norm_slack / 16.0
        elif kind == "feasible":
            score = 0.0
        else:
            if kind == "fair" and (check.participation / pkg.stake < NASH_FLOOR).any():
                continue
            score = objective_value(pkg, counts, check, kind, weights)
        if best is None or score > best[0]:
            best = (score, counts)
    return best
