"""Reactive strategies in the noisy repeated prisoner's dilemma, and generous tit-for-tat.

Source: Nowak & Sigmund (1990), "The evolution of stochastic strategies in the prisoner's
dilemma", Acta Applicandae Mathematicae 20:247-265; generosity from Molander (1985), "The
optimal level of generosity in a selfish, uncertain environment", Journal of Conflict
Resolution 29(4):611-618, and Nowak & Sigmund (1992), Nature 355:250-253.

A reactive strategy ``(p, q)`` cooperates with probability ``p`` after the other cooperated and
``q`` after it defected. Each intended move is flipped with probability ``ε`` (noise), so the
strategy in effect is ``(p', q') = (p(1-ε) + (1-p)ε, q(1-ε) + (1-q)ε)``. With ``r = p' - q'``,
the long-run cooperation rates of two such players are

    s_1 = (q'_2 r_1 + q'_1) / (1 - r_1 r_2),    s_2 = (q'_1 r_2 + q'_2) / (1 - r_1 r_2),

the two moves are independent in the long run, and player 1's average payoff is
``R s_1 s_2 + S s_1 (1-s_2) + T (1-s_1) s_2 + P (1-s_1)(1-s_2)``. When ``r_1 r_2 = 1`` (two
tit-for-tats, or two anti-tit-for-tats, without noise) the outcome depends on the first moves and
there is no unique long-run rate; that case is outside the model's domain.

Generous tit-for-tat is ``(1, q*)`` with ``q* = min(1 - (T-R)/(R-S), (R-P)/(T-P))``, the most
generosity that still makes always-defect no better than cooperating against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ._base import DomainError, TheoryResult, check_real

__all__ = ["ReactiveResult", "gtft_generosity", "reactive"]


@dataclass(frozen=True)
class ReactiveResult(TheoryResult):
    """Long-run cooperation rates ``s1``, ``s2`` and average payoffs of two reactive strategies.

    ``gtft_q`` is generous tit-for-tat's generosity q* for the game (None when R = S or T = P).
    """

    model = "reactive"
    inputs = ("p1", "q1", "p2", "q2", "noise", "R", "S", "T", "P")

    p1: float
    q1: float
    p2: float
    q2: float
    noise: float
    R: float
    S: float
    T: float
    P: float
    s1: float
    s2: float
    payoff1: float
    payoff2: float
    gtft_q: float | None


def gtft_generosity(R: float, S: float, T: float, P: float) -> float | None:
    """q* = min(1 - (T-R)/(R-S), (R-P)/(T-P)) in exact arithmetic (1/3 for 3, 0, 5, 1); not clipped."""
    r, s, t, p = (Fraction(x) for x in (R, S, T, P))
    if r == s or t == p:
        return None
    return float(min(1 - (t - r) / (r - s), (r - p) / (t - p)))


def reactive(
    p1: float,
    q1: float,
    p2: float,
    q2: float,
    noise: float = 0.0,
    R: float = 3.0,
    S: float = 0.0,
    T: float = 5.0,
    P: float = 1.0,
) -> ReactiveResult:
    """Nowak–Sigmund long-run outcome of reactive strategies (p1, q1) and (p2, q2) under noise."""
    p1, q1, p2, q2 = (check_real(k, v, lo=0, hi=1) for k, v in (("p1", p1), ("q1", q1), ("p2", p2), ("q2", q2)))
    eps = check_real("noise", noise, lo=0, hi=1)
    R, S, T, P = (check_real(k, v) for k, v in (("R", R), ("S", S), ("T", T), ("P", P)))

    def flip(x: float) -> float:
        return x * (1 - eps) + (1 - x) * eps

    e_p1, e_q1, e_p2, e_q2 = flip(p1), flip(q1), flip(p2), flip(q2)
    r1, r2 = e_p1 - e_q1, e_p2 - e_q2
    den = 1 - r1 * r2
    if abs(den) < 1e-12:
        raise DomainError(
            "noise",
            noise,
            "a number in (0, 1) for these strategies: with r1·r2 = 1 the long run depends on the first moves",
        )
    s1 = (e_q2 * r1 + e_q1) / den
    s2 = (e_q1 * r2 + e_q2) / den

    def payoff(a: float, b: float) -> float:
        return R * a * b + S * a * (1 - b) + T * (1 - a) * b + P * (1 - a) * (1 - b)

    return ReactiveResult(
        p1=p1,
        q1=q1,
        p2=p2,
        q2=q2,
        noise=eps,
        R=R,
        S=S,
        T=T,
        P=P,
        s1=s1,
        s2=s2,
        payoff1=payoff(s1, s2),
        payoff2=payoff(s2, s1),
        gtft_q=gtft_generosity(R, S, T, P),
    )
