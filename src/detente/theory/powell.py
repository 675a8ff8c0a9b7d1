"""War as a commitment problem: when a shift in power makes peace impossible to buy.

Source: Powell (2006), "War as a commitment problem", International Organization 60(1):169-203;
the one-step condition below is derived in docs/theory.md.

Two states share a pie of 1 each period and discount by ``δ``. War is absorbing: the rising
state wins with probability ``p`` (per period it then receives ``p`` in expectation, worth
``p / (1 - δ)``) and pays a lump-sum cost; the declining state likewise with ``1 - p``. The
riser's win probability moves from ``p_now`` today to ``p_next`` from tomorrow on. The most the
decliner can be offered in peace is today's whole pie plus, from tomorrow, everything above the
riser's war value then; it fights now iff even that is worth less than war now:

    (1 - p_now)/(1 - δ) - c_D  >  1 + δ·[(1 - p_next)/(1 - δ) + c_R],

which simplifies to ``(δ·p_next - p_now)/(1 - δ) > c_D + δ·c_R``. The condition does not depend
on the bargaining protocol; war starts when ``p_next`` exceeds

    threshold = (p_now + (1 - δ)(c_D + δ·c_R)) / δ.

A threshold of 1 or more means no shift can cause war.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._base import TheoryResult, check_real

__all__ = ["PowellResult", "powell"]


@dataclass(frozen=True)
class PowellResult(TheoryResult):
    """``war`` says whether the shift is too large and fast to buy off; ``threshold`` is the
    ``p_next`` above which it is, and ``margin`` is ``(δ·p_next - p_now)/(1 - δ) - (c_D + δ·c_R)``
    (positive exactly when there is war)."""

    model = "powell"
    inputs = ("discount", "p_now", "p_next", "cost_decliner", "cost_riser")

    discount: float
    p_now: float
    p_next: float
    cost_decliner: float
    cost_riser: float
    war: bool
    threshold: float
    margin: float


def powell(discount: float, p_now: float, p_next: float, cost_decliner: float, cost_riser: float) -> PowellResult:
    """Whether the riser's shift from ``p_now`` to ``p_next`` makes preventive war rational."""
    delta = check_real("discount", discount, lo=0, hi=1, lo_open=True, hi_open=True)
    p_now = check_real("p_now", p_now, lo=0, hi=1)
    p_next = check_real("p_next", p_next, lo=0, hi=1)
    cost_decliner = check_real("cost_decliner", cost_decliner, lo=0)
    cost_riser = check_real("cost_riser", cost_riser, lo=0)
    costs = cost_decliner + delta * cost_riser
    margin = (delta * p_next - p_now) / (1 - delta) - costs
    threshold = (p_now + (1 - delta) * costs) / delta
    return PowellResult(
        discount=delta,
        p_now=p_now,
        p_next=p_next,
        cost_decliner=cost_decliner,
        cost_riser=cost_riser,
        war=margin > 0,
        threshold=threshold,
        margin=margin,
    )
