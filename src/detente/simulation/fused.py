"""A whole batch in one compiled call, for the built-in strategies in the plain environment.

When every party plays a built-in strategy of :mod:`detente.simulation.strategies.library`
(except ``maximum-pressure``), and there is no hazard, no shock and no sanctions pressure, the
entire period loop of :func:`detente.simulation.engine.run_batch` runs inside one numba function:
the strategies' decisions are re-stated per episode (:func:`_decide`), the random numbers are
drawn from the same ``numpy.random.Generator`` (numba shares its state) in the shapes and the
order the reference draws them, and the matrix products are ``np.dot`` on the same operands (the
same BLAS routine, so the same sums). The results equal the reference engine's bit for bit (a
test checks it on fixtures and random scenarios, for every strategy).

:func:`plan` says whether a batch qualifies and packs the strategies into arrays; anything else
runs through :func:`detente.simulation.kernel.run_batch_compiled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .engine import NEVER
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


@njit(cache=True)
def _run(
    horizon: int,
    rng: np.random.Generator,
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
    caller adds that rest and the tail after the horizon."""
    n, S = perf_time.shape
    K = x.shape[1]
    P = value.shape[1]
    # per-episode sets
    PERF = np.zeros(n, np.int64)  # performed
    SEEN = np.zeros(n, np.int64)  # seen performed
    SKIP = np.zeros(n, np.int64)  # lateness seen
    LATE = np.zeros(n, np.int64)  # not performed in its period
    UNDONE = np.zeros(n, np.int64)
    USEEN = np.zeros(n, np.int64)
    BNOW = np.zeros(n, np.int64)  # parties reported breaching now
    BEVER = np.zeros(n, np.int64)
    PM = np.zeros(n, np.int64)  # performed this period
    UM = np.zeros(n, np.int64)  # undone this period
    CA = np.zeros(n, np.int64)  # candidates to be seen performed
    CB = np.zeros(n, np.int64)  # candidates to be seen late
    CC = np.zeros(n, np.int64)  # candidates to be seen undone
    gain = np.zeros((n, P))
    loss = np.zeros((n, P))
    amounts = np.zeros((n, K))
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
    perform_f = np.zeros((n, S))
    undo_x = np.zeros((n, K))
    alarms = np.zeros((n, 0))
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
        any_p = False
        any_u = False
        any_undone = False
        noisy_a = False  # a performed step at a noisy column is a candidate to be seen
        noisy_b = False  # a late step at a noisy column is a candidate to be seen late
        noisy_c = False  # an undoing of a noisy concession is a candidate to be seen
        # pass 1, per episode: decisions and everything that depends only on them (the
        # observation candidates among it, since no random number is drawn before them)
        for e in range(n):
            und_e = UNDONE[e]
            if und_e:
                for k in range(K):
                    if (und_e >> k) & 1 and undo_eff[e, k] <= t:
                        x[e, k] = 0.0
            due = sched & ~PERF[e]
            perf = 0
            und = 0
            for i in range(P):
                me = 1 << i
                ever = (BEVER[e] & ~me) != 0
                now = (BNOW[e] & ~me) != 0
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
                    go = ((all_s & ~own_s[i]) & ~SEEN[e]) == 0 and not ever
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
                            if not (SEEN[e] >> order[i, j]) & 1:
                                lead = j
                                break
                        for s in range(S):
                            if (mine >> s) & 1 and wait[i, s] > lead:
                                mine &= ~(1 << s)
                    perf |= mine
                if punish:
                    can = own_k[i] & (rev_k if all_rev else frag_k) & ~und_e
                    if can:
                        for k in range(K):
                            if (can >> k) & 1 and x[e, k] > 0:
                                und |= 1 << k
            und &= rev_k  # what the engine lets be undone (fragile concessions need not be reversible)
            PM[e] = perf
            UM[e] = und
            if perf:
                any_p = True
                PERF[e] |= perf
                for s in range(S):
                    if (perf >> s) & 1:
                        perf_time[e, s] = t
                        perform_f[e, s] = 1.0
            if und:
                any_u = True
                UNDONE[e] |= und
                for k in range(K):
                    if (und >> k) & 1:
                        undo_time[e, k] = t
                        undo_eff[e, k] = t + delay[k]
            late = at_t & ~PERF[e]
            LATE[e] |= late
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
            c = PERF[e] & ~SEEN[e]
            if c:
                for s in range(S):
                    if (c >> s) & 1 and perf_time[e, s] + s_lag[s] > t:
                        c &= ~(1 << s)
                noisy_a = noisy_a or (c & noisy_s) != 0
            CA[e] = c
            c = overdue & ~SKIP[e] & LATE[e]
            noisy_b = noisy_b or (c & noisy_s) != 0
            CB[e] = c
            c = UNDONE[e] & ~USEEN[e]
            if UNDONE[e]:
                any_undone = True
                if c:
                    for k in range(K):
                        if (c >> k) & 1 and undo_time[e, k] + undo_lag[k] > t:
                            c &= ~(1 << k)
                    noisy_c = noisy_c or (c & noisy_k) != 0
            CC[e] = c
        # pass 2, only where something was done: what is in force, and the undoings' costs
        if any_p:
            if few:
                # at most two steps per concession: any order of summation gives the same sum
                for e in range(n):
                    perf = PM[e]
                    if perf:
                        for s in range(S):
                            if (perf >> s) & 1:
                                amounts[e, s_conc[s]] += s_amount[s]
            else:
                amounts = np.dot(perform_f, step_to_conc)
        if any_p or any_u:
            for e in range(n):
                if PM[e]:
                    for k in range(K):
                        x[e, k] = min(x[e, k] + amounts[e, k], 1.0)
                    if done_t[e] < 0 and PERF[e] == all_s:
                        done_t[e] = t
                und = UM[e]
                if und:
                    for k in range(K):
                        if (und >> k) & 1:
                            undo_x[e, k] = 1.0 * x[e, k] * cost[k]
            if any_p:
                gain = np.dot(amounts, once)
            if any_u:
                loss = np.dot(undo_x, conc_giver_1h)
                for e in range(n):
                    und = UM[e]
                    if und:
                        for k in range(K):
                            if (und >> k) & 1 and delay[k] == 0:
                                x[e, k] = 0.0
        flows = np.dot(x, flow)
        # the draws of the end of t, in the reference's order
        if noisy_a:
            _apply(CA, noisy_steps, rng.random((n, noisy_steps.size)), s_detect)
        if overdue and noisy_b:
            _apply(CB, noisy_steps, rng.random((n, noisy_steps.size)), s_detect)
        if any_undone and noisy_c:
            _apply(CC, noisy_conc, rng.random((n, noisy_conc.size)), c_detect)
        if fa_cols.size:
            alarms = rng.random((n, fa_cols.size))
        # pass 3, per episode: values, observations, reported breaches
        for e in range(n):
            for p in range(P):
                v = 0.0
                if any_p:
                    v += gain[e, p]
                if any_u:
                    v -= loss[e, p]
                v += flows[e, p]
                value[e, p] += v * disc[p]
            if PM[e]:
                for s in range(S):
                    perform_f[e, s] = 0.0
                if few:
                    for k in range(K):
                        amounts[e, k] = 0.0
            if UM[e]:
                for k in range(K):
                    undo_x[e, k] = 0.0
            SEEN[e] |= CA[e]
            SKIP[e] |= CB[e]
            USEEN[e] |= CC[e]
            b = 0
            open_s = SKIP[e] & ~SEEN[e]
            if open_s or USEEN[e]:
                for p in range(P):
                    if (open_s & own_s[p]) or (USEEN[e] & own_k[p]):
                        b |= 1 << p
            for j in range(fa_cols.size):
                if alarms[e, j] < fa_rate[fa_cols[j]]:
                    b |= 1 << giver[fa_cols[j]]
            BNOW[e] = b
            BEVER[e] |= b
        for p in range(P):
            disc[p] = disc[p] * delta[p]
        if can_skip and t >= quiet_from and t + 1 < horizon and stationary[t + 1] and not any_p and not any_u:
            quiet = True
            for e in range(n):
                if (PERF[e] & ~SEEN[e]) or (LATE[e] & ~SKIP[e]) or (UNDONE[e] & ~USEEN[e]):
                    quiet = False
                    break
                if UNDONE[e]:
                    for k in range(K):
                        if (UNDONE[e] >> k) & 1 and undo_eff[e, k] > t:
                            quiet = False
                    if not quiet:
                        break
            if quiet:
                _unpack(UNDONE, undone)
                return t
    _unpack(UNDONE, undone)
    return -1


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
    setup: SimSetup, pl: Plan, n: int, horizon: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], int]:
    """Run the period loop compiled; returns the state arrays and the period after which the
    rest is constant (-1: none)."""
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
        rng,
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
    return st, int(stop)
