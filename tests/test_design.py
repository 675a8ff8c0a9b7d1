"""The schedule designer (docs/model.md §4): worked example, errors, invariants, rendering."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import detente
from detente.analysis.kernel import run_kernel
from detente.core.compiled import compile_schedule, schedule_from_steps
from detente.core.errors import UsageError
from detente.core.scenario import Scenario
from detente.design.bruteforce import brute_force_design
from detente.design.forms import comply_form, slack_form
from detente.design.instances import phased_package, random_package
from detente.design.milp import design, eta_upper_bound
from detente.design.package import build_package, check_amounts, check_counts
from detente.design.render import roadmap_lines, to_schedule_yaml
from detente.design.result import DesignResult
from detente.io.yaml import load

FIXTURE = Path(__file__).parent / "fixtures" / "design_hostage.yaml"
TOL = 1e-9


@pytest.fixture(scope="module")
def hostage() -> Scenario:
    return load(FIXTURE)


def _passes(scn: Scenario, steps: list[tuple[int, str, float]]) -> tuple[bool, Any]:
    ids = scn.concession_ids
    comp = build_package(scn).comp
    sched = schedule_from_steps(len(ids), [(t, ids.index(c), a) for t, c, a in steps])
    r = run_kernel(comp, sched.amounts)
    slack = (r.comply - r.best_deviate)[r.any_plan]
    return bool((slack >= -TOL).all() and (r.comply[:, 0] >= -TOL).all()), r


def _payment_passes(scn: Scenario, result: DesignResult) -> bool:
    """The side payment's schedule passes once the payment is added to its party's values."""
    side = result.side_payment
    assert side is not None
    pkg = build_package(scn, result.provenance.horizon, result.provenance.tranches)
    ids = scn.concession_ids
    amounts = schedule_from_steps(len(ids), [(t, ids.index(c), a) for t, c, a in side.schedule]).amounts
    ch = check_amounts(pkg, amounts)
    j = scn.party_ids.index(side.party)
    lift = side.amount / (1.0 - float(pkg.comp.discount[j]))
    slack = ch.slack.copy()
    slack[j] += lift
    part = ch.participation.copy()
    part[j] += lift
    plans = ch.kernel.any_plan
    return bool((slack[plans] >= -1e-7).all() and (part >= -1e-7).all())


# --------------------------------------------------------------------------- worked example


def test_worked_example_completes_in_period_1(hostage: Scenario) -> None:
    r = design(hostage)
    assert r.feasible
    assert r.status == "optimal"
    assert r.completion_period == 1
    assert r.lower_bound == 1
    ok, _ = _passes(hostage, list(r.schedule))
    assert ok
    assert max(t for t, _, _ in r.schedule) == 1
    totals: dict[str, float] = {}
    for _, c, a in r.schedule:
        totals[c] = totals.get(c, 0.0) + a
    assert totals == pytest.approx({"moratorium": 1.0, "dismantle": 1.0, "relief": 1.0})


def test_model_schedule_is_one_of_the_fastest(hostage: Scenario) -> None:
    """docs/model.md §4's schedule (half the relief at 0, half at 1) passes and completes at 1."""
    ok, _ = _passes(
        hostage,
        [(0, "moratorium", 1.0), (0, "dismantle", 1.0), (0, "relief", 0.5), (1, "relief", 0.5)],
    )
    assert ok
    # the designer's tie-break prefers the larger minimum normalised slack
    mine = design(hostage)
    pkg = build_package(hostage)
    ids = hostage.concession_ids
    theirs = schedule_from_steps(3, [(0, 0, 1.0), (0, 1, 1.0), (0, 2, 0.5), (1, 2, 0.5)])
    assert mine.min_slack is not None
    assert mine.min_slack >= check_amounts(pkg, theirs.amounts).min_norm_slack - 1e-12
    assert ids == ("moratorium", "dismantle", "relief")


def test_everything_at_zero_fails_with_dprk_slack_minus_0_7(hostage: Scenario) -> None:
    ok, r = _passes(hostage, [(0, "moratorium", 1.0), (0, "dismantle", 1.0), (0, "relief", 1.0)])
    assert not ok
    dprk = hostage.party_ids.index("DPRK")
    assert r.comply[dprk, 0] - r.best_deviate[dprk, 0] == pytest.approx(-0.7)


def test_horizon_zero_names_the_binding_constraint_and_the_payment(hostage: Scenario) -> None:
    r = design(hostage, horizon=0)
    assert not r.feasible
    assert r.status == "infeasible"
    assert r.completion_period is None
    assert r.schedule == ()
    assert r.side_payment is not None
    assert r.side_payment.party == "DPRK"
    assert r.side_payment.amount == pytest.approx(0.07)  # 0.7 * (1 - 0.9)
    assert r.side_payment.by_party["US"] is None
    assert "DPRK" in r.message
    assert "0.07" in r.message
    assert any(
        b.party == "DPRK" and b.period == 0 and b.plan == "halt" and b.concession == "dismantle" for b in r.binding
    )
    assert _payment_passes(hostage, r)


def test_single_tranche_relief_also_completes_in_period_1(hostage: Scenario) -> None:
    r = design(hostage, tranches={"relief": 1})
    assert r.completion_period == 1
    assert r.provenance.tranches["relief"] == 1


def test_to_dict_contract(hostage: Scenario) -> None:
    r = design(hostage)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["feasible"] is True
    assert d["completion_period"] == 1
    assert {"period", "concession", "amount"} == set(d["schedule"][0])
    assert d["status"] == "optimal"
    assert d["provenance"]["scenario_hash"] == hostage.content_hash
    assert d["provenance"]["version"] == detente.__version__
    assert d["provenance"]["horizon"] == 6
    assert d["provenance"]["tranches"] == {"moratorium": 1, "dismantle": 1, "relief": 2}
    assert d["method"] == "milp"
    assert d["solve_time"] >= 0
    assert d["binding"]
    assert {"party", "period", "plan", "slack", "concession"} <= set(d["binding"][0])


def test_design_accepts_a_path(hostage: Scenario) -> None:
    assert design(FIXTURE).completion_period == 1
    assert design(str(FIXTURE), method="bruteforce").completion_period == 1


def test_min_slack_and_binding_agree_with_the_kernel(hostage: Scenario) -> None:
    r = design(hostage)
    pkg = build_package(hostage)
    ids = hostage.concession_ids
    amounts = schedule_from_steps(3, [(t, ids.index(c), a) for t, c, a in r.schedule]).amounts
    ch = check_amounts(pkg, amounts)
    assert r.min_slack == pytest.approx(ch.min_norm_slack)
    for b in r.binding:
        assert b.normalised == pytest.approx(r.min_slack)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"horizon": -1}, "horizon"),
        ({"horizon": 241}, "240"),
        ({"tranches": {"dismantle": 2}}, "not divisible"),
        ({"tranches": {"relif": 2}}, "did you mean 'relief'"),
        ({"tranches": {"relief": 0}}, "1 to 64"),
        ({"tranches": {"relief": 65}}, "1 to 64"),
        ({"tranches": {"relief": 1.5}}, "whole number"),
        ({"method": "magic"}, "method"),
        ({"time_limit": 0}, "time_limit"),
    ],
)
def test_bad_input_raises_usage_error(hostage: Scenario, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        design(hostage, **kwargs)


def test_indivisible_concession_may_be_given_one_tranche(hostage: Scenario) -> None:
    assert design(hostage, tranches={"dismantle": 1}).completion_period == 1


def test_requires_chain_longer_than_horizon() -> None:
    scn = Scenario.model_validate(
        {
            "parties": [{"id": "A", "discount": 0.9}, {"id": "B", "discount": 0.9}],
            "concessions": [
                {"id": "a", "by": "A", "flow": {"A": -1, "B": 2}},
                {"id": "b", "by": "B", "flow": {"A": 2, "B": -1}, "requires": ["a"]},
                {"id": "c", "by": "A", "flow": {"A": -1, "B": 2}, "requires": ["b"]},
            ],
        }
    )
    r = design(scn, horizon=1)
    assert not r.feasible
    assert r.status == "infeasible"
    assert r.lower_bound == 2
    assert "requires" in r.message


def test_time_limit_is_never_reported_as_infeasible() -> None:
    scn = phased_package(np.random.default_rng(0), n_concessions=12)
    r = design(scn, time_limit=1e-6)
    assert r.status == "time_limit"
    assert "infeasible" not in r.message.lower()
    if r.feasible:
        assert r.schedule


# --------------------------------------------------------------------------- forms and invariants


def test_linear_forms_equal_the_kernel_on_random_schedules() -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(60):
        scn = random_package(rng, horizon=int(rng.integers(0, 5)))
        pkg = build_package(scn)
        T = pkg.horizon
        counts = np.zeros((len(pkg.m), T + 1), dtype=np.int64)
        for k, mk in enumerate(pkg.m):
            for t in rng.integers(0, T + 1, size=mk):
                counts[k, t:] += 1
        x = counts / pkg.m[:, None]
        r = check_counts(pkg, counts).kernel
        for i in range(pkg.comp.n_parties):
            for tau in range(r.comply.shape[1]):
                assert comply_form(pkg.comp, T, i, tau).value(x) == pytest.approx(r.comply[i, tau], abs=1e-9)
                for p in range(2):
                    if r.exists[p, i, tau]:
                        form = slack_form(pkg.comp, T, i, tau, p, int(r.response[p, i, tau]))
                        want = r.comply[i, tau] - r.deviate[p, i, tau]
                        assert form.value(x) == pytest.approx(want, abs=1e-9)
                        checked += 1
    assert checked > 500


def _scaled(scn: Scenario, c: float) -> Scenario:
    data = scn.to_data()
    for con in data["concessions"]:
        con["flow"] = {p: v * c for p, v in con.get("flow", {}).items()}
        if "once" in con:
            con["once"] = {p: v * c for p, v in con["once"].items()}
        if isinstance(con.get("reversible"), dict) and "cost" in con["reversible"]:
            con["reversible"]["cost"] = con["reversible"]["cost"] * c
    return Scenario.model_validate(data)


def test_scaling_all_values_leaves_the_design_unchanged() -> None:
    rng = np.random.default_rng(5)
    for _ in range(8):
        scn = random_package(rng, max_tranches_total=5, horizon=3, p_reversible=0.9)
        a = design(scn)
        b = design(_scaled(scn, 7.5))
        assert a.feasible == b.feasible
        assert a.completion_period == b.completion_period
        if a.feasible:
            assert a.min_slack == pytest.approx(b.min_slack, abs=1e-7)


def test_eta_upper_bound_bounds_the_oracle_max_min() -> None:
    rng = np.random.default_rng(9)
    for _ in range(25):
        scn = random_package(rng, max_tranches_total=4, horizon=2, p_reversible=1.0)
        b = brute_force_design(scn)
        if b.feasible:
            assert b.min_slack is not None
            assert b.min_slack <= eta_upper_bound(build_package(scn)) + 1e-12


def test_design_on_a_phased_package_passes_the_kernel() -> None:
    scn = phased_package(np.random.default_rng(1), n_concessions=10, horizon=8)
    r = design(scn)
    assert r.feasible
    assert r.status == "optimal"
    ok, _ = _passes(scn, list(r.schedule))
    assert ok


# --------------------------------------------------------------------------- rendering


def test_roadmap_lines_by_phase(hostage: Scenario) -> None:
    r = design(hostage)
    lines = roadmap_lines(r, hostage)
    assert lines[0] == "The fastest self-enforcing schedule completes in month 1."
    assert "Phase 1, month 0: DPRK moratorium, dismantle" in lines
    assert "Phase 2, month 1: US relief" in lines
    assert any("Binding constraints" in line for line in lines)


def test_roadmap_uses_labels_and_shares() -> None:
    scn = Scenario.model_validate(
        {
            "period": "quarter",
            "parties": [{"id": "US", "discount": 0.9}, {"id": "DPRK", "discount": 0.9}],
            "concessions": [
                {
                    "id": "m",
                    "name": "test moratorium",
                    "by": "DPRK",
                    "flow": {"US": 2, "DPRK": -0.5},
                    "reversible": {"delay": 0, "cost": 0},
                },
                {
                    "id": "r",
                    "name": "sanctions relief",
                    "by": "US",
                    "flow": {"US": -1, "DPRK": 3},
                    "reversible": {"delay": 1, "cost": 0},
                    "divisible": True,
                },
            ],
        }
    )
    result = DesignResult(
        feasible=True,
        status="optimal",
        completion_period=1,
        schedule=((0, "m", 1.0), (0, "r", 0.25), (1, "r", 0.75)),
        min_slack=0.1,
        binding=(),
        side_payment=None,
        solve_time=0.0,
        method="milp",
        provenance=design(scn, horizon=1).provenance,
        lower_bound=1,
        message="The fastest self-enforcing schedule completes in quarter 1.",
    )
    lines = roadmap_lines(result, scn)
    assert "Phase 1, quarter 0: DPRK test moratorium; US 25 % of sanctions relief" in lines
    assert "Phase 2, quarter 1: US 75 % of sanctions relief" in lines


def test_schedule_yaml_round_trips_into_a_scenario(hostage: Scenario) -> None:
    r = design(hostage, tranches={"relief": 3}, horizon=3)
    assert r.feasible
    text = to_schedule_yaml(r)
    steps = yaml.safe_load(text)
    assert all(set(s) == {"period", "concession", "amount"} for s in steps)
    data = hostage.to_data()
    data["schedule"] = steps
    again = Scenario.model_validate(data)
    assert again.schedule is not None
    sched = compile_schedule(again, again.schedule)
    r2 = run_kernel(build_package(again).comp, sched.amounts)
    assert ((r2.comply - r2.best_deviate)[r2.any_plan] >= -TOL).all()


def test_schedule_yaml_of_an_infeasible_result_is_empty(hostage: Scenario) -> None:
    assert yaml.safe_load(to_schedule_yaml(design(hostage, horizon=0))) == []


def test_infeasible_roadmap_gives_the_payment(hostage: Scenario) -> None:
    lines = roadmap_lines(design(hostage, horizon=0), hostage)
    assert lines[0].startswith("No self-enforcing schedule")
    assert any("With that payment to DPRK" in line for line in lines)


def test_time_limited_search_returns_a_checked_fallback() -> None:
    """A hard package under a short limit: a verified schedule or none, and a proved bound."""
    scn = phased_package(np.random.default_rng(3), discount=(0.8, 0.9), gain_ratio=(1.2, 1.5))
    r = design(scn, time_limit=3.0)
    assert r.status in ("time_limit", "optimal")
    assert r.solve_time < 30.0
    if r.feasible:
        ok, _ = _passes(scn, list(r.schedule))
        assert ok
        assert r.completion_period is not None
        assert r.lower_bound <= r.completion_period
    if r.status == "time_limit":
        assert "infeasible" not in r.message.lower()


def test_time_limited_search_keeps_the_hard_period_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a time limit a period that the first, budgeted attempt does not settle is tried
    once more with all the time left (after a probe for a fallback schedule), not restarted
    with doubling budgets that each throw the branch-and-bound tree away."""
    import time
    from types import SimpleNamespace

    from detente.design import milp
    from detente.design.search import _Found, _Search

    calls: list[tuple[int, bool]] = []

    def fake_lazy(search: Any, T: int, objective: str = "feasible", *, until: float | None = None, **_: Any) -> _Found:
        calls.append((T, until is not None))
        if T == 1 and until is not None:
            return _Found("time_limit")
        if T <= 1:
            return _Found("infeasible")
        counts = np.zeros((1, T + 1), dtype=np.int64)
        counts[0, T] = 1  # completes in period T
        return _Found("optimal", counts, SimpleNamespace(ok=True))  # type: ignore[arg-type]

    monkeypatch.setattr(milp, "_lazy", fake_lazy)
    search = _Search(SimpleNamespace(lower_bound=0, horizon=6), time.perf_counter() + 60.0)  # type: ignore[arg-type]
    out = milp._fastest(search)
    assert (out.status, out.lower) == ("optimal", 2)
    # period 1: one budgeted attempt, a probe of period 2 (a fallback), then period 1 unbudgeted
    assert calls == [(0, True), (1, True), (2, True), (1, False)]


def test_tie_break_from_the_upper_bound_agrees_with_the_full_max_min() -> None:
    """The tie-break first tries a master held at the η upper bound; its answer must be the
    full max-min's, both where the bound is attained and where it is not."""
    from detente.design.milp import _tie_break
    from detente.design.search import _lazy, _Search

    rng = np.random.default_rng(17)
    at_bound = below = 0
    for _ in range(40):
        scn = random_package(rng, max_tranches_total=6, horizon=int(rng.integers(1, 5)))
        r = design(scn)
        if not r.feasible or r.completion_period is None:
            continue
        pkg = build_package(scn)
        fast = _tie_break(_Search(pkg, None), r.completion_period)
        full = _lazy(_Search(pkg, None), r.completion_period, "maxmin", eta_lb=0.0)
        assert fast.status == full.status == "optimal"
        assert fast.check is not None
        assert full.check is not None
        assert fast.check.min_norm_slack == pytest.approx(full.check.min_norm_slack, abs=1e-7)
        if fast.check.min_norm_slack >= eta_upper_bound(pkg) - 1e-7:
            at_bound += 1
        else:
            below += 1
    assert at_bound > 0
    assert below > 0


# ----------------------------------------------------------------------------- pace


def _with_pace(scn: detente.Scenario, pace: dict[str, int], tranches: dict[str, int] | None = None) -> detente.Scenario:
    data = scn.to_data()
    data.setdefault("design", {})["pace"] = pace
    if tranches is not None:
        data["design"]["tranches"] = tranches
    return detente.Scenario.model_validate(data)


def test_pace_spaces_tranches_and_agrees_with_brute_force() -> None:
    from detente.design.bruteforce import brute_force_design
    from detente.design.milp import design

    paced = _with_pace(detente.load("worked-hostage"), {"relief": 2})
    fast = design(paced, 5)
    slow = brute_force_design(paced, 5)
    assert fast.completion_period == slow.completion_period == 2
    relief = [t for t, k, _ in fast.schedule if k == "relief"]
    assert len(relief) == 2
    assert relief[1] - relief[0] >= 2


def test_hanoi_design_respects_its_pace() -> None:
    from detente.design.milp import design

    scn = detente.load("hanoi-2019")
    result = design(scn)
    assert result.feasible
    assert result.completion_period is not None
    assert result.completion_period >= 18  # four ICBM quarters, six months apart
    icbm = sorted(t for t, k, _ in result.schedule if k == "icbm")
    assert all(b - a >= 6 for a, b in itertools.pairwise(icbm))
    assert detente.check(
        scn, [detente.Step(period=t, concession=k, amount=a) for t, k, a in result.schedule]
    ).self_enforcing


def test_pace_for_an_unknown_concession_is_refused() -> None:
    with pytest.raises(detente.ScenarioError, match="unknown concession 'relif'"):
        _with_pace(detente.load("worked-hostage"), {"relif": 2})
