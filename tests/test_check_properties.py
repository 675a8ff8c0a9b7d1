"""Property tests of the self-enforcement check (docs/model.md §3).

Every property below was checked on more than 10,000 random cases before it was asserted
(``DETENTE_PROPERTY_SCALE=34`` multiplies every example count by 34 and repeats that run;
the cross-check passed 10,000 cases with ``DETENTE_PROPERTY_SCALE=4``) and, where it says
so, proved from the definitions. Intuitive properties that turned out to be false are
pinned down by explicit, hand-computed counterexamples at the end of the file instead of
being asserted.

The scenarios come from ``tests/strategies_check.py``; the reference is the plain-loop
implementation in ``tests/reference/enforcement_loops.py``, written from docs/model.md §3 alone.

Runs are deterministic (``derandomize=True``, no example database).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import detente
import reference.enforcement_loops as loops
from detente.analysis.enforcement import EnforcementReport
from detente.analysis.kernel import run_kernel
from detente.core.compiled import compile_scenario, compile_schedule
from detente.core.scenario import Scenario
from reference.enforcement_loops import _deviation_path, path_values, reference_check
from strategies_check import (
    one_side_first,
    package_by,
    package_data,
    scenario_data,
    schedule_data,
    shifted,
    with_schedule,
)

Data = dict[str, Any]

#: Multiplies every example count (``DETENTE_PROPERTY_SCALE=10`` for a long exhaustive run).
SCALE = float(os.environ.get("DETENTE_PROPERTY_SCALE", "1"))
THRESHOLD = 1e-9  # the verdict's tolerance (docs/model.md §3)


def examples(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def check(data: Data) -> EnforcementReport:
    return detente.check(Scenario.model_validate(data), explain=False)


def by_key(report: EnforcementReport) -> dict[tuple[str, int], Any]:
    return {(c.party, c.period): c for c in report.constraints}


def scale_of(*values: float) -> float:
    return max(1.0, *(abs(v) for v in values))


def close(a: float, b: float, scale: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * scale


def discount(data: Data, party: str) -> float:
    return float(next(p["discount"] for p in data["parties"] if p["id"] == party))


def in_force_and_implemented(data: Data, horizon: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """x_k(t) and the amount of k implemented in t, for t = 0..horizon, from the plain dict."""
    x: dict[str, list[float]] = {}
    a: dict[str, list[float]] = {}
    for c in data["concessions"]:
        steps = [s for s in data["schedule"] if s["concession"] == c["id"]]
        a[c["id"]] = [sum(s.get("amount", 1.0) for s in steps if s["period"] == t) for t in range(horizon + 1)]
        x[c["id"]] = [min(1.0, sum(a[c["id"]][: t + 1])) for t in range(horizon + 1)]
    return x, a


# --------------------------------------------------------------------------- 1. cross-check


def _reference_margin(ref: Data) -> float:
    slacks = [c["slack"] for c in ref["constraints"]]
    return min([*slacks, *ref["participation"].values()])


@contextmanager
def short_reference_tail(periods: int = 3) -> Iterator[None]:
    """Let the reference sum ``periods`` explicit periods after the last event, not 50.

    Every flow is constant after the last event (the last step, reversal decision or
    reversal effect), and the reference closes the sum with the exact geometric tail of
    that constant flow, so any padding >= 1 gives the same numbers; a shorter one makes
    the reference about four times faster, which buys thousands of cases. (Were an event
    missing from the reference's list, a short padding would make the two disagree: it
    can raise false alarms, never hide a difference.)
    """
    saved = loops.TAIL_PADDING
    loops.TAIL_PADDING = periods
    try:
        yield
    finally:
        loops.TAIL_PADDING = saved


def _cross_check(data: Data) -> None:
    ref = reference_check(data)
    report = check(data)
    assert [(c.party, c.period) for c in report.constraints] == [(c["party"], c["period"]) for c in ref["constraints"]]
    for mine, theirs in zip(report.constraints, ref["constraints"], strict=True):
        scale = scale_of(theirs["comply"], theirs["deviate"])
        for key in ("comply", "deviate", "slack"):
            assert close(getattr(mine, key), theirs[key], scale, 1e-7), (key, mine, theirs)
        if mine.plan != theirs["plan"]:
            party, tau = mine.party, mine.period
            halt = path_values(data, party, tau, "halt")
            rev = path_values(data, party, tau, "halt_and_reverse")
            assert halt is not None
            assert rev is not None
            assert close(halt[party], rev[party], scale), (mine, theirs)
            path = _deviation_path(data, party, tau, mine.plan)
            assert path is not None
            assert (mine.seen, mine.response_period) == (path["seen"], path["response_period"])
        else:
            assert mine.response_period == theirs["response_period"], (mine, theirs)
            assert mine.seen == theirs["seen"], (mine, theirs)
    for party, values in ref["comply"].items():
        assert np.allclose(report.comply[party], values, rtol=1e-7, atol=1e-7)
    for party, value in ref["participation"].items():
        assert close(report.participation[party], value, scale_of(value), 1e-7)
    if abs(_reference_margin(ref) + THRESHOLD) > 1e-7 * scale_of(_reference_margin(ref)):
        assert report.self_enforcing is ref["self_enforcing"]


@examples(2500)
@given(scenario_data())
def test_cross_check_against_reference(data: Data) -> None:
    """Every constraint, participation value and verdict equals the loop-based reference.

    comply, deviate and slack agree to 1e-7 relative to max(1, |comply|, |deviate|); the plan
    names agree except where the reference's two plans are worth the same to 1e-9 (a tie,
    where either name is right), and then seen and response period are those of the plan we
    report; the verdict agrees except where the margin lies within 1e-7 of the threshold.
    """
    with short_reference_tail():
        _cross_check(data)


@examples(150)
@given(scenario_data())
def test_cross_check_against_reference_as_written(data: Data) -> None:
    """The same on fewer cases, with the reference's own 50-period padding."""
    _cross_check(data)


@examples(250)
@given(scenario_data())
def test_every_partys_value_along_every_path_matches_reference(data: Data) -> None:
    """The values of *all* parties along each deviation path (used for leverage)."""
    with short_reference_tail():
        _all_values(data)


def _all_values(data: Data) -> None:
    scn = Scenario.model_validate(data)
    comp = compile_scenario(scn)
    res = run_kernel(comp, compile_schedule(scn, scn.get_schedule()).amounts, all_values=True)
    assert res.others is not None
    for p, plan in enumerate(("halt", "halt_and_reverse")):
        for i, party in enumerate(comp.party_ids):
            for tau in range(res.comply.shape[1]):
                ref = path_values(data, party, tau, plan)
                assert (ref is not None) == bool(res.exists[p, i, tau])
                if ref is None:
                    continue
                # the deviator's own value is the kernel's closed form
                assert close(res.others[p, i, tau, i], res.deviate[p, i, tau], scale_of(ref[party]))
                for j, other in enumerate(comp.party_ids):
                    assert close(res.others[p, i, tau, j], ref[other], scale_of(ref[other]), 1e-7)


@examples(150)
@given(package_data(), st.data())
def test_check_many_equals_check_and_reference(package: Data, data: st.DataObject) -> None:
    """Batched margins (schedules of different lengths padded together) equal one-by-one ones."""
    schedules = data.draw(st.lists(schedule_data(package), min_size=1, max_size=6))
    scn = Scenario.model_validate(with_schedule(package, []))
    steps = [[detente.Step.model_validate(s) for s in sched] for sched in schedules]
    margins = detente.check_many(scn, steps)
    reports = detente.check_many(scn, steps, reports=True)
    assert isinstance(reports, list)
    for sched, m, rep in zip(schedules, margins, reports, strict=True):
        single = detente.check(scn, [detente.Step.model_validate(s) for s in sched])
        with short_reference_tail():
            ref = _reference_margin(reference_check(with_schedule(package, sched)))
        assert close(m, single.margin, scale_of(ref))
        assert close(rep.margin, single.margin, scale_of(ref))
        assert close(m, ref, scale_of(ref), 1e-7)


# --------------------------------------------------------------------------- 2. scaling


def scaled(data: Data, c: float) -> Data:
    out = copy.deepcopy(data)
    for k in out["concessions"]:
        k["flow"] = {p: v * c for p, v in k.get("flow", {}).items()}
        if "once" in k:
            k["once"] = {p: v * c for p, v in k["once"].items()}
        if isinstance(k.get("reversible"), dict):
            k["reversible"]["cost"] *= c
    return out


@examples(300)
@given(scenario_data(), st.integers(-6, 6))
def test_scaling_by_a_power_of_two_is_exact(data: Data, n: int) -> None:
    """Multiplying every flow, one-time value and reversal cost by c = 2^n multiplies every
    comply, deviate, slack and participation value by c *exactly* (in floating point, every
    operation commutes with a power of two), with the same plans and response periods."""
    c = 2.0**n
    a, b = check(data), check(scaled(data, c))
    assert [(x.party, x.period) for x in a.constraints] == [(y.party, y.period) for y in b.constraints]
    for x, y in zip(a.constraints, b.constraints, strict=True):
        assert (x.comply * c, x.deviate * c, x.slack * c) == (y.comply, y.deviate, y.slack)
        assert (x.plan, x.seen, x.response_period) == (y.plan, y.seen, y.response_period)
    assert {p: v * c for p, v in a.participation.items()} == b.participation


def _far_from_fragility_edge(data: Data) -> bool:
    """No reversible concession with G_k within rounding of 0 (where fragility is a coin flip)."""
    for k in data["concessions"]:
        rev = k.get("reversible")
        if not isinstance(rev, dict):
            continue
        d = discount(data, k["by"])
        own = k.get("flow", {}).get(k["by"], 0.0)
        g = -own * d ** rev["delay"] / (1 - d) - rev["cost"]
        if abs(g) <= 1e-9 * scale_of(own / (1 - d), rev["cost"]):
            return False
    return True


@examples(300)
@given(scenario_data(), st.floats(0.01, 100.0))
def test_scaling_by_any_positive_c(data: Data, c: float) -> None:
    """Any c > 0 scales every value and slack by c (to 1e-9 relative), with the same plans,
    response periods and verdict (away from the threshold and the fragility knife-edge)."""
    assume(_far_from_fragility_edge(data))
    a, b = check(data), check(scaled(data, c))
    assert [(x.party, x.period) for x in a.constraints] == [(y.party, y.period) for y in b.constraints]
    for x, y in zip(a.constraints, b.constraints, strict=True):
        scale = c * scale_of(x.comply, x.deviate)
        for key in ("comply", "deviate", "slack"):
            assert close(getattr(x, key) * c, getattr(y, key), scale), (key, x, y, c)
        assert (x.plan, x.seen, x.response_period) == (y.plan, y.seen, y.response_period)
    for p, v in a.participation.items():
        assert close(v * c, b.participation[p], c * scale_of(v))
    if min(abs(a.margin), abs(b.margin)) > 1e-6:
        assert a.self_enforcing is b.self_enforcing


# --------------------------------------------------------------------------- 3. shifting


@examples(300)
@given(scenario_data(), st.integers(1, 3))
def test_shifting_the_schedule_shifts_the_slack_profile(data: Data, s: int) -> None:
    """Every step s periods later. What exactly holds (proved from docs/model.md §3, and
    checked here): write c(i, τ) for a constraint of the original and c'(i, τ) for the
    shifted schedule.

    * τ >= s: c'(i, τ) exists iff c(i, τ − s) does, with the same comply, deviate, slack and
      plan, and seen and response period later by s (the whole game is the same, s periods on).
    * τ < s: nothing is in force yet and every step is still ahead, so deviating at τ is
      deviating at 0 seen from earlier: c'(i, τ) exists iff c(i, 0) does, with comply,
      deviate and slack multiplied by δ_i^(s − τ), plan ``halt``, seen and response + s.
    * Participation is multiplied by δ_i^s. So every slack and participation value keeps its
      sign, and the verdict is the same wherever both margins are away from the threshold
      (its tolerance 1e-9 is absolute: a margin of −4e-6 shifted by 3 periods at δ = 1/16
      becomes −9e-10, which passes).
    """
    assume(data["schedule"])
    a, b = by_key(check(data)), check(shifted(data, s))
    bk = by_key(b)
    expected_keys = {(p, t + s) for p, t in a} | {(p, t) for p, t0 in a if t0 == 0 for t in range(s)}
    assert set(bk) == expected_keys
    for (party, tau), y in bk.items():
        if tau >= s:
            x, factor = a[(party, tau - s)], 1.0
        else:
            x, factor = a[(party, 0)], discount(data, party) ** (s - tau)
            assert y.plan == "halt"
        scale = scale_of(x.comply, x.deviate)
        for key in ("comply", "deviate", "slack"):
            assert close(getattr(x, key) * factor, getattr(y, key), scale), (key, x, y)
        assert y.plan == x.plan
        assert (y.seen, y.response_period) == (x.seen + s, x.response_period + s)
    original = check(data)
    for party, v in original.participation.items():
        assert close(v * discount(data, party) ** s, b.participation[party], scale_of(v))
    # every slack and participation value keeps its sign (it is multiplied by 1 or by
    # δ^k > 0), but the tolerance of the verdict is absolute: compare away from it
    if min(abs(original.margin), abs(b.margin)) > 1e-6:
        assert b.self_enforcing is original.self_enforcing


# --------------------------------------------------------------------------- 4. recursion


@examples(300)
@given(scenario_data())
def test_value_recursion(data: Data) -> None:
    """V_i(τ) = u_i(τ) + δ_i · V_i(τ+1) for τ = 0..H, and V_i(H+1) = u_i(H+1) / (1 − δ_i),
    with the reported ``comply`` values and u computed from the schedule as written."""
    report = check(data)
    H = max((s["period"] for s in data["schedule"]), default=-1)
    x, a = in_force_and_implemented(data, H + 1)
    for p in data["parties"]:
        i, d = p["id"], p["discount"]
        u = [
            sum(
                c.get("flow", {}).get(i, 0.0) * x[c["id"]][t] + c.get("once", {}).get(i, 0.0) * a[c["id"]][t]
                for c in data["concessions"]
            )
            for t in range(H + 2)
        ]
        V = report.comply[i]
        assert len(V) == H + 2
        for t in range(H + 1):
            assert close(V[t], u[t] + d * V[t + 1], scale_of(V[t], V[t + 1], u[t])), (i, t)
        assert close(V[H + 1] * (1 - d), u[H + 1], scale_of(u[H + 1], V[H + 1]))
        assert report.participation[i] == V[0]


# --------------------------------------------------------------------------- 5. comparative statics


def _with(data: Data, cid: str, **changes: Any) -> Data:
    out = copy.deepcopy(data)
    for c in out["concessions"]:
        if c["id"] == cid:
            c.update(changes)
    return out


@examples(400)
@given(scenario_data(usual_signs=True), st.data())
def test_irreversibility_never_raises_another_partys_slack(data: Data, draw: st.DataObject) -> None:
    """Usual signs; k a concession of party i made irreversible. For every other party j:
    the same constraints exist and each slack weakly falls; participation is unchanged.

    Proof: V_j does not depend on reversibility. j's plans, what j undoes and when j is seen
    depend only on j's own concessions. If k was not fragile nothing changes; if it was,
    the only change along j's paths is that i no longer undoes k at the response period, so
    j keeps flow_jk >= 0 for longer: D_j weakly rises. (For i itself the claim is false:
    see ``test_irreversibility_can_lower_the_givers_own_slack``.)
    """
    k = draw.draw(st.sampled_from(data["concessions"]))
    i = k["by"]
    before, after_report = check(data), check(_with(data, k["id"], reversible=False))
    a, b = by_key(before), by_key(after_report)
    assert {key for key in a if key[0] != i} == {key for key in b if key[0] != i}
    for key, x in a.items():
        if key[0] == i:
            continue
        assert b[key].slack <= x.slack + 1e-9 * scale_of(x.comply, x.deviate), (key, x, b[key])
    for p, v in before.participation.items():
        assert close(v, after_report.participation[p], scale_of(v))


@examples(400)
@given(scenario_data(), st.data())
def test_a_lag_leaves_every_other_partys_constraints_unchanged(data: Data, draw: st.DataObject) -> None:
    """Any signs; the verification lag of a concession k of party i set to any value in
    0..3. For every other party j, every constraint is unchanged: same comply, deviate and
    slack (to rounding), plan, seen and response period; participation is unchanged.

    Proof: when j's deviation is seen depends only on the lags of j's own skipped steps and
    undone concessions, and nothing else on any path depends on a lag.
    """
    k = draw.draw(st.sampled_from(data["concessions"]))
    i = k["by"]
    lag = draw.draw(st.integers(0, 3))
    before, after_report = check(data), check(_with(data, k["id"], verification_lag=lag))
    a, b = by_key(before), by_key(after_report)
    assert {key for key in a if key[0] != i} == {key for key in b if key[0] != i}
    for key, x in a.items():
        if key[0] == i:
            continue
        y = b[key]
        scale = scale_of(x.comply, x.deviate)
        for attr in ("comply", "deviate", "slack"):
            assert close(getattr(x, attr), getattr(y, attr), scale), (attr, x, y)
        assert (x.plan, x.seen, x.response_period) == (y.plan, y.seen, y.response_period)
    for p, v in before.participation.items():
        assert close(v, after_report.participation[p], scale_of(v))


# --------------------------------------------------------------------------- 6. moving first


def _own_steps_value(data: Data, party: str, start: int) -> float:
    """Value at ``start`` to ``party`` of its own concessions along the schedule."""
    H = max(s["period"] for s in data["schedule"])
    x, a = in_force_and_implemented(data, H)
    d = discount(data, party)
    total = 0.0
    for c in data["concessions"]:
        if c["by"] != party:
            continue
        f, o = c.get("flow", {}).get(party, 0.0), c.get("once", {}).get(party, 0.0)
        total += sum(d ** (t - start) * (f * x[c["id"]][t] + o * a[c["id"]][t]) for t in range(start, H + 1))
        total += d ** (H + 1 - start) * f * x[c["id"]][H] / (1 - d)
    return total


@examples(300)
@given(one_side_first())
def test_the_side_that_moves_last_always_cheats(arg: tuple[Data, str]) -> None:
    """Let B be a party and t_B the period of its first step. If

    * no other party has a step after t_B (steps in period t_B itself are allowed),
    * no concession of another party is fragile (here: all irreversible), and
    * each concession of B is worth <= 0 to B (flow and one-time value), one of them < 0,

    then B's constraint at t_B exists, its plan is ``halt``, and its slack equals the value
    W_B < 0 to B of its own steps, so the schedule is not self-enforcing whenever
    W_B < -1e-9. Proof: at t_B every step of the others happens before the response
    (ρ >= t_B + 1), nothing of theirs is ever undone, and B has nothing in force yet, so
    the halt path differs from compliance only by B's own steps. Whatever the signs of the
    flows B receives.
    """
    data, last = arg
    t_b = min(s["period"] for s in data["schedule"] if package_by(data, s["concession"]) == last)
    report = check(data)
    c = by_key(report)[(last, t_b)]
    w = _own_steps_value(data, last, t_b)
    assert w < 0
    assert c.plan == "halt"
    assert close(c.slack, w, scale_of(c.comply, c.deviate)), (c, w)
    if w < -THRESHOLD - 1e-9 * scale_of(c.comply, c.deviate):
        assert report.self_enforcing is False


# --------------------------------------------------------------------------- false intuitions


def _two_party(concessions: list[Data], schedule: list[Data], delta: float = 0.5) -> Data:
    return {
        "name": "counterexample",
        "parties": [{"id": "A", "discount": delta}, {"id": "B", "discount": delta}],
        "concessions": concessions,
        "schedule": schedule,
    }


@pytest.mark.parametrize("lag", [0, 1, 2, 3])
def test_a_longer_lag_can_raise_the_givers_own_slack(lag: int) -> None:
    """False intuition: "a longer verification lag on my step never helps my compliance".

    B holds a hostage h (fragile: undoing it pays B) and owes a step s in period 2, with lag
    ℓ; A gives g in period 2. B deviating at τ = 1 skips s: seen at 2 + ℓ, so g still comes,
    and B undoes h only at the response ρ = 3 + ℓ. Grabbing h back at once instead
    (halt_and_reverse) is seen at 1 and costs B the gift. With δ = 1/2:
    V_B(1) = −1 and D_B(1) = 2 − 2(1 − 2^−(2+ℓ)), so the slack −1 − 2^−(1+ℓ) *rises* with ℓ.
    """
    data = _two_party(
        [
            {"id": "h", "by": "B", "flow": {"A": 1, "B": -1}, "reversible": {"delay": 0, "cost": 0}},
            {"id": "g", "by": "A", "flow": {"A": -1, "B": 2}},
            {"id": "s", "by": "B", "flow": {"A": 2, "B": -1}, "verification_lag": lag},
        ],
        [
            {"period": 0, "concession": "h"},
            {"period": 2, "concession": "g"},
            {"period": 2, "concession": "s"},
        ],
    )
    c = by_key(check(data))[("B", 1)]
    assert c.plan == "halt"
    assert (c.seen, c.response_period) == (2 + lag, 3 + lag)
    assert c.comply == pytest.approx(-1.0, abs=1e-12)
    assert c.deviate == pytest.approx(2 - 2 * (1 - 2.0 ** -(2 + lag)), abs=1e-12)
    assert c.slack == pytest.approx(-1 - 2.0 ** -(1 + lag), abs=1e-12)
    ref = {(r["party"], r["period"]): r for r in reference_check(data)["constraints"]}
    assert ref[("B", 1)]["slack"] == pytest.approx(c.slack, abs=1e-12)


def test_irreversibility_can_lower_the_givers_own_slack() -> None:
    """False intuition: "making my own concession irreversible can only help my compliance".

    B holds two hostages from period 0, h1 (verified one period late) and h2 (verified at
    once); A gives g = 3 per period from period 2. At τ = 1 B has no steps left and grabs
    back what it can (halt_and_reverse). Undoing h2 is seen at 1, so the response comes at
    2 and g never arrives: D_B(1) = 0. With h2 irreversible, B undoes h1 alone, seen at 2,
    so g arrives in period 2 and stays: D_B(1) = −2 + 3 = 1 (δ = 1/2). V_B(1) = −1 in both
    cases, so B's slack *falls* from −1 to −2.
    """
    hostages = [
        {
            "id": "h1",
            "by": "B",
            "flow": {"A": 1, "B": -1},
            "reversible": {"delay": 0, "cost": 0},
            "verification_lag": 1,
        },
        {"id": "h2", "by": "B", "flow": {"A": 1, "B": -1}, "reversible": {"delay": 0, "cost": 0}},
        {"id": "g", "by": "A", "flow": {"A": -1, "B": 3}},
    ]
    schedule = [
        {"period": 0, "concession": "h1"},
        {"period": 0, "concession": "h2"},
        {"period": 2, "concession": "g"},
    ]
    data = _two_party(hostages, schedule)
    before = by_key(check(data))[("B", 1)]
    after = by_key(check(_with(data, "h2", reversible=False)))[("B", 1)]
    assert before.plan == after.plan == "halt_and_reverse"
    assert (before.comply, before.deviate, before.slack) == pytest.approx((-1.0, 0.0, -1.0), abs=1e-12)
    assert (after.comply, after.deviate, after.slack) == pytest.approx((-1.0, 1.0, -2.0), abs=1e-12)
    assert (before.response_period, after.response_period) == (2, 3)


def test_discounts_close_to_one_keep_the_tail_exact() -> None:
    """Flows that are never undone are summed in closed form even for δ -> 1 (regression:
    the tail was once cut after 2^20 periods, which is visible for δ >= 0.9999)."""
    for d in (0.9, 0.999, 0.99999, 0.999999):
        data = _two_party(
            [
                {"id": "a", "by": "A", "flow": {"A": -1, "B": 2}},
                {"id": "b", "by": "B", "flow": {"A": 2, "B": -1}},
            ],
            [{"period": 0, "concession": "a"}, {"period": 1, "concession": "b"}],
            delta=d,
        )
        c = by_key(check(data))[("B", 0)]
        assert math.isclose(c.deviate, 2 / (1 - d), rel_tol=1e-9)
        scn = Scenario.model_validate(data)
        comp = compile_scenario(scn)
        res = run_kernel(comp, compile_schedule(scn, scn.get_schedule()).amounts, all_values=True)
        assert res.others is not None
        assert math.isclose(res.others[0, 1, 0, 1], 2 / (1 - d), rel_tol=1e-9)
