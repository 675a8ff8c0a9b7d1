"""A whole batch in one compiled call, for the built-in strategies in the plain environment.

When every party plays a built-in strategy of :mod:`detente.simulation.strategies.library`
(except ``maximum-pressure``), and there is no hazard, no shock and no sanctions pressure, the
entire period loop of :func:`detente.simulation.engine.run_batch` runs compiled: the
strategies' decisions are re-stated per episode (:func:`_decide`), the random numbers are drawn
from the same PCG64 stream as the batch's ``numpy.random.Generator``
(:mod:`detente.simulation.pcg`) in the shapes and the order the reference draws them, and the
matrix products are ``np.dot`` on the same operands (the same BLAS routine, so the same sums)
or, where a product has at most one or two non-zero terms, sums that equal it exactly
(:func:`_sparse_products`). The results equal the reference engine's bit for bit (a test
checks it on fixtures and random scenarios, for every strategy).

:func:`plan` says whether a batch qualifies and packs the strategies into arrays; anything else
runs through :func:`detente.simulation.kernel.run_batch_compiled`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros as _trailing_zeros
from numpy.typing import NDArray

from .engine import NEVER
from .pcg import UIntArray, detach, random
from .setup import SimSetup
from .strategies.base import Strategy
from .strategies.library import (
    DenuclearizationFirst,
    Faithful,
    Grim,
    Grit,
    Hedger,
    Opportunist,
    Reciprocal,
    VerifyFirst,
)

__all__ = ["Plan", "plan", "run_fused"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: The index of the lowest set bit (LLVM's cttz), typed for the checker as a plain function.
trailing_zeros: Callable[[int], int] = _trailing_zeros  # type: ignore[assignment]

FAITHFUL, RECIPROCAL, GRIM, VERIFY_FIRST, DENUC_FIRST, GRIT, HEDGER, OPPORTUNIST = range(8)
#: Steps, concessions and parties are sets held in the bits of one 64-bit integer per episode.
MAX_ITEMS = 62
_CODES: dict[type[Strategy], int] = {
    Faithful: FAITHFUL,
    Reciprocal: RECIPROCAL,
    Grim: GRIM,
    VerifyFirst: VERIFY_FIRST,
    DenuclearizationFirst: DENUC_FIRST,
    Grit: GRIT,
    Hedger: HEDGER,
    Opportunist: OPPORTUNIST,
}


@dataclass(frozen=True, eq=False)
class Plan:
    """The strategies of one batch as arrays (after ``reset``): a code per party and its
    parameters; ``stationary[t]`` is True when every strategy is stationary from period t."""

    code: IntArray  # [P]
    forgive: BoolArray  # [P] reciprocal(forgiveness=True)
    k: IntArray  # [P] grit's k
    order: IntArray  # [P, S] verify-first: the others' steps by period (padded)
    n_order: IntArray  # [P] verify-first: how many of the others' steps
    wait: IntArray  # [P, S] verify-first: own step s waits for the first wait[p, s] of them
    tau: IntArray  # [P] opportunist: the deviation period (-1: no plan)
    reverse: BoolArray  # [P] opportunist: halt and reverse at tau
    rho: IntArray  # [P] opportunist: the response period
    stationary: BoolArray  # [horizon + 1]


def plan(setup: SimSetup, strategies: Sequence[Strategy], horizon: int) -> Plan | None:
    """The packed strategies when the batch can run fused (after their ``reset``), else None."""
    if len(setup.variants) > 1 or any(at is not None or prob > 0 for at, prob in _shocks(setup)):
        return None
    v0 = setup.variants[0]
    if bool((v0.hazard_base > 0).any() or (v0.hazard_growth > 0).any()):
        return None
    if any(type(s) not in _CODES for s in strategies):
        return None
    if setup.n_steps > MAX_ITEMS or setup.comp.n_concessions > MAX_ITEMS or setup.comp.n_parties > MAX_ITEMS:
        return None
    P, S = setup.comp.n_parties, setup.n_steps
    code = np.array([_CODES[type(s)] for s in strategies], dtype=np.int64)
    forgive = np.array([bool(s.params.get("forgiveness", False)) for s in strategies])
    k = np.array([int(s.params.get("k", 0)) for s in strategies], dtype=np.int64)
    order = np.zeros((P, max(S, 1)), dtype=np.int64)
    n_order = np.zeros(P, dtype=np.int64)
    wait = np.zeros((P, max(S, 1)), dtype=np.int64)
    tau = np.full(P, -1, dtype=np.int64)
    reverse = np.zeros(P, bool)
    rho = np.full(P, -1, dtype=np.int64)
    for i, s in enumerate(strategies):
        if isinstance(s, VerifyFirst):
            others = s._others
            order[i, : others.size] = others
            n_order[i] = others.size
            wait[i, :S] = s._wait if others.size else 0
        elif isinstance(s, Opportunist) and s._plan is not None:
            t0, how, r = s._plan
            tau[i], reverse[i], rho[i] = int(t0), how == "halt_and_reverse", int(r)
    stationary = np.array([all(s.stationary_from(t) for s in strategies) for t in range(horizon + 1)])
    return Plan(code, forgive, k, order, n_order, wait, tau, reverse, rho, stationary)


def _shocks(setup: SimSetup) -> list[tuple[int | None, float]]:
    return list(zip(setup.shock_at, setup.shock_probability, strict=True))


@njit(cache=True)
def _bits(mask: BoolArray) -> int:
    """A boolean mask over at most 62 items as the bits of one integer."""
    out = 0
    for j in range(mask.size):
        if mask[j]:
            out |= 1 << j
    return out


# Rows of the per-episode state: one int64 per episode, a set held in its bits (over steps,
# concessions or parties).
# XNZ holds the concessions with x > 0 exactly (kept with every change of x), so that the
# loops over concessions visit only those that matter.
PERF, SEEN, SKIP, LATE, UNDONE, USEEN, BNOW, BEVER, PM, UM, CA, CB, CC, XNZ = range(14)
N_SETS = 14


@njit(cache=True)
def _run(
    horizon: int,
    words: UIntArray,
    code: IntArray,
    forgive: BoolArray,
    kk: IntArray,
    order: IntArray,
    n_order: IntArray,
    wait: IntArray,
    tau: IntArray,
    reverse: BoolArray,
    rho: IntArray,
    stationary: BoolArray,
    s_period: IntArray,
    s_giver: IntArray,
    s_rev: BoolArray,
    s_lag: IntArray,
    s_detect: FloatArray,
    noisy_steps: IntArray,
    c_detect: FloatArray,
    noisy_conc: IntArray,
    giver: IntArray,
    fragile: BoolArray,
    reversible: BoolArray,
    delay: IntArray,
    cost: FloatArray,
    undo_lag: IntArray,
    fa_rate: FloatArray,
    fa_cols: IntArray,
    step_to_conc: FloatArray,
    s_conc: IntArray,
    s_amount: FloatArray,
    few: bool,
    conc_giver_1h: FloatArray,
    once: FloatArray,
    flow: FloatArray,
    delta: FloatArray,
    can_skip: bool,
    quiet_from: int,
    perf_time: IntArray,
    x: FloatArray,
    undone: BoolArray,
    undo_time: IntArray,
    undo_eff: IntArray,
    value: FloatArray,
    first_t: IntArray,
    first_p: IntArray,
    done_t: IntArray,
    disc: FloatArray,
) -> int:
    """The period loop, with each episode's sets of steps and concessions held as the bits of
    one integer; returns the period after which the rest was found constant (-1: none). The
    caller adds that rest and the tail after the horizon.

    Each pass over the episodes is a function of its own (:func:`_decide`, :func:`_enforce`,
    :func:`_observe`): small loops that the compiler optimises well, where one loop body of
    everything was measured at two thirds of the speed."""
    n, S = perf_time.shape
    K = x.shape[1]
    P = value.shape[1]
    bits = np.zeros((N_SETS, n), np.int64)
    gain = np.zeros((n, P))
    loss = np.zeros((n, P))
    amounts = np.zeros((n, K))
    perform_f = np.zeros((n, S))
    undo_x = np.zeros((n, K))
    alarms = np.zeros((n, 0))
    # constant sets
    own_s = np.zeros(P, np.int64)
    own_k = np.zeros(P, np.int64)
    for s in range(S):
        own_s[s_giver[s]] |= 1 << s
    for k in range(K):
        own_k[giver[k]] |= 1 << k
    all_s = (1 << S) - 1
    rev_s = _bits(s_rev)
    rev_k = _bits(reversible)
    frag_k = _bits(fragile)
    noisy_s = 0
    for j in range(noisy_steps.size):
        noisy_s |= 1 << noisy_steps[j]
    noisy_k = 0
    for j in range(noisy_conc.size):
        noisy_k |= 1 << noisy_conc[j]
    # verify-first: the own steps that still wait when the first `lead` of the others' steps are seen
    waitmask = np.zeros((P, S + 1), np.int64)
    for i in range(P):
        for lead in range(S + 1):
            for s in range(S):
                if s_giver[s] == i and wait[i, s] > lead:
                    waitmask[i, lead] |= 1 << s
    once_live = bool((once != 0).any())
    gain_dense = False
    loss_dense = False
    for t in range(horizon):
        sched = 0  # scheduled at or before t
        at_t = 0  # scheduled at t
        overdue = 0  # lateness can be seen by the end of t
        for s in range(S):
            if s_period[s] <= t:
                sched |= 1 << s
            if s_period[s] == t:
                at_t |= 1 << s
            if s_period[s] + s_lag[s] <= t:
                overdue |= 1 << s
        any_p, any_u, any_undone, noisy_a, noisy_b, noisy_c = _decide(
            t, sched, at_t, overdue, bits, code, forgive, kk, order, n_order, waitmask, tau, reverse, rho,
            own_s, own_k, all_s, rev_s, rev_k, frag_k, noisy_s, noisy_k, s_giver, giver, s_lag, undo_lag,
            delay, x, perf_time, perform_f, not few, undo_time, undo_eff, first_t, first_p,
        )  # fmt: skip
        # what is in force, and the undoings' costs, only where something was done
        if any_p and not few:
            amounts = np.dot(perform_f, step_to_conc)
        if any_p or any_u:
            gain_dense, loss_dense = _enforce(
                t, all_s, bits, s_conc, s_amount, few, amounts, cost, delay, x, undo_x, done_t,
                once_live, once, gain, conc_giver_1h, loss,
            )  # fmt: skip
            if any_p and gain_dense:
                gain = np.dot(amounts, once)
            if any_u and loss_dense:
                loss = np.dot(undo_x, conc_giver_1h)
        flows = np.dot(x, flow)
        # the draws of the end of t, in the reference's order
        if noisy_a:
            _apply(bits[CA], noisy_steps, random(words, n, noisy_steps.size), s_detect)
        if overdue and noisy_b:
            _apply(bits[CB], noisy_steps, random(words, n, noisy_steps.size), s_detect)
        if any_undone and noisy_c:
            _apply(bits[CC], noisy_conc, random(words, n, noisy_conc.size), c_detect)
        if fa_cols.size:
            alarms = random(words, n, fa_cols.size)
        _observe(
            bits, any_p and gain_dense, any_p and once_live, any_u and loss_dense, any_u, few,
            gain, loss, flows, disc, value, perform_f, amounts, undo_x, own_s, own_k, alarms, fa_cols,
            fa_rate, giver, s_conc,
        )  # fmt: skip
        for p in range(P):
            disc[p] = disc[p] * delta[p]
        quiet_now = can_skip and t >= quiet_from and t + 1 < horizon and stationary[t + 1]
        if quiet_now and not any_p and not any_u and _quiet(t, bits, undo_eff):
            _unpack(bits[UNDONE], undone)
            return t
    _unpack(bits[UNDONE], undone)
    return -1


@njit(cache=True)
def _decide(
    t: int,
    sched: int,
    at_t: int,
    overdue: int,
    bits: IntArray,
    code: IntArray,
    forgive: BoolArray,
    kk: IntArray,
    order: IntArray,
    n_order: IntArray,
    waitmask: IntArray,
    tau: IntArray,
    reverse: BoolArray,
    rho: IntArray,
    own_s: IntArray,
    own_k: IntArray,
    all_s: int,
    rev_s: int,
    rev_k: int,
    frag_k: int,
    noisy_s: int,
    noisy_k: int,
    s_giver: IntArray,
    giver: IntArray,
    s_lag: IntArray,
    undo_lag: IntArray,
    delay: IntArray,
    x: FloatArray,
    perf_time: IntArray,
    perform_f: FloatArray,
    dense_steps: bool,
    undo_time: IntArray,
    undo_eff: IntArray,
    first_t: IntArray,
    first_p: IntArray,
) -> tuple[bool, bool, bool, bool, bool, bool]:
    """Pass 1 of period t, per episode: the strategies' decisions and everything that depends
    only on them (the observation candidates among it, since no random number is drawn before
    them). Returns whether anything was performed, undone, is undone, and whether a noisy
    column is among the candidates to be seen performed, late or undone."""
    n, S = perf_time.shape
    K = x.shape[1]
    P = code.size
    any_p = False
    any_u = False
    any_undone = False
    noisy_a = False
    noisy_b = False
    noisy_c = False
    for e in range(n):
        und_e = bits[UNDONE, e]
        m = und_e & bits[XNZ, e]
        while m:
            k = trailing_zeros(m)
            m &= m - 1
            if undo_eff[e, k] <= t:
                x[e, k] = 0.0
                bits[XNZ, e] &= ~(1 << k)
        xnz = bits[XNZ, e]
        seen = bits[SEEN, e]
        due = sched & ~bits[PERF, e]
        perf = 0
        und = 0
        for i in range(P):
            me = 1 << i
            ever = (bits[BEVER, e] & ~me) != 0
            now = (bits[BNOW, e] & ~me) != 0
            c = code[i]
            go = True
            only_rev = False
            punish = False
            all_rev = False
            if c == RECIPROCAL:
                angry = now if forgive[i] else ever
                go = not angry
                punish = angry
            elif c == GRIM:
                go = not ever
                punish = ever
                all_rev = True
            elif c == VERIFY_FIRST:
                punish = ever
            elif c == DENUC_FIRST:
                go = ((all_s & ~own_s[i]) & ~seen) == 0 and not ever
                punish = ever
            elif c == GRIT:
                if t < kk[i]:
                    only_rev = True
                else:
                    go = not ever
                    punish = ever
            elif c == HEDGER:
                only_rev = True
                go = not ever
                punish = ever
            elif c == OPPORTUNIST:
                if tau[i] < 0 or t < tau[i]:
                    go = not ever
                    punish = ever
                else:
                    go = False
                    punish = (t == tau[i] and reverse[i]) or t == rho[i]
            if go:
                mine = due & own_s[i]
                if only_rev:
                    mine &= rev_s
                if mine and c == VERIFY_FIRST:
                    lead = n_order[i]
                    for j in range(n_order[i]):
                        if not (seen >> order[i, j]) & 1:
                            lead = j
                            break
                    mine &= ~waitmask[i, lead]
                perf |= mine
            if punish:
                und |= own_k[i] & (rev_k if all_rev else frag_k) & ~und_e & xnz
        und &= rev_k  # what the engine lets be undone (fragile concessions need not be reversible)
        bits[PM, e] = perf
        bits[UM, e] = und
        if perf:
            any_p = True
            bits[PERF, e] |= perf
            m = perf
            while m:
                s = trailing_zeros(m)
                m &= m - 1
                perf_time[e, s] = t
                if dense_steps:
                    perform_f[e, s] = 1.0
        if und:
            any_u = True
            bits[UNDONE, e] |= und
            m = und
            while m:
                k = trailing_zeros(m)
                m &= m - 1
                undo_time[e, k] = t
                undo_eff[e, k] = t + delay[k]
        late = at_t & ~bits[PERF, e]
        bits[LATE, e] |= late
        if first_t[e] < 0 and (late or und):
            who = P
            for s in range(S):
                if (late >> s) & 1 and s_giver[s] < who:
                    who = s_giver[s]
            for k in range(K):
                if (und >> k) & 1 and giver[k] < who:
                    who = giver[k]
            first_t[e] = t
            first_p[e] = who
        c = bits[PERF, e] & ~seen
        if c:
            m = c
            while m:
                s = trailing_zeros(m)
                m &= m - 1
                if perf_time[e, s] + s_lag[s] > t:
                    c &= ~(1 << s)
            noisy_a = noisy_a or (c & noisy_s) != 0
        bits[CA, e] = c
        c = overdue & ~bits[SKIP, e] & bits[LATE, e]
        noisy_b = noisy_b or (c & noisy_s) != 0
        bits[CB, e] = c
        undone_e = bits[UNDONE, e]
        c = undone_e & ~bits[USEEN, e]
        if undone_e:
            any_undone = True
            if c:
                m = c
                while m:
                    k = trailing_zeros(m)
                    m &= m - 1
                    if undo_time[e, k] + undo_lag[k] > t:
                        c &= ~(1 << k)
                noisy_c = noisy_c or (c & noisy_k) != 0
        bits[CC, e] = c
    return any_p, any_u, any_undone, noisy_a, noisy_b, noisy_c


@njit(cache=True)
def _enforce(
    t: int, all_s: int, bits: IntArray, s_conc: IntArray, s_amount: FloatArray, few: bool,
    amounts: FloatArray, cost: FloatArray, delay: IntArray, x: FloatArray, undo_x: FloatArray,
    done_t: IntArray, once_live: bool, once: FloatArray, gain: FloatArray, conc_giver_1h: FloatArray,
    loss: FloatArray,
) -> tuple[bool, bool]:  # fmt: skip
    """Pass 2 of period t, where something was performed or undone: what the steps performed
    now add to each concession (when ``few``: no concession has more than two steps, so any
    order of summation gives the same sum; else ``amounts`` is already the BLAS product), what
    that puts in force, the completions, what the undoings cost their givers, and the rows of
    the one-time gains and of those costs (:func:`_row_products`). Returns whether the gains,
    and the costs, need the BLAS product instead (some row has more terms than is exact)."""
    n = x.shape[0]
    gain_dense = False
    loss_dense = False
    for e in range(n):
        pm = bits[PM, e]
        um = bits[UM, e]
        if pm:
            km = 0
            while pm:
                s = trailing_zeros(pm)
                pm &= pm - 1
                k = s_conc[s]
                km |= 1 << k
                if few:
                    amounts[e, k] += s_amount[s]
            # amounts are zero outside these concessions, where min(x + 0, 1) leaves x as it is
            while km:
                k = trailing_zeros(km)
                km &= km - 1
                x[e, k] = min(x[e, k] + amounts[e, k], 1.0)
                if x[e, k] > 0:
                    bits[XNZ, e] |= 1 << k
            if done_t[e] < 0 and bits[PERF, e] == all_s:
                done_t[e] = t
            if once_live and not gain_dense:
                gain_dense = not _row_products(e, amounts, once, gain, 1)
        if um:
            m = um
            while m:
                k = trailing_zeros(m)
                m &= m - 1
                undo_x[e, k] = 1.0 * x[e, k] * cost[k]
            if not loss_dense:
                loss_dense = not _row_products(e, undo_x, conc_giver_1h, loss, 2)
            # undone without a delay: out of force at once
            while um:
                k = trailing_zeros(um)
                um &= um - 1
                if delay[k] == 0:
                    x[e, k] = 0.0
                    bits[XNZ, e] &= ~(1 << k)
    return gain_dense, loss_dense


@njit(cache=True)
def _observe(
    bits: IntArray,
    gain_all: bool,
    gain_rows: bool,
    loss_all: bool,
    loss_rows: bool,
    few: bool,
    gain: FloatArray,
    loss: FloatArray,
    flows: FloatArray,
    disc: FloatArray,
    value: FloatArray,
    perform_f: FloatArray,
    amounts: FloatArray,
    undo_x: FloatArray,
    own_s: IntArray,
    own_k: IntArray,
    alarms: FloatArray,
    fa_cols: IntArray,
    fa_rate: FloatArray,
    giver: IntArray,
    s_conc: IntArray,
) -> None:
    """Pass 3, per episode: the period's values, what is observed, and the breaches reported.
    ``gain_all``: add ``gain`` in every episode (a BLAS product), ``gain_rows``: only where a
    step was performed (the rows :func:`_sparse_products` wrote); likewise for ``loss``."""
    n, P = value.shape
    for e in range(n):
        pm = bits[PM, e]
        um = bits[UM, e]
        for p in range(P):
            v = 0.0
            if gain_all or (gain_rows and pm):
                v += gain[e, p]
            if loss_all or (loss_rows and um):
                v -= loss[e, p]
            v += flows[e, p]
            value[e, p] += v * disc[p]
        if pm:
            m = pm
            while m:
                s = trailing_zeros(m)
                m &= m - 1
                if few:
                    amounts[e, s_conc[s]] = 0.0
                else:
                    perform_f[e, s] = 0.0
        while um:
            k = trailing_zeros(um)
            um &= um - 1
            undo_x[e, k] = 0.0
        seen = bits[SEEN, e] | bits[CA, e]
        bits[SEEN, e] = seen
        skip = bits[SKIP, e] | bits[CB, e]
        bits[SKIP, e] = skip
        useen = bits[USEEN, e] | bits[CC, e]
        bits[USEEN, e] = useen
        b = 0
        open_s = skip & ~seen
        if open_s or useen:
            for p in range(P):
                if (open_s & own_s[p]) or (useen & own_k[p]):
                    b |= 1 << p
        for j in range(fa_cols.size):
            if alarms[e, j] < fa_rate[fa_cols[j]]:
                b |= 1 << giver[fa_cols[j]]
        bits[BNOW, e] = b
        bits[BEVER, e] |= b


@njit(cache=True)
def _quiet(t: int, bits: IntArray, undo_eff: IntArray) -> bool:
    """Whether no observation is pending and no undoing is still to take effect after t."""
    n, K = undo_eff.shape
    for e in range(n):
        if (bits[PERF, e] & ~bits[SEEN, e]) or (bits[LATE, e] & ~bits[SKIP, e]) or (bits[UNDONE, e] & ~bits[USEEN, e]):
            return False
        und = bits[UNDONE, e]
        if und:
            for k in range(K):
                if (und >> k) & 1 and undo_eff[e, k] > t:
                    return False
    return True


@njit(cache=True)
def _row_products(e: int, a: FloatArray, b: FloatArray, out: FloatArray, most: int) -> bool:
    """``out[e] = a[e] @ b`` when each of its sums has at most ``most`` non-zero products,
    computed so that it equals the BLAS product bit for bit; False (``out[e]`` partly written)
    when some sum has more, and the caller must use ``np.dot``.

    One non-zero product is rounded once whatever the order or fused multiply-adds (the zero
    products add nothing); two are exact only when the products themselves are exact (``b``
    holds zeros and ones), since then the sum is a single rounded addition in any order."""
    K = a.shape[1]
    for p in range(b.shape[1]):
        live = 0
        acc = 0.0
        for k in range(K):
            if a[e, k] != 0.0 and b[k, p] != 0.0:
                live += 1
                acc += a[e, k] * b[k, p]
        if live > most:
            return False
        out[e, p] = acc
    return True


@njit(cache=True)
def _unpack(bits: IntArray, out: BoolArray) -> None:
    n, m = out.shape
    for e in range(n):
        for j in range(m):
            out[e, j] = (bits[e] >> j) & 1 == 1


@njit(cache=True)
def _apply(cand: IntArray, cols: IntArray, draws: FloatArray, detect: FloatArray) -> None:
    """Missed detections: candidate ``cols[j]`` of episode e stays only when ``draws[e, j] < detect``."""
    n = cand.shape[0]
    for e in range(n):
        c = cand[e]
        if c:
            for j in range(cols.size):
                col = cols[j]
                if (c >> col) & 1 and not draws[e, j] < detect[col]:
                    c &= ~(1 << col)
            cand[e] = c


def run_fused(
    setup: SimSetup, pl: Plan, n: int, horizon: int, rng: np.random.Generator, words: UIntArray
) -> tuple[dict[str, np.ndarray], int]:
    """Run the period loop compiled, drawing from ``rng`` through ``words`` (its state, from
    :func:`detente.simulation.pcg.attach`), and leave ``rng`` where NumPy would have; returns
    the state arrays and the period after which the rest is constant (-1: none)."""
    comp = setup.comp
    P, K, S = comp.n_parties, comp.n_concessions, setup.n_steps
    s_conc = setup.step_concession
    s_detect = np.ascontiguousarray(setup.detect[s_conc], dtype=np.float64)
    step_to_conc = np.zeros((S, K))
    step_to_conc[np.arange(S), s_conc] = setup.step_amount
    conc_giver_1h = np.zeros((K, P))
    conc_giver_1h[np.arange(K), comp.giver] = 1.0
    fa_rate = np.ascontiguousarray(setup.false_alarm, dtype=np.float64)
    v0 = setup.variants[0]
    st: dict[str, np.ndarray] = {
        "perf_time": np.full((n, S), NEVER, dtype=np.int64),
        "x": np.zeros((n, K)),
        "undone": np.zeros((n, K), bool),
        "undo_time": np.full((n, K), NEVER, dtype=np.int64),
        "undo_eff": np.full((n, K), NEVER, dtype=np.int64),
        "value": np.zeros((n, P)),
        "first_t": np.full(n, -1, dtype=np.int64),
        "first_p": np.full(n, -1, dtype=np.int64),
        "done_t": np.full(n, -1, dtype=np.int64),
        "disc": np.ones(P),
    }
    any_fa = bool((fa_rate > 0).any())
    quiet_from = int(setup.step_period.max(initial=-1))
    stop = _run(
        horizon,
        words,
        pl.code,
        pl.forgive,
        pl.k,
        pl.order,
        pl.n_order,
        pl.wait,
        pl.tau,
        pl.reverse,
        pl.rho,
        pl.stationary,
        np.ascontiguousarray(setup.step_period, dtype=np.int64),
        np.ascontiguousarray(setup.step_giver, dtype=np.int64),
        np.ascontiguousarray(comp.reversible[s_conc], dtype=np.bool_),
        np.ascontiguousarray(setup.lag[s_conc], dtype=np.int64),
        s_detect,
        np.flatnonzero(s_detect < 1).astype(np.int64),
        np.ascontiguousarray(setup.detect, dtype=np.float64),
        np.flatnonzero(setup.detect < 1).astype(np.int64),
        np.ascontiguousarray(comp.giver, dtype=np.int64),
        np.ascontiguousarray(comp.fragile, dtype=np.bool_),
        np.ascontiguousarray(comp.reversible, dtype=np.bool_),
        np.ascontiguousarray(comp.delay, dtype=np.int64),
        np.ascontiguousarray(comp.cost, dtype=np.float64),
        np.ascontiguousarray(comp.delay + comp.lag, dtype=np.int64),
        fa_rate,
        np.flatnonzero(fa_rate > 0).astype(np.int64),
        step_to_conc,
        np.ascontiguousarray(s_conc, dtype=np.int64),
        np.ascontiguousarray(setup.step_amount, dtype=np.float64),
        bool(np.bincount(s_conc, minlength=K).max(initial=0) <= 2),
        conc_giver_1h,
        np.ascontiguousarray(v0.once, dtype=np.float64),
        np.ascontiguousarray(v0.flow, dtype=np.float64),
        np.ascontiguousarray(comp.discount, dtype=np.float64),
        not any_fa,
        quiet_from,
        *st.values(),
    )
    detach(rng, words)
    return st, int(stop)
