"""Gradualism under irreversibility: the efficient path of a continuous prisoner's dilemma.

Source: Lockwood & Thomas (2002), "Gradualism and irreversibility", Review of Economic
Studies 69(2):339-356. The quadratic example below is a derivation (docs/theory.md), not
taken from the paper.

Two players choose levels ``x_t >= x_(t-1)`` (irreversible), starting from 0, with stage payoff
``u(x, y) = b·y - x²/2`` (own cost, the other's benefit); the one-shot efficient level is
``x^e = b``, worth ``V^e = b²/(2(1-δ))`` for ever. The worst punishment is to freeze, so the best
deviation at ``t`` is to stay at ``x_(t-1)``, and a symmetric path is self-enforcing iff

    sum_{s>=t} δ^(s-t) u(x_s, x_s) >= u(x_(t-1), x_t) / (1 - δ)     for every t >= 1.

On the efficient path every constraint binds; two consecutive binding constraints give
``b·δ·(x_(t+1) - x_t) = (x_t² - x_(t-1)²)/2``, which telescopes to
``x_(t+1) = x_1 + x_t²/(2bδ)``. The largest first step with a bounded path is ``x_1 = bδ/2``;
the path then rises with shrinking steps to ``x̄ = bδ < b``, and its value (from period 1 on,
equal to the deviation value ``b·x_1/(1-δ)`` since the first constraint binds) is
``V* = δ·V^e``. With ``x_t = bδ(1 - e_t)`` the recursion reads ``e_(t+1) = e_t - e_t²/2``,
``e_1 = 1/2``, which is how the path is computed (no cancellation near the limit).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._base import TheoryResult, check_int, check_real

__all__ = ["MAX_PERIODS", "MIN_B", "GradualismResult", "gradualism", "gradualism_path", "stage_payoff"]

#: Most periods of the path that are reported.
MAX_PERIODS = 100_000
#: Smallest benefit per unit accepted (and its inverse the largest), so that b² neither
#: underflows nor overflows.
MIN_B = 1e-9


@dataclass(frozen=True)
class GradualismResult(TheoryResult):
    """The first ``periods`` actions of the efficient path and its value.

    ``value`` is V* (from period 1 on, discounted to period 1), ``first_best_value`` V^e,
    ``ratio`` their quotient (δ), ``limit`` the level the path converges to (bδ) and
    ``first_best`` the one-shot efficient level (b).
    """

    model = "gradualism"
    inputs = ("b", "discount", "periods")

    b: float
    discount: float
    periods: int
    path: tuple[float, ...]
    value: float
    first_best_value: float
    ratio: float
    limit: float
    first_best: float


def stage_payoff(b: float, own: float, other: float) -> float:
    """u(own, other) = b·other - own²/2."""
    return b * other - own * own / 2


def gradualism_path(b: float, discount: float, periods: int) -> tuple[float, ...]:
    """x_1, ..., x_periods of the efficient self-enforcing path (every incentive constraint binds)."""
    b = check_real("b", b, lo=MIN_B, hi=1 / MIN_B)
    delta = check_real("discount", discount, lo=0, hi=1, lo_open=True, hi_open=True)
    periods = check_int("periods", periods, lo=1, hi=MAX_PERIODS)
    limit = b * delta
    path = []
    e = 0.5
    for _ in range(periods):
        path.append(limit * (1.0 - e))
        e -= e * e / 2
    return tuple(path)


def gradualism(b: float, discount: float, periods: int = 10) -> GradualismResult:
    """The Lockwood–Thomas quadratic example: path, value V* = δ·V^e and the ratio V*/V^e."""
    path = gradualism_path(b, discount, periods)
    b, delta = float(b), float(discount)
    first_best_value = b * b / (2 * (1 - delta))
    value = b * path[0] / (1 - delta)  # the first incentive constraint binds: V* = u(0, x_1)/(1-δ)
    return GradualismResult(
        b=b,
        discount=delta,
        periods=periods,
        path=path,
        value=value,
        first_best_value=first_best_value,
        ratio=value / first_best_value,
        limit=b * delta,
        first_best=b,
    )
