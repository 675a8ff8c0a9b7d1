"""Profile rows: each concession's whole timing as one choice among its possible profiles.

In the master of :mod:`detente.design.master` a concession's timing is spread over
``X[k, t]`` (tranches in force), ``s[k, t]`` (a step in ``t``) and ``b[k, t]`` (something in
force), linked by rows such as ``s ≤ X[t] − X[t−1] ≤ m·s``. Their linear relaxation is loose: a
fractional ``X`` that creeps up by a little each period needs only a little of each ``s``.
This module adds the extended formulation: one binary ``z[k, p]`` per *profile* ``p`` of ``k``
(a non-decreasing count sequence ``0 ≤ X[0] ≤ … ≤ X[T] = m_k``, zero before the concession's
earliest start, at most one tranche per ``pace`` window), exactly one of them chosen, and

    X[k, t] = Σ_p X_p[t] z[k, p],   s[k, t] = Σ_p [X_p steps in t] z[k, p],
    b[k, t] = Σ_p [X_p[t] > 0] z[k, p].

Every schedule of the master meets these rows with its own profile's ``z`` set to 1, so they
never cut off a schedule; what they add is that a relaxation must now mix whole profiles, the
convex hull of each concession's timings. They are worth it where the number of profiles is
small: ``C(m_k + T − start_k, m_k)`` for ``m_k`` tranches (126 for 4 tranches over 6 periods),
so :func:`add_profile_rows` adds nothing when a master would need more than
:data:`PROFILE_LIMIT` of them. Measured on the harder generator's seed 7 (docs/design.md,
"Where it is slow"): the max-min tie-break by CP-SAT in 5.5 s with these rows against 10 s
without.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .master import Master

__all__ = ["PROFILE_LIMIT", "add_profile_rows", "concession_profiles", "profile_count"]

#: A master gets profile rows only when all its concessions together have at most this many.
PROFILE_LIMIT = 3000


def concession_profiles(m: int, T: int, start: int, pace: int = 0) -> list[tuple[int, ...]]:
    """Every count sequence ``X[0..T]`` of a concession of ``m`` tranches: non-decreasing,
    ``X[T] = m``, ``X[t] = 0`` for ``t < start`` and, when ``pace > 0``, at most one tranche in
    any ``pace`` consecutive periods. Empty when no such sequence exists."""
    if start > T:
        return []
    out: list[tuple[int, ...]] = []
    for periods in itertools.combinations_with_replacement(range(start, T + 1), m):
        counts = tuple(sum(1 for p in periods if p <= t) for t in range(T + 1))
        paced = pace > 0 and m > 1
        if paced and any(counts[t] - (counts[t - pace] if t >= pace else 0) > 1 for t in range(T + 1)):
            continue
        out.append(counts)
    return out


def profile_count(m: int, T: int, start: int) -> int:
    """The number of profiles before the pace filter, ``C(m + T − start, m)`` (0 when
    ``start > T``), computed without listing them."""
    return 0 if start > T else math.comb(m + T - start, m)


def add_profile_rows(master: Master) -> int:
    """Add the rows of the module docstring to ``master``; returns the number of profile
    variables added (0 when the master would need more than :data:`PROFILE_LIMIT`)."""
    pkg = master.pkg
    T = master.T
    m = pkg.m
    start = master._earliest_start()
    if sum(profile_count(int(m[k]), T, int(start[k])) for k in range(len(m))) > PROFILE_LIMIT:
        return 0
    pace = pkg.pace if pkg.pace is not None else np.zeros(len(m), dtype=np.int64)
    added = 0
    for k in range(len(m)):
        profiles = concession_profiles(int(m[k]), T, int(start[k]), int(pace[k]))
        if not profiles:
            master.trivially_infeasible = True
            return added
        z = [master.add_var(0.0, 1.0, integer=True) for _ in profiles]
        added += len(z)
        master.add_row(dict.fromkeys(z, 1.0), 1.0, 1.0)
        for t in range(T + 1):
            _link(master, int(master.X[k, t]), z, [float(p[t]) for p in profiles])
            steps = [1.0 if p[t] > (p[t - 1] if t > 0 else 0) else 0.0 for p in profiles]
            _link(master, int(master.S[k, t]), z, steps)
            if k in master.B and t < T:
                _link(master, master.B[k][t], z, [1.0 if p[t] > 0 else 0.0 for p in profiles])
    return added


def _link(master: Master, var: int, z: list[int], values: list[float]) -> None:
    """``var = Σ values[p] · z[p]``."""
    terms = {var: 1.0}
    for zp, v in zip(z, values, strict=True):
        if v:
            terms[zp] = -v
    master.add_row(terms, 0.0, 0.0)
