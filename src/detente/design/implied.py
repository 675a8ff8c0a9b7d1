"""Rows implied by the check that hold without knowing when a deviation is seen.

A cut of :mod:`detente.design.master` is a key ``(i, τ, plan, d)``: "if i's deviation at τ is
first seen at d, its slack with the response at ``d + 1`` is at least η". Which ``d`` applies
depends on which of i's steps come next, so the cut carries a big-M that a fractional
schedule voids almost for free (docs/design.md, "Where it is slow"). This module adds, for
each ``(i, τ, plan)``, one row that needs no such disjunction:

    plan exists at τ  ⇒  S_{i,τ,plan}(ρ₀) / n_i ≥ η − ε ,

where ρ₀ = d₀ + 1 is the *earliest* response possible (d₀ the smallest period in which that
deviation could be seen) and ε ≥ 0 bounds how much an earlier response can lower the slack:

    ε = max over every later possible d of  −min_x ( S(ρ₀) − S(d + 1) ) / n_i ,

the minimum taken over every non-decreasing schedule ``x ∈ [0, 1]`` (the same box minimum as
the big-M constants). The row is valid: if the plan exists the true seen period d* is one of
the possible ones, the check demands ``S(d* + 1) / n_i ≥ η`` (≥ −1e-9 raw, which the row
allows), and ``S(ρ₀) ≥ S(d* + 1) − ε n_i``. When later responses only help the deviator (the
other parties' concessions are worth something to it and it has nothing fragile to undo
later) ε is zero; an own fragile concession undone at the response (``halt``) gives a small
positive ε.

"The plan exists" is an indicator ``h`` per (party, τ, plan): ``halt`` exists when i still
has a step at some t ≥ τ, so ``h ≥ s[k, t]`` for i's concessions k and t ≥ τ, and
``h ≥ 1 − X[k, τ−1] / m_k`` (something of k remains); ``halt_and_reverse`` exists when a
fragile concession of i is in force at the start of τ (``h ≥ b[k, τ−1]``). The row is void
when ``h = 0``. Unlike a cut's indicators, ``h`` is one binary per (party, τ, plan) and is 1 for
every τ up to the party's last step, so branching on it settles many rows at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import NDArray

from .forms import Form, slack_form
from .master import Master
from .package import FEASIBILITY_TOL, Package

__all__ = ["add_implied_rows", "seen_periods"]

IntArray = NDArray[np.int64]


def seen_periods(pkg: Package, T: int) -> dict[tuple[int, int, int], list[int]]:
    """Every period in which each (party, τ, plan) deviation can first be seen, within T.

    ``halt``: a step of an own concession k at some t in τ..T, seen at t + lag_k.
    ``halt_and_reverse`` (τ ≥ 1): the same, or undoing an own fragile k, seen at
    τ + delay_k + lag_k. :func:`detente.design.search.all_keys` lists the cut keys from these.
    """
    comp = pkg.comp
    out: dict[tuple[int, int, int], list[int]] = {}
    for i in range(comp.n_parties):
        own = np.nonzero(comp.giver == i)[0]
        lags = sorted({int(comp.lag[k]) for k in own})
        grabs = sorted({int(comp.delay[k] + comp.lag[k]) for k in own if comp.fragile[k]})
        for tau in range(T + 2):
            skip = {t + lag for t in range(tau, T + 1) for lag in lags}
            if skip:
                out[(i, tau, 0)] = sorted(skip)
            undo = {tau + g for g in grabs} if tau >= 1 else set()
            if skip | undo:
                out[(i, tau, 1)] = sorted(skip | undo)
    return out


def _box_min(form: Form, scale: float, first: np.ndarray, last: np.ndarray) -> float:
    """min of ``form / scale`` over non-decreasing schedules x in [0, 1] (x = 1 from T on)
    in which concession k becomes complete in some period s in first[k]..last[k].

    A vertex of that set is a step function (x[k, t] = 1 for t ≥ s, else 0), so the
    minimum picks the best s per concession; s = T means nothing of k before T.
    """
    K, T = form.coef.shape
    tails = np.zeros((K, T + 1))
    tails[:, :T] = np.cumsum(form.coef[:, ::-1], axis=1)[:, ::-1]  # value with x = 1 from s on
    s = np.arange(T + 1)[None, :]
    allowed = (s >= first[:, None]) & (s <= last[:, None])
    return (float(form.const.sum()) + float(np.where(allowed, tails, np.inf).min(axis=1).sum())) / scale


def _exists(master: Master, i: int, tau: int, plan: int) -> int | None:
    """A binary that must be 1 when the plan exists at τ; None when it always exists."""
    pkg = master.pkg
    comp = pkg.comp
    T = master.T
    own = [int(k) for k in np.nonzero(comp.giver == i)[0]]
    if plan == 1 and tau - 1 >= T:
        return None  # everything is in force from T on
    h = master._var(0.0, 1.0, 1)
    if plan == 0:
        for k in own:
            for t in range(tau, T + 1):
                master._row([h, int(master.S[k, t])], [1.0, -1.0], 0.0, math.inf)
            if tau == 0:
                master._row([h], [1.0], 1.0, math.inf)  # all of k is still to come
            elif tau - 1 < T:
                # h ≥ 1 − X[k, τ−1] / m_k: some of k remains
                master._row([h, int(master.X[k, tau - 1])], [1.0, 1.0 / float(pkg.m[k])], 1.0, math.inf)
    else:
        for k in own:
            if comp.fragile[k] and tau - 1 < T:
                master._row([h, master.B[k][tau - 1]], [1.0, -1.0], 0.0, math.inf)
    return h


@dataclass(frozen=True, eq=False)
class _Implied:
    """One implied row before it meets a master: ``first / n_i ≥ floor`` when the plan exists.

    ``low``: the box minimum of ``first / n_i``; ``low_void``: the same over the schedules in
    which the plan does not exist (inf when it always exists).
    """

    party: int
    tau: int
    plan: int
    first: Form
    floor: float
    low: float
    low_void: float


#: The rows of a package and horizon, shared by all its masters (objectives, rebuilds).
_CACHE: WeakKeyDictionary[Package, dict[int, list[_Implied]]] = WeakKeyDictionary()


def _implied(pkg: Package, T: int, start: IntArray) -> list[_Implied]:
    by_horizon = _CACHE.setdefault(pkg, {})
    if T in by_horizon:
        return by_horizon[T]
    comp = pkg.comp
    end = np.full(comp.n_concessions, T)
    rows: list[_Implied] = []
    for (i, tau, plan), periods in seen_periods(pkg, T).items():
        if plan == 1 and (tau == 0 or not (comp.fragile & (comp.giver == i)).any()):
            continue  # nothing of i's can be undone (nothing is in force at the start of 0)
        stake = float(pkg.stake[i])
        first = slack_form(comp, T, i, tau, plan, periods[0] + 1)
        eps = 0.0
        for d in periods[1:]:
            later = slack_form(comp, T, i, tau, plan, d + 1)
            eps = max(eps, -_box_min(first - later, stake, start, end))
        # h = 0 only when the plan does not exist, which fixes i's own concessions:
        # everything complete by τ − 1 (halt), or nothing fragile in force (reverse)
        own = comp.giver == i
        if plan == 0:
            lo, hi = start, np.where(own, np.minimum(end, tau - 1), end)
        else:
            lo, hi = np.where(own & comp.fragile, np.maximum(start, tau), start), end
        rows.append(
            _Implied(
                party=i,
                tau=tau,
                plan=plan,
                first=first,
                floor=-eps - FEASIBILITY_TOL / stake,  # the check passes a raw slack of −1e-9
                low=_box_min(first, stake, start, end),
                low_void=_box_min(first, stake, lo, hi),
            )
        )
    by_horizon[T] = rows
    return rows


def add_implied_rows(master: Master) -> int:
    """Add the rows of the module docstring to ``master``; returns how many were added.

    Works for every objective of :class:`~detente.design.master.Master` (η for ``maxmin``,
    the payer's π for ``payment``), with the same variables the cuts use.
    """
    pkg = master.pkg
    T = master.T
    top = master.eta_ub if master.objective == "maxmin" else 0.0
    # a concession completes no earlier than its first possible start (the requires depth)
    start = np.minimum(master._earliest_start(), T)
    added = 0
    for row in _implied(pkg, T, start):
        if row.low >= top + row.floor:
            continue  # holds for every schedule
        i = row.party
        terms, const = master.form_terms(row.first, float(pkg.stake[i]))
        for var, c in master._bonus(i).items():
            terms[var] = terms.get(var, 0.0) + c
        rhs = row.floor - const
        # when the plan always exists (no finite low_void) the row needs no indicator
        h = _exists(master, i, row.tau, row.plan) if math.isfinite(row.low_void) else None
        if h is not None:
            big_m = top - row.floor - row.low_void + 1e-6
            terms[h] = terms.get(h, 0.0) - big_m
            rhs -= big_m
        if terms:
            master._row(list(terms), list(terms.values()), rhs, math.inf)
            added += 1
        elif rhs > 1e-12:
            master.trivially_infeasible = True
    return added
