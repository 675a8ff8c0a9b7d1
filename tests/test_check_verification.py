"""The check under verification that may miss, the fragility tolerance, long lags, overflow.

docs/model.md §3: a fragile concession needs G_k > ε_k; a breach event with detection
probability q is seen at the end of each period from when it becomes observable with
probability q, independently. The kernel's closed-form expectations are compared with a
plain-loops enumerator (``tests/reference``), with brute-force Monte Carlo over the detection
period, and with the simulation engine.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detente
from detente.analysis.enforcement import check, refuse_overflow
from detente.analysis.kernel import PLANS, run_kernel
from detente.analysis.verification import LAG_CAP, verification_needed
from detente.core.compiled import compile_scenario, compile_schedule
from detente.core.errors import ScenarioError, UsageError
from detente.core.scenario import Step
from detente.simulation.simulate import simulate
from detente.simulation.strategies.base import Decision, Strategy, View
from reference.enforcement_loops import (
    _deviation_path,
    _is_fragile,
    _normalise,
    _simulate,
    detection_distribution,
    expected_path_values,
    reference_check,
)
from strategies_check import scenario_data

TOL = 1e-9
ROOT = Path(__file__).resolve().parents[1]


def _scenario(data: dict) -> detente.Scenario:
    return detente.Scenario.model_validate(data)


def _kernel(data: dict):  # type: ignore[no-untyped-def]
    scn = _scenario(data)
    comp = compile_scenario(scn)
    sched = compile_schedule(scn, scn.get_schedule(None))
    return comp, run_kernel(comp, sched.amounts)


# ----------------------------------------------------------------------------- fragility


def _relief_case(cost: float, flow_us: float = -1.0, delay: int = 0, discount: float = 0.9) -> dict:
    """US relief (reversible at ``cost``) at 0, DPRK dismantlement at 1: the DPRK is deterred
    from skipping the dismantlement only if withdrawing relief pays the US."""
    return {
        "name": "indifferent",
        "parties": [{"id": "US", "discount": discount}, {"id": "DPRK", "discount": discount}],
        "concessions": [
            {
                "id": "relief",
                "by": "US",
                "flow": {"US": flow_us, "DPRK": 2},
                "reversible": {"delay": delay, "cost": cost},
            },
            {"id": "dismantle", "by": "DPRK", "flow": {"US": 3, "DPRK": -1}},
        ],
        "schedule": [{"period": 0, "concession": "relief"}, {"period": 1, "concession": "dismantle"}],
    }


@pytest.mark.parametrize(
    ("flow", "discount", "delay", "cost", "fragile", "rounding_says_positive"),
    [
        (-1.0, 0.9, 0, 10.0, False, True),  # docs/model.md §3's indifferent giver: G = 0, rounding gives +1.8e-15
        (-1.0, 0.9, 1, 9.0, False, True),
        (-2.0, 0.9, 2, 16.2, False, True),
        (-1.0, 0.8, 0, 5.0, False, True),
        (-0.5, 0.8, 3, 1.28, False, True),
        (-1.0, 0.9, 0, 9.99, True, True),  # gains 0.01: a real threat
        (-1.0, 0.9, 0, 10.01, False, False),
        (-1.0, 0.9, 0, 0.0, True, True),
        (1.0, 0.9, 0, 0.0, False, False),  # keeping it pays its giver
    ],
)
def test_fragility_has_a_tolerance(flow, discount, delay, cost, fragile, rounding_says_positive) -> None:
    comp = compile_scenario(_scenario(_relief_case(cost, flow, delay, discount)))
    naive = (-flow) * discount**delay / (1.0 - discount) - cost
    assert (naive > 0) == rounding_says_positive  # the rows with G = 0 do hit the rounding
    assert bool(comp.fragile[0]) == fragile
    assert not comp.fragile[1]  # irreversible
    assert _is_fragile(_normalise(_relief_case(cost, flow, delay, discount))[2]["relief"], {"US": discount}) == fragile


def test_an_indifferent_threat_is_empty_in_the_check() -> None:
    """With cost 10 the US gains exactly nothing by withdrawing relief, so it would not: the
    DPRK keeps relief for ever when it skips the dismantlement (docs/model.md §3)."""
    empty = check(_scenario(_relief_case(10.0)))
    dprk = next(c for c in empty.constraints if c.party == "DPRK" and c.period == 1)
    assert (dprk.comply, dprk.deviate, dprk.slack) == pytest.approx((10.0, 20.0, -10.0), abs=TOL)
    assert not empty.self_enforcing
    credible = check(_scenario(_relief_case(9.99)))
    dprk = next(c for c in credible.constraints if c.party == "DPRK" and c.period == 1)
    assert (dprk.comply, dprk.deviate, dprk.slack) == pytest.approx((10.0, 2.0, 8.0), abs=TOL)
    for data in (_relief_case(10.0), _relief_case(9.99)):
        ref = reference_check(data)
        rep = check(_scenario(data))
        assert ref["self_enforcing"] == rep.self_enforcing
        for c, r in zip(rep.constraints, ref["constraints"], strict=True):
            assert c.deviate == pytest.approx(r["deviate"], abs=TOL)


def test_an_indifferent_threat_is_empty_in_design() -> None:
    """Relief first is self-enforcing only if withdrawing it deters the DPRK; at cost 10 the US
    is indifferent (G = 0, 1.8e-15 after rounding), so the designer must not count on it: no
    order of the two steps holds."""
    data = _relief_case(10.0)
    del data["schedule"]
    result = detente.design(_scenario(data), horizon=3)
    assert not result.feasible
    for order in ([0, 1], [1, 0], [0, 0]):
        steps = [Step(period=t, concession=k) for t, k in zip(order, ("relief", "dismantle"), strict=True)]
        assert not check(_scenario(data), steps).self_enforcing


# ----------------------------------------------------------------------------- expectations


def _worked(detect: dict[str, float], lags: dict[str, int] | None = None) -> dict:
    """the staged worked example of docs/model.md §3.8 with detection probabilities per concession."""
    data = {
        "name": "staged",
        "parties": [{"id": "US", "discount": 0.9}, {"id": "DPRK", "discount": 0.9}],
        "concessions": [
            {"id": "moratorium", "by": "DPRK", "flow": {"US": 2, "DPRK": -0.5}, "reversible": {"delay": 0, "cost": 0}},
            {"id": "dismantle", "by": "DPRK", "flow": {"US": 3, "DPRK": -2}, "reversible": False},
            {
                "id": "relief",
                "by": "US",
                "flow": {"US": -1, "DPRK": 3},
                "reversible": {"delay": 1, "cost": 0},
                "divisible": True,
            },
        ],
        "schedule": [
            {"period": 0, "concession": "moratorium"},
            {"period": 1, "concession": "relief"},
            {"period": 2, "concession": "dismantle"},
        ],
    }
    lags = {"dismantle": 1, **(lags or {})}
    for c in data["concessions"]:
        c["verification"] = {"lag": lags.get(c["id"], 0), "detect": detect.get(c["id"], 1.0)}
    return data


def _compare_with_reference(data: dict, tol: float = 1e-9) -> None:
    comp, res = _kernel(data)
    scn = _scenario(data)
    others = run_kernel(comp, compile_schedule(scn, scn.get_schedule(None)).amounts, all_values=True).others
    assert others is not None
    for i, pid in enumerate(comp.party_ids):
        for tau in range(res.comply.shape[1]):
            for p, plan in enumerate(PLANS):
                ref = expected_path_values(data, pid, tau, plan)
                assert (ref is not None) == bool(res.exists[p, i, tau]), (pid, tau, plan)
                if ref is None:
                    continue
                scale = max(1.0, abs(ref[pid]))
                assert res.deviate[p, i, tau] == pytest.approx(ref[pid], abs=tol * scale), (pid, tau, plan)
                for j, other in enumerate(comp.party_ids):  # every party's value, for leverage
                    scale = max(1.0, abs(ref[other]))
                    assert others[p, i, tau, j] == pytest.approx(ref[other], abs=tol * scale), (pid, tau, plan, other)


@pytest.mark.parametrize(
    ("detect", "lags"),
    [
        ({}, {}),
        ({"dismantle": 0.5}, {}),
        ({"dismantle": 0.3, "moratorium": 0.6, "relief": 0.0}, {"dismantle": 2}),
        ({"dismantle": 0.0, "moratorium": 0.0, "relief": 0.0}, {}),
        ({"moratorium": 0.25, "relief": 0.9}, {"moratorium": 3, "relief": 2}),
        ({"dismantle": 0.5, "relief": 0.5}, {"dismantle": 40, "relief": 7}),
    ],
)
def test_expected_values_match_the_plain_loops(detect, lags) -> None:
    _compare_with_reference(_worked(detect, lags))


def test_detect_one_reproduces_the_deterministic_check() -> None:
    """``verification: {lag, detect: 1}`` is ``verification_lag``; detect → 1 is continuous."""
    det = _worked({})
    legacy = copy.deepcopy(det)
    for c in legacy["concessions"]:
        c["verification_lag"] = c.pop("verification")["lag"]
    a, b = check(_scenario(det)), check(_scenario(legacy))
    assert a.to_records() == b.to_records()
    near = check(_scenario(_worked({"dismantle": 1 - 1e-12, "moratorium": 1 - 1e-12, "relief": 1 - 1e-12})))
    for x, y in zip(a.constraints, near.constraints, strict=True):
        assert x.deviate == pytest.approx(y.deviate, abs=1e-9)
    # the worked example of docs/model.md §3: DPRK at 1 gains 1.962 by halting
    dprk = next(c for c in a.constraints if c.party == "DPRK" and c.period == 1)
    assert (round(dprk.comply, 3), round(dprk.deviate, 3), dprk.seen) == (7.0, 8.962, 3)


def test_never_seen_means_the_schedule_is_kept() -> None:
    """detect = 0 everywhere: a deviator keeps everything the others give, for ever."""
    data = _worked({"dismantle": 0.0, "moratorium": 0.0, "relief": 0.0})
    rep = check(_scenario(data))
    dprk = next(c for c in rep.constraints if c.party == "DPRK" and c.period == 0)
    # skips its steps (saves 0.5 and 2 for ever), keeps relief from 1 on: 3 · 0.9 / 0.1
    assert dprk.deviate == pytest.approx(27.0, abs=TOL)
    assert dprk.seen == -1
    assert dprk.response_period == -1


def test_expected_values_match_brute_force_monte_carlo() -> None:
    """Draw the detection period event by event, average the plain-loops path values."""
    data = _worked({"dismantle": 0.35, "moratorium": 0.5, "relief": 0.7}, {"dismantle": 2, "relief": 1})
    comp, res = _kernel(data)
    rng = np.random.default_rng(20261202)
    party_ids, discount, concessions, _ = _normalise(data)
    n = 4000
    for pid, tau, plan in [("DPRK", 0, "halt"), ("DPRK", 1, "halt_and_reverse"), ("US", 2, "halt_and_reverse")]:
        path = _deviation_path(data, pid, tau, plan)
        assert path is not None
        o = np.array([e[0] for e in path["events"]])
        q = np.array([e[1] for e in path["events"]])
        # each event is seen at the end of o + (a geometric number of failures)
        seen = (o[None, :] + rng.geometric(q[None, :], size=(n, o.size)) - 1).min(axis=1)
        cache: dict[int, float] = {}
        vals = np.empty(n)
        for e, d in enumerate(seen.tolist()):
            if d not in cache:
                forced = _deviation_path(data, pid, tau, plan, seen=d)
                assert forced is not None
                values = _simulate(party_ids, discount, concessions, forced["performed"], forced["reversals"], tau)
                cache[d] = values[pid]
            vals[e] = cache[d]
        i, p = comp.party_ids.index(pid), PLANS.index(plan)
        se = vals.std(ddof=1) / np.sqrt(n)
        assert abs(vals.mean() - res.deviate[p, i, tau]) < 4 * se + 1e-12, (pid, tau, plan)


def test_the_detection_distribution_sums_to_one() -> None:
    events = [(3, 0.2), (5, 0.5), (5, 0.0)]
    dist = detection_distribution(events, 1)
    assert sum(p for _, p in dist) == pytest.approx(1.0, abs=1e-14)
    assert dist[0] == (3, pytest.approx(0.2))
    assert detection_distribution([(2, 0.0)], 0) == [(-1, 1.0)]


_detects = st.sampled_from([0.0, 0.2, 0.5, 0.85, 1.0])


@st.composite
def _uncertain_scenarios(draw: st.DrawFn) -> dict:
    data = draw(scenario_data(max_concessions=4))
    for c in data["concessions"]:
        if draw(st.booleans()):
            lag = c.pop("verification_lag", draw(st.integers(0, 3)))
            c["verification"] = {"lag": lag, "detect": draw(_detects)}
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_uncertain_scenarios())
def test_random_scenarios_match_the_plain_loops(data: dict) -> None:
    _compare_with_reference(data, tol=1e-8)


# ----------------------------------------------------------------------------- long lags


def test_a_long_lag_costs_nothing_and_is_exact() -> None:
    """Memory and time do not grow with the lag; values equal the plain loops'."""
    data = _worked({}, {"dismantle": 10_000})
    rep = check(_scenario(data))  # benchmarks/bench_check.py measures time and memory
    ref = reference_check(data)
    for c, r in zip(rep.constraints, ref["constraints"], strict=True):
        assert (c.deviate, c.seen) == (pytest.approx(r["deviate"], abs=TOL), r["seen"])
    # a random detection with a long lag, against the loops
    _compare_with_reference(_worked({"dismantle": 0.5, "relief": 0.6}, {"dismantle": 300, "relief": 2}))


def test_leverage_with_a_long_lag() -> None:
    data = _worked({}, {"dismantle": 5000})
    rep = check(_scenario(data), leverage=True)
    assert rep.leverage is not None
    short = check(_scenario(_worked({}, {"dismantle": 1})), leverage=True)
    assert all(np.isfinite(row.exposure) for row in rep.leverage)
    assert len(rep.leverage) == len(short.leverage or ())


# ----------------------------------------------------------------------------- --verification


def _with(case: str, cid: str, detect: float | None = None, lag: int | None = None) -> detente.Scenario:
    """Case ``case`` with concession ``cid``'s verification set (the rest as it is)."""
    scn = detente.load(case)
    comp = compile_scenario(scn)
    k = comp.concession_ids.index(cid)
    data = scn.model_dump(mode="json", exclude_unset=True)
    for c in data["concessions"]:
        if c["id"] == cid:
            c.pop("verification_lag", None)
            c["verification"] = {
                "lag": int(comp.lag[k]) if lag is None else lag,
                "detect": float(comp.detect[k]) if detect is None else detect,
            }
    return detente.Scenario.model_validate(data)


def _with_icbm(detect: float | None = None, lag: int | None = None) -> detente.Scenario:
    return _with("hanoi-2019", "icbm", detect, lag)


def test_verification_needed_on_hanoi_agrees_with_the_check() -> None:
    report = verification_needed(detente.load("hanoi-2019"), "phased")
    icbm = next(n for n in report.needs if n.concession == "icbm")
    assert report.most_needed is icbm
    assert icbm.detect_needed is not None
    assert 0.0 < icbm.detect_needed < 1.0
    assert icbm.lag_allowed is not None
    assert icbm.lag_allowed < LAG_CAP
    q, ell = icbm.detect_needed, icbm.lag_allowed
    assert check(_with_icbm(detect=q), "phased").self_enforcing
    assert not check(_with_icbm(detect=q - 1e-4), "phased").self_enforcing
    assert check(_with_icbm(lag=ell), "phased").self_enforcing
    assert not check(_with_icbm(lag=ell + 1), "phased").self_enforcing
    assert "ICBM dismantlement most needs better verification" in report.sentences()[0]
    # the README's numbers
    assert (round(q, 3), ell, icbm.lag) == (0.119, 13, 6)


def test_verification_needed_on_the_hostage_case_agrees_with_the_check() -> None:
    report = verification_needed(detente.load("worked-hostage"), "designed")
    assert report.holds
    for n in report.needs:
        assert n.detect_needed is not None
        assert n.lag_allowed is not None
        assert check(_with("worked-hostage", n.concession, detect=n.detect_needed), "designed").self_enforcing
        if n.detect_needed > 0:
            below = _with("worked-hostage", n.concession, detect=n.detect_needed - 1e-4)
            assert not check(below, "designed").self_enforcing
        assert check(_with("worked-hostage", n.concession, lag=n.lag_allowed), "designed").self_enforcing
        if not n.lag_capped:
            assert not check(_with("worked-hostage", n.concession, lag=n.lag_allowed + 1), "designed").self_enforcing


def test_verification_of_a_schedule_that_fails() -> None:
    report = verification_needed(detente.load("hanoi-2019"), "us-big-deal")
    assert not report.holds
    assert report.most_needed is None
    assert "not self-enforcing" in report.sentences()[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "detente", *args], capture_output=True, text=True, cwd=ROOT)


def test_check_verification_json_keeps_the_contract() -> None:
    run = _cli("check", "hanoi-2019", "-s", "phased", "--verification", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    for key in ("self_enforcing", "participation", "constraints", "violations", "min_slack", "comply", "summary"):
        assert key in out
    needed = {c["id"]: c["verification_needed"] for c in out["concessions"]}
    assert set(needed["icbm"]) == {"detect", "lag"}
    assert out["most_needed"] == "icbm"


# ----------------------------------------------------------------------------- bad input and overflow


def _overflowing() -> dict:
    data = _relief_case(0.0)
    data["concessions"][0]["flow"] = {"US": -1e308, "DPRK": 1e308}
    return data


def test_overflow_is_refused_not_nan() -> None:
    """Loading caps every number (docs/limits.md), so the kernel's guard is the second line:
    values built past the cap overflow into a clear error, never a NaN."""
    scn = _scenario(_relief_case(0.0))
    comp = dataclasses.replace(compile_scenario(scn), flow=np.array([[-1e308, 1e308], [3.0, -1.0]]))
    amounts = compile_schedule(scn, scn.get_schedule(None)).amounts
    with np.errstate(over="ignore", invalid="ignore"):
        res = run_kernel(comp, amounts)
    assert not np.isfinite(res.comply).all()
    with pytest.raises(UsageError, match=r"overflow.*relief \(values up to 1e\+308\)"):
        refuse_overflow(comp, res.comply, res.deviate, res.exists)


def test_check_json_never_crashes_on_huge_numbers(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(_overflowing()))
    for extra in ((), ("--json",), ("--verification", "--json")):
        run = _cli("check", str(path), *extra)
        assert run.returncode == 2, run.stderr
        assert "overflow" in run.stderr or "number-size limit" in run.stderr
        assert "Traceback" not in run.stderr
        assert run.stdout == ""


def test_detect_from_a_parameter_is_checked_when_compiled() -> None:
    data = _worked({})
    data["parameters"] = {"q": {"value": 0.5}}
    data["concessions"][1]["verification"]["detect"] = "q * 3"
    with pytest.raises(ScenarioError, match=r"probability in \[0, 1\], found 1.5"):
        compile_scenario(_scenario(data))


def test_design_assumes_verification_that_always_comes() -> None:
    """The designer's cuts assume certain detection: with detect 0.5 it designs as with 1."""
    data = _worked({"dismantle": 0.5})
    del data["schedule"]
    sure = _worked({})
    del sure["schedule"]
    a, b = detente.design(_scenario(data), horizon=3), detente.design(_scenario(sure), horizon=3)
    assert (a.feasible, a.schedule) == (b.feasible, b.schedule)


# ----------------------------------------------------------------------------- the simulation agrees


class _Deviator(Strategy):
    """Complies before ``tau``; from ``tau`` performs nothing, undoes its fragile concessions at
    ``tau`` (``halt_and_reverse``) and, in any case, once its breach has been seen (the
    response period ρ = d + 1 of docs/model.md §3)."""

    name = "test-deviator"

    def __init__(self, tau: int, plan: str) -> None:
        super().__init__()
        self.tau, self.plan = tau, plan

    def clone(self) -> Strategy:
        return _Deviator(self.tau, self.plan)

    def stationary_from(self, t: int) -> bool:
        return False

    def decide(self, view: View) -> Decision:
        if view.t < self.tau:
            return view.own_due(), np.zeros(view.undone.shape, bool)
        perform = np.zeros_like(view.due)
        seen = view.breach_ever[:, view.party]
        if view.t == self.tau and self.plan == "halt_and_reverse":
            seen = np.ones(view.n_episodes, bool)
        return perform, view.undo_fragile(seen)


def _merge_cells(data: dict) -> dict:
    """Steps of one concession in one period as one step (one breach event, as in the check)."""
    out = copy.deepcopy(data)
    merged: dict[tuple[str, int], float] = {}
    for s in out["schedule"]:
        key = (s["concession"], s["period"])
        merged[key] = merged.get(key, 0.0) + float(s.get("amount", 1.0))
    out["schedule"] = [{"period": t, "concession": k, "amount": min(a, 1.0)} for (k, t), a in merged.items()]
    return out


@st.composite
def _deviations(draw: st.DrawFn) -> tuple[dict, str, int, str]:
    data = _merge_cells(draw(_uncertain_scenarios()))
    for c in data["concessions"]:
        if "verification" in c and 0.0 < c["verification"]["detect"] < 1.0:
            c["verification"]["detect"] = max(c["verification"]["detect"], 0.2)
    comp, res = _kernel(data)
    where = np.argwhere(res.exists)
    random_rows = np.argwhere(res.exists & res.uncertain) if res.uncertain is not None else where[:0]
    if random_rows.size and draw(st.integers(0, 4)) > 0:
        where = random_rows  # mostly the rows where detection is random
    if where.size == 0:
        return data, comp.party_ids[0], -1, "halt"
    p, i, tau = (int(x) for x in draw(st.sampled_from(where.tolist())))
    return data, comp.party_ids[i], tau, PLANS[p]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_deviations())
def test_the_simulation_agrees_in_expectation(case: tuple[dict, str, int, str]) -> None:
    """Missed detection, no false alarms, no hazard: Monte Carlo means of the simulation equal
    the check's expected values within 4 standard errors (compliance gives V_i(0) exactly; a
    deviation at τ with a plan, against reciprocating parties, gives flows to τ plus δ^τ D_i(τ)).

    A branch rarer than 1/n may not occur in n episodes at all (a breach missed five periods in
    a row at detect 0.85): the sample's standard error is then 0 while the mean still carries
    the branch's share. The tolerance adds the rule of three for it, 3/n of the values' scale."""
    data, pid, tau, plan = case
    scn = _scenario(data)
    comp, res = _kernel(data)
    last = max((s["period"] for s in data["schedule"]), default=0)
    horizon = int(last) + 150 + int(comp.lag.max(initial=0)) + int(comp.delay.max(initial=0))
    i = comp.party_ids.index(pid)
    comply = simulate(scn, dict.fromkeys(comp.party_ids, "reciprocal"), 3, seed=1, horizon=horizon)
    assert np.abs(comply.value - res.comply[:, 0][None, :]).max() < 1e-9 * max(1.0, np.abs(res.comply).max())
    if tau < 0:
        return
    strategies: dict[str, str | Strategy] = dict.fromkeys(comp.party_ids, "reciprocal")
    strategies[pid] = _Deviator(tau, plan)
    n = 2000
    out = simulate(scn, strategies, n, seed=7, horizon=horizon)
    delta = comp.discount[i]
    expected = res.comply[i, 0] - delta**tau * res.comply[i, tau] + delta**tau * res.deviate[PLANS.index(plan), i, tau]
    values = out.value[:, i]
    se = values.std(ddof=1) / np.sqrt(n)
    finite = res.deviate[:, i][np.isfinite(res.deviate[:, i])]
    scale = max(np.abs(res.comply[i]).max(), np.abs(finite).max(initial=0.0), np.abs(values).max())
    unseen = 3.0 / n * scale  # a branch of probability up to 3/n may be absent from the sample
    assert abs(values.mean() - expected) <= 4 * se + unseen + 1e-9 * max(1.0, abs(expected)), (pid, tau, plan)


def test_the_simulation_agrees_on_the_worked_example() -> None:
    """DPRK halts at 1 in the staged example with the dismantlement seen with probability 0.4
    per month: the simulation's mean equals the check's expected value, and is far from the
    value under certain detection (so the comparison has power)."""
    data = _worked({"dismantle": 0.4, "moratorium": 0.6})
    scn = _scenario(data)
    comp, res = _kernel(data)
    _, sure = _kernel(_worked({}))
    i, tau, p = comp.party_ids.index("DPRK"), 1, PLANS.index("halt")
    strategies: dict[str, str | Strategy] = {"US": "reciprocal", "DPRK": _Deviator(tau, "halt")}
    n = 20_000
    out = simulate(scn, strategies, n, seed=11, horizon=200)
    delta = comp.discount[i]

    def expected(r) -> float:  # type: ignore[no-untyped-def]
        return float(r.comply[i, 0] - delta**tau * r.comply[i, tau] + delta**tau * r.deviate[p, i, tau])

    values = out.value[:, i]
    se = values.std(ddof=1) / np.sqrt(n)
    assert abs(values.mean() - expected(res)) <= 4 * se
    assert abs(values.mean() - expected(sure)) > 20 * se
    assert res.deviate[p, i, tau] > sure.deviate[p, i, tau]  # missed detection makes cheating pay more


def test_the_web_check_refuses_overflow_instead_of_nulls() -> None:
    import warnings

    import yaml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from detente.web.app import create_app

    app = create_app(allowed_hosts={"testserver", "127.0.0.1"})
    with TestClient(app, base_url="http://127.0.0.1") as client:
        res = client.post(
            "/api/check", content=yaml.safe_dump(_overflowing()), headers={"content-type": "application/yaml"}
        )
    assert 400 <= res.status_code < 500, res.text
    assert "overflow" in res.text or "number-size limit" in res.text


def test_explanations_under_missed_detection() -> None:
    never = check(_scenario(_worked({"dismantle": 0.0, "moratorium": 0.0, "relief": 0.0})))
    dprk = next(c for c in never.violations if c.party == "DPRK" and c.period == 0)
    assert "it keeps relief for good, as US never sees the breach" in dprk.explanation
    maybe = check(_scenario(_worked({"dismantle": 0.4, "moratorium": 0.6})))
    dprk = next(c for c in maybe.violations if c.party == "DPRK" and c.period == 1)
    assert "in expectation" in dprk.explanation
    assert "at the earliest at the end of period 3" in dprk.explanation


def test_a_detection_probability_set_out_of_range_is_refused(tmp_path: Path) -> None:
    import yaml

    data = _worked({})
    data["parameters"] = {"q": {"value": 0.5}}
    data["concessions"][1]["verification"]["detect"] = "q"
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(data))
    run = _cli("check", str(path), "--set", "q=1.5", "--json")
    assert run.returncode == 2
    assert "concessions[1].verification.detect" in run.stderr
    assert "expected a probability in [0, 1], found 1.5" in run.stderr
    assert "Traceback" not in run.stderr
    assert _cli("check", str(path), "--set", "q=0.3", "--json").returncode == 0
