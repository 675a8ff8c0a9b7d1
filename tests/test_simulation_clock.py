"""The domestic clock (docs/model.md §5) and values against no deal.

With ``base: 0, growth: 1`` the hazard is 0 while the clock is at 0 and 1 once it has run a
single period, so a party walks away exactly in the first period in which it received nothing
from the process: the crisis period (one after that) reads the clock off deterministically.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detente
from detente.core.scenario import Scenario
from detente.simulation import no_deal_values
from detente.simulation.engine import run_batch, run_no_deal_batch
from detente.simulation.setup import build_setup
from detente.simulation.simulate import simulate
from detente.simulation.strategies.base import Decision, Strategy, View, make_strategy
from detente.simulation.tournament import tournament
from strategies_check import scenario_data

HANOI = detente.load("hanoi-2019")


class Idle(Strategy):
    """Performs nothing and undoes nothing: no deal."""

    name = "test-idle"

    def decide(self, view: View) -> Decision:
        return view.nothing()


class Quitter(Strategy):
    """Performs its steps when due before period ``tau``, none from then on; never undoes."""

    name = "test-quitter"

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"tau": 0}

    def decide(self, view: View) -> Decision:
        if view.t >= int(self.params["tau"]):
            return view.nothing()
        return view.own_due(), np.zeros((view.n_episodes, view.fragile.size), bool)


def _crisis_when(periods: np.ndarray) -> np.ndarray:
    """Crisis periods with 'never' (-1) as infinity, for ordering."""
    return np.where(periods < 0, np.inf, periods.astype(float))


# ----------------------------------------------------------------------------- the clock, table-driven

TOY = """
name: clock toy
parties:
  - {id: A, discount: 0.9}
  - {id: B, discount: 0.9}
concessions:
  - {id: aid, by: A, flow: {A: -0.1, B: 1.0}, divisible: true, reversible: {delay: 0, cost: 0}}
  - {id: office, by: A, flow: {A: 0.0, B: 0.1}, reversible: {delay: 0, cost: 0}}
  - {id: cut, by: B, flow: {A: 1.0, B: -0.5}, divisible: true}
schedules:
  tranches:
    - {period: 0, concession: aid, amount: 0.25}
    - {period: 1, concession: aid, amount: 0.25}
    - {period: 2, concession: aid, amount: 0.5}
  office-only:
    - {period: 0, concession: office}
  own-cost-late:
    - {period: 0, concession: aid, amount: 0.5}
    - {period: 1, concession: cut, amount: 0.5}
    - {period: 3, concession: cut, amount: 0.5}
environment:
  hazard:
    B: {base: 0, growth: 1}
  crisis: {A: -1, B: -1}
"""


def _toy(enough: float | None = None, shocked: bool = False) -> Scenario:
    scn = detente.loads(TOY, "toy.yaml")
    if enough is None and not shocked:
        return scn
    data = scn.to_data()
    if enough is not None:
        data["environment"]["hazard"]["B"]["enough"] = enough
    if shocked:
        # two variants with the same numbers: the per-variant path must give the same clock
        data["parameters"] = {"unused": {"value": 1.0}}
        data["environment"]["shocks"] = [{"name": "noise", "probability": 0.5, "set": {"unused": 2.0}}]
    return Scenario.model_validate(data)


@pytest.mark.parametrize(
    ("schedule", "strategies", "enough", "crisis_period"),
    [
        # a new benefiting step in 0, 1 and 2; the first period without one is 3
        ("tranches", {}, None, 4),
        # the office stays open for ever, yet it is nothing new: the clock runs from period 1
        ("office-only", {}, None, 2),
        # the same office is enough when the party says so
        ("office-only", {}, 0.1, -1),
        # half the aid in force (0.5) is enough at 0.5 from period 1 on, never at 0.6
        ("tranches", {}, 0.5, -1),
        ("tranches", {}, 1.5, 4),
        # B's own dismantlement in 1 and 3 neither starts nor stops its clock: A's step in 0 is
        # the last thing B receives, so it walks in 1
        ("own-cost-late", {}, None, 2),
        # no deal: nothing ever arrives
        ("tranches", {"A": Idle(), "B": Idle()}, None, 1),
        # A stops after its first tranche: the clock runs on after the breakdown
        ("tranches", {"A": Quitter(tau=1)}, None, 2),
    ],
)
@pytest.mark.parametrize("shocked", [False, True])
def test_the_clock_counts_periods_without_something_new_from_the_others(
    schedule: str, strategies: dict[str, Any], enough: float | None, crisis_period: int, shocked: bool
) -> None:
    res = simulate(_toy(enough, shocked), strategies, 5, seed=0, schedule=schedule, horizon=20)
    assert res.crisis_period.tolist() == [crisis_period] * 5


def test_a_positive_net_flow_is_not_something_new() -> None:
    """The office gives B a positive flow in every period, which the old clock (net flow > 0)
    took as a gain for ever; B walks away as soon as nothing new arrives."""
    res = simulate(_toy(), {}, 5, seed=0, schedule="office-only", horizon=20)
    assert (res.crisis_period == 2).all()


def test_enough_must_be_positive() -> None:
    text = TOY.replace("B: {base: 0, growth: 1}", "B: {base: 0, growth: 1, enough: 0}")
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "toy.yaml")
    assert "toy.yaml:" in str(info.value)
    assert "environment.hazard.B.enough: expected an enough > 0, found 0" in str(info.value)
    assert info.value.exit_code == 2


def test_hanoi_phased_complying_is_safer_than_hedging() -> None:
    """The inversion the old clock produced (a complying DPRK in crisis more often than a
    hedging one, whose liaison office reset the clock for ever) is gone."""
    comply = simulate(HANOI, {"US": "reciprocal", "DPRK": "reciprocal"}, 2000, seed=1, schedule="phased")
    hedge = simulate(HANOI, {"US": "reciprocal", "DPRK": "hedger"}, 2000, seed=1, schedule="phased")
    assert comply.crisis_rate < hedge.crisis_rate


@pytest.mark.parametrize(
    ("strategies", "crisis", "package"),
    [
        # what README.md quotes at 10,000 episodes: 7.1 %, 96 %; 100.0 %, 0 %; 100.0 %, 12 %
        ({"US": "reciprocal", "DPRK": "reciprocal"}, (0.05, 0.095), (0.94, 0.98)),
        ({"US": "reciprocal", "DPRK": "hedger"}, (0.99, 1.0), (0.0, 0.0)),
        ({"US": "maximum-pressure", "DPRK": "reciprocal"}, (0.99, 1.0), (0.12, 0.13)),
    ],
)
def test_hanoi_phased_outcomes(strategies: dict[str, str], crisis: tuple[float, float], package: tuple) -> None:
    s = simulate(HANOI, strategies, 3000, seed=1, schedule="phased").summary()
    assert crisis[0] <= s["crisis_rate"] <= crisis[1]
    assert package[0] <= s["parties"]["DPRK"]["package_in_force"]["mean"] <= package[1]


# ----------------------------------------------------------------------------- no deal


def test_the_no_deal_loop_equals_the_engine_with_nobody_performing() -> None:
    data = HANOI.to_data()
    data["environment"]["shocks"] = [
        {"name": "leak", "at": 10, "set": {"leakage": 0.9, "hazard_growth": 0.004}},
        {"name": "purge", "probability": 0.05, "set": {"crisis_cost_dprk": 2.0}},
    ]
    for scn in (HANOI, Scenario.model_validate(data)):
        setup = build_setup(scn, "phased")
        engine = run_batch(setup, [Idle(), Idle()], 500, 80, np.random.default_rng(9))
        loop = run_no_deal_batch(setup, 500, 80, np.random.default_rng(9))
        assert engine.crisis.mean() > 0.1
        assert np.abs(engine.value - loop).max() < 1e-9


def test_no_deal_is_worth_nothing_without_a_hazard() -> None:
    calm = {"hazard_base": 0.0, "hazard_growth": 0.0}
    assert no_deal_values(HANOI, calm, seed=1, episodes=100) == {"US": 0.0, "DPRK": 0.0}
    res = simulate(HANOI, {}, 50, seed=3, schedule="phased", params=calm)
    s = res.summary()
    report = detente.check(HANOI, "phased", params=calm)
    for pid in HANOI.party_ids:
        assert s["parties"][pid]["value_vs_no_deal"]["mean"] == pytest.approx(report.participation[pid], abs=1e-9)


def test_values_against_no_deal_in_the_summary_and_the_public_function() -> None:
    res = simulate(HANOI, {"US": "reciprocal", "DPRK": "hedger"}, 3000, seed=5, schedule="phased")
    s = res.summary()
    assert "no deal" in s["no_deal"]
    assert "same environment" in s["no_deal"]
    base = no_deal_values(HANOI, None, seed=5, episodes=3000)
    for i, pid in enumerate(HANOI.party_ids):
        row = s["parties"][pid]
        assert {"value", "package_in_force", "first_breach_share", "strategy"} <= set(row)
        assert row["no_deal_value"]["mean"] == pytest.approx(base[pid], abs=1e-12)
        assert row["no_deal_value"]["mean"] < 0  # the clock runs from period 0 under no deal
        assert row["value_vs_no_deal"]["mean"] == pytest.approx(res.value[:, i].mean() - base[pid], abs=1e-9)
    assert "value_vs_no_deal.DPRK" in res.to_records()[0]


def test_tournament_states_values_against_no_deal() -> None:
    res = tournament(HANOI, {"US": ["reciprocal"], "DPRK": ["reciprocal", "hedger"]}, 300, seed=2, schedule="phased")
    d = res.to_dict()
    assert "no deal" in d["no_deal"]
    for pid in HANOI.party_ids:
        for c in range(2):
            expected = d["value"][pid][0][c] - d["value_vs_no_deal"][pid][0][c]
            # each pairing's own baseline, near the pooled one
            assert abs(expected - d["no_deal_value"][pid]) < 0.15 * abs(d["no_deal_value"][pid]) + 0.5
    from detente.report.html import _best_replies

    lines = _best_replies(d)
    assert "against no deal" in lines[0]
    assert "no deal is worth" in lines[-1]


def test_simulate_command_says_the_baseline() -> None:
    cmd = [sys.executable, "-m", "detente", "simulate", "hanoi-2019", "-s", "phased", "-n", "300", "--seed", "1"]
    out = subprocess.run([*cmd, "--no-store"], capture_output=True, text=True, check=True).stdout
    assert "value vs no deal" in " ".join(out.split())
    assert "status quo under sanctions" in " ".join(out.split())


# ----------------------------------------------------------------------------- orderings (properties)


@st.composite
def environment_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A random package and schedule (perfect verification) with a hazard and crisis flows."""
    data = draw(scenario_data(usual_signs=True))
    pids = [p["id"] for p in data["parties"]]
    hazard: dict[str, Any] = {}
    for pid in pids:
        h: dict[str, Any] = {
            "base": draw(st.sampled_from([0.0, 0.005, 0.02])),
            "growth": draw(st.sampled_from([0.0, 0.005, 0.02, 0.1])),
        }
        if draw(st.booleans()):
            h["enough"] = draw(st.sampled_from([0.25, 1.0, 4.0]))
        hazard[pid] = h
    data["environment"] = {"hazard": hazard, "crisis": dict.fromkeys(pids, -1.0)}
    return data


def _horizon(scn: Scenario) -> int:
    return max((int(s.period) for s in scn.get_schedule()), default=0) + 12


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environment_scenarios(), st.integers(0, 6), st.integers(0, 2))
def test_a_stalled_process_carries_at_least_the_hazard_of_the_process_on_schedule(
    data: dict[str, Any], tau: int, who: int
) -> None:
    """Same random numbers in both runs: every episode's crisis comes no later when one party
    stops performing at ``tau`` (the others reciprocating) than when all keep the schedule."""
    scn = Scenario.model_validate(data)
    pids = scn.party_ids
    quitter = pids[who % len(pids)]
    horizon = _horizon(scn)
    on = simulate(scn, {}, 300, seed=4, horizon=horizon, no_deal=False)
    stalled = simulate(scn, {quitter: Quitter(tau=tau)}, 300, seed=4, horizon=horizon, no_deal=False)
    assert (_crisis_when(stalled.crisis_period) <= _crisis_when(on.crisis_period)).all()
    assert stalled.crisis_rate >= on.crisis_rate


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environment_scenarios(), st.sampled_from(["faithful", "reciprocal", "grim"]))
def test_no_deal_carries_at_least_the_hazard_of_any_deal_on_schedule(data: dict[str, Any], strategy: str) -> None:
    scn = Scenario.model_validate(data)
    horizon = _horizon(scn)
    setup = build_setup(scn)
    n = 300
    deal = run_batch(setup, [make_strategy(strategy) for _ in scn.party_ids], n, horizon, np.random.default_rng(8))
    none = run_batch(setup, [Idle() for _ in scn.party_ids], n, horizon, np.random.default_rng(8))
    assert (_crisis_when(none.crisis_period) <= _crisis_when(deal.crisis_period)).all()
    assert none.crisis.mean() >= deal.crisis.mean()
    # and the no-deal values are the public baseline's
    loop = run_no_deal_batch(setup, n, horizon, np.random.default_rng(8))
    assert np.abs(none.value - loop).max() < 1e-9 * max(1.0, float(np.abs(loop).max()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data())
def test_exactness_survives_the_clock_when_the_hazard_is_off(data: dict[str, Any]) -> None:
    """An environment with crisis flows but a zero hazard changes nothing: reciprocal play on a
    self-enforcing schedule earns V_i(0), and no deal is worth exactly 0."""
    scn = Scenario.model_validate(data)
    report = detente.check(scn)
    if not report.self_enforcing:
        return
    pids = scn.party_ids
    data = dict(data)
    data["environment"] = {"hazard": {pid: {"base": 0, "growth": 0, "enough": 1} for pid in pids}, "crisis": {}}
    env = Scenario.model_validate(data)
    res = simulate(env, {}, 3, seed=0, horizon=_horizon(env) + 30)
    expected = np.array([report.participation[p] for p in pids])
    assert np.abs(res.value - expected).max() < 1e-9 * max(1.0, np.abs(expected).max())
    assert res.no_deal_value is not None
    assert not res.no_deal_value.any()
    assert math.isclose(float(res.crisis.mean()), 0.0)
