"""Dresher's recursive inspection game v(n, m) for a general violation gain ``b``.

Source: Dresher (1962), "A sampling inspection problem in arms control agreements", RAND
RM-2972-ARPA; the general-``b`` closed form as in von Stengel (2016), "Recursive inspection
games", Mathematics of Operations Research 41(3):935-952.

An inspector has ``m`` inspections for ``n`` periods; the inspectee may violate once. An
undetected violation pays the inspectee 1, a caught one ``-b``, staying legal throughout 0.
In each period the inspectee (maximising) chooses to violate now or wait, the inspector
(minimising) to inspect now or not, so the value is that of the 2x2 zero-sum game::

                    inspect          don't inspect
    violate now       -b                  1
    wait          v(n-1, m-1)         v(n-1, m)

with v(n, 0) = 1 for n >= 1 and v(n, n) = 0. Its closed form is

    v(n, m) = C(n-1, m) / sum_{i=0}^{m} C(n, i) b^(m-i).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb

from ._base import TheoryResult, check_int, check_real

__all__ = [
    "EXACT_UP_TO",
    "MAX_PERIODS",
    "DresherResult",
    "dresher",
    "dresher_value",
    "dresher_value_recursive",
    "solve_2x2",
]

#: Largest number of periods accepted (the closed form costs O(m), the recursion O(n·m)).
MAX_PERIODS = 1_000_000
#: Up to this many inspections the closed form is evaluated exactly.
EXACT_UP_TO = 64


@dataclass(frozen=True)
class DresherResult(TheoryResult):
    """The value ``v(n, m)`` and the first period's equilibrium mixed actions.

    ``violate_now`` is the inspectee's probability of violating in the first period and
    ``inspect_now`` the inspector's probability of inspecting in it.
    """

    model = "dresher"
    inputs = ("n", "m", "b")

    n: int
    m: int
    b: float
    value: float
    violate_now: float
    inspect_now: float


def solve_2x2(matrix: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """Value of a 2x2 zero-sum game (row player maximises) and both sides' optimal mixes.

    Returns ``(value, x, y)`` with ``x`` the row player's probability of row 0 and ``y`` the
    column player's probability of column 0. A saddle point, if any, is played pure;
    otherwise the mixes equalise the opponent's two payoffs.
    """
    (a, b), (c, d) = matrix
    rows = ((a, b), (c, d))
    cols = ((a, c), (b, d))
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            if row[j] == min(row) and row[j] == max(col):  # a saddle point
                return row[j], 1.0 - i, 1.0 - j
    den = a - b - c + d
    return (a * d - b * c) / den, (d - c) / den, (d - b) / den


def _check(n: int, m: int, b: float) -> tuple[int, int, float]:
    n = check_int("n", n, lo=1, hi=MAX_PERIODS)
    m = check_int("m", m, lo=0, hi=n)
    b = check_real("b", b, lo=0, lo_open=True)
    return n, m, b


def dresher_value(n: int, m: int, b: float) -> float:
    """v(n, m) from the closed form.

    Up to :data:`EXACT_UP_TO` inspections it is evaluated in exact rational arithmetic (the
    float ``b`` is a rational), so the result is correctly rounded: v(5, 2) with b = 1 is
    exactly 0.375. Beyond that, dividing numerator and denominator by C(n, m) gives
    ``((n-m)/n) / sum_i t_i`` with ``t_m = 1`` and ``t_(i-1) = t_i · b · i / (n - i + 1)``,
    which cannot overflow for large ``n``.
    """
    n, m, b = _check(n, m, b)
    if m <= EXACT_UP_TO:
        rb = Fraction(b)
        den = sum(comb(n, i) * rb ** (m - i) for i in range(m + 1))
        return float(Fraction(comb(n - 1, m)) / den)
    total, term = 1.0, 1.0
    for i in range(m, 0, -1):
        term *= b * i / (n - i + 1)
        total += term
    return ((n - m) / n) / total


def dresher_value_recursive(n: int, m: int, b: float) -> float:
    """v(n, m) by the recursion over 2x2 games (O(n·m); an independent check of the closed form)."""
    n, m, b = _check(n, m, b)
    prev = [1.0] + [0.0] * m  # v(1, j): one period, j inspections
    for k in range(2, n + 1):
        cur = [1.0] + [0.0] * m
        for j in range(1, min(m, k - 1) + 1):
            cur[j] = solve_2x2(((-b, 1.0), (prev[j - 1], prev[j])))[0]
        prev = cur
    return prev[m]


def dresher(n: int, m: int, b: float = 1.0) -> DresherResult:
    """Solve Dresher's game with ``m`` inspections over ``n`` periods and violation gain ``b``."""
    n, m, b = _check(n, m, b)
    if m == 0:  # no inspections left: violate (now or later), never caught
        value, violate, inspect = 1.0, 1.0, 0.0
    elif m == n:  # every period is inspected: stay legal
        value, violate, inspect = 0.0, 0.0, 1.0
    else:
        value = dresher_value(n, m, b)
        wait_inspected = dresher_value(n - 1, m - 1, b)
        wait_not = dresher_value(n - 1, m, b)
        _, violate, inspect = solve_2x2(((-b, 1.0), (wait_inspected, wait_not)))
    return DresherResult(n=n, m=m, b=b, value=value, violate_now=violate, inspect_now=inspect)
