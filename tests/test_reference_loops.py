"""Tests of the loop-based reference self-enforcement check on the worked examples."""

from __future__ import annotations

import pytest

from reference.enforcement_loops import path_values, reference_check

TOL = 1e-9


def _case(schedule: list[dict]) -> dict:
    return {
        "parties": [{"id": "US", "discount": 0.9}, {"id": "DPRK", "discount": 0.9}],
        "concessions": [
            {
                "id": "moratorium",
                "by": "DPRK",
                "flow": {"US": 2, "DPRK": -0.5},
                "reversible": {"delay": 0, "cost": 0},
            },
            {
                "id": "dismantle",
                "by": "DPRK",
                "flow": {"US": 3, "DPRK": -2},
                "verification_lag": 1,
                "reversible": False,
            },
            {
                "id": "relief",
                "by": "US",
                "flow": {"US": -1, "DPRK": 3},
                "reversible": {"delay": 1, "cost": 0},
                "divisible": True,
            },
        ],
        "schedule": schedule,
    }


FRONT_LOADED = _case(
    [
        {"period": 0, "concession": "dismantle"},
        {"period": 1, "concession": "relief"},
    ]
)
STAGED = _case(
    [
        {"period": 0, "concession": "moratorium"},
        {"period": 1, "concession": "relief"},
        {"period": 2, "concession": "dismantle"},
    ]
)
ALL_AT_ZERO = _case(
    [
        {"period": 0, "concession": "moratorium"},
        {"period": 0, "concession": "dismantle"},
        {"period": 0, "concession": "relief"},
    ]
)
SPLIT_RELIEF = _case(
    [
        {"period": 0, "concession": "moratorium"},
        {"period": 0, "concession": "dismantle"},
        {"period": 0, "concession": "relief", "amount": 0.5},
        {"period": 1, "concession": "relief", "amount": 0.5},
    ]
)


def _constraint(result: dict, party: str, period: int) -> dict:
    matches = [c for c in result["constraints"] if c["party"] == party and c["period"] == period]
    assert len(matches) == 1, (party, period, result["constraints"])
    return matches[0]


def test_front_loaded_full_table() -> None:
    result = reference_check(FRONT_LOADED)
    expected = [
        # party, tau, comply, deviate, slack, plan, response_period
        ("US", 0, 21.0, 30.0, -9.0, "halt", 2),
        ("US", 1, 20.0, 30.0, -10.0, "halt", 2),
        ("US", 2, 20.0, 29.0, -9.0, "halt_and_reverse", 4),
        ("DPRK", 0, 7.0, 5.13, 1.87, "halt", 2),
    ]
    assert [(c["party"], c["period"]) for c in result["constraints"]] == [(p, t) for p, t, *_ in expected]
    for party, tau, comply, deviate, slack, plan, rho in expected:
        c = _constraint(result, party, tau)
        assert c["comply"] == pytest.approx(comply, abs=TOL)
        assert c["deviate"] == pytest.approx(deviate, abs=TOL)
        assert c["slack"] == pytest.approx(slack, abs=TOL)
        assert c["plan"] == plan
        assert c["response_period"] == rho
        assert c["seen"] == rho - 1
    assert result["participation"]["US"] == pytest.approx(21.0, abs=TOL)
    assert result["participation"]["DPRK"] == pytest.approx(7.0, abs=TOL)
    assert result["self_enforcing"] is False


def test_front_loaded_comply_values() -> None:
    result = reference_check(FRONT_LOADED)
    # H = 1, so V_i(0), V_i(1), V_i(2)
    assert result["comply"]["US"] == pytest.approx([21.0, 20.0, 20.0], abs=TOL)
    assert result["comply"]["DPRK"] == pytest.approx([7.0, 10.0, 10.0], abs=TOL)


def test_front_loaded_path_values() -> None:
    # US halts at 0: DPRK's dismantle stays, relief never happens
    values = path_values(FRONT_LOADED, "US", 0, "halt")
    assert values is not None
    assert values["US"] == pytest.approx(30.0, abs=TOL)
    assert values["DPRK"] == pytest.approx(-20.0, abs=TOL)
    # US has nothing fragile in force at 0 or 1
    assert path_values(FRONT_LOADED, "US", 0, "halt_and_reverse") is None
    assert path_values(FRONT_LOADED, "US", 1, "halt_and_reverse") is None
    # US has no steps left at 2
    assert path_values(FRONT_LOADED, "US", 2, "halt") is None
    # DPRK has no steps after 0 and nothing reversible
    assert path_values(FRONT_LOADED, "DPRK", 1, "halt") is None
    assert path_values(FRONT_LOADED, "DPRK", 1, "halt_and_reverse") is None
    # DPRK halts at 0: relief at 1 happens, US undoes it at 2 (effect at 3)
    values = path_values(FRONT_LOADED, "DPRK", 0, "halt")
    assert values["DPRK"] == pytest.approx(0.9 * 3 + 0.81 * 3, abs=TOL)
    assert values["US"] == pytest.approx(-0.9 - 0.81, abs=TOL)


def test_staged_dprk_tau1() -> None:
    result = reference_check(STAGED)
    c = _constraint(result, "DPRK", 1)
    assert c["comply"] == pytest.approx(7.0, abs=TOL)
    assert c["deviate"] == pytest.approx(8.962, abs=TOL)
    assert c["slack"] == pytest.approx(-1.962, abs=TOL)
    assert c["plan"] == "halt"
    assert c["seen"] == 3
    assert c["response_period"] == 4
    # the alternative plan is worse: undo moratorium at 1, seen at 1, response at 2
    alt = path_values(STAGED, "DPRK", 1, "halt_and_reverse")
    assert alt is not None
    assert alt["DPRK"] == pytest.approx(3 + 0.9 * 3, abs=TOL)
    assert result["self_enforcing"] is False


def test_all_at_zero_dprk_tau0() -> None:
    result = reference_check(ALL_AT_ZERO)
    c = _constraint(result, "DPRK", 0)
    assert c["comply"] == pytest.approx(5.0, abs=TOL)
    assert c["deviate"] == pytest.approx(5.7, abs=TOL)
    assert c["slack"] == pytest.approx(-0.7, abs=TOL)
    assert c["plan"] == "halt"
    assert c["seen"] == 0
    assert c["response_period"] == 1
    assert result["self_enforcing"] is False


def test_split_relief_is_self_enforcing() -> None:
    result = reference_check(SPLIT_RELIEF)
    assert result["self_enforcing"] is True
    assert all(c["slack"] >= -TOL for c in result["constraints"])
    assert all(v >= -TOL for v in result["participation"].values())
    assert result["constraints"], "expected at least one incentive constraint"


def test_constraints_sorted_by_party_order_then_period() -> None:
    for data in (FRONT_LOADED, STAGED, ALL_AT_ZERO, SPLIT_RELIEF):
        result = reference_check(data)
        order = {"US": 0, "DPRK": 1}
        keys = [(order[c["party"]], c["period"]) for c in result["constraints"]]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("data", [FRONT_LOADED, STAGED, ALL_AT_ZERO, SPLIT_RELIEF])
def test_reported_plan_is_the_better_one(data: dict) -> None:
    result = reference_check(data)
    for c in result["constraints"]:
        halt = path_values(data, c["party"], c["period"], "halt")
        rev = path_values(data, c["party"], c["period"], "halt_and_reverse")
        options = {name: v[c["party"]] for name, v in (("halt", halt), ("halt_and_reverse", rev)) if v}
        assert options
        best = max(options.values())
        assert c["deviate"] == pytest.approx(best, abs=1e-12)
        if "halt" in options and options["halt"] >= best - 1e-12:
            assert c["plan"] == "halt"
        else:
            assert c["plan"] == "halt_and_reverse"


def test_defaults_and_once_values() -> None:
    data = {
        "parties": [{"id": "A", "discount": 0.5}, {"id": "B", "discount": 0.5}],
        "concessions": [{"id": "k", "by": "A", "once": {"B": 4}, "flow": {"A": -1}}],
        "schedule": [{"period": 2, "concession": "k"}],
    }
    result = reference_check(data)
    # B: 4 received at period 2 -> 4 * 0.25; A: -1 per period from 2 on -> -0.25 / 0.5
    assert result["participation"]["B"] == pytest.approx(1.0, abs=1e-12)
    assert result["participation"]["A"] == pytest.approx(-0.5, abs=1e-12)
    assert result["self_enforcing"] is False
