"""The vectorised kernel of the self-enforcement check (MODEL.md section 3).

Every deviation path is summarised per concession k by three numbers: the period ``c`` from
which its steps stop (the deviator's own stop at τ, the others' at the response period ρ),
the period ``e`` from which its flow ends (a reversal's effect, or never), and the amount in
force when it stops. A party's value along the path is then a sum over concessions of closed
forms in the reverse discounted sums

    R_j[k, t] = Σ_{s ≥ t} δ_j^(s−t) x_k(s)      and      RA_j[k, t] = Σ_{s ≥ t} δ_j^(s−t) a_k(s),

so a whole check is a handful of NumPy operations over arrays shaped [party, τ, concession],
with no loop over (party, τ, t). Only multiplications by δ^n appear (never divisions), so the
values stay exact to rounding for long horizons. The tail after the last event is the
geometric series of a constant flow, in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..core.compiled import Compiled

__all__ = ["NEVER", "PLANS", "KernelResult", "run_kernel"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: A period that never comes (flows that are never reversed end here).
NEVER = 1 << 40
#: The deviation plans, in the order of the kernel's plan axis.
PLANS = ("halt", "halt_and_reverse")


@dataclass(frozen=True, eq=False)
class KernelResult:
    """Raw arrays of one check. τ runs over 0..H+1; plan axis as :data:`PLANS`."""

    comply: FloatArray  # [P, Tn]     V_i(τ)
    flows: FloatArray  # [P, Tn]      u_i(τ)
    deviate: FloatArray  # [2, P, Tn] value of each plan (-inf where it does not exist)
    exists: BoolArray  # [2, P, Tn]
    seen: IntArray  # [2, P, Tn]      d
    response: IntArray  # [2, P, Tn]  ρ = d + 1
    # values of every party along every path, only when asked: [2, P(dev), Tn, P(j)]
    others: FloatArray | None = None

    @property
    def best_plan(self) -> IntArray:
        """0 (halt) or 1 (halt_and_reverse) per [P, Tn]; halt wins ties within 1e-12."""
        hr_better = self.exists[1] & (~self.exists[0] | (self.deviate[1] > self.deviate[0] + 1e-12))
        return hr_better.astype(np.int64)

    @property
    def best_deviate(self) -> FloatArray:
        plan = self.best_plan
        return np.where(plan == 1, self.deviate[1], self.deviate[0])

    @property
    def any_plan(self) -> BoolArray:
        return self.exists[0] | self.exists[1]


def _reverse_sums(series: FloatArray, discount: FloatArray, tail: FloatArray) -> FloatArray:
    """R[j, k, t] = Σ_{s≥t} δ_j^(s−t) series[k, s], with R[j, k, T] = tail[j, k].

    ``series`` is [K, T]; the result is [P, K, T + 1].
    """
    P = discount.shape[0]
    K, T = series.shape
    out = np.empty((P, K, T + 1))
    out[:, :, T] = tail
    d = discount[:, None]
    for t in range(T - 1, -1, -1):
        out[:, :, t] = series[None, :, t] + d * out[:, :, t + 1]
    return out


def run_kernel(comp: Compiled, amounts: FloatArray, *, all_values: bool = False) -> KernelResult:
    """Check one schedule given as ``amounts[k, t]`` (t = 0..H). See the module docstring."""
    P, K = comp.n_parties, comp.n_concessions
    H = amounts.shape[1] - 1
    Tn = H + 2  # τ = 0 .. H + 1
    max_delay = int(comp.delay.max(initial=0))
    max_lag = int(comp.lag.max(initial=0))
    Tg = H + 4 + max_delay + max_lag  # every c, ρ and m below stays < Tg
    delta = comp.discount

    A = np.zeros((K, Tg))
    A[:, : H + 1] = amounts
    X = np.minimum(np.cumsum(A, axis=1), 1.0)
    Xs = np.zeros((K, Tg + 1))  # Xs[k, t] = x_k(t - 1), the amount in force at the start of t
    Xs[:, 1:] = X
    x_end = X[:, -1]
    R = _reverse_sums(X, delta, x_end[None, :] / (1.0 - delta[:, None]))  # [P, K, Tg+1]
    RA = _reverse_sums(A, delta, np.zeros((P, K)))

    flow_T = comp.flow.T  # [P, K]
    once_T = comp.once.T
    comply = np.einsum("jk,jkt->jt", flow_T, R[:, :, :Tn]) + np.einsum("jk,jkt->jt", once_T, RA[:, :, :Tn])
    flows = flow_T @ X[:, :Tn] + once_T @ A[:, :Tn]

    taus = np.arange(Tn)
    own = comp.giver[None, :] == np.arange(P)[:, None]  # [P, K]
    fragile = comp.fragile

    # next step of k at or after τ, NEVER if none
    has_step = A[:, :Tn] > 0
    next_step = np.full((K, Tn + 1), NEVER, dtype=np.int64)
    for t in range(Tn - 1, -1, -1):
        next_step[:, t] = np.where(has_step[:, t], t, next_step[:, t + 1])
    next_step = next_step[:, :Tn]
    skip_seen = np.where(next_step < NEVER, next_step + comp.lag[:, None], NEVER)  # [K, Tn]
    d_skip = np.where(own[:, :, None], skip_seen[None, :, :], NEVER).min(axis=1)  # [P, Tn]
    start_amount = Xs[:, :Tn].T  # [Tn, K]
    undo_now = own[:, None, :] & fragile[None, None, :] & (start_amount[None, :, :] > 0)  # [P, Tn, K]
    undo_seen = taus[None, :, None] + (comp.delay + comp.lag)[None, None, :]
    d_undo = np.where(undo_now, undo_seen, NEVER).min(axis=2)  # [P, Tn]

    exists = np.stack([d_skip < NEVER, undo_now.any(axis=2)])  # [2, P, Tn]
    seen = np.stack([d_skip, np.minimum(d_skip, d_undo)])
    response = np.where(exists, seen + 1, NEVER)

    # per plan, party, τ, concession
    rho = response[:, :, :, None]  # [2, P, Tn, 1]
    tau = taus[None, None, :, None]
    c = np.where(own[None, :, None, :], tau, rho)  # [2, P, Tn, K]
    c = np.where(exists[:, :, :, None], c, tau)  # dummy for absent plans
    kk = np.arange(K)
    amount_c = Xs[kk, np.minimum(c, Tg)]  # amount performed before the stop
    undone_tau = np.stack([np.zeros_like(undo_now), undo_now])  # [2, P, Tn, K]
    undone_rho = fragile & (amount_c > 0) & ~undone_tau
    end = np.where(
        undone_tau,
        tau + comp.delay,
        np.where(undone_rho, rho + comp.delay, NEVER),
    )
    end = np.where(exists[:, :, :, None], end, NEVER)
    cost_tau = np.where(undone_tau, comp.cost * amount_c, 0.0)
    cost_rho = np.where(undone_rho, comp.cost * amount_c, 0.0)

    def values_for(j_index: IntArray, d_j: FloatArray) -> FloatArray:
        """Value to party j (index array broadcast against [2, P, Tn, K]) along each path."""
        dj = d_j[..., None] if d_j.ndim else d_j
        m = np.minimum(c, end)
        R_tau = R[j_index, kk, np.broadcast_to(tau, c.shape)]
        R_m = R[j_index, kk, np.minimum(m, Tg)]
        flow_part = R_tau - dj ** (m - tau) * R_m
        tail = np.where(
            end > c,
            amount_c * dj ** (c - tau) * (1.0 - dj ** np.minimum(end - c, 1 << 20)) / (1.0 - dj),
            0.0,
        )
        flow_part = flow_part + tail
        RA_tau = RA[j_index, kk, np.broadcast_to(tau, c.shape)]
        RA_c = RA[j_index, kk, np.minimum(c, Tg)]
        once_part = RA_tau - dj ** (c - tau) * RA_c
        return flow_part, once_part

    pidx = np.arange(P)[None, :, None, None]
    d_dev = delta[pidx]  # [1, P, 1, 1]
    flow_part, once_part = values_for(pidx, d_dev[..., 0])
    flow_dev = comp.flow.T[pidx[..., 0], :][:, :, :, :]  # [1, P, 1, K]
    once_dev = comp.once.T[pidx[..., 0], :]
    own_b = own[None, :, None, :]
    cost_dev = np.where(own_b, cost_tau + cost_rho * d_dev ** (rho - tau), 0.0)
    dev_value = (flow_dev * flow_part + once_dev * once_part - cost_dev).sum(axis=3)
    dev_value = np.where(exists, dev_value, -np.inf)

    others = None
    if all_values:
        others = np.empty((2, P, Tn, P))
        giver_b = comp.giver[None, None, None, :]
        for j in range(P):
            jidx = np.full((1, 1, 1, 1), j)
            fp, op = values_for(jidx, delta[j])
            paid = np.where(giver_b == j, cost_tau + cost_rho * delta[j] ** (rho - tau), 0.0)
            val = (comp.flow[:, j] * fp + comp.once[:, j] * op - paid).sum(axis=3)
            others[:, :, :, j] = np.where(exists, val, np.nan)
    return KernelResult(
        comply=comply,
        flows=flows,
        deviate=dev_value,
        exists=exists,
        seen=np.where(exists, seen, -1),
        response=np.where(exists, response, -1),
        others=others,
    )
