"""Which constraints bind, and which concession creates each temptation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..analysis.kernel import PLANS
from .forms import comply_form, slack_form
from .package import Check, Package
from .result import BindingConstraint

__all__ = ["binding_constraints", "temptation"]

IntArray = NDArray[np.int64]


def temptation(pkg: Package, counts: IntArray, i: int, tau: int, plan: int, rho: int) -> str | None:
    """The concession whose term of party i's slack at (τ, plan, ρ) is the most negative.

    The slack V − D splits exactly into one term per concession (the forms of
    :mod:`detente.design.forms`); a negative term is value the deviator gains by deviating
    on that concession (a saved cost, a grab) or fails to lose. ``None`` when no term is
    negative.
    """
    T = counts.shape[1] - 1
    x = counts / pkg.m[:, None]
    if plan < 0:
        terms = comply_form(pkg.comp, T, i, 0).by_concession(x)
    else:
        terms = slack_form(pkg.comp, T, i, tau, plan, rho).by_concession(x)
    k = int(np.argmin(terms))
    return pkg.comp.concession_ids[k] if terms[k] < 0.0 else None


def binding_constraints(
    pkg: Package,
    counts: IntArray,
    check: Check,
    *,
    party: int | None = None,
    shift: float = 0.0,
    rtol: float = 1e-7,
) -> tuple[BindingConstraint, ...]:
    """The constraints of ``check`` at its minimum normalised slack (within ``rtol``).

    With ``party`` given, only that party's constraints count and ``shift`` (in its units)
    is added to each of its slacks first: the constraints a side payment worth ``shift``
    has to cover are the ones left at the minimum.
    """
    r = check.kernel
    P = pkg.comp.n_parties
    parties = range(P) if party is None else [party]
    entries: list[tuple[float, int, int, int]] = []  # normalised, party, τ, plan (−1: participation)
    best = r.best_plan
    for i in parties:
        n = float(pkg.stake[i])
        entries.append(((check.participation[i] + shift) / n, i, 0, -1))
        for tau in range(r.comply.shape[1]):
            if r.any_plan[i, tau]:
                entries.append(((check.slack[i, tau] + shift) / n, i, tau, int(best[i, tau])))
    low = min(e[0] for e in entries)
    out = []
    for norm, i, tau, plan in sorted(entries, key=lambda e: (e[1], e[2], e[3])):
        if norm > low + rtol:
            continue
        n = float(pkg.stake[i])
        if plan < 0:
            rho = None
            name = "participation"
            raw = float(check.participation[i])
        else:
            rho = int(r.response[plan, i, tau])
            name = PLANS[plan]
            raw = float(check.slack[i, tau])
        out.append(
            BindingConstraint(
                party=pkg.comp.party_ids[i],
                period=tau,
                plan=name,
                slack=raw,
                normalised=raw / n,
                concession=temptation(pkg, counts, i, tau, plan, rho if rho is not None else 0),
                response_period=rho,
            )
        )
    return tuple(out)
