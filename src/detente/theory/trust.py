"""Kydd's assurance threshold: how sure one must be of the other before cooperating.

Source: Kydd (2000), "Trust, reassurance, and cooperation", International Organization
54(2):325-357, and Kydd (2005), *Trust and Mistrust in International Relations*.

A trustworthy ("assurance") type prefers mutual cooperation to exploiting the other
(``R > T``) and mutual defection to being exploited (``P > S``): a stag hunt. If the other
cooperates with probability π, cooperating pays ``π·R + (1-π)·S`` and defecting
``π·T + (1-π)·P``, so the type cooperates iff

    π >= τ = (P - S) / ((R - T) + (P - S)).

An untrustworthy type (``T > R``, a prisoner's dilemma) defects whatever it believes, so it has
no threshold; that ordering is outside this model's domain. Reassurance works by raising the
other's belief π above its τ, e.g. with a costly signal only a trustworthy type would send.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._base import DomainError, TheoryResult, check_real

__all__ = ["TrustResult", "trust"]


@dataclass(frozen=True)
class TrustResult(TheoryResult):
    """``threshold`` is τ, the smallest probability of the other cooperating at which to cooperate."""

    model = "trust"
    inputs = ("R", "T", "P", "S")

    R: float
    T: float
    P: float
    S: float
    threshold: float


def trust(R: float, T: float, P: float, S: float) -> TrustResult:
    """Kydd's assurance threshold for payoffs ``R`` (reward), ``T`` (temptation), ``P`` (punishment), ``S`` (sucker)."""
    R, T, P, S = (check_real(k, v) for k, v in (("R", R), ("T", T), ("P", P), ("S", S)))
    if not R > T:
        raise DomainError("R", R, f"a number > T = {T:g} (an assurance game needs R > T and P > S)")
    if not P > S:
        raise DomainError("S", S, f"a number < P = {P:g} (an assurance game needs R > T and P > S)")
    return TrustResult(R=R, T=T, P=P, S=S, threshold=(P - S) / ((R - T) + (P - S)))
