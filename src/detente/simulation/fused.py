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
    P, S = setup.comp.n_parties, setup.n_steps
    code = np.array([_CODES[type(s)] for s in strategies], dtype=np.int64)
    forgive = np.array([bool(s.params.get("forgiveness", False)) for s in strategies])
    k = np.array([int(s.params.get("k", 0)) for s in strategies], dtype=np.int64)
    order = np.zeros((P, max(S, 1)), dtype=np.int64)
    wait = np.zeros((P, max(S, 1)), dtype=np.int64)
    tau = np.full(P, -1, dtype=np.int64)
    reverse = np.zeros(P, bool)
    rho = np.full(P, -1, dtype=np.int64)
    for i, s in enumerate(strategies):
        if isinstance(s, VerifyFirst):
            others = s._others
            order[i, : others.size] = others
            wait[i, :S] = s._wait if others.size else 0
        elif isinstance(s, Opportunist) and s._plan is not None:
            t0, how, r = s._plan
            tau[i], reverse[i], rho[i] = int(t0), how == "halt_and_reverse", int(r)
    stationary = np.array([all(s.stationary_from(t) for s in strategies) for t in range(horizon + 1)])
    return Plan(code, forgive, k, order, wait, tau, reverse, rho, stationary)


def _shocks(setup: SimSetup) -> list[tuple[int | None, float]]:
    return list(zip(setup.shock_at, setup.shock_probability, strict=True))


@njit(cache=True, inline="always")  # type: ignore[misc]
def _decide(
    i: int,
    t: int,
    e: int,
    code: int,
    pl_forgive: bool,
    pl_k: int,
    order: IntArray,
    wait: IntArray,
    pl_tau: int,
    pl_reverse: bool,
    pl_rho: int,
    due: BoolArray,
    s_giver: IntArray,
    s_rev: BoolArray,
    giver: IntArray,
    fragile: BoolArray,
    reversible: BoolArray,
    x: FloatArray,
    undone: BoolArray,
    seen_perf: BoolArray,
    breach_now: BoolArray,
    breach_ever: BoolArray,
    perform: BoolArray,
    undo: BoolArray,
) -> None:
    """Party i's decisions in episode e, already masked as the engine masks them (own due
    steps, own concessions)."""
    S = due.shape[1]
    K = undone.shape[1]
    P = breach_now.shape[1]
    ever = False
    now = False
    for p in range(P):
        if p != i:
            ever = ever or breach_ever[e, p]
            now = now or breach_now[e, p]
    go = True  # perform own due steps
    only_rev = False  # only steps of reversible concessions
    punish = False  # undo own concessions (fragile ones, or reversible ones for grim)
    all_rev = False
    if code == RECIPROCAL:
        angry = now if pl_forgive else ever
        go = not angry
        punish = angry
    elif code == GRIM:
        go = not ever
        punish = ever
        all_rev = True
    elif code == VERIFY_FIRST:
        punish = ever
    elif code == DENUC_FIRST:
        all_seen = True
        for s in range(S):
            if s_giver[s] != i and not seen_perf[e, s]:
                all_seen = False
                break
        go = all_seen and not ever
        punish = ever
    elif code == GRIT:
        if t < pl_k:
            only_rev = True
        else:
            go = not ever
            punish = ever
    elif code == HEDGER:
        only_rev = True
        go = not ever
        punish = ever
    elif code == OPPORTUNIST:
        if pl_tau < 0 or t < pl_tau:
            go = not ever
            punish = ever
        else:
            go = False
            punish = (t == pl_tau and pl_reverse) or t == pl_rho
    if go:
        lead = S
        if code == VERIFY_FIRST:
            # how many of the others' steps, in order, have been seen done
            n_others = 0
            for s in range(S):
                if s_giver[s] != i:
                    n_others += 1
            lead = n_others
            for j in range(n_others):
                if not seen_perf[e, order[j]]:
                    lead = j
                    break
        for s in range(S):
            if s_giver[s] == i and due[e, s] and (not only_rev or s_rev[s]) and wait[s] <= lead:
                perform[e, s] = True
    if punish:
        for k in range(K):
            if giver[k] == i and (reversible[k] if all_rev else fragile[k]) and x[e, k] > 0 and not undone[e, k]:
                undo[e, k] = True


@njit(cache=True)  # type: ignore[misc]
def _run(
    horizon: int,
    rng: np.random.Generator,
    code: IntArray,
    forgive: BoolArray,
    kk: IntArray,
    order: IntArray,
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
    conc_giver_1h: FloatArray,
    once: FloatArray,
    flow: FloatArray,
    delta: FloatArray,
    can_skip: bool,
    quiet_from: int,
    performed: BoolArray,
    perf_time: IntArray,
    seen_perf: BoolArray,
    skip_seen: BoolArray,
    x: FloatArray,
    undone: BoolArray,
    undo_time: IntArray,
    undo_eff: IntArray,
    undo_seen: BoolArray,
    value: FloatArray,
    first_t: IntArray,
    first_p: IntArray,
    done_t: IntArray,
    disc: FloatArray,
) -> int:
    """The period loop; returns the period after which the rest was found constant (-1: none);
    the caller adds that rest and the tail after the horizon."""
    n, S = performed.shape
    K = x.shape[1]
    P = value.shape[1]
    due = np.zeros((n, S), np.bool_)
    perform = np.zeros((n, S), np.bool_)
    undo = np.zeros((n, K), np.bool_)
    cand_s = np.zeros((n, S), np.bool_)
    cand_k = np.zeros((n, K), np.bool_)
    breach_now = np.zeros((n, P), np.bool_)
    breach_ever = np.zeros((n, P), np.bool_)
    u = np.zeros((n, P))
    perform_f = np.zeros((n, S))
    undo_x = np.zeros((n, K))
    step_noisy = s_detect < 1.0
    conc_noisy = c_detect < 1.0
    any_fa = fa_cols.size > 0
    alarms = np.zeros((n, 0))
    has_step_at = np.zeros(horizon + 1, np.bool_)
    for s in range(S):
        if s_period[s] <= horizon:
            has_step_at[s_period[s]] = True
    for t in range(horizon):
        any_p = False
        any_u = False
        for e in range(n):
            for k in range(K):
                if undone[e, k] and undo_eff[e, k] <= t:
                    x[e, k] = 0.0
            for s in range(S):
                due[e, s] = s_period[s] <= t and not performed[e, s]
                perform[e, s] = False
            for k in range(K):
                undo[e, k] = False
            for i in range(P):
                _decide(
                    i, t, e, code[i], forgive[i], kk[i], order[i], wait[i], tau[i], reverse[i], rho[i],
                    due, s_giver, s_rev, giver, fragile, reversible, x, undone, seen_perf, breach_now,
                    breach_ever, perform, undo,
                )  # fmt: skip
            for k in range(K):
                if undo[e, k]:
                    if reversible[k] and not undone[e, k] and x[e, k] > 0:
                        any_u = True
                    else:
                        undo[e, k] = False
            for s in range(S):
                if perform[e, s]:
                    any_p = True
                    performed[e, s] = True
                    perf_time[e, s] = t
        u[:] = 0.0
        if any_p:
            for e in range(n):
                for s in range(S):
                    perform_f[e, s] = 1.0 if perform[e, s] else 0.0
            amounts = np.dot(perform_f, step_to_conc)
            for e in range(n):
                for k in range(K):
                    x[e, k] = min(x[e, k] + amounts[e, k], 1.0)
            u += np.dot(amounts, once)
            for e in range(n):
                if done_t[e] < 0:
                    full = True
                    for s in range(S):
                        if not performed[e, s]:
                            full = False
                            break
                    if full:
                        done_t[e] = t
        if any_u:
            for e in range(n):
                for k in range(K):
                    if undo[e, k]:
                        undone[e, k] = True
                        undo_time[e, k] = t
                        undo_eff[e, k] = t + delay[k]
                    undo_x[e, k] = (1.0 if undo[e, k] else 0.0) * x[e, k] * cost[k]
            u -= np.dot(undo_x, conc_giver_1h)
            for e in range(n):
                for k in range(K):
                    if undo[e, k] and delay[k] == 0:
                        x[e, k] = 0.0
        if has_step_at[t] or any_u:
            for e in range(n):
                if first_t[e] >= 0:
                    continue
                who = -1
                for s in range(S):
                    if s_period[s] == t and not performed[e, s] and (who < 0 or s_giver[s] < who):
                        who = s_giver[s]
                if any_u:
                    for k in range(K):
                        if undo[e, k] and (who < 0 or giver[k] < who):
                            who = giver[k]
                if who >= 0:
                    first_t[e] = t
                    first_p[e] = who
        u += np.dot(x, flow)
        for e in range(n):
            for p in range(P):
                value[e, p] += u[e, p] * disc[p]
        for p in range(P):
            disc[p] = disc[p] * delta[p]

        # observations at the end of t
        any_noisy = False
        for e in range(n):
            for s in range(S):
                c = performed[e, s] and not seen_perf[e, s] and perf_time[e, s] + s_lag[s] <= t
                cand_s[e, s] = c
                any_noisy = any_noisy or (c and step_noisy[s])
        if any_noisy:
            _apply(cand_s, noisy_steps, rng.random((n, noisy_steps.size)), s_detect)
        for e in range(n):
            for s in range(S):
                if cand_s[e, s]:
                    seen_perf[e, s] = True
        any_overdue = False
        for s in range(S):
            any_overdue = any_overdue or s_period[s] + s_lag[s] <= t
        if any_overdue:
            any_noisy = False
            for e in range(n):
                for s in range(S):
                    c = s_period[s] + s_lag[s] <= t and not skip_seen[e, s] and perf_time[e, s] > s_period[s]
                    cand_s[e, s] = c
                    any_noisy = any_noisy or (c and step_noisy[s])
            if any_noisy:
                _apply(cand_s, noisy_steps, rng.random((n, noisy_steps.size)), s_detect)
            for e in range(n):
                for s in range(S):
                    if cand_s[e, s]:
                        skip_seen[e, s] = True
        any_undone = False
        for e in range(n):
            for k in range(K):
                if undone[e, k]:
                    any_undone = True
                    break
            if any_undone:
                break
        if any_undone:
            any_noisy = False
            for e in range(n):
                for k in range(K):
                    c = undone[e, k] and not undo_seen[e, k] and undo_time[e, k] + undo_lag[k] <= t
                    cand_k[e, k] = c
                    any_noisy = any_noisy or (c and conc_noisy[k])
            if any_noisy:
                _apply(cand_k, noisy_conc, rng.random((n, noisy_conc.size)), c_detect)
            for e in range(n):
                for k in range(K):
                    if cand_k[e, k]:
                        undo_seen[e, k] = True
        if any_fa:
            alarms = rng.random((n, fa_cols.size))
        for e in range(n):
            for p in range(P):
                breach_now[e, p] = False
            for s in range(S):
                if skip_seen[e, s] and not seen_perf[e, s]:
                    breach_now[e, s_giver[s]] = True
            for k in range(K):
                if undo_seen[e, k]:
                    breach_now[e, giver[k]] = True
            if any_fa:
                for j in range(fa_cols.size):
                    if alarms[e, j] < fa_rate[fa_cols[j]]:
                        breach_now[e, giver[fa_cols[j]]] = True
            for p in range(P):
                if breach_now[e, p]:
                    breach_ever[e, p] = True
        if can_skip and t >= quiet_from and t + 1 < horizon and stationary[t + 1] and not any_p and not any_u:
            quiet = True
            for e in range(n):
                for k in range(K):
                    if undone[e, k] and (undo_eff[e, k] > t or not undo_seen[e, k]):
                        quiet = False
                for s in range(S):
                    if performed[e, s] and not seen_perf[e, s]:
                        quiet = False
                    if perf_time[e, s] > s_period[s] and not skip_seen[e, s]:
                        quiet = False
                if not quiet:
                    break
            if quiet:
                return t
    return -1


@njit(cache=True)  # type: ignore[misc]
def _apply(cand: BoolArray, cols: IntArray, draws: FloatArray, detect: FloatArray) -> None:
    """Missed detections: candidate (e, cols[j]) stays only when ``draws[e, j] < detect``."""
    n = cand.shape[0]
    for e in range(n):
        for j in range(cols.size):
            c = cols[j]
            if cand[e, c] and not draws[e, j] < detect[c]:
                cand[e, c] = False


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
        "performed": np.zeros((n, S), bool),
        "perf_time": np.full((n, S), NEVER, dtype=np.int64),
        "seen_perf": np.zeros((n, S), bool),
        "skip_seen": np.zeros((n, S), bool),
        "x": np.zeros((n, K)),
        "undone": np.zeros((n, K), bool),
        "undo_time": np.full((n, K), NEVER, dtype=np.int64),
        "undo_eff": np.full((n, K), NEVER, dtype=np.int64),
        "undo_seen": np.zeros((n, K), bool),
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
        conc_giver_1h,
        np.ascontiguousarray(v0.once, dtype=np.float64),
        np.ascontiguousarray(v0.flow, dtype=np.float64),
        np.ascontiguousarray(comp.discount, dtype=np.float64),
        not any_fa,
        quiet_from,
        *st.values(),
    )
    return st, int(stop)
