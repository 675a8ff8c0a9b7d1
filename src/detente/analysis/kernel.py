"""The vectorised kernel of the self-enforcement check (MODEL.md section 3).

A deviation by party i at τ is summed up in closed form. Write x_k(t) for the amount of k in
force in period t along the schedule, Xs_k(t) = x_k(t − 1) for the amount in force at the
*start* of t, and G_k for the gain from undoing a fragile k. Along the deviation path with
response period ρ:

* every concession k of another party keeps its scheduled course until ρ, then stays frozen
  at Xs_k(ρ) for ever, or, when k is fragile, until its reversal takes effect at ρ + delay_k;
* every concession of i stays frozen at Xs_k(τ) from τ on; a fragile one is undone at τ
  (``halt_and_reverse``) or at ρ (``halt``), and undoing it is worth G_k per unit to i.

So i's value from τ on is, with Q_i the discounted value of the other parties' concessions
along the schedule (flows and one-time values), Z_i(ρ) the value from ρ on of the others'
concessions frozen at ρ, O_i(τ) the value of i's own concessions frozen at τ for ever and
Γ_i(τ) = Σ_{k of i, fragile} G_k · Xs_k(τ):

    D_i^halt(τ) = Q_i(τ) − δ_i^(ρ−τ) (Q_i(ρ) − Z_i(ρ)) + O_i(τ) + δ_i^(ρ−τ) Γ_i(τ)
    D_i^halt_and_reverse(τ) = Q_i(τ) − δ_i^(ρ−τ) (Q_i(ρ) − Z_i(ρ)) + O_i(τ) + Γ_i(τ)

(G_k = −flow_ik · δ_i^delay_k / (1 − δ_i) − cost_k is exactly what undoing adds to keeping k
for ever: the flow that stops after the delay, minus the cost.) Q, Z, O and Γ are per party
and period, so the whole check is a few matrix products over arrays shaped
[schedule, party, period] plus one reverse discounted sum per party, done as a product with
the matrix of discount powers δ^(t−τ). Only multiplications by δ^n appear (never divisions
by them), so values stay exact to rounding over long horizons; the tail after the last
event is the geometric series of a constant flow, in closed form.

:func:`run_kernel` checks one schedule; :func:`run_kernel_batch` checks many schedules of
one scenario at once (a leading batch axis) and :func:`margins` reduces them to one number
each. The values of *every* party along every deviation path (for leverage) come from a
per-concession evaluation of the same paths, :func:`path_values_all`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..core.compiled import Compiled

__all__ = [
    "NEVER",
    "PLANS",
    "BatchResult",
    "KernelResult",
    "margins",
    "path_values_all",
    "run_kernel",
    "run_kernel_batch",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: A period that never comes (flows that are never reversed end here).
NEVER = 1 << 40
#: The deviation plans, in the order of the kernel's plan axis.
PLANS = ("halt", "halt_and_reverse")
#: ``halt_and_reverse`` is reported only when it beats ``halt`` by more than this.
TIE = 1e-12


def _best_plan(deviate: FloatArray, exists: BoolArray, axis: int) -> IntArray:
    """0 (halt) or 1 (halt_and_reverse) along ``axis``; halt wins ties within :data:`TIE`."""
    halt, rev = np.take(deviate, 0, axis=axis), np.take(deviate, 1, axis=axis)
    e_halt, e_rev = np.take(exists, 0, axis=axis), np.take(exists, 1, axis=axis)
    plan: IntArray = (e_rev & (~e_halt | (rev > halt + TIE))).astype(np.int64)
    return plan


@dataclass(frozen=True, eq=False)
class KernelResult:
    """Raw arrays of one check. τ runs over 0..H+1; plan axis as :data:`PLANS`."""

    comply: FloatArray  # [P, Tn]     V_i(τ)
    flows: FloatArray  # [P, Tn]      u_i(τ)
    deviate: FloatArray  # [2, P, Tn] value of each plan (-inf where it does not exist)
    exists: BoolArray  # [2, P, Tn]
    seen: IntArray  # [2, P, Tn]      d (-1 where the plan does not exist)
    response: IntArray  # [2, P, Tn]  ρ = d + 1 (-1 where the plan does not exist)
    # values of every party along every path, only when asked: [2, P(dev), Tn, P(j)]
    others: FloatArray | None = None

    @property
    def best_plan(self) -> IntArray:
        """0 (halt) or 1 (halt_and_reverse) per [P, Tn]; halt wins ties within 1e-12."""
        return _best_plan(self.deviate, self.exists, axis=0)

    @property
    def best_deviate(self) -> FloatArray:
        best: FloatArray = np.where(self.best_plan == 1, self.deviate[1], self.deviate[0])
        return best

    @property
    def any_plan(self) -> BoolArray:
        out: BoolArray = self.exists[0] | self.exists[1]
        return out


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Raw arrays of B checks of one scenario, padded to a common horizon H.

    Schedule b has its own last period ``last[b]`` <= H; its constraints are those at
    τ <= last[b] + 1 (``valid``). Values at those τ do not depend on the padding.
    """

    comply: FloatArray  # [B, P, Tn]
    flows: FloatArray  # [B, P, Tn]
    deviate: FloatArray  # [B, 2, P, Tn]
    exists: BoolArray  # [B, 2, P, Tn] (False beyond a schedule's own τ range)
    seen: IntArray  # [B, 2, P, Tn]
    response: IntArray  # [B, 2, P, Tn]
    last: IntArray  # [B]

    @property
    def valid(self) -> BoolArray:
        """[B, Tn]: τ <= last[b] + 1."""
        taus = np.arange(self.comply.shape[2])
        return taus[None, :] <= self.last[:, None] + 1

    def slack(self) -> FloatArray:
        """[B, P, Tn] comply minus the best plan's value; +inf where no plan exists."""
        plan = _best_plan(self.deviate, self.exists, axis=1)
        best = np.where(plan == 1, self.deviate[:, 1], self.deviate[:, 0])
        any_plan = self.exists[:, 0] | self.exists[:, 1]
        return np.where(any_plan, self.comply - best, np.inf)

    def margins(self) -> FloatArray:
        """[B] min(smallest slack, smallest participation) per schedule."""
        slack = self.slack().min(axis=(1, 2), initial=np.inf)
        out: FloatArray = np.minimum(slack, self.comply[:, :, 0].min(axis=1))
        return out

    def item(self, b: int) -> KernelResult:
        """Schedule ``b`` alone, cut to its own τ range 0..last[b]+1."""
        tn = int(self.last[b]) + 2
        return KernelResult(
            comply=self.comply[b, :, :tn],
            flows=self.flows[b, :, :tn],
            deviate=self.deviate[b, :, :, :tn],
            exists=self.exists[b, :, :, :tn],
            seen=self.seen[b, :, :, :tn],
            response=self.response[b, :, :, :tn],
        )


def _discount_matrix(pw: FloatArray, T: int) -> FloatArray:
    """W[p, τ, t] = δ_p^(t−τ) for t >= τ, else 0; τ in 0..T, t in 0..T-1."""
    lag = np.arange(T)[None, :] - np.arange(T + 1)[:, None]  # [T+1, T]
    return np.where(lag >= 0, pw[:, np.clip(lag, 0, T)], 0.0)


def _reverse_sums(series: FloatArray, W: FloatArray, pw_tail: FloatArray, tail: FloatArray) -> FloatArray:
    """out[b, p, τ] = Σ_{t≥τ} δ_p^(t−τ) series[b, p, t] + δ_p^(T−τ) tail[b, p], τ in 0..T.

    ``series`` is [B, P, T], ``W`` from :func:`_discount_matrix`, ``pw_tail[p, τ]`` = δ_p^(T−τ).
    """
    # [P, B, T] @ [P, T, T+1] -> [P, B, T+1]
    out = np.matmul(series.transpose(1, 0, 2), W.transpose(0, 2, 1)).transpose(1, 0, 2)
    total: FloatArray = out + pw_tail[None, :, :] * tail[:, :, None]
    return total


def run_kernel_batch(comp: Compiled, amounts: FloatArray, last: Sequence[int] | IntArray | None = None) -> BatchResult:
    """Check B schedules given as ``amounts[b, k, t]`` (t = 0..H, zero after each one's end).

    ``last[b]`` is the last scheduled period of schedule b (default: H for every b).
    """
    B, K, T0 = amounts.shape
    P = comp.n_parties
    H = T0 - 1
    Tn = H + 2  # τ = 0 .. H + 1
    max_delay = int(comp.delay.max(initial=0))
    max_lag = int(comp.lag.max(initial=0))
    Tg = H + 4 + max_delay + max_lag  # every ρ below stays < Tg
    delta = comp.discount
    inv = 1.0 / (1.0 - delta)
    pw = delta[:, None] ** np.arange(Tg + 1)[None, :]  # [P, Tg+1]

    A = np.zeros((B, K, Tg))
    A[:, :, :T0] = amounts
    X = np.minimum(np.cumsum(A, axis=2), 1.0)  # x_k(t)
    Xs = np.zeros((B, K, Tg + 1))  # Xs[., k, t] = x_k(t - 1), in force at the start of t
    Xs[:, :, 1:] = X
    x_end = X[:, :, -1]  # [B, K]

    own = comp.giver[None, :] == np.arange(P)[:, None]  # [P, K]
    fragile = comp.fragile
    flow_T, once_T = comp.flow.T, comp.once.T  # [P, K]
    flow_oth, once_oth = np.where(own, 0.0, flow_T), np.where(own, 0.0, once_T)

    # compliance: V_i(τ) and u_i(t); Q_i: the same over the other parties' concessions only
    W = _discount_matrix(pw, Tg)
    pw_tail = pw[:, ::-1]  # δ^(Tg−τ)
    u_all = np.matmul(flow_T, X) + np.matmul(once_T, A)  # [B, P, Tg]
    u_oth = np.matmul(flow_oth, X) + np.matmul(once_oth, A)
    V = _reverse_sums(u_all, W, pw_tail, (x_end @ comp.flow) * inv)
    Q = _reverse_sums(u_oth, W, pw_tail, (x_end @ flow_oth.T) * inv)

    # Z_i(ρ): the others' concessions frozen at ρ, a fragile one until ρ + delay
    keep = np.where(fragile[None, :], 1.0 - delta[:, None] ** comp.delay[None, :], 1.0)
    Z = np.matmul(flow_oth * keep * inv[:, None], Xs)  # [B, P, Tg+1]
    S = Q - Z
    Xs_t = Xs[:, :, :Tn]
    own_value = np.matmul(np.where(own, flow_T, 0.0) * inv[:, None], Xs_t)  # [B, P, Tn]
    gain = np.where(own & fragile[None, :], comp.gain_from_undoing[None, :], 0.0)
    Gam = np.matmul(gain, Xs_t)  # [B, P, Tn]

    # when is a deviation seen? d_skip: first skipped step + lag; d_undo: τ + delay + lag
    taus = np.arange(Tn)
    skip = np.where(A[:, :, :Tn] > 0, taus[None, None, :] + comp.lag[None, :, None], NEVER)
    skip = np.minimum.accumulate(skip[:, :, ::-1], axis=2)[:, :, ::-1]  # min over t >= τ
    undo = np.where(fragile[None, :, None] & (Xs_t > 0), (comp.delay + comp.lag)[None, :, None], NEVER)
    d_skip = np.full((B, P, Tn), NEVER, dtype=np.int64)
    d_und = np.full((B, P, Tn), NEVER, dtype=np.int64)
    for p in range(P):
        ks = np.flatnonzero(own[p])
        if ks.size:
            d_skip[:, p] = skip[:, ks].min(axis=1)
            d_und[:, p] = undo[:, ks].min(axis=1)
    has_undo = d_und < NEVER
    d_undo = np.where(has_undo, taus[None, None, :] + d_und, NEVER)
    exists = np.stack([d_skip < NEVER, has_undo], axis=1)  # [B, 2, P, Tn]
    if last is not None:
        valid = taus[None, :] <= np.asarray(last, dtype=np.int64)[:, None] + 1  # [B, Tn]
        exists &= valid[:, None, None, :]
    seen = np.stack([d_skip, np.minimum(d_skip, d_undo)], axis=1)
    rho = np.where(exists, seen + 1, taus)  # a harmless index where the plan does not exist
    disc = np.take_along_axis(pw[None, None], rho - taus, axis=3)  # δ_i^(ρ−τ)
    S_rho = np.take_along_axis(S[:, None], rho, axis=3)
    base = (Q[:, :, :Tn] + own_value)[:, None] - disc * S_rho  # [B, 2, P, Tn]
    dev = base + np.stack([disc[:, 0], np.ones_like(disc[:, 1])], axis=1) * Gam[:, None]
    return BatchResult(
        comply=V[:, :, :Tn],
        flows=u_all[:, :, :Tn],
        deviate=np.where(exists, dev, -np.inf),
        exists=exists,
        seen=np.where(exists, seen, -1),
        response=np.where(exists, seen + 1, -1),
        last=np.full(B, H, dtype=np.int64) if last is None else np.asarray(last, dtype=np.int64),
    )


def margins(comp: Compiled, amounts: FloatArray, last: Sequence[int] | IntArray | None = None) -> FloatArray:
    """[B] margins (min slack and participation) of B schedules; see :func:`run_kernel_batch`."""
    return run_kernel_batch(comp, amounts, last).margins()


def run_kernel(comp: Compiled, amounts: FloatArray, *, all_values: bool = False) -> KernelResult:
    """Check one schedule given as ``amounts[k, t]`` (t = 0..H). See the module docstring.

    With ``all_values`` the result also carries every party's value along every path.
    """
    res = run_kernel_batch(comp, amounts[None, :, :]).item(0)
    if not all_values:
        return res
    others = path_values_all(comp, amounts, res.exists, res.response)
    return KernelResult(
        comply=res.comply,
        flows=res.flows,
        deviate=res.deviate,
        exists=res.exists,
        seen=res.seen,
        response=res.response,
        others=others,
    )


def _reverse_sums_k(series: FloatArray, discount: FloatArray, tail: FloatArray) -> FloatArray:
    """R[j, k, t] = Σ_{s≥t} δ_j^(s−t) series[k, s], with R[j, k, T] = tail[j, k]."""
    P = discount.shape[0]
    K, T = series.shape
    out = np.empty((P, K, T + 1))
    out[:, :, T] = tail
    d = discount[:, None]
    for t in range(T - 1, -1, -1):
        out[:, :, t] = series[None, :, t] + d * out[:, :, t + 1]
    return out


def path_values_all(comp: Compiled, amounts: FloatArray, exists: BoolArray, response: IntArray) -> FloatArray:
    """Every party's value along every deviation path: [2, P(deviator), Tn, P(j)] (NaN if none).

    Evaluated concession by concession: k stops at c (τ for the deviator's own, ρ for the
    others'), stays at the amount then in force, and ends at its reversal's effect (or never).
    """
    P, K = comp.n_parties, comp.n_concessions
    H = amounts.shape[1] - 1
    Tn = H + 2
    Tg = H + 4 + int(comp.delay.max(initial=0)) + int(comp.lag.max(initial=0))
    delta = comp.discount
    A = np.zeros((K, Tg))
    A[:, : H + 1] = amounts
    X = np.minimum(np.cumsum(A, axis=1), 1.0)
    Xs = np.zeros((K, Tg + 1))
    Xs[:, 1:] = X
    R = _reverse_sums_k(X, delta, X[:, -1][None, :] / (1.0 - delta[:, None]))  # [P, K, Tg+1]
    RA = _reverse_sums_k(A, delta, np.zeros((P, K)))

    taus = np.arange(Tn)
    own = comp.giver[None, :] == np.arange(P)[:, None]  # [P, K]
    fragile = comp.fragile
    start = Xs[:, :Tn].T  # [Tn, K]
    undo_now = own[:, None, :] & fragile[None, None, :] & (start[None, :, :] > 0)  # [P, Tn, K]

    rho = np.where(exists, response, taus)[:, :, :, None]  # [2, P, Tn, 1]
    tau = taus[None, None, :, None]
    c = np.where(own[None, :, None, :], tau, rho)  # [2, P, Tn, K]
    c = np.where(exists[:, :, :, None], c, tau)
    kk = np.arange(K)
    amount_c = Xs[kk, c]  # in force when k stops
    undone_tau = np.stack([np.zeros_like(undo_now), undo_now])  # [2, P, Tn, K]
    undone_rho = fragile & (amount_c > 0) & ~undone_tau
    end = np.where(undone_tau, tau + comp.delay, np.where(undone_rho, rho + comp.delay, NEVER))
    cost_tau = np.where(undone_tau, comp.cost * amount_c, 0.0)
    cost_rho = np.where(undone_rho, comp.cost * amount_c, 0.0)
    never = end >= NEVER
    span = np.where(never, 0, end - c)  # end >= c on every path

    others = np.empty((2, P, Tn, P))
    for j in range(P):
        dj = delta[j]
        lead = dj ** (c - tau)
        flow_part = R[j, kk, np.broadcast_to(tau, c.shape)] - lead * R[j, kk, c]
        flow_part += amount_c * lead * np.where(never, 1.0, 1.0 - dj**span) / (1.0 - dj)
        once_part = RA[j, kk, np.broadcast_to(tau, c.shape)] - lead * RA[j, kk, c]
        paid = np.where(comp.giver == j, cost_tau + cost_rho * dj ** (rho - tau), 0.0)
        val = (comp.flow[:, j] * flow_part + comp.once[:, j] * once_part - paid).sum(axis=3)
        others[:, :, :, j] = np.where(exists, val, np.nan)
    return others
