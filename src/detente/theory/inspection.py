"""The inspection game, played simultaneously and with the inspector leading.

Source: Kilgour & Brams (1992), "Putting the other side 'on notice' can induce compliance in
arms control", Journal of Conflict Resolution 36(3):395-414; the generic version below (a
derivation, see docs/theory.md) keeps their structure with plain payoff symbols.

An inspectee complies (payoff 0) or violates: it gains ``g`` if the violation is not detected
and pays the fine ``f`` if it is. The inspector inspects with probability ``q`` at cost ``c``;
an inspection detects a violation with probability ``d``; an undetected violation does damage
``a`` to the inspector. So, with ``p`` the probability of a violation,

- inspectee: violating pays ``g - q·d·(g + f)``, complying pays 0;
- inspector: inspecting pays ``-c - p·(1 - d)·a``, not inspecting pays ``-p·a``.

Simultaneous game: when neither side has a dominant action the unique equilibrium is mixed,
``q* = g / (d(g + f))`` and ``p* = c / (d·a)``, and the inspector gets ``-p*·a``. Violation
is never ruled out. When ``q* > 1`` (detection too weak for any inspection rate to deter),
violating is dominant; when ``p* > 1`` (inspection costs more than the damage it can stop)
not inspecting is; the equilibrium is then pure.

Leadership: the inspector commits to ``q`` first and the inspectee, indifferent, complies.
Committing to ``q*`` deters violation with certainty at cost ``c·q*``, which the inspector
prefers to the simultaneous game, provided ``q* <= 1``, i.e. ``d >= d_min = g / (g + f)``, and
``c·q* <= a`` (deterrence costs less than the damage it prevents). Otherwise no commitment
deters and the leader does as well as in the simultaneous game.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._base import TheoryResult, check_real

__all__ = ["InspectionResult", "inspection"]


@dataclass(frozen=True)
class InspectionResult(TheoryResult):
    """Equilibrium of the inspection game without and with inspector leadership.

    ``q``, ``p`` and ``inspector_payoff`` are the simultaneous game's equilibrium inspection
    rate, violation rate and inspector payoff; ``leader_q`` and ``leader_payoff`` the
    inspector's optimal commitment and payoff; ``deters`` whether that commitment makes the
    inspectee comply; ``d_min`` the smallest detection probability at which some commitment
    deters.
    """

    model = "inspection"
    inputs = ("g", "f", "d", "c", "a")

    g: float
    f: float
    d: float
    c: float
    a: float
    q: float
    p: float
    inspector_payoff: float
    leader_q: float
    leader_payoff: float
    deters: bool
    d_min: float


def inspection(g: float, f: float, d: float, c: float, a: float) -> InspectionResult:
    """Solve the inspection game for gain ``g``, fine ``f``, detection ``d``, cost ``c``, damage ``a``."""
    g = check_real("g", g, lo=0, lo_open=True)
    f = check_real("f", f, lo=0)
    d = check_real("d", d, lo=0, hi=1, lo_open=True)
    c = check_real("c", c, lo=0)
    a = check_real("a", a, lo=0, lo_open=True)
    d_min = g / (g + f)
    q_star = d_min / d  # g / (d(g + f)): the inspection rate that makes the inspectee indifferent
    p_star = (c / a) / d  # c / (d a): the violation rate that makes the inspector indifferent

    if q_star <= 1 and p_star <= 1:
        q, p, payoff = q_star, p_star, -p_star * a
    elif q_star > 1:  # violating is dominant; the inspector inspects iff an inspection pays
        p = 1.0
        q = 1.0 if d * a > c else 0.0
        payoff = -a + q * (d * a - c)
    else:  # an inspection never pays for itself, so nobody inspects and the inspectee violates
        q, p, payoff = 0.0, 1.0, -a

    if q_star <= 1 and c * q_star <= a:
        leader_q, leader_payoff, deters = q_star, -c * q_star, True
    elif q_star <= 1:  # deterring costs more than the damage: commit to nothing
        leader_q, leader_payoff, deters = 0.0, -a, False
    else:
        leader_q, leader_payoff, deters = q, payoff, False
    return InspectionResult(
        g=g,
        f=f,
        d=d,
        c=c,
        a=a,
        q=q,
        p=p,
        inspector_payoff=payoff,
        leader_q=leader_q,
        leader_payoff=leader_payoff,
        deters=deters,
        d_min=d_min,
    )
