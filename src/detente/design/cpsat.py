"""CP-SAT for the designer's masters: is there a schedule, and if so which; and the max-min.

The max-min (:func:`solve_maxmin`) is described at its end; what follows is the feasibility
question.

The master of :mod:`detente.design.master` is an integer program over bounded non-negative
integers with real coefficients. CP-SAT (OR-Tools) works on integers only, so every row is
scaled and rounded, in one of two directions:

* **relaxed**: on a ``≥`` row each coefficient is rounded *up* and the bound *down* (one
  unit more for floating point), on a ``≤`` row the reverse. Since every variable is
  non-negative, every point that meets the real row meets the rounded one: the rounded model
  is a relaxation, so "infeasible" is a proof that the real master is infeasible.
* **restricted**: the opposite directions, so that every point of the rounded model meets the
  real row: a schedule found there is a schedule of the real master.

Rows whose coefficients and bounds are whole numbers (the structure of a schedule: counts,
steps, indicators, prerequisites) are passed unchanged. Each other row is scaled so that its
largest coefficient is :data:`ROW_SCALE`; CP-SAT's own linear relaxation works in floating
point, and with much larger integers it was measured to report feasible models infeasible
(at 10^10 and above), while at 10^6 it agreed with HiGHS on every master measured.

:func:`solve_feasibility` tries the relaxed model first (a proof of infeasibility, or most
often a point that meets the real rows to HiGHS's tolerance) and the restricted one only when
the relaxed point does not. It returns ``None`` when neither settles the question (a point
within rounding of feasibility that is not feasible), and the caller then asks HiGHS.
One worker and a fixed seed make a solve deterministic when no time limit interrupts it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

__all__ = [
    "ETA_UNIT",
    "MAXMIN_ROW_BITS",
    "ROW_SCALE",
    "CpMaxmin",
    "CpOutcome",
    "Unrepresentable",
    "eta_scale_power",
    "row_violation",
    "scaled_row",
    "solve_feasibility",
    "solve_maxmin",
]

FloatArray = NDArray[np.float64]

#: The largest coefficient of a scaled row (see the module docstring).
ROW_SCALE = float(1 << 20)
#: A real row counts as met when it is violated by at most this (HiGHS's tolerance in the
#: master, :mod:`detente.design.master`).
ROW_TOL = 1e-9
_INF = float(1 << 62)
_EXACT = float(1 << 52)  # integers below this, and their halves, are exact in a float


@dataclass(frozen=True)
class CpOutcome:
    """``status`` in {"optimal", "infeasible", "time_limit", "error"}; ``x`` every variable's value."""

    status: str
    x: FloatArray | None
    message: str


class Unrepresentable(ValueError):
    """A row that cannot be scaled to CP-SAT's 64-bit integers (HiGHS then takes the master)."""


def _is_whole(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def scaled_row(
    coef: Sequence[float], lo: float, hi: float, *, relaxed: bool
) -> list[tuple[list[int], int | None, int | None]]:
    """Integer rows ``(coefficients, lower, upper)`` for ``lo ≤ Σ coef·w ≤ hi`` over ``w ≥ 0``.

    ``relaxed``: every ``w`` that meets the real row meets the integer ones. Otherwise every
    ``w`` that meets the integer rows meets the real one (they may then have no solution at
    all). A bound of ``None`` is absent (infinite). A two-sided row with fractional
    coefficients becomes two one-sided rows.
    """
    finite = [b for b in (lo, hi) if math.isfinite(b)]
    if any(not abs(v) < _INF for v in (*coef, *finite)):
        raise Unrepresentable("a row whose coefficients or bounds do not fit in 62 bits")
    if _is_whole(coef) and _is_whole(finite):
        ints = [int(c) for c in coef]
        return [(ints, (int(lo) if math.isfinite(lo) else None), (int(hi) if math.isfinite(hi) else None))]
    scale = ROW_SCALE / max(abs(c) for c in coef)
    if not math.isfinite(scale) or any(math.isfinite(v) and not abs(v * scale) < _INF for v in (lo, hi)):
        raise Unrepresentable("a row whose scaled bounds do not fit in 62 bits")
    b = [c * scale for c in coef]
    out: list[tuple[list[int], int | None, int | None]] = []
    if math.isfinite(lo):
        if relaxed:  # sum ceil(b) w >= sum b w >= lo*scale, since w >= 0
            out.append(([math.ceil(v) for v in b], math.floor(lo * scale) - 1, None))
        else:  # sum b w >= sum floor(b) w >= lo*scale
            out.append(([math.floor(v) for v in b], math.ceil(lo * scale) + 1, None))
    if math.isfinite(hi):
        if relaxed:
            out.append(([math.floor(v) for v in b], None, math.ceil(hi * scale) + 1))
        else:
            out.append(([math.ceil(v) for v in b], None, math.floor(hi * scale) - 1))
    return out


def row_violation(coef: Sequence[float], idx: Sequence[int], lo: float, hi: float, x: FloatArray) -> float:
    """How far ``x`` is outside ``lo ≤ Σ coef·x[idx] ≤ hi`` (0 when it meets the row)."""
    value = float(np.dot(np.asarray(coef), x[np.asarray(idx, dtype=np.int64)]))
    return max(0.0, lo - value, value - hi)


def _add_scaled(
    model: cp_model.CpModel,
    terms: Sequence[cp_model.IntVar],
    coef: Sequence[float],
    lo: float,
    hi: float,
    *,
    relaxed: bool,
) -> None:
    """The rows of :func:`scaled_row` for ``lo ≤ Σ coef·terms ≤ hi``, added to ``model``."""
    from ortools.sat.python import cp_model

    for ints, lo_i, hi_i in scaled_row(coef, lo, hi, relaxed=relaxed):
        model.add_linear_constraint(
            cp_model.LinearExpr.weighted_sum(terms, ints),
            -cp_model.INT_MAX if lo_i is None else lo_i,
            cp_model.INT_MAX if hi_i is None else hi_i,
        )


def _solver(time_limit: float | None, *, linearization: int | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver with one worker and a fixed seed (deterministic when no limit stops it)."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    if linearization is not None:
        solver.parameters.linearization_level = linearization
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = max(0.01, float(time_limit))
    return solver


def _solve(
    lb: Sequence[float],
    ub: Sequence[float],
    rows: Sequence[tuple[Sequence[int], Sequence[float], float, float]],
    time_limit: float | None,
    *,
    relaxed: bool,
) -> CpOutcome:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    w = [model.new_int_var(math.ceil(lo), math.floor(hi), "") for lo, hi in zip(lb, ub, strict=True)]
    for idx, coef, lo, hi in rows:
        _add_scaled(model, [w[j] for j in idx], coef, lo, hi, relaxed=relaxed)
    solver = _solver(time_limit)
    status = solver.solve(model)
    name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        x = np.array([float(solver.value(v)) for v in w])
        return CpOutcome("optimal", x, name)
    if status == cp_model.INFEASIBLE:
        return CpOutcome("infeasible", None, name)
    if status == cp_model.UNKNOWN:
        return CpOutcome("time_limit", None, name)
    return CpOutcome("error", None, name)


def solve_feasibility(
    lb: Sequence[float],
    ub: Sequence[float],
    rows: Sequence[tuple[Sequence[int], Sequence[float], float, float]],
    time_limit: float | None,
) -> CpOutcome | None:
    """A point of ``{lb ≤ w ≤ ub integer, lo ≤ Σ coef·w ≤ hi for each row}``, or a proof
    that there is none; ``None`` when CP-SAT cannot settle it (see the module docstring).

    Every variable must be an integer with ``0 ≤ lb``; ``time_limit`` bounds both solves
    together.
    """
    if any(lo < 0 for lo in lb):
        raise ValueError("CP-SAT masters need non-negative variables")
    if any(math.ceil(lo) > math.floor(hi) for lo, hi in zip(lb, ub, strict=True)):
        return None  # an integer variable with no integer value: HiGHS reports it

    def meets(x: FloatArray) -> bool:
        return all(row_violation(coef, idx, lo, hi, x) <= ROW_TOL for idx, coef, lo, hi in rows)

    start = time.perf_counter()
    try:
        first = _solve(lb, ub, rows, time_limit, relaxed=True)
    except Unrepresentable:
        return None
    if first.status == "error":
        return None  # e.g. a model CP-SAT calls invalid: HiGHS takes the master
    if first.status != "optimal" or first.x is None or meets(first.x):
        return first
    left = None if time_limit is None else time_limit - (time.perf_counter() - start)
    if left is not None and left <= 0:
        return CpOutcome("time_limit", None, "no time left for the restricted model")
    second = _solve(lb, ub, rows, left, relaxed=False)  # the same rows scaled: representable
    if second.status == "optimal" and second.x is not None and meets(second.x):
        return second
    if second.status == "time_limit":
        return second
    return None


# --------------------------------------------------------------------------- max-min

#: η's step in the max-min model: η = ``eta_lb`` + ETA_UNIT · e for an integer e ≥ 0.
ETA_UNIT = 2.0**-20
#: η's floor and ceiling must lie within ±_ETA_RANGE (normalised slacks lie in [−2, 2]).
_ETA_RANGE = 1024.0
#: In the max-min model a fractional row is scaled by a power of two that brings its largest
#: coefficient to at most 2^MAXMIN_ROW_BITS (η's coefficient then stays an exact integer).
MAXMIN_ROW_BITS = 27


@dataclass(frozen=True)
class CpMaxmin:
    """A max-min solve: ``status`` in {"optimal", "time_limit", "infeasible", "error"}.

    ``x``: every variable's value, η's column holding ``eta``, the largest η the point meets
    on the real rows; ``bound``: no point of the real rows has a larger η (a proof
    when ``status`` is ``optimal``, else None).
    """

    status: str
    x: FloatArray | None
    eta: float | None
    bound: float | None
    message: str


def eta_scale_power(
    rows: Sequence[tuple[Sequence[int], Sequence[float]]], eta_col: int, bits: int = MAXMIN_ROW_BITS
) -> int:
    """The power ``p`` by which every max-min row is scaled: the largest coefficient (η's
    apart) of any of ``rows`` becomes at most 2^bits. One scale for every row keeps
    η's coefficient the same in all of them; tiny coefficients need no finer scale than 2^40
    (they round up: still a relaxation)."""
    big = max((abs(c) for idx, coef in rows for j, c in zip(idx, coef, strict=True) if j != eta_col), default=0.0)
    return min(bits - (math.frexp(big)[1] if big > 0 else 0), 40)


def _maxmin_row(
    coef: Sequence[float], idx: Sequence[int], lo: float, eta_col: int, eta_lb: float, p: int
) -> tuple[list[int], int]:
    """The relaxed integer row of ``Σ coef·w − η ≥ lo`` with η = eta_lb + ETA_UNIT · e.

    Scaled by ``2^p`` (:func:`eta_scale_power`), so that e's coefficient, ``−2^p · ETA_UNIT``,
    is a whole number; each ``w`` coefficient is rounded up and the bound down (the relaxed
    direction of :func:`scaled_row`)."""
    unit = ETA_UNIT * 2.0**p
    if unit < 1.0 or not unit.is_integer():
        raise Unrepresentable("a max-min row whose coefficients are too large for η's unit")
    scale = 2.0**p
    bound = (lo + eta_lb) * scale
    # below 2^52 the float error of lo + eta_lb is under half a unit, which the −1 covers
    if not abs(bound) < _EXACT or any(not abs(c * scale) < _INF for c in coef):
        raise Unrepresentable("a max-min row that does not fit in 52 bits")
    ints = [-int(unit) if j == eta_col else math.ceil(c * scale) for j, c in zip(idx, coef, strict=True)]
    return ints, math.floor(bound) - 1


def solve_maxmin(
    lb: Sequence[float],
    ub: Sequence[float],
    rows: Sequence[tuple[Sequence[int], Sequence[float], float, float]],
    eta_col: int,
    eta_lb: float,
    eta_ub: float,
    time_limit: float | None,
    hint: dict[int, int] | None = None,
    integrality: Sequence[int] | None = None,
    row_bits: int = MAXMIN_ROW_BITS,
) -> CpMaxmin | None:
    """Maximise η over integer ``w`` (every column but ``eta_col``, all ``≥ 0``) subject to
    ``rows``; ``None`` when the rows do not have the max-min form or cannot be scaled, or when
    ``integrality`` (1 for an integer column) marks another column continuous.

    η must enter only ``≥`` rows, with coefficient −1 (it is a lower bound on each of them).
    CP-SAT solves the relaxed rounding with η = ``eta_lb`` + :data:`ETA_UNIT` · e: every real
    point ``(w, η)`` gives the integer point ``(w, ⌊(η − eta_lb) / ETA_UNIT⌋)`` of that model,
    so when CP-SAT proves e* optimal, no real point reaches η = eta_lb + ETA_UNIT · (e* + 1),
    the returned ``bound``. The point's own η is computed on the real rows (the smallest
    ``Σ coef·w − lo`` over the rows with η); the rows without η must hold to 1e-9, else
    ``None``. ``hint``: values of some columns (a known schedule) for CP-SAT to try first.
    ``row_bits``: see :func:`eta_scale_power` (more bits, less rounding, larger integers).
    One worker, a fixed seed and no linear relaxation inside CP-SAT (its bound stays
    at the top of η's range on these masters: measured, propagation alone proves the optimum
    about twice as fast).
    """
    from ortools.sat.python import cp_model

    if any(lo < 0 for j, lo in enumerate(lb) if j != eta_col):
        raise ValueError("CP-SAT masters need non-negative variables")
    if integrality is not None and any(not v for j, v in enumerate(integrality) if j != eta_col):
        return None
    others = [(lo, hi) for j, (lo, hi) in enumerate(zip(lb, ub, strict=True)) if j != eta_col]
    if any(not (math.isfinite(lo) and math.isfinite(hi)) or math.ceil(lo) > math.floor(hi) for lo, hi in others):
        return None
    if not (math.isfinite(eta_lb) and math.isfinite(eta_ub)) or abs(eta_lb) > _ETA_RANGE or abs(eta_ub) > _ETA_RANGE:
        return None  # a float step of η's floor must stay far below ETA_UNIT
    top = math.floor((eta_ub - eta_lb) / ETA_UNIT)
    if not 0 <= top < _INF:
        return None
    model = cp_model.CpModel()
    w = [
        model.new_int_var(0, top, "eta") if j == eta_col else model.new_int_var(math.ceil(lo), math.floor(hi), "")
        for j, (lo, hi) in enumerate(zip(lb, ub, strict=True))
    ]
    with_eta: list[tuple[Sequence[int], Sequence[float], float]] = []
    without: list[tuple[Sequence[int], Sequence[float], float, float]] = []
    p = eta_scale_power([(idx, coef) for idx, coef, _, _ in rows if eta_col in idx], eta_col, row_bits)
    try:
        for idx, coef, lo, hi in rows:
            if eta_col not in idx:
                without.append((idx, coef, lo, hi))
                _add_scaled(model, [w[j] for j in idx], coef, lo, hi, relaxed=True)
                continue
            if math.isfinite(hi) or not math.isfinite(lo) or list(idx).count(eta_col) != 1:
                return None
            if coef[list(idx).index(eta_col)] != -1.0:
                return None
            ints, lo_i = _maxmin_row(coef, idx, lo, eta_col, eta_lb, p)
            with_eta.append((idx, coef, lo))
            model.add_linear_constraint(
                cp_model.LinearExpr.weighted_sum([w[j] for j in idx], ints), lo_i, cp_model.INT_MAX
            )
    except Unrepresentable:
        return None
    model.maximize(w[eta_col])
    for j, value in (hint or {}).items():
        model.add_hint(w[j], value)
    solver = _solver(time_limit, linearization=0)
    status = solver.solve(model)
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE:
        return CpMaxmin("infeasible", None, None, None, name)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        stopped = status == cp_model.UNKNOWN and time_limit is not None
        return CpMaxmin("time_limit" if stopped else "error", None, None, None, name)
    x = np.array([float(solver.value(v)) for v in w])
    x[eta_col] = 0.0
    if any(row_violation(coef, idx, lo, hi, x) > ROW_TOL for idx, coef, lo, hi in without):
        return None
    eta = min(
        (float(np.dot(np.asarray(coef), x[np.asarray(idx, dtype=np.int64)])) - lo for idx, coef, lo in with_eta),
        default=eta_ub,
    )
    eta = min(eta, eta_ub)
    x[eta_col] = eta
    if status != cp_model.OPTIMAL:
        return CpMaxmin("time_limit", x, eta, None, name)
    e_star = round(solver.objective_value)
    bound = math.nextafter(eta_lb + ETA_UNIT * (e_star + 1), math.inf)  # rounded up, not to nearest
    return CpMaxmin("optimal", x, eta, min(bound, eta_ub), name)
