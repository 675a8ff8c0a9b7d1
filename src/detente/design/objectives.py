"""Design objectives beyond speed, and parties' demands, on the exact lazy MILP.

:func:`optimise` solves, within a horizon ``T``, over every schedule that is self-enforcing
(docs/model.md §3) and meets the given demands (:mod:`detente.design.demands`):

* ``feasible``: any such schedule;
* ``value``: the largest ``Σ_i w_i V_i(0)`` for weights ``w`` (the values relative to no
  deal, whose status quo is 0 in the check's model), optionally with floors ``V_i(0) ≥ lo_i``
  (the epsilon-constraint method of the zone's frontier);
* ``deepest``: the most of the package in force early, see :func:`depth_form`;
* ``fair``: the Nash bargaining solution, the largest ``Σ_i log(V_i(0)/n_i)`` (``n_i`` the
  stake, which only shifts the sum by a constant), by outer approximation (see below);
* ``robust-slack``: the largest minimum normalised slack (the designer's tie-break, here over
  every schedule within ``T``, not only the fastest).

The loop is :func:`detente.design.search._lazy`'s: solve the master, check the schedule with the
exact kernel, add the cuts it violates, solve again. The master is a relaxation of the
problem, so once the kernel accepts the master's optimum that optimum is exact. For ``fair``
the log is replaced by tangent lines ``z_i ≤ log a + (u_i − a)/a`` (the log is concave, so
the tangents over-estimate it and the master is still a relaxation); after each solve a tangent
is added at each party's actual ``u_i``, until the master's ``Σ z_i`` exceeds the schedule's
true ``Σ log u_i`` by at most :data:`NASH_TOL`. The returned schedule's log Nash product is
then within ``NASH_TOL`` (plus the solver's relative gap 1e-6) of the optimum: exact for any
practical purpose, with a stated bound. Parties must gain at least :data:`NASH_FLOOR` of their
stake for the log to be defined; schedules giving a party less are not candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .demands import Rule, add_rule, holds
from .forms import comply_form
from .master import Master, Objective
from .package import Check, Package, check_counts, requires_ok
from .search import MAXMIN_TOL, _lazy, _passes, _Search, _violations, eta_upper_bound, prepare

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = [
    "NASH_FLOOR",
    "NASH_TOL",
    "OBJECTIVES",
    "Solved",
    "depth_form",
    "fastest",
    "objective_value",
    "optimise",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: ``design --objective`` choices.
OBJECTIVES = ("fastest", "deepest", "fair", "robust-slack")
#: The fair point stops when the master's bound is within this of the true log Nash product.
NASH_TOL = 1e-7
#: Smallest normalised value V_i(0)/n_i a party must get for the Nash product to count it.
NASH_FLOOR = 1e-6


@dataclass(frozen=True)
class Solved:
    """The outcome of :func:`optimise`: ``status`` optimal, infeasible, time_limit or error."""

    status: str
    counts: IntArray | None = None
    check: Check | None = None
    value: float | None = None  # the objective's exact value at ``counts``


def depth_weights(pkg: Package) -> FloatArray:
    """w_k = Σ_{j ≠ giver} max(flow_jk, 0) / n_j: what a unit of k in force is worth per
    period to the other parties, each in units of its stake."""
    comp = pkg.comp
    pos = np.maximum(comp.flow, 0.0) / pkg.stake[None, :]
    own = comp.giver[:, None] == np.arange(comp.n_parties)[None, :]
    out: FloatArray = np.where(own, 0.0, pos).sum(axis=1)
    return out


def depth_of(pkg: Package, amounts_in_force: FloatArray) -> float:
    """``Σ_k w_k Σ_{t=0}^{T} δ_{g(k)}^t x_k(t)`` for fractions in force ``x[k, t]``, t = 0..T."""
    comp = pkg.comp
    w = depth_weights(pkg)
    T1 = amounts_in_force.shape[1]
    disc = comp.discount[comp.giver][:, None] ** np.arange(T1)[None, :]
    return float((w[:, None] * disc * amounts_in_force).sum())


def depth_form(pkg: Package, T: int) -> tuple[FloatArray, float]:
    """The depth as ``Σ coef[k, t] X[k, t]`` over t < T plus a constant (x = 1 at T)."""
    comp = pkg.comp
    w = depth_weights(pkg)
    disc = comp.discount[comp.giver][:, None] ** np.arange(T + 1)[None, :]
    coef = (w[:, None] * disc[:, :T]) / pkg.m[:, None]
    const = float((w * disc[:, T]).sum())
    return coef, const


def in_force(counts: IntArray, m: IntArray) -> FloatArray:
    x: FloatArray = counts.astype(np.float64) / m[:, None]
    return x


def objective_value(
    pkg: Package,
    counts: IntArray,
    check: Check,
    kind: str,
    weights: Sequence[float] | None = None,
) -> float:
    """The exact value of objective ``kind`` at a schedule (the oracle's and the loop's)."""
    if kind == "deepest":
        return depth_of(pkg, in_force(counts, pkg.m))
    if kind == "fair":
        u = check.participation / pkg.stake
        if (u < NASH_FLOOR).any():
            return -math.inf
        return float(np.log(u).sum())
    if kind == "robust-slack":
        return check.min_norm_slack
    if kind == "value":
        assert weights is not None
        return float(np.dot(weights, check.participation))
    return 0.0


def _tangent(master: Master, z: int, u_terms: dict[int, float], u_const: float, a: float) -> None:
    """``z ≤ log a + (u − a)/a`` with ``u = u_terms · X + u_const``."""
    terms = {v: -c / a for v, c in u_terms.items()}
    terms[z] = 1.0
    master.add_row(terms, -math.inf, math.log(a) - 1.0 + u_const / a)


def optimise(
    search: _Search,
    T: int,
    kind: str,
    rules: Sequence[Rule] = (),
    *,
    weights: Sequence[float] | None = None,
    floors: Sequence[float | None] | None = None,
    hints: Sequence[Sequence[float]] = (),
) -> Solved:
    """The best schedule within ``T`` for ``kind`` (see the module docstring).

    ``hints`` (``fair`` only): parties' values V_i(0) of known schedules; a tangent is placed
    at each from the start, which saves rounds of the outer approximation (the bound stays
    valid: every tangent over-estimates the log)."""
    pkg = search.pkg
    comp = pkg.comp
    P = comp.n_parties
    if kind == "robust-slack" and not floors:
        return _robust(search, T, rules)
    eta_ub = eta_upper_bound(pkg) if kind == "robust-slack" else 0.0
    master = Master(pkg, T, "maxmin" if kind == "robust-slack" else "feasible", eta_lb=0.0, eta_ub=eta_ub)
    for rule in rules:
        add_rule(master, rule)
    values = [master.form_terms(comply_form(comp, T, i, 0)) for i in range(P)]
    for i, lo in enumerate(floors or ()):
        if lo is not None:
            terms, const = values[i]
            master.add_row(terms, lo - const - 1e-9, math.inf)
    zs: list[int] = []
    unorm = [
        ({v: c / float(pkg.stake[i]) for v, c in values[i][0].items()}, values[i][1] / float(pkg.stake[i]))
        for i in range(P)
    ]
    if kind == "value":
        assert weights is not None
        scale = max(1e-12, max(abs(w) for w in weights))
        for i, w in enumerate(weights):
            for v, c in values[i][0].items():
                master.cost[v] = master.cost.get(v, 0.0) - w * c / scale
    elif kind == "deepest":
        coef, _ = depth_form(pkg, T)
        for k in range(comp.n_concessions):
            for t in range(T):
                if coef[k, t] != 0.0:
                    var = int(master.X[k, t])
                    master.cost[var] = master.cost.get(var, 0.0) - float(coef[k, t])
    elif kind == "fair":
        top = 2.0
        for i in range(P):
            z = master.add_var(math.log(NASH_FLOOR), math.log(top), cost=-1.0)
            zs.append(z)
            terms, const = unorm[i]
            master.add_row(terms, NASH_FLOOR - const, math.inf)
            a = NASH_FLOOR * math.e
            while a < top:
                _tangent(master, z, terms, const, a)
                a *= 4.0
            for hint in hints:
                at = float(hint[i]) / float(pkg.stake[i])
                if NASH_FLOOR < at < top:
                    _tangent(master, z, terms, const, at)
    prepare(master, search)
    level = 0.0
    loop_kind: Objective = "maxmin" if kind == "robust-slack" else "feasible"
    while True:
        remaining = search.remaining()
        if remaining is not None and remaining <= 0:
            return Solved("time_limit")
        out = master.solve(remaining)
        search.solves += 1
        if out.status == "infeasible":
            return Solved("infeasible")
        if out.counts is None or out.values is None:
            return Solved("time_limit" if out.status == "time_limit" else "error")
        counts = out.counts
        if not requires_ok(counts, pkg):
            return Solved("error", counts)
        check = check_counts(pkg, counts)
        if kind == "robust-slack":
            level = -float(out.objective) if out.objective is not None else 0.0
        keys = _violations(pkg, check, loop_kind, level, None)
        if keys:
            search.keys.update(keys)
            search.iterations += 1
            if out.status == "time_limit":
                return Solved("time_limit")
            if not any(master.add_cut(key) for key in keys):
                for key in keys:
                    search.margins += 1
                    master.add_cut(key, 1e-8)
                if all(master.cuts.get(key, 0.0) >= 1e-8 for key in keys) and search.margins > 50:
                    return Solved("error", counts, check)
            continue
        if not _passes(pkg, check, loop_kind, level, None):
            return Solved("error", counts, check)
        if kind == "fair":
            u = check.participation / pkg.stake
            truth = float(np.log(np.maximum(u, NASH_FLOOR)).sum())
            bound = float(sum(out.values[z] for z in zs))
            if bound - truth > NASH_TOL:
                for i, z in enumerate(zs):
                    a = max(float(u[i]), NASH_FLOOR)
                    _tangent(master, z, *unorm[i], a)
                search.iterations += 1
                continue
        if out.status != "optimal":
            return Solved(out.status, counts, check)
        for rule in rules:
            if not holds(pkg, counts, check, rule):
                raise AssertionError(f"the designer produced a schedule that breaks the demand {rule.id!r}")
        if kind == "robust-slack" and check.min_norm_slack < level - 10 * MAXMIN_TOL:
            return Solved("error", counts, check)
        return Solved("optimal", counts, check, objective_value(pkg, counts, check, kind, weights))


def _robust(search: _Search, T: int, rules: Sequence[Rule], eta_lb: float = 0.0) -> Solved:
    """The largest minimum normalised slack within T, by the designer's own max-min loop
    (:func:`detente.design.search._lazy`, which also tightens its big-M constants as the
    solver's bound falls), with the demands' rows added to each master it builds."""

    def extra(master: Master) -> None:
        for rule in rules:
            add_rule(master, rule)

    found = _lazy(search, T, "maxmin", eta_lb=eta_lb, extra=extra)
    if found.status != "optimal" or found.counts is None or found.check is None:
        return Solved(found.status, found.counts, found.check)
    for rule in rules:
        if not holds(search.pkg, found.counts, found.check, rule):
            raise AssertionError(f"the designer produced a schedule that breaks the demand {rule.id!r}")
    return Solved("optimal", found.counts, found.check, found.check.min_norm_slack)


def fastest(search: _Search, rules: Sequence[Rule] = (), *, tie_break: bool = True) -> tuple[int | None, Solved]:
    """The smallest completion period with a self-enforcing schedule meeting ``rules``
    (upward search from the ``requires`` chain, as :func:`detente.design.milp.design`), and
    at it the schedule with the largest minimum normalised slack."""
    pkg = search.pkg
    for T in range(pkg.lower_bound, pkg.horizon + 1):
        found = optimise(search, T, "feasible", rules)
        if found.status == "infeasible":
            continue
        if found.status != "optimal" or not tie_break:
            return T, found
        best = optimise(search, T, "robust-slack", rules)
        return T, best if best.status == "optimal" else found
    return None, Solved("infeasible")


_WHAT = {
    "fastest": "fastest",
    "deepest": "deepest",
    "fair": "fair (Nash bargaining)",
    "robust-slack": "most robust (largest smallest slack)",
}


def reported_value(pkg: Package, counts: IntArray, check: Check, objective: str) -> float:
    """The objective's value as ``design --json`` reports it (see DesignResult.objective)."""
    if objective == "fastest":
        from .package import completion_of

        return float(completion_of(counts))
    if objective == "fair":
        return float(np.log(check.participation).sum())
    return objective_value(pkg, counts, check, objective)
