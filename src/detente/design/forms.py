"""Slacks of docs/model.md §3 as linear functions of the schedule, for a fixed response.

Within a horizon ``T`` a schedule is the matrix of fractions in force ``x[k, t]`` for
``t = 0..T−1`` (``x[k, t] = 1`` from ``T`` on: everything is complete by ``T``, and
``x[k, −1] = 0``). The compliance value ``V_i(τ)`` is linear in ``x``. A deviation value
``D_i(τ)`` is linear in ``x`` too *once the response period ρ is fixed*: the deviator's own
concessions stop at τ with the amount ``x[k, τ−1]``; the others' stop at ρ with ``x[k, ρ−1]``;
a fragile concession undone at ``u`` (τ for ``halt_and_reverse``, else ρ) keeps flowing until
``u + delay`` and its giver pays ``cost · x[k, u... ]`` discounted from ``u``. Every one of
those terms is a constant times a single ``x[k, t]`` (a concession with nothing in force is
not undone, and its terms vanish with ``x``), so

    slack_i(τ | plan, ρ) = Σ_k ( Σ_t coef[k, t] · x[k, t] + const[k] ).

The designer's MILP uses these forms with ρ chosen by indicator constraints; the per-concession
split (``Form.by_concession``) names the concession that creates a temptation. The forms are
tested against :func:`detente.analysis.kernel.run_kernel` on random schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..core.compiled import Compiled

__all__ = ["NEVER", "Form", "comply_form", "deviate_form", "slack_form"]

FloatArray = NDArray[np.float64]

#: A period that never comes (a flow that is never reversed, a stop that never happens).
NEVER = 1 << 40


@dataclass(frozen=True, eq=False)
class Form:
    """``Σ_k (coef[k] · x[k, :T] + const[k])``: a value as a linear function of a schedule."""

    coef: FloatArray  # [K, T]
    const: FloatArray  # [K]

    def by_concession(self, x: FloatArray) -> FloatArray:
        """The value's terms per concession at fractions ``x[k, t]`` (t = 0..T−1 used)."""
        T = self.coef.shape[1]
        terms: FloatArray = np.einsum("kt,kt->k", self.coef, x[:, :T]) + self.const
        return terms

    def value(self, x: FloatArray) -> float:
        return float(self.by_concession(x).sum())

    def __sub__(self, other: Form) -> Form:
        return Form(self.coef - other.coef, self.const - other.const)


class _Builder:
    """Accumulates a :class:`Form` for party ``j``, discounting to period τ."""

    def __init__(self, K: int, T: int, delta: float, tau: int) -> None:
        self.T = T
        self.delta = delta
        self.tau = tau
        self.coef = np.zeros((K, T))
        self.const = np.zeros(K)

    def weight(self, t: int) -> float:
        return float(self.delta ** (t - self.tau))

    def point(self, k: int, t: int, w: float) -> None:
        """Add ``w · x[k, t]``."""
        if w == 0.0 or t < 0:
            return
        if t >= self.T:
            self.const[k] += w
        else:
            self.coef[k, t] += w

    def run(self, k: int, a: int, b: int, w: float) -> None:
        """Add ``w · Σ_{t=a}^{b−1} δ^(t−τ) x[k, t]`` (``b`` may be :data:`NEVER`)."""
        if w == 0.0 or b <= a:
            return
        T, d, tau = self.T, self.delta, self.tau
        hi = min(b, T)
        if hi > a:
            self.coef[k, a:hi] += w * d ** (np.arange(a, hi) - tau)
        lo = max(a, T)
        if b > lo:
            span = 1.0 if b >= NEVER else 1.0 - d ** (b - lo)
            self.const[k] += w * d ** (lo - tau) * span / (1.0 - d)

    def steps(self, k: int, a: int, b: int, w: float) -> None:
        """Add ``w · Σ_{t=a}^{b−1} δ^(t−τ) (x[k, t] − x[k, t−1])`` (amounts implemented)."""
        if w == 0.0:
            return
        hi = min(b, self.T + 1)  # nothing is implemented after T
        for t in range(a, hi):
            wt = w * self.weight(t)
            self.point(k, t, wt)
            self.point(k, t - 1, -wt)

    def form(self) -> Form:
        return Form(self.coef, self.const)


def _path_form(
    comp: Compiled,
    T: int,
    j: int,
    tau: int,
    stop: NDArray[np.int64],
    end: NDArray[np.int64],
    undo_at: NDArray[np.int64],
) -> Form:
    """Party j's value from τ on along a path.

    Per concession k: steps at periods < ``stop[k]`` happen; from ``stop[k]`` the amount
    ``x[k, stop−1]`` stays in force until ``end[k]`` (NEVER: for ever); when ``end`` is not
    NEVER the giver decided the reversal at ``undo_at[k]`` and, if that giver is j, pays
    ``cost_k`` per unit then.
    """
    K = comp.n_concessions
    b = _Builder(K, T, float(comp.discount[j]), tau)
    for k in range(K):
        flow = float(comp.flow[k, j])
        c, e = int(stop[k]), int(end[k])
        b.run(k, tau, c, flow)
        if c < NEVER and e > c:
            # x[k, c−1] held from c until e
            span_hi = e if e < NEVER else NEVER
            d = b.delta
            if span_hi >= NEVER:
                held = d ** (c - tau) / (1.0 - d)
            else:
                held = d ** (c - tau) * (1.0 - d ** (span_hi - c)) / (1.0 - d)
            b.point(k, c - 1, flow * held)
        b.steps(k, tau, c, float(comp.once[k, j]))
        if e < NEVER and comp.giver[k] == j and c < NEVER:
            b.point(k, c - 1, -float(comp.cost[k]) * b.weight(int(undo_at[k])))
    return b.form()


def comply_form(comp: Compiled, T: int, i: int, tau: int) -> Form:
    """V_i(τ) as a linear form."""
    K = comp.n_concessions
    never = np.full(K, NEVER, dtype=np.int64)
    return _path_form(comp, T, i, tau, never, never, never)


def deviate_form(comp: Compiled, T: int, i: int, tau: int, plan: int, rho: int) -> Form:
    """D_i(τ) of ``plan`` (0 halt, 1 halt_and_reverse) when the response runs from ``rho``."""
    own = comp.giver == i
    fragile = comp.fragile
    stop = np.where(own, tau, rho).astype(np.int64)
    undo_at = np.where(own & (plan == 1), tau, rho).astype(np.int64)
    end = np.where(fragile, undo_at + comp.delay, NEVER).astype(np.int64)
    return _path_form(comp, T, i, tau, stop, end, undo_at)


def slack_form(comp: Compiled, T: int, i: int, tau: int, plan: int, rho: int) -> Form:
    """V_i(τ) − D_i(τ | plan, ρ) as a linear form."""
    return comply_form(comp, T, i, tau) - deviate_form(comp, T, i, tau, plan, rho)
