"""The simulation engine: consistency with the check, the strategy contract, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import detente
from detente.core.errors import UsageError
from detente.simulation.engine import run_batch
from detente.simulation.setup import build_setup
from detente.simulation.simulate import simulate
from detente.simulation.strategies.base import REGISTRY, Strategy, View, make_strategy, register

HANOI = detente.load("hanoi-2019")
HOSTAGE = detente.load("worked-hostage")
FRONT = detente.load("worked-front-loaded")


@pytest.mark.parametrize("schedule", ["phased", "dprk-offer", "us-big-deal"])
@pytest.mark.parametrize("strategy", ["faithful", "reciprocal"])
def test_perfect_play_equals_the_checks_participation(schedule: str, strategy: str) -> None:
    calm = {"hazard_base": 0.0, "hazard_growth": 0.0}  # no domestic clock: docs/model.md §5's setting
    report = detente.check(HANOI, schedule, params=calm)
    res = simulate(HANOI, {"US": strategy, "DPRK": strategy}, 50, seed=3, schedule=schedule, horizon=60, params=calm)
    expected = np.array([report.participation[p] for p in HANOI.party_ids])
    assert np.abs(res.value - expected).max() < 1e-9


@pytest.mark.parametrize(
    ("scn", "schedule", "deviator"),
    [(HOSTAGE, "hostage", "DPRK"), (HOSTAGE, "all-at-once", "DPRK"), (FRONT, None, "US")],
)
def test_opportunist_earns_the_deviation_value(scn, schedule, deviator: str) -> None:
    report = detente.check(scn, schedule)
    first = next(c for c in report.constraints if c.party == deviator and c.violated)
    i = scn.party_ids.index(deviator)
    delta = float(scn.party(deviator).discount)
    comply = report.comply[deviator]
    # flows up to τ, then discount^τ · D_i(τ)
    expected = comply[0] - delta**first.period * comply[first.period] + delta**first.period * first.deviate
    other = next(p for p in scn.party_ids if p != deviator)
    res = simulate(scn, {deviator: "opportunist", other: "reciprocal"}, 20, seed=1, schedule=schedule, horizon=40)
    assert res.value[:, i] == pytest.approx(np.full(20, expected), abs=1e-9)


def test_seen_breach_triggers_the_response_at_the_checks_period() -> None:
    res = simulate(HOSTAGE, {"DPRK": "opportunist", "US": "reciprocal"}, 5, seed=0, schedule="hostage", horizon=30)
    # deciding in 1 to withhold the dismantlement due in 2 makes 2 the first missed step
    assert set(res.first_breach_period.tolist()) == {2}
    assert set(res.first_breach_party.tolist()) == {1}


def test_false_alarms_and_missed_detection_change_outcomes() -> None:
    calm = {"hazard_base": 0.0, "hazard_growth": 0.0}
    noisy = HANOI.with_fields({"moratorium.verification.false_alarm": 0.05})
    res = simulate(noisy, {}, 2000, seed=7, schedule="phased", horizon=60, params=calm)
    clean = simulate(HANOI, {}, 2000, seed=7, schedule="phased", horizon=60, params=calm)
    assert (res.first_breach_period >= 0).mean() > 0.5
    assert (clean.first_breach_period >= 0).mean() == 0.0
    assert res.value[:, 0].mean() < clean.value[:, 0].mean()


def test_same_seed_same_result_different_seed_different() -> None:
    noisy = HANOI.with_fields({"yongbyon.verification.detect": 0.5, "relief.verification.false_alarm": 0.02})
    a = simulate(noisy, {}, 3000, seed=11, schedule="phased", horizon=60)
    b = simulate(noisy, {}, 3000, seed=11, schedule="phased", horizon=60)
    c = simulate(noisy, {}, 3000, seed=12, schedule="phased", horizon=60)
    assert np.array_equal(a.value, b.value)
    assert not np.array_equal(a.value, c.value)


def test_summary_contract() -> None:
    res = simulate(HANOI, {"US": "reciprocal", "DPRK": "hedger"}, 500, seed=1, schedule="phased")
    s = res.summary()
    assert s["episodes"] == 500
    assert s["seed"] == 1
    us = s["parties"]["US"]
    assert set(us["value"]) >= {"mean", "ci95"}
    assert len(us["value"]["ci95"]) == 2
    assert "mean" in us["package_in_force"]
    assert 0.0 <= s["crisis_rate"] <= 1.0
    assert s["provenance"]["scenario_hash"] == HANOI.content_hash


# ----------------------------------------------------------------------------- strategy contract


class TestStrategyContract:
    """Every registered strategy: vectorised shapes, seeded determinism, reset, pickling."""

    @pytest.fixture(params=sorted(REGISTRY))
    def name(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    def _party(self, name: str) -> str:
        cls = REGISTRY[name]
        return "US" if cls.classifier.get("side") == "sender" else "DPRK"

    def test_traits_are_data(self, name: str) -> None:
        cls = REGISTRY[name]
        assert {"stochastic", "memory_depth", "side", "reneges"} <= set(cls.classifier)
        assert cls.classifier["side"] in ("any", "sender", "target")

    def test_vectorised_shape(self, name: str) -> None:
        setup = build_setup(HANOI, "phased")
        strat = make_strategy(name)
        n = 7
        strat.reset(setup, 1, n, np.random.default_rng(0))
        S, K = setup.n_steps, setup.comp.n_concessions
        view = View(
            t=0,
            party=1,
            n_episodes=n,
            step_period=setup.step_period,
            step_concession=setup.step_concession,
            step_giver=setup.step_giver,
            step_amount=setup.step_amount,
            own_steps=setup.step_giver == 1,
            own_concessions=setup.comp.giver == 1,
            reversible=setup.comp.reversible,
            fragile=setup.comp.fragile,
            due=np.ones((n, S), bool),
            in_force=np.zeros((n, K)),
            undone=np.zeros((n, K), bool),
            seen_performed=np.zeros((n, S), bool),
            breach_now=np.zeros((n, 2), bool),
            breach_ever=np.zeros((n, 2), bool),
            crisis=np.zeros(n, bool),
        )
        perform, undo = strat.decide(view)
        assert perform.shape == (n, S)
        assert perform.dtype == bool
        assert undo.shape == (n, K)
        assert undo.dtype == bool

    def test_seeded_determinism_and_reset(self, name: str) -> None:
        scn = HANOI.with_fields({"yongbyon.verification.detect": 0.6})
        strat = make_strategy(name)
        party = self._party(name)
        one = simulate(scn, {party: strat}, 300, seed=5, schedule="phased", horizon=40)
        two = simulate(scn, {party: strat}, 300, seed=5, schedule="phased", horizon=40)  # reused instance
        assert np.array_equal(one.value, two.value)
        assert np.array_equal(one.first_breach_period, two.first_breach_period)

    def test_pickling(self, name: str) -> None:
        strat = make_strategy(name)
        clone = pickle.loads(pickle.dumps(strat))
        assert type(clone) is type(strat)
        assert clone.params == strat.params
        party = self._party(name)
        a = simulate(HANOI, {party: strat}, 50, seed=2, schedule="phased", horizon=40)
        b = simulate(HANOI, {party: clone}, 50, seed=2, schedule="phased", horizon=40)
        assert np.array_equal(a.value, b.value)


def test_users_can_register_a_strategy() -> None:
    @register
    class Stubborn(Strategy):
        """Performs nothing, ever."""

        name = "test-stubborn"

        def decide(self, view: View):  # type: ignore[no-untyped-def]
            return view.nothing()

    try:
        res = simulate(HANOI, {"DPRK": "test-stubborn"}, 10, seed=1, schedule="phased", horizon=40)
        assert (res.package_in_force[:, 1] == 0).all()
    finally:
        REGISTRY.pop("test-stubborn")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"strategies": {"DPRK": "hedgr"}}, "did you mean 'hedger'"),
        ({"strategies": {"USA": "reciprocal"}}, "did you mean 'US'"),
        ({"episodes": 0}, "at least 1"),
        ({"episodes": 10**8 + 1}, "refused"),
        ({"horizon": 10**4 + 1}, "horizon"),
        ({"horizon": 10}, "above it"),
        ({"strategies": {"DPRK": "grit(q=2)"}}, "no parameter 'q'"),
    ],
)
def test_bad_input(kwargs: dict, needle: str) -> None:
    args = {"strategies": {}, "episodes": 10, "horizon": 60}
    args.update(kwargs)
    with pytest.raises(UsageError, match=None) as err:
        simulate(HANOI, args["strategies"], args["episodes"], 1, schedule="phased", horizon=args["horizon"])
    assert needle in str(err.value)


def test_run_batch_needs_one_strategy_per_party() -> None:
    setup = build_setup(HANOI, "phased")
    with pytest.raises(UsageError):
        run_batch(setup, [make_strategy("faithful")], 4, 30, np.random.default_rng(0))


def test_hazard_and_maximum_pressure_bring_crises() -> None:
    pressure = simulate(HANOI, {"US": "maximum-pressure", "DPRK": "reciprocal"}, 2000, seed=3, schedule="phased")
    phased = simulate(HANOI, {"US": "reciprocal", "DPRK": "reciprocal"}, 2000, seed=3, schedule="phased")
    assert pressure.crisis_rate > 0.5 > phased.crisis_rate
    assert (pressure.crisis_period[pressure.crisis] > 0).all()


def test_maximum_pressure_is_for_the_sender() -> None:
    with pytest.raises(UsageError, match="target"):
        simulate(HANOI, {"DPRK": "maximum-pressure"}, 10, seed=1, schedule="phased")


def test_dated_and_random_shocks() -> None:
    data = HANOI.to_data()
    data["environment"]["shocks"] = [
        {"name": "leak", "at": 10, "set": {"leakage": 0.9}},
        {"name": "purge", "probability": 0.05, "set": {"relief_share": 0.6}},
    ]
    shocked = detente.Scenario.model_validate(data)
    calm = {"hazard_base": 0.0, "hazard_growth": 0.0}
    base = simulate(HANOI, {}, 500, seed=4, schedule="phased", params=calm)
    res = simulate(shocked, {}, 500, seed=4, schedule="phased", params=calm)
    # relief is worth less to the DPRK after the leak, so its value falls in every episode
    assert (res.value[:, 1] < base.value[:, 1] - 1e-9).all()
    assert np.unique(res.value[:, 1]).size > 1  # the random purge arrives at different times


# ----------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402

from strategies_check import scenario_data  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data())
def test_simulation_matches_the_check_on_random_scenarios(data: dict) -> None:
    """Perfect verification, no hazard: reciprocal play earns V_i(0) when the schedule is
    self-enforcing; and an opportunist earns flows up to τ plus discount^τ · D_i(τ)."""
    scn = detente.Scenario.model_validate(data)
    report = detente.check(scn)
    last = max((s.period for s in scn.get_schedule()), default=0)
    horizon = int(last) + 40
    if report.self_enforcing:
        res = simulate(scn, {}, 3, seed=0, horizon=horizon)
        expected = np.array([report.participation[p] for p in scn.party_ids])
        assert np.abs(res.value - expected).max() < 1e-9 * max(1.0, np.abs(expected).max())
    for pid in scn.party_ids:
        tempted = [c for c in report.constraints if c.party == pid and c.violated]
        if not tempted:
            continue
        first = tempted[0]
        others_tempted = any(
            c.violated for c in report.constraints if c.party != pid and c.period < first.response_period
        )
        if others_tempted:
            continue  # reciprocal partners follow the schedule only when they are not tempted themselves
        strategies = dict.fromkeys(scn.party_ids, "reciprocal")
        strategies[pid] = "opportunist"
        res = simulate(scn, strategies, 2, seed=0, horizon=horizon)
        delta = float(scn.party(pid).discount)
        comply = report.comply[pid]
        tau = first.period
        expected_i = comply[0] - delta**tau * comply[tau] + delta**tau * first.deviate
        i = scn.party_ids.index(pid)
        assert res.value[0, i] == pytest.approx(expected_i, rel=1e-9, abs=1e-9)


def test_simulate_command_records_its_run(tmp_path) -> None:
    import json
    import subprocess
    import sys

    store = tmp_path / "runs.duckdb"
    cmd = [sys.executable, "-m", "detente", "simulate", "hanoi-2019", "-s", "phased", "-n", "200", "--seed", "1"]
    out = subprocess.run([*cmd, "--json", "--store", str(store)], capture_output=True, text=True, check=True)
    run_id = json.loads(out.stdout)["run_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "detente", "runs", "show", run_id, "--json", "--store", str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(shown.stdout)
    assert data["run_id"] == run_id
    assert data["completed"] == data["points"] == 1
