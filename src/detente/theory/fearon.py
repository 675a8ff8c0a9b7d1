"""Fearon's bargaining range: the divisions both sides prefer to war.

Source: Fearon (1995), "Rationalist explanations for war", International Organization
49(3):379-414.

Two risk-neutral states divide a good worth 1. War gives state A the whole good with
probability ``p`` and costs the sides ``c_A`` and ``c_B``, so A expects ``p - c_A`` from war and
B expects ``1 - p - c_B``. A division giving A the share ``x`` beats war for both iff

    p - c_A <= x <= p + c_B,

an interval of width ``c_A + c_B`` that is never empty when war is costly. War therefore needs
something else: private information with incentives to misrepresent, a commitment problem,
or an indivisible good. The range reported is clipped to the feasible shares ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._base import TheoryResult, check_real

__all__ = ["FearonResult", "fearon"]


@dataclass(frozen=True)
class FearonResult(TheoryResult):
    """``range`` is ``(lo, hi)``: A's shares that both sides weakly prefer to war."""

    model = "fearon"
    inputs = ("p", "cost_a", "cost_b")

    p: float
    cost_a: float
    cost_b: float
    range: tuple[float, float]
    war_value_a: float
    war_value_b: float


def fearon(p: float, cost_a: float, cost_b: float) -> FearonResult:
    """The bargaining range for A's win probability ``p`` and war costs ``cost_a``, ``cost_b``."""
    p = check_real("p", p, lo=0, hi=1)
    cost_a = check_real("cost_a", cost_a, lo=0)
    cost_b = check_real("cost_b", cost_b, lo=0)
    lo = max(0.0, p - cost_a)
    hi = min(1.0, p + cost_b)
    return FearonResult(
        p=p,
        cost_a=cost_a,
        cost_b=cost_b,
        range=(lo, hi),
        war_value_a=p - cost_a,
        war_value_b=1.0 - p - cost_b,
    )
