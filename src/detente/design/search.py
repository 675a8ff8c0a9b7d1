"""The engine under the schedule designer: the lazy-constraint loop and its diagnostics.

:class:`_Search` holds one package's master problems across completion periods; :func:`_lazy`
solves a master for a completion period ``T``, checks its schedule with the exact kernel
(docs/model.md §3), adds the constraints the schedule violates and solves again. The
messages, provenance and side-payment search every designer reports with live here too, so
that the designer (:mod:`detente.design.milp`), the other objectives
(:mod:`detente.design.objectives`) and the brute-force oracle (:mod:`detente.design.bruteforce`)
share them without importing one another in a circle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from .explain import binding_constraints
from .implied import add_implied_rows, seen_periods
from .master import ETA_MAX, CutKey, Master, Objective
from .package import (
    FEASIBILITY_TOL,
    Check,
    Package,
    check_counts,
    completion_of,
    requires_ok,
    steps_of,
)
from .profiles import add_profile_rows
from .result import Provenance, SidePayment

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: ``auto`` is ``milp``; ``bruteforce`` runs the exhaustive oracle (small packages only).
METHODS = ("auto", "milp", "bruteforce")
#: A max-min solve stops when the kernel's minimum is within this of the master's bound.
MAXMIN_TOL = 1e-7
_MAX_MARGIN = 1e-5
#: Payments within this of the smallest count as equal when choosing the fastest schedule
#: a payment buys (the brute-force oracle uses the same).
PAY_TOL = 1e-9


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
    solver: str = field(default_factory=lambda: SOLVER)
    cp_solves: int = 0  # masters settled by CP-SAT

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
    """Every key (i, τ, plan, d) that can matter within horizon T: d runs over the periods in
    which a deviation at τ can first be seen (:func:`detente.design.implied.seen_periods`)."""
    return [(i, tau, plan, d) for (i, tau, plan), periods in seen_periods(pkg, T).items() for d in periods]


#: Up to this many possible keys, a horizon's master gets all of them from the start
#: (measured: far faster proofs of infeasibility on small horizons); beyond it, only lazily.
COMPLETE_KEYS = 600


def _complete(pkg: Package, T: int) -> bool:
    return len(all_keys(pkg, T)) <= COMPLETE_KEYS


#: ``cpsat``: masters that only ask whether a schedule exists go to CP-SAT
#: (:mod:`detente.design.cpsat`; measured on the harder generator: proofs of infeasibility
#: and first schedules 5-10 times faster than HiGHS); ``highs``: every master goes to HiGHS.
SOLVER = "cpsat"

#: Masters get the rows of :mod:`detente.design.implied` (a tighter relaxation; off only to
#: compare with the plain formulation in tests and benchmarks).
IMPLIED_ROWS = True

#: Max-min masters that CP-SAT takes get the rows of :mod:`detente.design.profiles` (measured
#: on the harder generator's seed 7: the tie-break in 5.5 s with them against 10 s without).
PROFILE_ROWS = True


def prepare(master: Master, search: _Search) -> None:
    """The rows every master of ``search`` starts with: the implied rows, the profile rows
    for a max-min that CP-SAT takes, and every key (all possible ones for a short horizon,
    else those found so far)."""
    pkg = search.pkg
    if IMPLIED_ROWS:
        add_implied_rows(master)
    if _complete(pkg, master.T):
        master.add_cuts(all_keys(pkg, master.T))
    master.add_cuts(search.keys)
    if PROFILE_ROWS and master.cp_maxmin():
        add_profile_rows(master)


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
        master = Master(
            pkg, T, objective, payer=payer, eta_lb=eta_lb, eta_ub=eta_ub, pi_max=pi_max, solver=search.solver
        )
        if extra is not None:  # more rows (the parties' demands, see detente.design.demands)
            extra(master)
        prepare(master, search)
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
        search.cp_solves += master.solved_by == "cpsat"
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
        # the smallest payment that buys a schedule completing by t, compared with the
        # cheapest as the oracle compares them (a bound pi <= amount in the master would be
        # met with equality and leave the solver's verdict to its tolerances)
        fast = _lazy(search, t, "payment", payer=j)
        if fast.status == "optimal" and fast.counts is not None and fast.check is not None:
            if _payment_needed(pkg, fast.check, j) <= amount + PAY_TOL:
                counts = fast.counts
                break
            continue
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
