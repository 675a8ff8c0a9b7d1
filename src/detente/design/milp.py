"""The schedule designer of docs/model.md §4: the fastest self-enforcing schedule.

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

This module is the dispatcher: the lazy loop and the diagnostics are in
:mod:`detente.design.search` (re-exported here), the other objectives and demands go through
:func:`design_for` to :mod:`detente.design.objectives`, and ``method="bruteforce"`` to
:mod:`detente.design.bruteforce`; none of those three imports this module.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from ..core.scenario import Scenario
from .bruteforce import brute_force_objective, brute_force_package
from .demands import compile_rules
from .explain import binding_constraints
from .master import ETA_MAX
from .objectives import _WHAT, OBJECTIVES, _robust, fastest, optimise, reported_value
from .package import (
    Check,
    Package,
    build_package,
    completion_of,
)
from .result import BindingConstraint, DesignResult, SidePayment, Status
from .search import COMPLETE_KEYS as COMPLETE_KEYS
from .search import MAXMIN_TOL as MAXMIN_TOL
from .search import METHODS as METHODS
from .search import _complete as _complete
from .search import _Found as _Found
from .search import _lazy as _lazy
from .search import _passes as _passes
from .search import _payment_needed as _payment_needed
from .search import _Search as _Search
from .search import _side_payment as _side_payment
from .search import _violations as _violations
from .search import all_keys as all_keys
from .search import assert_self_enforcing as assert_self_enforcing
from .search import comply_value_upper as comply_value_upper
from .search import eta_upper_bound as eta_upper_bound
from .search import feasible_message as feasible_message
from .search import infeasible_message as infeasible_message
from .search import named_steps as named_steps
from .search import provenance as provenance

__all__ = ["METHODS", "DesignResult", "design", "design_for"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

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
    must meet), hand over to :func:`design_for` (docs/zone.md).

    Every concession is scheduled in full; a divisible one in ``tranches[k]`` equal tranches
    (default: the scenario's ``design.tranches``, else 1); a tranche goes to some period in
    ``0..horizon`` (default ``design.horizon``), after each prerequisite is complete. The
    result's ``completion_period`` is the smallest last period of any schedule that passes the
    check of docs/model.md §3, and its ``schedule`` one that maximises the smallest
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
        return design_for(pkg, objective, demands, time_limit=time_limit, method=method, start=start)
    if method == "bruteforce":
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
            "cp_solves": search.cp_solves,
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
    lead = _tie_break(search, T_opt)
    secondary = lead.status
    if lead.status == "optimal" and lead.counts is not None and completion_of(lead.counts) == T_opt:
        counts = lead.counts
    elif (
        lead.counts is not None
        and lead.check is not None
        and lead.check.ok
        and completion_of(lead.counts) == T_opt
        and lead.check.min_norm_slack > best.check.min_norm_slack
    ):
        counts = lead.counts  # the tie-break was cut off: keep its better schedule (not proved best)
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


def _tie_break(search: _Search, T: int) -> _Found:
    """The largest minimum normalised slack among the schedules completing by ``T``.

    The optimum often equals :func:`eta_upper_bound` (a constraint of the completed deal,
    which no schedule changes, is the smallest). So a master whose η is held within
    :data:`MAXMIN_TOL` of that bound goes first: a schedule it returns whose exact minimum is
    that close to the bound is optimal to the same tolerance as the full max-min's answer.
    Otherwise (the master is infeasible, or the limit ran out) the full max-min runs, from
    η ≥ 0 rather than from the slack of the schedule already found: the maximum is the same,
    and with the higher floor HiGHS finds its first point far later (measured on the harder
    generator: 4 s against 43-62 s on seed 3).

    With CP-SAT as the solver the first try is skipped: CP-SAT takes the full max-min
    (:meth:`~detente.design.master.Master.cp_maxmin`), where a schedule at the bound ends the
    optimisation at once; should it not settle the master, HiGHS solves it without the first
    try. (Handing CP-SAT the schedule that proved ``T`` as a start was measured: 2 s faster on
    seed 3 of the harder generator, 1 s slower on seed 7, the slowest; it is not done.)
    """
    top = eta_upper_bound(search.pkg)
    if search.solver != "cpsat" and top - MAXMIN_TOL > 0.0:
        at_top = _lazy(search, T, "maxmin", eta_lb=top - MAXMIN_TOL)
        if (
            at_top.status == "optimal"
            and at_top.check is not None
            and at_top.counts is not None
            and completion_of(at_top.counts) == T
            and at_top.check.min_norm_slack >= top - MAXMIN_TOL
        ):
            return at_top
    return _lazy(search, T, "maxmin", eta_lb=0.0)


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
    """The smallest completion period, by an upward search over periods.

    Feasibility is monotone in the horizon (a schedule within T is within T + 1), so the
    search settles T = ``lower``, the smallest period not yet ruled out: infeasible raises
    ``lower``; a schedule there is optimal. Without a time limit that is all it does (a proved
    answer that does not depend on the machine's speed). Under a time limit the first attempt
    at a period gets :data:`INITIAL_BUDGET` seconds; when that does not settle it, the search
    probes later periods (``lower`` + 1, 2, 4, ..., half that budget each, one budget in all)
    until one gives a schedule to fall back on (a probe proved infeasible rules out the whole
    range up to it),
    and then gives ``lower`` and every later attempt all the time
    that is left, so that no branch-and-bound tree is thrown away after the first second (a
    restarted solve starts its tree from scratch). The cuts found on the way are kept.
    """
    pkg = search.pkg
    lower = pkg.lower_bound
    best: _Found | None = None
    budget = INITIAL_BUDGET if search.deadline is not None else math.inf
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
            continue
        if _passing(found):  # everything below ``lower`` is infeasible: this is optimal
            return _Fastest("optimal", lower, found)
        if found.status == "error":
            return _Fastest("error", lower, best)
        if math.isinf(budget):  # the deadline has passed
            return _Fastest("time_limit", lower, best)
        gap = 1
        probing_ends = time.perf_counter() + budget  # all the probes together get one budget
        while best is None and time.perf_counter() < probing_ends:
            probe = min(pkg.horizon, lower + gap)
            if probe <= lower:
                break
            ahead = _lazy(search, probe, until=min(probing_ends, time.perf_counter() + budget / 2))
            if _passing(ahead):
                best = ahead
            elif ahead.status == "infeasible":
                lower = probe + 1
            elif probe == pkg.horizon:
                break
            gap *= 2
        budget = math.inf


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


def design_for(
    pkg: Package,
    objective: str,
    demands: Sequence[str] | None = None,
    *,
    time_limit: float | None = None,
    method: str = "auto",
    start: float | None = None,
) -> DesignResult:
    """The best schedule for ``objective`` among the self-enforcing ones within the horizon
    that meet ``demands`` (scenario demand ids), as a :class:`DesignResult`.

    ``fastest`` with demands searches the completion period upwards, then breaks ties by the
    largest minimum normalised slack, as the plain designer does. When nothing qualifies and
    there are no demands, the plain designer's diagnostics (binding constraints, side
    payment) are returned; with demands, the message points to ``detente zone``.
    """
    t0 = time.perf_counter() if start is None else start
    if objective not in OBJECTIVES:
        raise UsageError(f"objective: expected one of {', '.join(OBJECTIVES)}, found {objective!r}")
    if method not in METHODS:
        raise UsageError(f"method: expected one of {', '.join(METHODS)}, found {method!r}")
    rules = compile_rules(pkg, demands) if demands is not None else []
    word = pkg.comp.period_label
    T = pkg.horizon
    search = _Search(pkg, None if time_limit is None else t0 + float(time_limit))
    counts: IntArray | None = None
    status = "infeasible"
    if method == "bruteforce":
        best = brute_force_objective(pkg, objective, rules)
        if best is not None:
            counts, status = best[1], "optimal"
    elif objective == "fastest":
        _, found = fastest(search, rules)
        counts, status = found.counts, found.status
    elif objective == "robust-slack" and time_limit is not None:
        # a schedule to fall back on if the limit runs out: the fastest, whose smallest
        # slack also bounds the optimum from below
        _, base = fastest(search, rules)
        counts, status = base.counts, base.status
        if base.status == "optimal" and base.check is not None:
            found = _robust(search, T, rules, eta_lb=max(0.0, base.check.min_norm_slack))
            if found.status == "optimal":
                counts = found.counts
            else:
                status = "time_limit"
    else:
        found = optimise(search, T, objective, rules)
        counts, status = found.counts, found.status
    if status == "time_limit" and counts is not None and objective == "robust-slack":
        check = assert_self_enforcing(pkg, counts)
        return DesignResult(
            feasible=True,
            status="time_limit",
            completion_period=completion_of(counts),
            schedule=named_steps(pkg, counts),
            min_slack=check.min_norm_slack,
            binding=binding_constraints(pkg, counts, check),
            side_payment=None,
            solve_time=time.perf_counter() - t0,
            method="milp",
            provenance=provenance(pkg),
            lower_bound=0,
            message=(
                f"Stopped (time limit): the best schedule found has a smallest normalised slack of "
                f"{check.min_norm_slack:.4g} (not proved the largest)."
            ),
            stats={"solves": search.solves, "iterations": search.iterations, "cuts": len(search.keys)},
            objective=objective,
            objective_value=check.min_norm_slack,
            demands=tuple(r.id for r in rules),
        )
    if status == "optimal" and counts is not None:
        check = assert_self_enforcing(pkg, counts)
        value = reported_value(pkg, counts, check, objective)
        done = completion_of(counts)
        return DesignResult(
            feasible=True,
            status="optimal",
            completion_period=done,
            schedule=named_steps(pkg, counts),
            min_slack=check.min_norm_slack,
            binding=binding_constraints(pkg, counts, check),
            side_payment=None,
            solve_time=time.perf_counter() - t0,
            method="bruteforce" if method == "bruteforce" else "milp",
            provenance=provenance(pkg),
            lower_bound=done if objective == "fastest" else 0,
            message=(
                f"The {_WHAT[objective]} self-enforcing schedule within {word} {T}"
                f"{' that meets the demands' if rules else ''} completes in {word} {done}"
                f" ({objective} value {value:.6g})."
            ),
            stats={"solves": search.solves, "iterations": search.iterations, "cuts": len(search.keys)},
            objective=objective,
            objective_value=value,
            demands=tuple(r.id for r in rules),
        )
    if status not in ("infeasible",):
        raise UsageError(
            f"the {objective} design stopped ({status.replace('_', ' ')}) before an answer; raise --time-limit"
        )
    if not rules:
        plain = design(pkg.scenario, pkg.horizon, dict(pkg.tranches), params=dict(pkg.comp.params), method=method)
        return replace(plain, objective=objective, objective_value=None)
    return DesignResult(
        feasible=False,
        status="infeasible",
        completion_period=None,
        schedule=(),
        min_slack=None,
        binding=(),
        side_payment=None,
        solve_time=time.perf_counter() - t0,
        method="bruteforce" if method == "bruteforce" else "milp",
        provenance=provenance(pkg),
        lower_bound=T + 1,
        message=(
            f"No self-enforcing schedule within {word} {T} meets the demands "
            f"({', '.join(r.id for r in rules)}): the agreement zone is empty; `detente zone` says which must give."
        ),
        stats={"solves": search.solves},
        objective=objective,
        objective_value=None,
        demands=tuple(r.id for r in rules),
    )
