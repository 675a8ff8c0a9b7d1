"""The schedule designer of MODEL.md section 4: the fastest self-enforcing schedule.

:func:`design` searches the completion period ``T`` upwards from the longest ``requires``
chain. For each ``T`` it solves the master MILP of :mod:`detente.design.master` with lazily
generated constraints: solve, check the schedule with the exact kernel, add the constraints
the schedule violates, solve again. The first ``T`` with a schedule that passes the kernel is
the smallest completion period (an infeasible master proves that no schedule completes by
``T``, because the master is a relaxation). Among the schedules completing at that ``T`` it
then maximises the minimum normalised slack. When no schedule within the horizon exists, it
finds, for each party, the smallest constant per-period side payment that would make one
exist, the fastest schedule the cheapest payment buys, and the constraints that payment has
to cover (the binding constraints). docs/design.md gives the formulation, the argument for
exactness and measured running times.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..core.errors import UsageError
from ..core.scenario import Scenario
from .explain import binding_constraints
from .master import ETA_MAX, CutKey, Master, Objective
from .package import (
    FEASIBILITY_TOL,
    Check,
    Package,
    build_package,
    check_counts,
    completion_of,
    requires_ok,
    steps_of,
)
from .result import BindingConstraint, DesignResult, Provenance, SidePayment, Status

__all__ = ["METHODS", "DesignResult", "design"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: ``auto`` is ``milp``; ``bruteforce`` runs the exhaustive oracle (small packages only).
METHODS = ("auto", "milp", "bruteforce")
#: A max-min solve stops when the kernel's minimum is within this of the master's bound.
MAXMIN_TOL = 1e-7
_MAX_MARGIN = 1e-5


# --------------------------------------------------------------------------- lazy loop


@dataclass
class _Search:
    """Counters and the cut keys shared across horizons."""

    pkg: Package
    deadline: float | None
    keys: set[CutKey] = field(default_factory=set)
    solves: int = 0
    iterations: int = 0
    margins: int = 0  # cuts that needed a tolerance margin (see _lazy)

    def remaining(self, until: float | None = None) -> float | None:
        """Seconds left before the call's deadline or ``until``, whichever comes first."""
        ends = [e for e in (self.deadline, until) if e is not None]
        if not ends:
            return None
        return min(ends) - time.perf_counter()


@dataclass(frozen=True)
class _Found:
    status: str  # optimal | infeasible | time_limit | error
    counts: IntArray | None = None
    check: Check | None = None
    value: float | None = None


def _violations(pkg: Package, check: Check, objective: Objective, level: float, payer: int | None) -> list[CutKey]:
    """Keys of the constraints the schedule breaks for this objective.

    ``feasible``: raw slack < −1e-9. ``maxmin``: normalised slack < ``level`` − tolerance.
    ``payment``: as ``feasible``, with the payer's slacks raised by ``level / (1 − δ)``.
    """
    r = check.kernel
    ps = check.plan_slack  # [2, P, Tn]
    exists = r.exists
    if objective == "maxmin":
        bad = exists & (ps / pkg.stake[None, :, None] < level - MAXMIN_TOL)
    elif objective == "payment":
        assert payer is not None
        lift = np.zeros(pkg.comp.n_parties)
        lift[payer] = level / (1.0 - float(pkg.comp.discount[payer]))
        bad = exists & (ps + lift[None, :, None] < -FEASIBILITY_TOL)
    else:
        bad = exists & (ps < -FEASIBILITY_TOL)
    return [(int(i), int(tau), int(p), int(r.seen[p, i, tau])) for p, i, tau in np.argwhere(bad)]


def eta_upper_bound(pkg: Package) -> float:
    """An upper bound on the largest minimum normalised slack of any schedule.

    The constraints at τ = H + 1 (the completed deal) do not depend on the schedule, so their
    normalised slacks bound the minimum; so does each party's participation value with
    everything in force from period 0 (the largest it can be), and the a-priori bound
    :data:`~detente.design.master.ETA_MAX`. A tight bound keeps the big-M constants small.
    """
    done = check_counts(pkg, pkg.m[:, None].copy())
    bound = ETA_MAX
    plans = done.kernel.any_plan[:, 1]
    if plans.any():
        bound = min(bound, float(np.min(done.slack[plans, 1] / pkg.stake[plans])))
    upfront = comply_value_upper(pkg)
    return min(bound, float(np.min(upfront / pkg.stake)))


def comply_value_upper(pkg: Package) -> FloatArray:
    """Each party's largest possible V_i(0): every term at its best timing (0 or never)."""
    comp = pkg.comp
    per = comp.flow / (1.0 - comp.discount)[None, :] + comp.once  # [K, P] all at period 0
    best: FloatArray = np.maximum(per, 0.0).sum(axis=0)
    return best


def all_keys(pkg: Package, T: int) -> list[CutKey]:
    """Every key (i, τ, plan, d) that can matter within horizon T.

    d runs over the periods in which a deviation at τ can first be seen: a step of the
    deviator at some t in τ..T seen at t + lag, or a reversal decided at τ seen at
    τ + delay + lag.
    """
    comp = pkg.comp
    keys: list[CutKey] = []
    for i in range(comp.n_parties):
        own = np.nonzero(comp.giver == i)[0]
        lags = sorted({int(comp.lag[k]) for k in own})
        grabs = sorted({int(comp.delay[k] + comp.lag[k]) for k in own if comp.fragile[k]})
        for tau in range(T + 2):
            skip = {t + lag for t in range(tau, T + 1) for lag in lags}
            for d in sorted(skip):
                keys.append((i, tau, 0, d))
            undo = {tau + g for g in grabs} if tau >= 1 else set()
            for d in sorted(skip | undo):
                keys.append((i, tau, 1, d))
    return keys


#: Up to this many possible keys, a horizon's master gets all of them from the start
#: (measured: far faster proofs of infeasibility on small horizons); beyond it, only lazily.
COMPLETE_KEYS = 600


def _complete(pkg: Package, T: int) -> bool:
    return len(all_keys(pkg, T)) <= COMPLETE_KEYS


def _lazy(
    search: _Search,
    T: int,
    objective: Objective = "feasible",
    *,
    payer: int | None = None,
    eta_lb: float = 0.0,
    pi_max: float | None = None,
    until: float | None = None,
    extra: Callable[[Master], None] | None = None,
) -> _Found:
    """Solve the master for horizon T with lazily added cuts until the kernel agrees.

    For the max-min objective the master is rebuilt whenever its optimum (an upper bound on
    the true optimum, the master being a relaxation) has fallen well below the bound its
    big-M constants were built with, since smaller constants give a tighter relaxation.
    """
    pkg = search.pkg
    eta_ub = max(eta_lb, eta_upper_bound(pkg)) if objective == "maxmin" else ETA_MAX

    def build() -> Master:
        master = Master(pkg, T, objective, payer=payer, eta_lb=eta_lb, eta_ub=eta_ub, pi_max=pi_max)
        if extra is not None:  # more rows (the parties' demands, see detente.design.demands)
            extra(master)
        if _complete(pkg, T):
            master.add_cuts(all_keys(pkg, T))
        master.add_cuts(search.keys)
        for key, margin in margins.items():
            master.add_cut(key, margin)
        return master

    margins: dict[CutKey, float] = {}
    master = build()
    while True:
        remaining = search.remaining(until)
        if remaining is not None and remaining <= 0:
            return _Found("time_limit")
        out = master.solve(remaining)
        search.solves += 1
        if out.status == "infeasible":
            return _Found("infeasible")
        if out.counts is None:
            return _Found("time_limit" if out.status == "time_limit" else "error")
        counts = out.counts
        if not requires_ok(counts, pkg):  # the master encodes requires exactly
            return _Found("error", counts)
        check = check_counts(pkg, counts)
        if objective == "maxmin":
            level = -float(out.objective) if out.objective is not None else eta_lb
        elif objective == "payment":
            level = float(out.objective) if out.objective is not None else 0.0
        else:
            level = 0.0
        keys = _violations(pkg, check, objective, level, payer)
        if not keys:
            if out.status == "optimal" and _passes(pkg, check, objective, level, payer):
                return _Found("optimal", counts, check, level)
            return _Found(out.status if out.status != "optimal" else "error", counts, check, level)
        search.keys.update(keys)
        if out.status == "time_limit":
            return _Found("time_limit")
        search.iterations += 1
        added = 0
        for key in keys:
            if master.add_cut(key):
                added += 1
        if added == 0:
            # The solver accepted a point within its tolerance that the exact check rejects:
            # demand a small margin on those cuts (raised tenfold each time it recurs).
            for key in keys:
                search.margins += 1
                margins[key] = max(1e-9, 10.0 * margins.get(key, 1e-10))
                if margins[key] > _MAX_MARGIN:
                    return _Found("error", counts, check, level)
                master.add_cut(key, margins[key])
        if objective == "maxmin" and out.status == "optimal" and out.bound is not None:
            proved = -out.bound  # no schedule does better than the master's dual bound
            if proved < eta_ub - 0.25 * (eta_ub - eta_lb):
                eta_ub = max(proved + 1e-9, eta_lb)
                master = build()


def _passes(pkg: Package, check: Check, objective: Objective, level: float, payer: int | None) -> bool:
    """The participation part of the objective's acceptance test (slacks are in _violations)."""
    part = check.participation.copy()
    if objective == "payment" and payer is not None:
        part[payer] += level / (1.0 - float(pkg.comp.discount[payer]))
    if objective == "maxmin":
        return bool((part / pkg.stake >= level - MAXMIN_TOL).all())
    return bool((part >= -FEASIBILITY_TOL).all())


# --------------------------------------------------------------------------- results


def named_steps(pkg: Package, counts: IntArray) -> tuple[tuple[int, str, float], ...]:
    ids = pkg.comp.concession_ids
    return tuple((t, ids[k], a) for t, k, a in steps_of(counts, pkg.m))


def provenance(pkg: Package) -> Provenance:
    scn = pkg.scenario
    return Provenance(
        scenario_hash=scn.content_hash,
        scenario_name=scn.name,
        horizon=pkg.horizon,
        tranches=dict(pkg.tranches),
        params=dict(pkg.comp.params),
        version=__version__,
    )


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _periods(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def infeasible_message(pkg: Package, side: SidePayment | None) -> str:
    """``No self-enforcing phasing within 12 months. One exists if a guarantor pays ...``"""
    word = pkg.comp.period_label
    T = pkg.horizon
    if T == 0:
        head = f"No self-enforcing schedule does everything in {word} 0."
    else:
        head = f"No self-enforcing phasing within {_periods(T, word)}."
    if pkg.lower_bound > T:
        return (
            f"{head} The requires chain alone needs {_periods(pkg.lower_bound + 1, word)}; "
            f"raise the horizon to at least {pkg.lower_bound}."
        )
    if side is None:
        return f"{head} No constant payment to a single party makes one exist."
    return (
        f"{head} One exists if a guarantor pays {side.party} at least {_fmt(side.amount)} a {word} while it complies."
    )


def feasible_message(pkg: Package, T: int) -> str:
    word = pkg.comp.period_label
    return f"The fastest self-enforcing schedule completes in {word} {T}."


def assert_self_enforcing(pkg: Package, counts: IntArray) -> Check:
    """Run the exact check on ``counts`` and fail loudly if it does not pass."""
    check = check_counts(pkg, counts)
    if not (check.ok and requires_ok(counts, pkg)):
        raise AssertionError("the designer produced a schedule that fails the exact check")
    return check


def _payment_needed(pkg: Package, check: Check, j: int) -> float:
    """The smallest per-period payment to j that makes ``check``'s schedule pass for j."""
    plans = check.kernel.any_plan[j]
    worst = float(check.participation[j])
    if plans.any():
        worst = min(worst, float(np.min(check.slack[j][plans])))
    return max(0.0, -worst) * (1.0 - float(pkg.comp.discount[j]))


def _side_payment(search: _Search, T: int) -> tuple[SidePayment | None, dict[str, str]]:
    """The smallest per-party payments (see :class:`SidePayment`) within horizon T.

    For each party j, a MILP minimises the payment π_j over every schedule within T on which
    all other parties' constraints hold. The cheapest party is named; then the fastest
    schedule that its payment makes self-enforcing is found by the same upward search over
    the completion period as :func:`design`.
    """
    pkg = search.pkg
    comp = pkg.comp
    by_party: dict[str, float | None] = {}
    found: dict[int, tuple[float, IntArray]] = {}
    statuses: dict[str, str] = {}
    for j in range(comp.n_parties):
        out = _lazy(search, T, "payment", payer=j)
        statuses[comp.party_ids[j]] = out.status
        if out.status == "optimal" and out.counts is not None and out.check is not None:
            amount = _payment_needed(pkg, out.check, j)
            by_party[comp.party_ids[j]] = amount
            found[j] = (amount, out.counts)
        else:
            by_party[comp.party_ids[j]] = None
    if not found:
        return None, statuses
    j = min(found, key=lambda q: (found[q][0], q))
    amount, counts = found[j]
    for t in range(pkg.lower_bound, completion_of(counts)):
        fast = _lazy(search, t, "payment", payer=j, pi_max=amount)
        if fast.status == "optimal" and fast.counts is not None:
            counts = fast.counts
            break
        if fast.status != "infeasible":
            statuses["fastest"] = fast.status
            break
    check = check_counts(pkg, counts)
    shift = amount / (1.0 - float(comp.discount[j]))
    side = SidePayment(
        party=comp.party_ids[j],
        amount=amount,
        by_party=by_party,
        schedule=named_steps(pkg, counts),
        completion_period=completion_of(counts),
        binding=binding_constraints(pkg, counts, check, party=j, shift=shift),
    )
    return side, statuses


# --------------------------------------------------------------------------- design


def design(
    scenario: Scenario | str | os.PathLike[str],
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    time_limit: float | None = None,
    method: str = "auto",
    objective: str = "fastest",
    demands: Sequence[str] | None = None,
) -> DesignResult:
    """The fastest self-enforcing schedule of ``scenario``'s package within ``horizon``.

    ``objective`` other than ``fastest``, or ``demands`` (scenario demand ids the schedule
    must meet), hand over to :func:`detente.design.objectives.design_for` (docs/zone.md).

    Every concession is scheduled in full; a divisible one in ``tranches[k]`` equal tranches
    (default: the scenario's ``design.tranches``, else 1); a tranche goes to some period in
    ``0..horizon`` (default ``design.horizon``), after each prerequisite is complete. The
    result's ``completion_period`` is the smallest last period of any schedule that passes the
    check of MODEL.md section 3, and its ``schedule`` one that maximises the smallest
    normalised slack among those. ``time_limit`` (seconds) bounds the whole call: when it
    runs out the status is ``time_limit``, with the best schedule found so far (if any),
    never ``infeasible``. Raises UsageError for bad inputs.
    """
    start = time.perf_counter()
    if method not in METHODS:
        raise UsageError(f"method: expected one of {', '.join(METHODS)}, found {method!r}")
    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, found {time_limit!r}")
    if not isinstance(scenario, Scenario):
        from ..io.yaml import load

        scenario = load(scenario)
    pkg = build_package(scenario, horizon, tranches, params)
    if objective != "fastest" or demands is not None:
        from .objectives import design_for

        return design_for(pkg, objective, demands, time_limit=time_limit, method=method, start=start)
    if method == "bruteforce":
        from .bruteforce import brute_force_package

        oracle = brute_force_package(pkg, start=start)
        done = oracle.completion_period
        return replace(oracle, objective_value=None if done is None else float(done))
    deadline = None if time_limit is None else start + float(time_limit)
    search = _Search(pkg, deadline)
    prov = provenance(pkg)

    def result(
        *,
        feasible: bool,
        status: Status,
        counts: IntArray | None,
        check: Check | None,
        lower: int,
        message: str,
        side: SidePayment | None = None,
        binding: tuple[BindingConstraint, ...] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> DesignResult:
        schedule: tuple[tuple[int, str, float], ...] = ()
        completion = None
        min_slack = None
        if counts is not None and check is not None and feasible:
            schedule = named_steps(pkg, counts)
            completion = completion_of(counts)
            min_slack = check.min_norm_slack
            binding = binding or binding_constraints(pkg, counts, check)
        stats = {
            "solves": search.solves,
            "iterations": search.iterations,
            "cuts": len(search.keys),
            "margins": search.margins,
            "tranches": pkg.n_tranches,
            **(extra or {}),
        }
        return DesignResult(
            feasible=feasible,
            status=status,
            completion_period=completion,
            schedule=schedule,
            min_slack=min_slack,
            binding=binding,
            side_payment=side,
            solve_time=time.perf_counter() - start,
            method="milp",
            provenance=prov,
            lower_bound=lower,
            message=message,
            stats=stats,
            objective_value=None if completion is None else float(completion),
        )

    if pkg.lower_bound > pkg.horizon:
        return result(
            feasible=False,
            status="infeasible",
            counts=None,
            check=None,
            lower=pkg.lower_bound,
            message=infeasible_message(pkg, None),
        )

    fastest = _fastest(search)
    best = fastest.best
    if fastest.status == "infeasible":
        return _infeasible(search, result)
    if fastest.status != "optimal":
        # time limit or solver trouble: report what is known, never "infeasible"
        status: Status = "time_limit" if fastest.status == "time_limit" else "solver_error"
        word = pkg.comp.period_label
        if best is None or best.counts is None:
            return result(
                feasible=False,
                status=status,
                counts=None,
                check=None,
                lower=fastest.lower,
                message=(
                    f"Stopped ({status.replace('_', ' ')}) before a schedule was found; none "
                    f"completes before {word} {fastest.lower}."
                ),
            )
        check = assert_self_enforcing(pkg, best.counts)
        c = completion_of(best.counts)
        return result(
            feasible=True,
            status=status,
            counts=best.counts,
            check=check,
            lower=fastest.lower,
            message=(
                f"Stopped ({status.replace('_', ' ')}): a self-enforcing schedule completes in "
                f"{word} {c}; none completes before {word} {fastest.lower}."
            ),
        )

    assert best is not None
    assert best.counts is not None
    assert best.check is not None
    T_opt = completion_of(best.counts)
    counts = best.counts
    primary_time = time.perf_counter() - start
    lead = _lazy(search, T_opt, "maxmin", eta_lb=max(0.0, best.check.min_norm_slack))
    secondary = lead.status
    if lead.status == "optimal" and lead.counts is not None and completion_of(lead.counts) == T_opt:
        counts = lead.counts
    check = assert_self_enforcing(pkg, counts)
    if completion_of(counts) != T_opt or T_opt != fastest.lower:
        raise AssertionError("the designed schedule does not complete at the proved optimum")
    return result(
        feasible=True,
        status="optimal",
        counts=counts,
        check=check,
        lower=T_opt,
        message=feasible_message(pkg, T_opt),
        extra={
            "secondary": secondary,
            "primary_time": primary_time,
            "secondary_time": time.perf_counter() - start - primary_time,
        },
    )


@dataclass(frozen=True)
class _Fastest:
    """The outcome of the search over completion periods.

    ``lower``: every completion period below it is proved impossible. ``best``: the fastest
    passing schedule found (the optimum when ``status`` is ``optimal``).
    """

    status: str  # optimal | infeasible | time_limit | error
    lower: int
    best: _Found | None


#: Seconds first allowed to settle one completion period before the search looks further out.
INITIAL_BUDGET = 1.0


def _passing(found: _Found) -> bool:
    return found.counts is not None and found.check is not None and found.check.ok


def _fastest(search: _Search) -> _Fastest:
    """The smallest completion period, by an upward search with growing per-period budgets.

    Feasibility is monotone in the horizon (a schedule within T is within T + 1), so the
    search settles T = ``lower``, the smallest period not yet ruled out: infeasible raises
    ``lower``; a schedule there is optimal. When settling ``lower`` takes longer than the
    budget, it probes a later period (``lower`` + 1, 2, 4, ... below the best schedule so far,
    with half the budget)
    for a schedule to fall back on, or proves the whole range up to the probe infeasible;
    then it doubles the budget and tries ``lower`` again. The cuts found on the way are kept.
    This budgeting runs only under a time limit, where it ends with the best schedule found
    and the proved lower bound; without one, each period is settled in turn (a proved answer
    that does not depend on the machine's speed).
    """
    pkg = search.pkg
    lower = pkg.lower_bound
    best: _Found | None = None
    # without a time limit nobody sees a fallback schedule: settle each period in turn,
    # which also keeps the result independent of the machine's speed
    budget = INITIAL_BUDGET if search.deadline is not None else math.inf
    gap = 1
    while True:
        if best is not None and best.counts is not None and completion_of(best.counts) <= lower:
            return _Fastest("optimal", lower, best)
        if lower > pkg.horizon:
            return _Fastest("infeasible", lower, None)
        left = search.remaining()
        if left is not None and left <= 0:
            return _Fastest("time_limit", lower, best)
        until = None if math.isinf(budget) else time.perf_counter() + budget
        found = _lazy(search, lower, until=until)
        if found.status == "infeasible":
            lower += 1
            gap = 1
            continue
        if _passing(found):  # everything below ``lower`` is infeasible: this is optimal
            return _Fastest("optimal", lower, found)
        if found.status == "error":
            return _Fastest("error", lower, best)
        top = pkg.horizon if best is None or best.counts is None else completion_of(best.counts) - 1
        probe = min(top, lower + gap)
        if probe > lower:
            ahead = _lazy(search, probe, until=time.perf_counter() + budget / 2)
            if _passing(ahead):
                best = ahead
            elif ahead.status == "infeasible":
                lower = probe + 1
            gap *= 2
        budget *= 2


def _infeasible(search: _Search, result: Any) -> DesignResult:
    """No schedule within the horizon: side payment, binding constraints.

    The binding constraints are those the cheapest side payment has to cover. When no
    payment to a single party helps, they are those of the schedule closest to
    self-enforcing (the largest minimum normalised slack, negative).
    """
    pkg = search.pkg
    T = pkg.horizon
    side, statuses = _side_payment(search, T)
    extra: dict[str, Any] = {"side_payment_status": statuses}
    binding: tuple[BindingConstraint, ...] = ()
    timed_out = "time_limit" in statuses.values()
    if side is not None:
        binding = side.binding
    else:
        closest = _lazy(search, T, "maxmin", eta_lb=-ETA_MAX)
        extra["closest_status"] = closest.status
        timed_out = timed_out or closest.status == "time_limit"
        if closest.status == "optimal" and closest.counts is not None and closest.check is not None:
            binding = binding_constraints(pkg, closest.counts, closest.check)
            extra["closest_schedule"] = [list(s) for s in named_steps(pkg, closest.counts)]
    extra["diagnostics_complete"] = not timed_out
    out: DesignResult = result(
        feasible=False,
        status="infeasible",
        counts=None,
        check=None,
        lower=T + 1,
        message=infeasible_message(pkg, side),
        side=side,
        binding=binding,
        extra=extra,
    )
    return out
