"""The vectorised kernel of the self-enforcement check (docs/model.md §3).

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
[schedule, party, period] plus one reverse discounted sum per party, the recurrence
V(τ) = u(τ) + δ V(τ + 1) run as a linear filter. Only multiplications by δ appear (never
divisions), so values stay exact to rounding over long horizons; the tail after the last
event is the geometric series of a constant flow, in closed form. Nothing changes from
period H + 1 on, so Q and Z are needed at min(ρ, H + 1) only and δ^(ρ−τ) is a power: time
and memory are linear in the horizon and independent of the lags and delays.

When a breach may be missed (a detection probability 0 < q < 1), ρ is random and the two
terms that depend on it become expectations, E[δ^(ρ−τ)] and E[δ^(ρ−τ) S_i(ρ)] with
S_i = Q_i − Z_i: a finite sum over the horizon plus closed-form geometric tails
(:func:`_expected_response`, derived in docs/model.md).

:func:`run_kernel` checks one schedule; :func:`run_kernel_batch` checks many schedules of
one scenario at once (a leading batch axis) and :func:`margins` reduces them to one number
each. The values of *every* party along every deviation path (for leverage) come from a
per-concession evaluation of the same paths, :func:`path_values_all`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

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
    # [2, P, Tn] the response period is random (a breach event with 0 < detect < 1 matters)
    uncertain: BoolArray | None = None

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
    uncertain: BoolArray | None = None  # [B, 2, P, Tn]

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
            uncertain=None if self.uncertain is None else self.uncertain[b, :, :, :tn],
        )


def _backward(series: FloatArray, tail: FloatArray, discount: FloatArray) -> FloatArray:
    """out[b, p, τ] = Σ_{t=τ}^{T−1} δ_p^(t−τ) series[b, p, t] + δ_p^(T−τ) tail[b, p], τ in 0..T.

    The backward recurrence out(τ) = series(τ) + δ · out(τ + 1), run as a first-order linear
    filter over the reversed series: time and memory linear in T.
    """
    B, P, T = series.shape
    rev = np.empty((B, P, T + 1))
    rev[:, :, 0] = tail
    rev[:, :, 1:] = series[:, :, ::-1]
    out = np.empty((B, P, T + 1))
    for p in range(P):
        out[:, p, :] = lfilter([1.0], [1.0, -float(discount[p])], rev[:, p, :], axis=-1)
    result: FloatArray = out[:, :, ::-1]
    return result


def _party_min(values: IntArray, own: BoolArray) -> IntArray:
    """[B, K, Tn] -> [B, P, Tn]: the minimum over each party's own concessions (NEVER if none)."""
    B, _, Tn = values.shape
    out = np.full((B, own.shape[0], Tn), NEVER, dtype=np.int64)
    for p in range(own.shape[0]):
        ks = np.flatnonzero(own[p])
        if ks.size:
            out[:, p] = values[:, ks].min(axis=1)
    return out


def _party_any(values: BoolArray, own: BoolArray) -> BoolArray:
    """[B, K, Tn] -> [B, P, Tn]: whether any of each party's own concessions is marked."""
    B, _, Tn = values.shape
    out = np.zeros((B, own.shape[0], Tn), dtype=bool)
    for p in range(own.shape[0]):
        ks = np.flatnonzero(own[p])
        if ks.size:
            out[:, p] = values[:, ks].any(axis=1)
    return out


@dataclass(frozen=True, eq=False)
class _Detection:
    """What the response timing needs: E[δ^(ρ−τ)], E[δ^(ρ−τ) S(ρ)] and the earliest d per row,
    and the pieces of the survival function G(s) = P(d > s) to take other expectations."""

    e0: FloatArray  # [B, 2, P, Tn]
    e1: FloatArray  # [B, 2, P, Tn]
    earliest: IntArray  # [B, 2, P, Tn] first period at whose end the deviation can be seen (NEVER: never)
    uncertain: BoolArray  # [B, 2, P, Tn] the response period is random
    G: FloatArray  # [B, 2, P, Tn, Tn+1] G(s) for s = -1..H+1
    W: FloatArray  # [B, 2, P, Tn, E+1] slope of log G on each piece after H + 1
    WO: FloatArray  # [B, 2, P, Tn, E+1] offset: log G(s) = W (s + 1) − WO on the piece
    starts: FloatArray  # [B, 2, P, Tn, E+1] first period of each piece (cut at the certain period)
    ends: FloatArray  # [B, 2, P, Tn, E+1] one past its last period

    def tail(self, discount: FloatArray | float, ref: FloatArray | float) -> FloatArray:
        """Σ_{s>H} P(d = s) · discount^(s+1−ref) per row ([B, 2, P, Tn]), in closed form.

        Summation by parts: G(H) δ^(H+2−ref) − (1 − δ) Σ_{s>H} G(s) δ^(s+1−ref), the last sum a
        geometric series on each piece. ``discount`` and ``ref`` broadcast against the rows.
        """
        H = self.G.shape[-1] - 3
        delta = np.asarray(discount, dtype=np.float64)
        log_d = np.log(delta)[..., None]
        ref_f = np.asarray(ref, dtype=np.float64)[..., None]
        n = self.ends - self.starts
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            head = np.exp(self.W * (self.starts + 1.0) - self.WO + (self.starts + 1.0 - ref_f) * log_d)
            rate = self.W + log_d  # log of the per-period factor, < 0
            piece = np.where(n > 0, head * (-np.expm1(n * rate)) / (-np.expm1(rate)), 0.0)
            out = self.G[..., H + 1] * delta ** (H + 2 - np.asarray(ref, dtype=np.float64))
        out = out - (1.0 - delta) * piece.sum(axis=-1)
        result: FloatArray = np.maximum(out, 0.0)
        return result


def _expected_response(
    comp: Compiled,
    *,
    steps: BoolArray,
    lags: IntArray,
    detect: FloatArray,
    undo_ok: BoolArray,
    own: BoolArray,
    sure_seen: IntArray,
    S: FloatArray,
) -> _Detection | None:
    """Expectations over the random detection period d of docs/model.md §3 "Verification that may miss".

    ``steps`` [B, K, Tn] marks scheduled steps, ``undo_ok`` [B, K, Tn] the fragile concessions in
    force at the start of τ, ``sure_seen`` [B, 2, P, Tn] the period by whose end a breach seen
    for certain (detect = 1) is seen (NEVER when none), ``S`` [B, P, Tn] the loss S_i(ρ) for
    ρ = 0..H+1 (constant from H+1 on). Returns None when no row has a breach event with
    0 < detect < 1 that could be seen before the certain one.

    Each breach event e (a skipped step (k, t), or an undoing) becomes observable at the end of
    o_e and is seen at the end of each period from o_e on with probability q_e, independently.
    So the survival G(s) = P(d > s) = exp(L(s)) with L(s) = Σ_e log(1 − q_e) · max(0, s − o_e + 1),
    and G(s) = 0 from the certain period on. L is piecewise linear with a break at each o_e.
    E[δ^(d+1−τ) S(d+1)] is a finite sum over d ≤ H (where S varies; L on a dense grid of
    s = −1..H+1, the step events summed over t ≥ τ by a reverse cumulative sum) plus, from
    H + 1 on where S is constant, Σ_{s>H} (G(s−1) − G(s)) δ^(s+1−τ)
    = G(H) δ^(H+2−τ) − (1 − δ) Σ_{s>H} G(s) δ^(s+1−τ), whose last sum is a geometric series on
    every piece between two breaks after H + 1: time and memory do not depend on the lags.
    """
    B, _, Tn = steps.shape
    H = Tn - 2
    P = comp.n_parties
    maybe = (detect > 0.0) & (detect < 1.0)  # [B, K]
    if not maybe.any():
        return None
    taus = np.arange(Tn)
    w_k = np.where(maybe, np.log1p(-np.where(maybe, detect, 0.0)), 0.0)  # [B, K], < 0 where maybe
    o_step = taus[None, None, :] + lags[:, :, None]  # [B, K, Tn] observable after a skipped step at t
    o_undo = taus[None, None, :] + (comp.delay[None, :] + lags)[:, :, None]  # ... after undoing at τ
    cell = steps & maybe[:, :, None]
    undo_cell = undo_ok & maybe[:, :, None]

    # which rows have an uncertain event before the certain one, and the earliest period
    first = np.where(cell, o_step, NEVER)
    first = np.minimum.accumulate(first[:, :, ::-1], axis=2)[:, :, ::-1]  # over t >= τ
    e_skip = _party_min(first, own)
    e_undo = _party_min(np.where(undo_cell, o_undo, NEVER), own)
    earliest_maybe = np.stack([e_skip, np.minimum(e_skip, e_undo)], axis=1)  # [B, 2, P, Tn]
    uncertain: BoolArray = np.asarray(earliest_maybe < sure_seen)
    if not uncertain.any():
        return None
    cap = sure_seen.astype(np.float64)
    big = float(NEVER)

    # L(s) on the dense grid s = -1..H+1 (events at or after the certain period only matter
    # where G is zero anyway): the weights log(1 − q) of the events observable at o = 0..H+1,
    # per row, summed twice over o (Σ_{o<=s} w_o (s − o + 1)); the skipped steps of a row are
    # those at t >= τ, a reverse cumulative sum over t
    s_grid = np.arange(-1, H + 2, dtype=np.float64)  # [Tn + 1]

    def binned(mask: BoolArray, when: IntArray) -> FloatArray:
        """[B, P, Tn, Tn]: Σ w_k over the marked (b, k, t) cells of each party, binned by o."""
        bi, ki, ti = np.nonzero(mask & (when <= H + 1))
        flat = ((bi * P + comp.giver[ki]) * Tn + ti) * Tn + when[bi, ki, ti]
        counts = np.bincount(flat, weights=w_k[bi, ki], minlength=B * P * Tn * Tn)
        out: FloatArray = counts.astype(np.float64).reshape(B, P, Tn, Tn)
        return out

    w_step = np.cumsum(binned(cell, o_step)[:, :, ::-1], axis=2)[:, :, ::-1]  # over t >= τ
    w_undo = binned(undo_cell, o_undo)
    w_both = np.stack([w_step, w_step + w_undo], axis=1)  # [B, 2, P, Tn(τ), Tn(o)]
    L = np.zeros((B, 2, P, Tn, Tn + 1))
    L[..., 1:] = np.cumsum(np.cumsum(w_both, axis=-1), axis=-1)
    G = np.exp(L) * (s_grid < cap[..., None])

    delta = comp.discount[None, None, :, None]  # [1, 1, P, 1]
    pm = G[..., : H + 1] - G[..., 1 : H + 2]  # P(d = s), s = 0..H
    expo = np.arange(H + 1)[None, :] + 1 - taus[:, None]  # [Tn, H+1] = ρ − τ
    dpow = np.where(expo >= 1, comp.discount[:, None, None] ** np.maximum(expo, 0)[None], 0.0)  # [P, Tn, H+1]
    weighted = pm * dpow[None, None]
    e0 = weighted.sum(axis=-1)
    e1 = (weighted * S[:, None, :, None, 1:]).sum(axis=-1)

    # the tail s > H: slope and offset from the events observable by H + 1, then a break at
    # each later event (steps of the deviator at t >= τ, or its undoings at τ), cut at the cap
    h1 = float(H + 1)
    W0 = L[..., H + 2] - L[..., H + 1]  # Σ w_e over events with o_e <= H + 1
    WO0 = (H + 2) * W0 - L[..., H + 2]  # Σ w_e o_e over the same
    late_cell = cell & (o_step > H + 1)
    ek, et = np.nonzero(late_cell.any(axis=0))
    late_undo = undo_cell & (o_undo > H + 1)
    ku = np.flatnonzero(late_undo.any(axis=(0, 2)))
    E1, E = ek.size, ek.size + ku.size
    o = np.full((B, 2, P, Tn, E), big)
    w = np.zeros((B, 2, P, Tn, E))
    if E1:
        act = late_cell[:, ek, et][:, None, :] & (comp.giver[ek][None, None, :] == np.arange(P)[None, :, None])
        act = act[:, :, None, :] & (et[None, None, None, :] >= taus[None, None, :, None])  # [B, P, Tn, E1]
        o[..., :E1] = np.where(act, o_step[:, ek, et][:, None, None, :], big)[:, None]
        w[..., :E1] = np.where(act, w_k[:, ek][:, None, None, :], 0.0)[:, None]
    if E > E1:
        act_u = late_undo[:, ku, :].transpose(0, 2, 1)[:, None] & (
            comp.giver[ku][None, None, None, :] == np.arange(P)[None, :, None, None]
        )  # [B, P, Tn, E2]
        o[:, 1, ..., E1:] = np.where(act_u, o_undo[:, ku, :].transpose(0, 2, 1)[:, None], big)
        w[:, 1, ..., E1:] = np.where(act_u, w_k[:, ku][:, None, None, :], 0.0)
    order = np.argsort(o, axis=-1, kind="stable")
    os_ = np.take_along_axis(o, order, axis=-1)
    ws = np.take_along_axis(w, order, axis=-1)
    W = W0[..., None] + np.concatenate([np.zeros((*o.shape[:-1], 1)), np.cumsum(ws, axis=-1)], axis=-1)
    WO = WO0[..., None] + np.concatenate(
        [np.zeros((*o.shape[:-1], 1)), np.cumsum(ws * np.where(ws != 0.0, os_, 0.0), axis=-1)], axis=-1
    )
    starts = np.minimum(np.concatenate([np.full((*o.shape[:-1], 1), h1), os_], axis=-1), cap[..., None])
    ends = np.minimum(np.concatenate([os_, np.full((*o.shape[:-1], 1), np.inf)], axis=-1), cap[..., None])
    det = _Detection(
        e0=e0,
        e1=e1,
        earliest=np.minimum(sure_seen, earliest_maybe),
        uncertain=uncertain,
        G=G,
        W=W,
        WO=WO,
        starts=starts,
        ends=ends,
    )
    tail = det.tail(delta, taus[None, None, None, :].astype(np.float64))
    return replace(det, e0=e0 + tail, e1=e1 + tail * S[:, None, :, -1:])


def run_kernel_batch(
    comp: Compiled,
    amounts: FloatArray,
    last: Sequence[int] | IntArray | None = None,
    *,
    lag: IntArray | None = None,
    detect: FloatArray | None = None,
) -> BatchResult:
    """Check B schedules given as ``amounts[b, k, t]``; see :func:`_run`."""
    return _run(comp, amounts, last, lag=lag, detect=detect)[0]


def _run(
    comp: Compiled,
    amounts: FloatArray,
    last: Sequence[int] | IntArray | None = None,
    *,
    lag: IntArray | None = None,
    detect: FloatArray | None = None,
) -> tuple[BatchResult, _Detection | None]:
    """Check B schedules given as ``amounts[b, k, t]`` (t = 0..H, zero after each one's end).

    ``last[b]`` is the last scheduled period of schedule b (default: H for every b). ``lag`` and
    ``detect`` ([B, K], default the scenario's) let each schedule of the batch carry its own
    verification, so that one call can scan a concession's verification.
    Time and memory are linear in H and do not depend on the lags or delays: the response
    period ρ enters only through δ^(ρ−τ) and S_i(min(ρ, H + 1)), constant from H + 1 on.
    """
    B, K, T0 = amounts.shape
    P = comp.n_parties
    H = T0 - 1
    Tn = H + 2  # τ = 0 .. H + 1
    lags = np.broadcast_to(comp.lag[None, :] if lag is None else np.asarray(lag, dtype=np.int64), (B, K))
    q = np.broadcast_to(comp.detect[None, :] if detect is None else np.asarray(detect, dtype=np.float64), (B, K))
    delta = comp.discount
    inv = 1.0 / (1.0 - delta)

    A = np.zeros((B, K, Tn))
    A[:, :, :T0] = amounts
    X = np.minimum(np.cumsum(A, axis=2), 1.0)  # x_k(t), t = 0..H+1
    Xs = np.zeros((B, K, Tn))  # Xs[., k, t] = x_k(t - 1), in force at the start of t
    Xs[:, :, 1:] = X[:, :, :-1]
    x_end = X[:, :, -1]  # [B, K]

    own = comp.giver[None, :] == np.arange(P)[:, None]  # [P, K]
    fragile = comp.fragile
    flow_T, once_T = comp.flow.T, comp.once.T  # [P, K]
    flow_oth, once_oth = np.where(own, 0.0, flow_T), np.where(own, 0.0, once_T)

    # compliance: V_i(τ) and u_i(t); Q_i: the same over the other parties' concessions only
    u_all = np.matmul(flow_T, X) + np.matmul(once_T, A)  # [B, P, Tn]
    u_oth = np.matmul(flow_oth, X) + np.matmul(once_oth, A)
    V = _backward(u_all[:, :, :T0], (x_end @ comp.flow) * inv, delta)  # [B, P, Tn]
    Q = _backward(u_oth[:, :, :T0], (x_end @ flow_oth.T) * inv, delta)

    # Z_i(ρ): the others' concessions frozen at ρ, a fragile one until ρ + delay
    keep = np.where(fragile[None, :], 1.0 - delta[:, None] ** comp.delay[None, :], 1.0)
    Z = np.matmul(flow_oth * keep * inv[:, None], Xs)  # [B, P, Tn]
    S = Q - Z  # constant from ρ = H + 1 on
    own_value = np.matmul(np.where(own, flow_T, 0.0) * inv[:, None], Xs)  # [B, P, Tn]
    gain = np.where(own & fragile[None, :], comp.gain_from_undoing[None, :], 0.0)
    Gam = np.matmul(gain, Xs)  # [B, P, Tn]

    # when is a deviation seen for certain? a skipped step at t + lag, an undoing at τ + delay + lag
    taus = np.arange(Tn)
    steps = A > 0
    sure = (q >= 1.0)[:, :, None]
    skip = np.where(steps & sure, taus[None, None, :] + lags[:, :, None], NEVER)
    skip = np.minimum.accumulate(skip[:, :, ::-1], axis=2)[:, :, ::-1]  # min over t >= τ
    later = np.logical_or.accumulate(steps[:, :, ::-1], axis=2)[:, :, ::-1]  # a step at some t >= τ
    undo_ok = fragile[None, :, None] & (Xs > 0)
    undo = np.where(undo_ok & sure, taus[None, None, :] + (comp.delay[None, :] + lags)[:, :, None], NEVER)
    d_skip = _party_min(skip, own)
    d_undo = _party_min(undo, own)
    has_steps = _party_any(later, own)
    has_undo = _party_any(undo_ok, own)
    exists = np.stack([has_steps, has_undo], axis=1)  # [B, 2, P, Tn]
    if last is not None:
        valid = taus[None, :] <= np.asarray(last, dtype=np.int64)[:, None] + 1  # [B, Tn]
        exists &= valid[:, None, None, :]
    seen = np.stack([d_skip, np.minimum(d_skip, d_undo)], axis=1)  # NEVER: not seen for certain
    rho = np.where(exists & (seen < NEVER), seen + 1, taus)  # a harmless index where not used
    with np.errstate(under="ignore"):
        disc = np.where(seen < NEVER, delta[None, None, :, None] ** (rho - taus).astype(np.float64), 0.0)
    S_rho = np.take_along_axis(S[:, None], np.minimum(rho, Tn - 1), axis=3)
    e0, e1 = disc, disc * S_rho
    det = _expected_response(comp, steps=steps, lags=lags, detect=q, undo_ok=undo_ok, own=own, sure_seen=seen, S=S)
    uncertain = np.zeros_like(exists)
    if det is not None:
        uncertain = det.uncertain & exists
        e0 = np.where(uncertain, det.e0, e0)
        e1 = np.where(uncertain, det.e1, e1)
        seen = np.where(uncertain, det.earliest, seen)
    base = (Q + own_value)[:, None] - e1  # [B, 2, P, Tn]
    dev = base + np.stack([e0[:, 0], np.ones_like(e0[:, 1])], axis=1) * Gam[:, None]
    shown = exists & (seen < NEVER)
    result = BatchResult(
        comply=V,
        flows=u_all,
        deviate=np.where(exists, dev, -np.inf),
        exists=exists,
        seen=np.where(shown, seen, -1),
        response=np.where(shown, seen + 1, -1),
        last=np.full(B, H, dtype=np.int64) if last is None else np.asarray(last, dtype=np.int64),
        uncertain=uncertain,
    )
    return result, det


def margins(comp: Compiled, amounts: FloatArray, last: Sequence[int] | IntArray | None = None) -> FloatArray:
    """[B] margins (min slack and participation) of B schedules; see :func:`run_kernel_batch`."""
    return run_kernel_batch(comp, amounts, last).margins()


def run_kernel(comp: Compiled, amounts: FloatArray, *, all_values: bool = False) -> KernelResult:
    """Check one schedule given as ``amounts[k, t]`` (t = 0..H). See the module docstring.

    With ``all_values`` the result also carries every party's value along every path (in
    expectation over the detection period where it is random).
    """
    batch, det = _run(comp, amounts[None, :, :])
    res = batch.item(0)
    if not all_values:
        return res
    others = path_values_all(comp, amounts, res.exists, res.response)
    if det is not None and res.uncertain is not None and res.uncertain.any():
        expected = _expected_path_values(comp, amounts, res.exists, det)
        others = np.where(res.uncertain[..., None], expected, others)
    return KernelResult(
        comply=res.comply,
        flows=res.flows,
        deviate=res.deviate,
        exists=res.exists,
        seen=res.seen,
        response=res.response,
        others=others,
        uncertain=res.uncertain,
    )


def _expected_path_values(comp: Compiled, amounts: FloatArray, exists: BoolArray, det: _Detection) -> FloatArray:
    """Every party's expected value along every deviation path of one schedule: [2, P, Tn, P].

    E[v_j(ρ)] = Σ_{d=τ}^{H} P(d) v_j(d + 1) + G(H) v_j(∞) + (v_j(H + 1) − v_j(∞)) Σ_{d>H} P(d) δ_j^(d−H):
    from ρ = H + 1 on a path's value is v_j(∞) + (v_j(H + 1) − v_j(∞)) δ_j^(ρ−H−1), because
    nothing is scheduled any more and the response only adds terms proportional to δ_j^ρ.
    """
    H = amounts.shape[1] - 1
    P = comp.n_parties
    G = det.G[0]  # [2, P, Tn, Tn+1], G(s) for s = -1..H+1
    pm = G[..., : H + 1] - G[..., 1 : H + 2]  # P(d = s), s = 0..H

    def at(rho: int) -> FloatArray:
        vals = path_values_all(comp, amounts, exists, np.full(exists.shape, rho, dtype=np.int64))
        out: FloatArray = np.nan_to_num(vals, nan=0.0)
        return out

    total = np.zeros((*exists.shape, P))
    for s in range(H + 1):
        weight = np.maximum(pm[..., s], 0.0)
        if weight.any():
            total += weight[..., None] * at(s + 1)
    never, end = at(-1), at(H + 1)
    total += G[..., H + 1][..., None] * never
    for j in range(P):
        later = det.tail(comp.discount[j], float(H + 1))[0]  # Σ_{d>H} P(d) δ_j^(d−H)
        total[..., j] += later * (end[..., j] - never[..., j])
    result: FloatArray = np.where(exists[..., None], total, np.nan)
    return result


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
    A response of -1 on an existing plan means the deviation is never seen. Arrays run over
    periods 0..H+1 only (everything is constant from H + 1 on), so memory and time do not
    depend on the lags or delays.
    """
    P, K = comp.n_parties, comp.n_concessions
    H = amounts.shape[1] - 1
    Tn = H + 2
    delta = comp.discount
    A = np.zeros((K, Tn))
    A[:, : H + 1] = amounts
    X = np.minimum(np.cumsum(A, axis=1), 1.0)
    Xs = np.zeros((K, Tn + 1))
    Xs[:, 1:] = X
    R = _reverse_sums_k(X, delta, X[:, -1][None, :] / (1.0 - delta[:, None]))  # [P, K, Tn+1]
    RA = _reverse_sums_k(A, delta, np.zeros((P, K)))

    taus = np.arange(Tn)
    own = comp.giver[None, :] == np.arange(P)[:, None]  # [P, K]
    fragile = comp.fragile
    start = Xs[:, :Tn].T  # [Tn, K]
    undo_now = own[:, None, :] & fragile[None, None, :] & (start[None, :, :] > 0)  # [P, Tn, K]

    rho = np.where(exists, np.where(response < 0, NEVER, response), taus)[:, :, :, None]  # [2, P, Tn, 1]
    tau = taus[None, None, :, None]
    c = np.where(own[None, :, None, :], tau, rho)  # [2, P, Tn, K]
    c = np.where(exists[:, :, :, None], c, tau)
    ci = np.minimum(c, Tn)  # every array is constant from H + 1 on
    kk = np.arange(K)
    amount_c = Xs[kk, ci]  # in force when k stops
    undone_tau = np.stack([np.zeros_like(undo_now), undo_now])  # [2, P, Tn, K]
    undone_rho = fragile & (amount_c > 0) & ~undone_tau & (rho < NEVER)
    end = np.where(undone_tau, tau + comp.delay, np.where(undone_rho, rho + comp.delay, NEVER))
    cost_tau = np.where(undone_tau, comp.cost * amount_c, 0.0)
    cost_rho = np.where(undone_rho, comp.cost * amount_c, 0.0)
    never = end >= NEVER
    span = np.where(never, 0, end - c)  # end >= c on every path

    others = np.empty((2, P, Tn, P))
    tau_b = np.broadcast_to(tau, c.shape)
    with np.errstate(under="ignore"):
        for j in range(P):
            dj = delta[j]
            lead = dj ** (c - tau).astype(np.float64)
            flow_part = R[j, kk, tau_b] - lead * R[j, kk, ci]
            flow_part += amount_c * lead * np.where(never, 1.0, 1.0 - dj ** span.astype(np.float64)) / (1.0 - dj)
            once_part = RA[j, kk, tau_b] - lead * RA[j, kk, ci]
            paid = np.where(comp.giver == j, cost_tau + cost_rho * dj ** (rho - tau).astype(np.float64), 0.0)
            val = (comp.flow[:, j] * flow_part + comp.once[:, j] * once_part - paid).sum(axis=3)
            others[:, :, :, j] = np.where(exists, val, np.nan)
    return others
