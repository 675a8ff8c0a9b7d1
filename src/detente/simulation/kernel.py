"""The engine's per-period bookkeeping compiled with numba: the same Monte Carlo as
:func:`detente.simulation.engine.run_batch`, with identical results for the same generator.

The period loop, the strategies' decisions, the random draws and the matrix products stay in
Python and NumPy, exactly as in the reference engine: every draw has the shape and comes in the
order the reference makes it, and every matrix product is the same NumPy call on the same
operands, so the floating-point sums are the same. What is compiled is the element-wise work
that the reference spreads over dozens of small array operations per period: which steps are
due, the masks on the strategies' decisions, the true first breach, the observations made at the
end of the period (missed detections applied to drawn numbers) and the breaches each party
reports, and the test for the fast-forward. Each kernel is a loop over episodes.

The kernels are compiled on first use and cached on disk (``cache=True``). The reference engine
remains the specification; a test checks the two paths agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..core.errors import UsageError
from .engine import NEVER, BatchOutput, _flows, _tick
from .fused import Plan, plan, run_fused
from .pcg import UIntArray, attach
from .setup import SimSetup
from .strategies.base import Strategy, View

__all__ = ["run_batch_compiled"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@njit(cache=True)
def _begin(
    t: int,
    undone: BoolArray,
    undo_eff: IntArray,
    x: FloatArray,
    crisis: BoolArray,
    reversible: BoolArray,
    s_period: IntArray,
    performed: BoolArray,
    due: BoolArray,
) -> None:
    """Undoings take effect, a crisis sweeps away what can be undone, and ``due`` is set."""
    n, K = x.shape
    S = s_period.size
    for e in range(n):
        c = crisis[e]
        for k in range(K):
            if (undone[e, k] and undo_eff[e, k] <= t) or (c and reversible[k]):
                x[e, k] = 0.0
        for s in range(S):
            due[e, s] = s_period[s] <= t and not performed[e, s] and not c


@njit(cache=True)
def _merge(
    perform: BoolArray,
    undo: BoolArray,
    p_i: BoolArray,
    u_i: BoolArray,
    due: BoolArray,
    own_steps: BoolArray,
    own_conc: BoolArray,
) -> None:
    """Add one party's decisions, masked to its own due steps and its own concessions."""
    n, S = perform.shape
    K = undo.shape[1]
    for e in range(n):
        for s in range(S):
            if p_i[e, s] and due[e, s] and own_steps[s]:
                perform[e, s] = True
        for k in range(K):
            if u_i[e, k] and own_conc[k]:
                undo[e, k] = True


@njit(cache=True)
def _allow(
    t: int,
    perform: BoolArray,
    undo: BoolArray,
    reversible: BoolArray,
    undone: BoolArray,
    x: FloatArray,
    crisis: BoolArray,
    performed: BoolArray,
    perf_time: IntArray,
) -> tuple[bool, bool]:
    """Mask undoings to what can be undone; record performed steps. Returns (any perform, any undo)."""
    n, S = perform.shape
    K = undo.shape[1]
    any_p = False
    any_u = False
    for e in range(n):
        for k in range(K):
            if undo[e, k]:
                if reversible[k] and not undone[e, k] and x[e, k] > 0 and not crisis[e]:
                    any_u = True
                else:
                    undo[e, k] = False
        for s in range(S):
            if perform[e, s]:
                any_p = True
                performed[e, s] = True
                perf_time[e, s] = t
    return any_p, any_u


@njit(cache=True)
def _complete(t: int, performed: BoolArray, done_t: IntArray) -> None:
    n, S = performed.shape
    for e in range(n):
        if done_t[e] < 0:
            full = True
            for s in range(S):
                if not performed[e, s]:
                    full = False
                    break
            if full:
                done_t[e] = t


@njit(cache=True)
def _first_breach(
    t: int,
    performed: BoolArray,
    crisis: BoolArray,
    s_period: IntArray,
    s_giver: IntArray,
    undo: BoolArray,
    giver: IntArray,
    any_undo: bool,
    first_t: IntArray,
    first_p: IntArray,
) -> None:
    """The true first breach: a step not performed when due, or an undoing; the lowest party
    index among those breaching in the same period."""
    n, S = performed.shape
    K = undo.shape[1]
    for e in range(n):
        if first_t[e] >= 0:
            continue
        who = -1
        if not crisis[e]:
            for s in range(S):
                if s_period[s] == t and not performed[e, s] and (who < 0 or s_giver[s] < who):
                    who = s_giver[s]
        if any_undo:
            for k in range(K):
                if undo[e, k] and (who < 0 or giver[k] < who):
                    who = giver[k]
        if who >= 0:
            first_t[e] = t
            first_p[e] = who


@njit(cache=True)
def _seen_candidates(
    t: int,
    performed: BoolArray,
    seen_perf: BoolArray,
    perf_time: IntArray,
    s_lag: IntArray,
    noisy: BoolArray,
    cand: BoolArray,
) -> bool:
    """Performed steps whose lag has passed and that are not yet seen. Returns whether any of
    them is a step with imperfect detection (then numbers are drawn for those columns)."""
    n, S = performed.shape
    any_noisy = False
    for e in range(n):
        for s in range(S):
            c = performed[e, s] and not seen_perf[e, s] and perf_time[e, s] + s_lag[s] <= t
            cand[e, s] = c
            if c and noisy[s]:
                any_noisy = True
    return any_noisy


@njit(cache=True)
def _skip_candidates(
    overdue: BoolArray,
    skip_seen: BoolArray,
    perf_time: IntArray,
    s_period: IntArray,
    noisy: BoolArray,
    cand: BoolArray,
) -> bool:
    """Overdue steps performed late (or not at all) whose lateness is not yet seen."""
    n, S = skip_seen.shape
    any_noisy = False
    for e in range(n):
        for s in range(S):
            c = overdue[s] and not skip_seen[e, s] and perf_time[e, s] > s_period[s]
            cand[e, s] = c
            if c and noisy[s]:
                any_noisy = True
    return any_noisy


@njit(cache=True)
def _undo_candidates(
    t: int,
    undone: BoolArray,
    undo_seen: BoolArray,
    undo_time: IntArray,
    undo_lag: IntArray,
    noisy: BoolArray,
    cand: BoolArray,
) -> bool:
    n, K = undone.shape
    any_noisy = False
    for e in range(n):
        for k in range(K):
            c = undone[e, k] and not undo_seen[e, k] and undo_time[e, k] + undo_lag[k] <= t
            cand[e, k] = c
            if c and noisy[k]:
                any_noisy = True
    return any_noisy


@njit(cache=True)
def _detect(cand: BoolArray, cols: IntArray, draws: FloatArray, detect: FloatArray, seen: BoolArray) -> None:
    """Apply missed detections to the candidates (``draws[:, j]`` for column ``cols[j]``, as the
    reference does) and add what is seen to ``seen``."""
    n, m = cand.shape
    for e in range(n):
        for j in range(cols.size):
            c = cols[j]
            if cand[e, c] and not draws[e, j] < detect[c]:
                cand[e, c] = False
        for s in range(m):
            if cand[e, s]:
                seen[e, s] = True


@njit(cache=True)
def _add(cand: BoolArray, seen: BoolArray) -> None:
    n, m = cand.shape
    for e in range(n):
        for s in range(m):
            if cand[e, s]:
                seen[e, s] = True


@njit(cache=True)
def _reports(
    skip_seen: BoolArray,
    seen_perf: BoolArray,
    undo_seen: BoolArray,
    s_giver: IntArray,
    giver: IntArray,
    fa_cols: IntArray,
    alarms: FloatArray,
    fa_rate: FloatArray,
    any_false_alarm: bool,
    breach_now: BoolArray,
    breach_ever: BoolArray,
) -> None:
    """The breaches each party is reported to commit at the end of the period: an overdue step
    seen and not yet seen repaired, an undoing seen, or a false alarm this period."""
    n, S = skip_seen.shape
    K = undo_seen.shape[1]
    P = breach_now.shape[1]
    for e in range(n):
        for p in range(P):
            breach_now[e, p] = False
        for s in range(S):
            if skip_seen[e, s] and not seen_perf[e, s]:
                breach_now[e, s_giver[s]] = True
        for k in range(K):
            if undo_seen[e, k]:
                breach_now[e, giver[k]] = True
        if any_false_alarm:
            for j in range(fa_cols.size):
                c = fa_cols[j]
                if alarms[e, j] < fa_rate[c]:
                    breach_now[e, giver[c]] = True
        for p in range(P):
            if breach_now[e, p]:
                breach_ever[e, p] = True


@njit(cache=True)
def _quiet(
    t: int,
    undone: BoolArray,
    undo_eff: IntArray,
    undo_seen: BoolArray,
    performed: BoolArray,
    seen_perf: BoolArray,
    perf_time: IntArray,
    s_period: IntArray,
    skip_seen: BoolArray,
) -> bool:
    """Nothing is pending: no undoing to take effect or be seen, no step or lateness to be seen."""
    n, S = performed.shape
    K = undone.shape[1]
    for e in range(n):
        for k in range(K):
            if undone[e, k] and (undo_eff[e, k] > t or not undo_seen[e, k]):
                return False
        for s in range(S):
            if performed[e, s] and not seen_perf[e, s]:
                return False
            if perf_time[e, s] > s_period[s] and not skip_seen[e, s]:
                return False
    return True


def run_batch_compiled(
    setup: SimSetup,
    strategies: Sequence[Strategy],
    n: int,
    horizon: int,
    rng: np.random.Generator,
    on_period: Callable[[int], None] | None = None,
) -> BatchOutput:
    """:func:`detente.simulation.engine.run_batch` with the bookkeeping compiled; same results."""
    comp = setup.comp
    P, K, S = comp.n_parties, comp.n_concessions, setup.n_steps
    if len(strategies) != P:
        raise UsageError(f"expected one strategy per party ({P}), found {len(strategies)}")
    for i, strat in enumerate(strategies):
        strat.reset(setup, i, n, rng)
    pl = plan(setup, strategies, horizon) if on_period is None else None
    words = attach(rng) if pl is not None else None
    if pl is not None and words is not None:
        return _fused_batch(setup, pl, n, horizon, rng, words)

    s_period = np.ascontiguousarray(setup.step_period, dtype=np.int64)
    s_conc = setup.step_concession
    s_giver = np.ascontiguousarray(setup.step_giver, dtype=np.int64)
    giver = np.ascontiguousarray(comp.giver, dtype=np.int64)
    s_lag = np.ascontiguousarray(setup.lag[s_conc], dtype=np.int64)
    s_detect = np.ascontiguousarray(setup.detect[s_conc], dtype=np.float64)
    c_detect = np.ascontiguousarray(setup.detect, dtype=np.float64)
    own_steps = [np.ascontiguousarray(s_giver == i) for i in range(P)]
    own_conc = [np.ascontiguousarray(giver == i) for i in range(P)]
    step_to_conc = np.zeros((S, K))
    step_to_conc[np.arange(S), s_conc] = setup.step_amount
    conc_giver_1h = np.zeros((K, P))
    conc_giver_1h[np.arange(K), comp.giver] = 1.0
    scheduled_total = step_to_conc.sum(axis=0)
    package_total = scheduled_total @ conc_giver_1h
    fragile = comp.fragile
    reversible = np.ascontiguousarray(comp.reversible, dtype=np.bool_)
    delta = comp.discount
    variants = setup.variants
    v0 = variants[0]
    multi = len(variants) > 1
    fa_rate = np.ascontiguousarray(setup.false_alarm, dtype=np.float64)
    any_false_alarm = bool((fa_rate > 0).any())
    fa_cols = np.flatnonzero(fa_rate > 0).astype(np.int64)
    noisy_steps = np.flatnonzero(s_detect < 1).astype(np.int64)
    noisy_conc = np.flatnonzero(setup.detect < 1).astype(np.int64)
    step_noisy = np.ascontiguousarray(s_detect < 1)
    conc_noisy = np.ascontiguousarray(setup.detect < 1)
    steps_at = {int(t0) for t0 in s_period}
    hazard_on = any(bool((v.hazard_base > 0).any() or (v.hazard_growth > 0).any()) for v in variants)
    if hazard_on:
        clock_step = [v.benefit_step[s_conc].astype(np.float64) for v in variants]
        clock_flow = [v.benefit_flow for v in variants]
        clock_enough = [v.hazard_enough for v in variants]
        enough_on = any(bool(np.isfinite(e).any()) for e in clock_enough)
    growth = sum(s.pressure_growth for i, s in enumerate(strategies) if i != setup.target)
    pressure_on = setup.target >= 0 and growth > 0

    performed = np.zeros((n, S), bool)
    perf_time = np.full((n, S), NEVER, dtype=np.int64)
    seen_perf = np.zeros((n, S), bool)
    skip_seen = np.zeros((n, S), bool)
    x = np.zeros((n, K))
    undone = np.zeros((n, K), bool)
    undo_time = np.full((n, K), NEVER, dtype=np.int64)
    undo_eff = np.full((n, K), NEVER, dtype=np.int64)
    undo_seen = np.zeros((n, K), bool)
    breach_now = np.zeros((n, P), bool)
    breach_ever = np.zeros((n, P), bool)
    crisis = np.zeros(n, bool)
    crisis_t = np.full(n, -1, dtype=np.int64)
    clock = np.zeros((n, P))
    value = np.zeros((n, P))
    first_t = np.full(n, -1, dtype=np.int64)
    first_p = np.full(n, -1, dtype=np.int64)
    done_t = np.full(n, -1, dtype=np.int64)
    state = np.zeros(n, dtype=np.int64)
    disc = np.ones(P)
    undo_lag = np.ascontiguousarray(comp.delay + comp.lag, dtype=np.int64)
    random_free = (
        not hazard_on
        and not any_false_alarm
        and not any(at is None and prob > 0 for at, prob in zip(setup.shock_at, setup.shock_probability, strict=True))
    )
    quiet_from = max([int(s_period.max(initial=-1))] + [a for a in setup.shock_at if a is not None])
    can_skip = random_free and not pressure_on
    due = np.zeros((n, S), bool)
    cand_s = np.zeros((n, S), bool)
    cand_k = np.zeros((n, K), bool)
    no_alarms = np.zeros((n, 0))

    for t in range(horizon):
        for b, (at, prob) in enumerate(zip(setup.shock_at, setup.shock_probability, strict=True)):
            if at is not None and t == at:
                state |= 1 << b
            elif at is None and prob > 0:
                state |= (rng.random(n) < prob).astype(np.int64) << b
        _begin(t, undone, undo_eff, x, crisis, reversible, s_period, performed, due)

        perform = np.zeros((n, S), bool)
        undo = np.zeros((n, K), bool)
        for i, strat in enumerate(strategies):
            view = View(
                t=t,
                party=i,
                n_episodes=n,
                step_period=s_period,
                step_concession=s_conc,
                step_giver=s_giver,
                step_amount=setup.step_amount,
                own_steps=own_steps[i],
                own_concessions=own_conc[i],
                reversible=reversible,
                fragile=fragile,
                due=due,
                in_force=x,
                undone=undone,
                seen_performed=seen_perf,
                breach_now=breach_now,
                breach_ever=breach_ever,
                crisis=crisis,
            )
            p_i, u_i = strat.decide(view)
            _merge(
                perform,
                undo,
                np.ascontiguousarray(np.broadcast_to(p_i, (n, S)), dtype=np.bool_),
                np.ascontiguousarray(np.broadcast_to(u_i, (n, K)), dtype=np.bool_),
                due,
                own_steps[i],
                own_conc[i],
            )
        any_perform, any_undo = _allow(t, perform, undo, reversible, undone, x, crisis, performed, perf_time)

        u = np.zeros((n, P))
        if any_perform:
            amounts = perform @ step_to_conc
            np.minimum(x + amounts, 1.0, out=x)
            if multi:
                for vi, var in enumerate(variants):
                    sel = state == vi
                    if sel.any():
                        u[sel] += amounts[sel] @ var.once
            else:
                u += amounts @ v0.once
            _complete(t, performed, done_t)
        if any_undo:
            undone |= undo
            undo_time[undo] = t
            eff = t + comp.delay
            np.copyto(undo_eff, np.broadcast_to(eff, undo_eff.shape), where=undo)
            u -= (undo * x * comp.cost[None, :]) @ conc_giver_1h
            now = undo & (comp.delay == 0)[None, :]
            if now.any():
                x[now] = 0.0

        if t in steps_at or any_undo:
            _first_breach(t, performed, crisis, s_period, s_giver, undo, giver, any_undo, first_t, first_p)

        u += _flows(x, crisis, state, variants)
        if pressure_on:
            pv = v0 if not multi else None
            pressure = (
                pv.pressure if pv is not None else np.array([variants[s].pressure for s in range(len(variants))])[state]
            )
            leakage = (
                pv.leakage if pv is not None else np.array([variants[s].leakage for s in range(len(variants))])[state]
            )
            u[:, setup.target] -= pressure * ((1.0 + growth) ** t - 1.0) * (1.0 - leakage)
        value += u * disc
        disc = disc * delta

        if hazard_on:
            clock = _tick(clock, perform, x, state, clock_step, clock_flow, clock_enough, enough_on)
            if multi:
                base = np.stack([v.hazard_base for v in variants])[state]
                grow = np.stack([v.hazard_growth for v in variants])[state]
            else:
                base, grow = v0.hazard_base[None, :], v0.hazard_growth[None, :]
            h = np.clip(base + grow * clock, 0.0, 1.0)
            walk = (rng.random((n, P)) < h).any(axis=1) & ~crisis
            if walk.any():
                crisis |= walk
                crisis_t[walk] = t + 1

        # observations at the end of t, drawn exactly as the reference draws them
        if _seen_candidates(t, performed, seen_perf, perf_time, s_lag, step_noisy, cand_s):
            _detect(cand_s, noisy_steps, rng.random((n, noisy_steps.size)), s_detect, seen_perf)
        else:
            _add(cand_s, seen_perf)
        overdue = np.ascontiguousarray((s_period + s_lag) <= t)
        if overdue.any():
            if _skip_candidates(overdue, skip_seen, perf_time, s_period, step_noisy, cand_s):
                _detect(cand_s, noisy_steps, rng.random((n, noisy_steps.size)), s_detect, skip_seen)
            else:
                _add(cand_s, skip_seen)
        if undone.any():
            if _undo_candidates(t, undone, undo_seen, undo_time, undo_lag, conc_noisy, cand_k):
                _detect(cand_k, noisy_conc, rng.random((n, noisy_conc.size)), c_detect, undo_seen)
            else:
                _add(cand_k, undo_seen)
        breach_now = np.empty((n, P), bool)
        alarms = rng.random((n, fa_cols.size)) if any_false_alarm else no_alarms
        _reports(
            skip_seen,
            seen_perf,
            undo_seen,
            s_giver,
            giver,
            fa_cols,
            alarms,
            fa_rate,
            any_false_alarm,
            breach_now,
            breach_ever,
        )
        if on_period is not None:
            on_period(t)
        if (
            can_skip
            and t >= quiet_from
            and t + 1 < horizon
            and all(s.stationary_from(t + 1) for s in strategies)
            and not any_perform
            and not any_undo
            and _quiet(t, undone, undo_eff, undo_seen, performed, seen_perf, perf_time, s_period, skip_seen)
        ):
            rest = horizon - t - 1
            u_const = _flows(x, crisis, state, variants)
            value += u_const * disc * (1.0 - delta**rest) / (1.0 - delta)
            disc = disc * delta**rest
            break

    pending = undone & (undo_eff >= horizon)
    tail = np.zeros((n, P))
    for i in range(P):
        d = delta[i]
        keep = np.ones((n, K))
        if pending.any():
            keep[pending] = 1.0 - d ** (undo_eff[pending] - horizon)
        if multi:
            flow_i = np.stack([v.flow[:, i] for v in variants])[state]
            crisis_i = np.array([v.crisis[i] for v in variants])[state]
        else:
            flow_i = v0.flow[None, :, i]
            crisis_i = np.full(n, v0.crisis[i])
        tail[:, i] = ((x * keep * flow_i).sum(axis=1) + np.where(crisis, crisis_i, 0.0)) / (1.0 - d)
    value += tail * disc
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (x @ conc_giver_1h) / np.where(package_total > 0, package_total, np.nan)
    return BatchOutput(
        value=value,
        package_in_force=share,
        crisis=crisis,
        crisis_period=crisis_t,
        first_breach_period=first_t,
        first_breach_party=first_p,
        completion_period=done_t,
    )


def _fused_batch(
    setup: SimSetup, pl: Plan, n: int, horizon: int, rng: np.random.Generator, words: UIntArray
) -> BatchOutput:
    """One batch through :func:`detente.simulation.fused.run_fused`, finished as the reference
    finishes it (the constant rest after a fast-forward, the tail after the horizon)."""
    comp = setup.comp
    P, K = comp.n_parties, comp.n_concessions
    variants = setup.variants
    v0 = variants[0]
    delta = comp.discount
    st, stop = run_fused(setup, pl, n, horizon, rng, words)
    x, value, disc = st["x"], st["value"], st["disc"]
    undone, undo_eff = st["undone"], st["undo_eff"]
    crisis = np.zeros(n, bool)
    state = np.zeros(n, dtype=np.int64)
    if stop >= 0:
        rest = horizon - stop - 1
        u_const = _flows(x, crisis, state, variants)
        value += u_const * disc * (1.0 - delta**rest) / (1.0 - delta)
        disc = disc * delta**rest
    conc_giver_1h = np.zeros((K, P))
    conc_giver_1h[np.arange(K), comp.giver] = 1.0
    step_to_conc = np.zeros((setup.n_steps, K))
    step_to_conc[np.arange(setup.n_steps), setup.step_concession] = setup.step_amount
    package_total = step_to_conc.sum(axis=0) @ conc_giver_1h
    pending = undone & (undo_eff >= horizon)
    tail = np.zeros((n, P))
    for i in range(P):
        d = delta[i]
        keep = np.ones((n, K))
        if pending.any():
            keep[pending] = 1.0 - d ** (undo_eff[pending] - horizon)
        flow_i = v0.flow[None, :, i]
        crisis_i = np.full(n, v0.crisis[i])
        tail[:, i] = ((x * keep * flow_i).sum(axis=1) + np.where(crisis, crisis_i, 0.0)) / (1.0 - d)
    value += tail * disc
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (x @ conc_giver_1h) / np.where(package_total > 0, package_total, np.nan)
    return BatchOutput(
        value=value,
        package_in_force=share,
        crisis=crisis,
        crisis_period=np.full(n, -1, dtype=np.int64),
        first_breach_period=st["first_t"],
        first_breach_party=st["first_p"],
        completion_period=st["done_t"],
    )
