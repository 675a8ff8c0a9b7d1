"""The Monte Carlo engine (docs/model.md §5), vectorised over episodes.

State lives in arrays shaped [episodes, ...]; the only Python loop is over periods. Each
period: shocks arrive; undoings decided earlier take effect; every party's strategy decides,
from what it has observed, which due steps to perform and which concessions to undo; flows,
one-time values and reversal costs accrue with discounting; each party's domestic clock is
updated (:func:`_tick`) and it may walk away into crisis (the hazard); and observations are
drawn for the end of the period. :func:`run_no_deal_batch` plays the same environment with
nobody performing any step: the baseline of values against no deal.

Timing follows docs/model.md §3 exactly, so that with perfect verification (lag only,
``detect = 1``, no false alarms) and no hazard the simulated values equal the check's: an event
in period t with lag ℓ is seen at the end of t + ℓ (with probability ``detect`` in each period
from then on), and strategies act on it from t + ℓ + 1. An undoing decided at τ with delay δ
stops the flow from τ + δ and is seen at the end of τ + δ + ℓ. After the horizon the state at the
horizon is assumed to persist (pending undoings included), and its value is added in closed form.

Episodes are simulated in batches of a fixed size; batch i draws from the i-th child of
``SeedSequence(seed)``, so results depend on the seed and the batch size only, never on the
number of workers or the order batches run in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from .setup import SimSetup, Variant
from .strategies.base import Strategy, View

__all__ = ["BATCH", "NEVER", "BatchOutput", "run_batch", "run_no_deal_batch"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NEVER = 1 << 40
#: Episodes per batch (the unit of work that gets its own random stream).
BATCH = 4096


@dataclass(frozen=True, eq=False)
class BatchOutput:
    """Per-episode outcomes of one batch."""

    value: FloatArray  # [E, P] discounted value from period 0
    package_in_force: FloatArray  # [E, P] share of each party's scheduled package in force at the end
    crisis: BoolArray  # [E]
    crisis_period: IntArray  # [E] -1 when no crisis
    first_breach_period: IntArray  # [E] -1 when nobody breached
    first_breach_party: IntArray  # [E] -1 when nobody breached
    completion_period: IntArray  # [E] -1 when the schedule was not completed


def run_batch(
    setup: SimSetup,
    strategies: Sequence[Strategy],
    n: int,
    horizon: int,
    rng: np.random.Generator,
    on_period: Callable[[int], None] | None = None,
) -> BatchOutput:
    """Simulate ``n`` episodes of ``horizon`` periods with one strategy per party."""
    comp = setup.comp
    P, K, S = comp.n_parties, comp.n_concessions, setup.n_steps
    if len(strategies) != P:
        raise UsageError(f"expected one strategy per party ({P}), found {len(strategies)}")
    for i, strat in enumerate(strategies):
        strat.reset(setup, i, n, rng)

    s_period = setup.step_period
    s_conc = setup.step_concession
    s_giver = setup.step_giver
    s_lag = setup.lag[s_conc]
    s_detect = setup.detect[s_conc]
    own_steps = [s_giver == i for i in range(P)]
    own_conc = [comp.giver == i for i in range(P)]
    step_to_conc = np.zeros((S, K))
    step_to_conc[np.arange(S), s_conc] = setup.step_amount
    step_giver_1h = np.zeros((S, P))
    step_giver_1h[np.arange(S), s_giver] = 1.0
    conc_giver_1h = np.zeros((K, P))
    conc_giver_1h[np.arange(K), comp.giver] = 1.0
    scheduled_total = step_to_conc.sum(axis=0)  # [K]
    package_total = scheduled_total @ conc_giver_1h  # [P]
    fragile = comp.fragile
    reversible = comp.reversible
    delta = comp.discount
    variants = setup.variants
    v0 = variants[0]
    multi = len(variants) > 1
    fa_rate = setup.false_alarm
    any_false_alarm = bool((fa_rate > 0).any())
    fa_cols = np.flatnonzero(fa_rate > 0)
    fa_giver = [np.flatnonzero(comp.giver[fa_cols] == i) for i in range(P)]
    noisy_steps = np.flatnonzero(s_detect < 1)
    noisy_conc = np.flatnonzero(setup.detect < 1)
    step_cols = [np.flatnonzero(s_giver == i) for i in range(P)]
    conc_cols = [np.flatnonzero(comp.giver == i) for i in range(P)]
    steps_at = {int(t0) for t0 in s_period}
    hazard_on = any(bool((v.hazard_base > 0).any() or (v.hazard_growth > 0).any()) for v in variants)
    if hazard_on:
        # the domestic clock (docs/model.md §5): which steps are new benefits to whom, and
        # the benefit level in force that counts as enough, per variant
        clock_step = [v.benefit_step[s_conc].astype(np.float64) for v in variants]  # [S, P]
        clock_flow = [v.benefit_flow for v in variants]  # [K, P]
        clock_enough = [v.hazard_enough for v in variants]  # [P]
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
    undo_lag = comp.delay + comp.lag
    # fast-forward: once nothing can change any more, the remaining periods are a geometric sum
    random_free = (
        not hazard_on
        and not any_false_alarm
        and not any(at is None and prob > 0 for at, prob in zip(setup.shock_at, setup.shock_probability, strict=True))
    )
    quiet_from = max([int(s_period.max(initial=-1))] + [a for a in setup.shock_at if a is not None])
    can_skip = random_free and not pressure_on

    for t in range(horizon):
        # shocks
        for b, (at, prob) in enumerate(zip(setup.shock_at, setup.shock_probability, strict=True)):
            if at is not None and t == at:
                state |= 1 << b
            elif at is None and prob > 0:
                state |= (rng.random(n) < prob).astype(np.int64) << b
        # undoings take effect; a crisis sweeps away what can be undone
        expired = undone & (undo_eff <= t)
        if expired.any():
            x[expired] = 0.0
        if crisis.any():
            x[crisis[:, None] & reversible[None, :]] = 0.0

        due = (s_period[None, :] <= t) & ~performed & ~crisis[:, None]
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
            perform |= p_i & due & own_steps[i][None, :]
            undo |= u_i & own_conc[i][None, :]
        undo &= reversible[None, :] & ~undone & (x > 0) & ~crisis[:, None]

        u = np.zeros((n, P))
        if perform.any():
            performed |= perform
            np.putmask(perf_time, perform, t)
            amounts = perform @ step_to_conc  # [E, K]
            np.minimum(x + amounts, 1.0, out=x)
            if multi:
                for vi, var in enumerate(variants):
                    sel = state == vi
                    if sel.any():
                        u[sel] += amounts[sel] @ var.once
            else:
                u += amounts @ v0.once
            complete = performed.all(axis=1) & (done_t < 0)
            done_t[complete] = t
        if undo.any():
            undone |= undo
            undo_time[undo] = t
            eff = t + comp.delay
            np.copyto(undo_eff, np.broadcast_to(eff, undo_eff.shape), where=undo)
            u -= (undo * x * comp.cost[None, :]) @ conc_giver_1h
            now = undo & (comp.delay == 0)[None, :]
            if now.any():
                x[now] = 0.0

        # the true first breach: a step not performed when due, or an undoing
        breachers = np.zeros((n, P), bool)
        any_breach = False
        if t in steps_at:
            now_cols = np.flatnonzero(s_period == t)
            late = ~performed[:, now_cols] & ~crisis[:, None]
            if late.any():
                any_breach = True
                for i in range(P):
                    mine = s_giver[now_cols] == i
                    if mine.any():
                        breachers[:, i] |= late[:, mine].any(axis=1)
        if undo.any():
            any_breach = True
            for i in range(P):
                breachers[:, i] |= undo[:, conc_cols[i]].any(axis=1)
        if any_breach:
            new = breachers.any(axis=1) & (first_t < 0)
            if new.any():
                first_t[new] = t
                first_p[new] = breachers[new].argmax(axis=1)

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

        # hazard: walking away into crisis from the next period
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

        # observations at the end of t
        cand = performed & ~seen_perf & (perf_time + s_lag[None, :] <= t)
        if noisy_steps.size and cand[:, noisy_steps].any():
            cand[:, noisy_steps] &= rng.random((n, noisy_steps.size)) < s_detect[noisy_steps]
        seen_perf |= cand
        overdue = (s_period + s_lag) <= t
        if overdue.any():
            cand = ~skip_seen & overdue[None, :] & (perf_time > s_period[None, :])
            if noisy_steps.size and cand[:, noisy_steps].any():
                cand[:, noisy_steps] &= rng.random((n, noisy_steps.size)) < s_detect[noisy_steps]
            skip_seen |= cand
        if undone.any():
            cand = undone & ~undo_seen & (undo_time + undo_lag[None, :] <= t)
            if noisy_conc.size and cand[:, noisy_conc].any():
                cand[:, noisy_conc] &= rng.random((n, noisy_conc.size)) < setup.detect[noisy_conc]
            undo_seen |= cand
        unrepaired = skip_seen & ~seen_perf
        breach_now = np.empty((n, P), bool)
        for i in range(P):
            breach_now[:, i] = unrepaired[:, step_cols[i]].any(axis=1) | undo_seen[:, conc_cols[i]].any(axis=1)
        if any_false_alarm:
            alarms = rng.random((n, fa_cols.size)) < fa_rate[fa_cols]
            for i in range(P):
                if fa_giver[i].size:
                    breach_now[:, i] |= alarms[:, fa_giver[i]].any(axis=1)
        breach_ever |= breach_now
        if on_period is not None:
            on_period(t)
        if (
            can_skip
            and t >= quiet_from
            and t + 1 < horizon
            and all(s.stationary_from(t + 1) for s in strategies)
            and not perform.any()
            and not undo.any()
            and not (undone & (undo_eff > t)).any()
            and not (undone & ~undo_seen).any()
            and not (performed & ~seen_perf).any()
            and not ((perf_time > s_period[None, :]) & ~skip_seen).any()
        ):
            # nothing was done this period and nothing is pending: every later period repeats it
            rest = horizon - t - 1
            u_const = _flows(x, crisis, state, variants)
            value += u_const * disc * (1.0 - delta**rest) / (1.0 - delta)
            disc = disc * delta**rest
            break

    # the tail after the horizon: the state persists, pending undoings included
    pending = undone & (undo_eff >= horizon)
    tail = np.zeros((n, P))
    for i in range(P):
        d = delta[i]
        keep = np.ones((n, K))
        if pending.any():
            keep[pending] = 1.0 - d ** (undo_eff[pending] - horizon)
        if multi:
            flow_i = np.stack([v.flow[:, i] for v in variants])[state]  # [E, K]
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


def run_no_deal_batch(setup: SimSetup, n: int, horizon: int, rng: np.random.Generator) -> FloatArray:
    """Per-episode values [n, P] of no deal: nobody performs any step, under the same
    environment as :func:`run_batch` (sanctions as in the status quo, shocks, the hazard with the
    domestic clock running from period 0, crisis flows).

    Values are relative to the status quo, so without a hazard they are exactly 0. The random
    draws come in the order :func:`run_batch` makes them (shocks, then the hazard), so with the
    same generator and no verification noise the two share their random numbers: a run of the
    engine in which nobody performs gives these values exactly (a test).
    """
    comp = setup.comp
    P = comp.n_parties
    variants = setup.variants
    multi = len(variants) > 1
    value = np.zeros((n, P))
    if not any(bool((v.hazard_base > 0).any() or (v.hazard_growth > 0).any()) for v in variants):
        return value
    delta = comp.discount
    # nothing is in force, so the clock stops only where enough is not positive
    fed = [v.hazard_enough <= 1e-12 for v in variants]
    if not multi:
        # no shocks: the clock is the same in every episode, and a crisis that starts in c is
        # worth crisis * delta**c / (1 - delta) in closed form
        v0 = variants[0]
        start = np.full(n, -1, dtype=np.int64)
        level = np.zeros(P)
        for t in range(horizon):
            level = np.where(fed[0], 0.0, level + 1.0)
            h = np.clip(v0.hazard_base + v0.hazard_growth * level, 0.0, 1.0)
            walk = (rng.random((n, P)) < h[None, :]).any(axis=1) & (start < 0)
            start[walk] = t + 1
        hit = start >= 0
        value[hit] = v0.crisis[None, :] * delta[None, :] ** start[hit, None] / (1.0 - delta[None, :])
        return value
    state = np.zeros(n, dtype=np.int64)
    crisis = np.zeros(n, bool)
    clock = np.zeros((n, P))
    disc = np.ones(P)
    for t in range(horizon):
        for b, (at, prob) in enumerate(zip(setup.shock_at, setup.shock_probability, strict=True)):
            if at is not None and t == at:
                state |= 1 << b
            elif at is None and prob > 0:
                state |= (rng.random(n) < prob).astype(np.int64) << b
        if crisis.any():
            value[crisis] += np.stack([v.crisis for v in variants])[state[crisis]] * disc
        disc = disc * delta
        clock = np.where(np.stack(fed)[state], 0.0, clock + 1.0)
        base = np.stack([v.hazard_base for v in variants])[state]
        grow = np.stack([v.hazard_growth for v in variants])[state]
        h = np.clip(base + grow * clock, 0.0, 1.0)
        walk = (rng.random((n, P)) < h).any(axis=1) & ~crisis
        crisis |= walk
    # the tail after the horizon: a crisis persists
    crisis_flow = np.stack([v.crisis for v in variants])[state]
    value += np.where(crisis[:, None], crisis_flow, 0.0) / (1.0 - delta) * disc
    return value


def _tick(
    clock: FloatArray,
    perform: BoolArray,
    x: FloatArray,
    state: IntArray,
    step_benefit: Sequence[FloatArray],
    flow_benefit: Sequence[FloatArray],
    enough: Sequence[FloatArray],
    enough_on: bool,
) -> FloatArray:
    """The domestic clock after one period: reset to 0 for a party that received something from
    the process (another party performed a step that benefits it, or the benefit in force from
    the others' concessions is at least its ``enough``), one period more for everyone else.

    Only what the others give counts, so a party's own costs never start the clock and a small
    benefit left in place never stops it (unless it is enough); after a breakdown it runs on.
    """
    fed = np.zeros(clock.shape, bool)
    multi = len(step_benefit) > 1
    for vi in range(len(step_benefit)):
        sel = state == vi if multi else slice(None)
        if multi and not sel.any():  # type: ignore[union-attr]
            continue
        if perform.any():
            fed[sel] |= perform[sel] @ step_benefit[vi] > 0
        if enough_on:
            fed[sel] |= x[sel] @ flow_benefit[vi] >= enough[vi][None, :] - 1e-12
    return np.where(fed, 0.0, clock + 1.0)


def _flows(x: FloatArray, crisis: BoolArray, state: IntArray, variants: Sequence[Variant]) -> FloatArray:
    """Per-period flow of every party in every episode: concessions in force plus crisis flows."""
    if len(variants) == 1:
        u = x @ variants[0].flow
        if crisis.any():
            u[crisis] += variants[0].crisis
        return u
    u = np.zeros((x.shape[0], variants[0].flow.shape[1]))
    for vi, var in enumerate(variants):
        sel = state == vi
        if sel.any():
            u[sel] = x[sel] @ var.flow
            both = sel & crisis
            if both.any():
                u[both] += var.crisis
    return u


def spawn_generators(seed: int | None, n_batches: int) -> list[np.random.Generator]:
    """One independent Generator per batch, from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(n_batches)
    return [np.random.default_rng(c) for c in children]


def batches(episodes: int, size: int = BATCH) -> list[int]:
    """Sizes of the batches that make up ``episodes`` (all ``size`` but the last)."""
    full, rest = divmod(episodes, size)
    return [size] * full + ([rest] if rest else [])
