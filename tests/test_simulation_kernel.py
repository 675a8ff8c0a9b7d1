"""The compiled engine (detente.simulation.kernel and .fused) against the NumPy reference:
the same generator must give bit-identical outcomes, for every strategy, on the fixtures and on
random scenarios with missed detections and false alarms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detente
from detente.core.scenario import Scenario
from detente.simulation.engine import BatchOutput, run_batch
from detente.simulation.fused import plan
from detente.simulation.kernel import run_batch_compiled
from detente.simulation.setup import build_setup
from detente.simulation.simulate import simulate
from detente.simulation.strategies.base import REGISTRY, Strategy, View, make_strategy
from detente.simulation.strategies.library import Reciprocal
from strategies_check import scenario_data

HANOI = detente.load("hanoi-2019")
HOSTAGE = detente.load("worked-hostage")
FRONT = detente.load("worked-front-loaded")
CALM = {"hazard_base": 0.0, "hazard_growth": 0.0}
FIELDS = (
    "value",
    "package_in_force",
    "crisis",
    "crisis_period",
    "first_breach_period",
    "first_breach_party",
    "completion_period",
)
STRATEGIES = sorted(REGISTRY)


class Late(Reciprocal):
    """A user strategy (a subclass, so it runs through the element-wise kernels, not the fused
    loop): reciprocal, but each step one period late in half the episodes."""

    name = "late-test"

    def decide(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        perform, undo = super().decide(view)
        odd = (np.arange(view.n_episodes) % 2 == 1)[:, None]
        return perform & ~(odd & view.own_due_on_time()), undo


def _same(a: BatchOutput, b: BatchOutput) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=True), name


def _both(
    scn: Scenario, strategies: list[str | Strategy], n: int, horizon: int, seed: int, **kw: Any
) -> tuple[BatchOutput, BatchOutput]:
    setup = build_setup(scn, kw.get("schedule"), kw.get("params"))

    def fresh() -> list[Strategy]:
        return [make_strategy(s) if isinstance(s, str) else s.clone() for s in strategies]

    ref = run_batch(setup, fresh(), n, horizon, np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    fast = run_batch_compiled(setup, fresh(), n, horizon, rng)
    return ref, fast


def _noisy(scn: Scenario, detect: float, false_alarm: float) -> Scenario:
    fields: dict[str, float] = {}
    for j, c in enumerate(scn.concessions):
        if j % 2 == 0:
            fields[f"{c.id}.verification.detect"] = detect
        if j % 3 == 1:
            fields[f"{c.id}.verification.false_alarm"] = false_alarm
    return scn.with_fields(fields)


CASES = [
    (HANOI, "phased"),
    (HANOI, "dprk-offer"),
    (HANOI, "us-big-deal"),
    (HOSTAGE, "hostage"),
    (HOSTAGE, "all-at-once"),
    (FRONT, None),
]


@pytest.mark.parametrize(("scn", "schedule"), CASES)
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("noise", [(1.0, 0.0), (0.7, 0.01)])
def test_identical_on_the_fixtures(scn: Scenario, schedule: str | None, strategy: str, noise) -> None:
    noisy = _noisy(scn, *noise)
    others = ["reciprocal", "verify-first", "grim"]
    for k, other in enumerate(others):
        strategies: list[str | Strategy] = [other] * len(scn.party_ids)
        strategies[k % len(strategies)] = strategy
        # Hanoi: the fused loop (calm), and the element-wise kernels (with its hazard)
        for params in (CALM, None) if scn is HANOI else (None,):
            ref, fast = _both(noisy, strategies, 300, 48, seed=k, schedule=schedule, params=params)
            _same(ref, fast)


def test_the_fused_loop_is_taken_only_where_it_applies() -> None:
    def packed(scn: Scenario, strategies: list[Strategy], params: dict[str, float] | None) -> bool:
        setup = build_setup(scn, "phased", params)
        for i, s in enumerate(strategies):
            s.reset(setup, i, 10, np.random.default_rng(0))
        return plan(setup, strategies, 40) is not None

    assert packed(HANOI, [make_strategy("reciprocal"), make_strategy("verify-first")], CALM)
    assert not packed(HANOI, [make_strategy("reciprocal"), make_strategy("verify-first")], None)  # the hazard
    assert not packed(HANOI, [make_strategy("reciprocal"), Late()], CALM)  # a user strategy
    assert not packed(HANOI, [make_strategy("maximum-pressure"), make_strategy("reciprocal")], CALM)


def test_a_user_strategy_is_identical_too() -> None:
    noisy = _noisy(HANOI, 0.8, 0.02)
    ref, fast = _both(noisy, [Late(), "reciprocal"], 400, 40, seed=3, schedule="phased", params=CALM)
    _same(ref, fast)


def test_simulate_compiled_equals_simulate() -> None:
    noisy = _noisy(HANOI, 0.8, 0.01)
    kw: dict[str, Any] = {"schedule": "phased", "horizon": 50, "seed": 11, "batch_size": 700}
    a = simulate(noisy, {"US": "grim", "DPRK": "verify-first"}, 2000, **kw)
    b = simulate(noisy, {"US": "grim", "DPRK": "verify-first"}, 2000, compiled=True, **kw)
    assert np.array_equal(a.value, b.value)
    assert a.no_deal_value is not None
    assert b.no_deal_value is not None
    assert np.array_equal(a.no_deal_value, b.no_deal_value)
    assert np.array_equal(a.first_breach_period, b.first_breach_period)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario_data(),
    st.lists(st.sampled_from(STRATEGIES), min_size=3, max_size=3),
    st.sampled_from([1.0, 0.9, 0.5]),
    st.sampled_from([0.0, 0.02, 0.3]),
    st.integers(0, 2**32 - 1),
)
def test_identical_on_random_scenarios(data: dict, names: list[str], detect: float, alarm: float, seed: int) -> None:
    scn = _noisy(Scenario.model_validate(data), detect, alarm)
    horizon = max((int(s.period) for s in scn.get_schedule()), default=0) + 15
    strategies: list[str | Strategy] = [names[i % 3] for i in range(len(scn.party_ids))]
    ref, fast = _both(scn, strategies, 64, horizon, seed=seed)
    _same(ref, fast)


@pytest.mark.parametrize("params", [CALM, None])
@pytest.mark.parametrize("us", ["maximum-pressure", "reciprocal", "grim"])
def test_identical_with_shocks_hazard_and_pressure(params: dict[str, float] | None, us: str) -> None:
    """The element-wise kernels: dated and random shocks (several variants), the hazard, pressure."""
    data = HANOI.to_data()
    data["environment"]["shocks"] = [
        {"name": "leak", "at": 10, "set": {"leakage": 0.9}},
        {"name": "purge", "probability": 0.05, "set": {"relief_share": 0.6}},
    ]
    shocked = _noisy(Scenario.model_validate(data), 0.8, 0.01)
    ref, fast = _both(shocked, [us, "verify-first"], 500, 60, seed=9, schedule="phased", params=params)
    _same(ref, fast)


@st.composite
def _environments(draw: st.DrawFn) -> dict[str, Any]:
    """A random scenario with a hazard (with or without an ``enough`` level) and crisis flows."""
    data = draw(scenario_data(usual_signs=True))
    pids = [p["id"] for p in data["parties"]]
    hazard: dict[str, Any] = {}
    for pid in pids:
        hazard[pid] = {"base": draw(st.sampled_from([0.0, 0.01])), "growth": draw(st.sampled_from([0.0, 0.05]))}
        if draw(st.booleans()):
            hazard[pid]["enough"] = draw(st.sampled_from([0.25, 1.0]))
    data["environment"] = {"hazard": hazard, "crisis": dict.fromkeys(pids, -1.0)}
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_environments(), st.lists(st.sampled_from(STRATEGIES), min_size=3, max_size=3), st.integers(0, 2**32 - 1))
def test_identical_with_a_hazard_on_random_scenarios(data: dict, names: list[str], seed: int) -> None:
    scn = _noisy(Scenario.model_validate(data), 0.8, 0.02)
    horizon = max((int(s.period) for s in scn.get_schedule()), default=0) + 15
    strategies: list[str | Strategy] = [names[i % 3] for i in range(len(scn.party_ids))]
    ref, fast = _both(scn, strategies, 64, horizon, seed=seed)
    _same(ref, fast)


# --- the pieces the fused loop's speed rests on, each against what it replaces ---------------

BURST = """
name: three steps at once, each with a one-time gain, and undone together
period: month
parties:
  - {id: A, discount: 0.95}
  - {id: B, discount: 0.9}
concessions:
  - {id: a1, by: A, flow: {A: -0.1, B: 0.3}, once: {B: 0.7, A: 0.1}, reversible: {delay: 0, cost: 0.3}}
  - {id: a2, by: A, flow: {A: -0.2, B: 0.4}, once: {B: 0.3}, reversible: {delay: 0, cost: 0.7}}
  - {id: a3, by: A, flow: {A: -0.3, B: 0.2}, once: {B: 0.11}, reversible: {delay: 2, cost: 0.9}}
  - {id: b1, by: B, flow: {A: 0.9, B: -0.2}, reversible: {delay: 0, cost: 0.2}}
  - {id: b2, by: B, flow: {A: 0.5, B: -0.1}, verification: {false_alarm: 0.05}}
schedule:
  - {period: 0, concession: a1}
  - {period: 0, concession: a2}
  - {period: 0, concession: a3}
  - {period: 0, concession: b1}
  - {period: 1, concession: b2}
"""


@pytest.mark.parametrize("a", ["grim", "reciprocal", "faithful"])
def test_identical_when_the_sums_need_blas(a: str) -> None:
    """Three one-time gains to B in one period, and A undoing three concessions at once after a
    false alarm, are sums of three non-zero products: the fused loop must fall back to the BLAS
    product for them, and stay identical."""
    scn = detente.loads(BURST, "burst")
    setup = build_setup(scn, None, None)
    strategies = [make_strategy(a), make_strategy("grim")]
    for i, s in enumerate(strategies):
        s.reset(setup, i, 10, np.random.default_rng(0))
    assert plan(setup, strategies, 30) is not None
    for seed in range(3):
        ref, fast = _both(scn, [a, "grim"], 500, 30, seed=seed)
        _same(ref, fast)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 6), st.integers(1, 4), st.booleans())
def test_row_products_equal_blas_or_decline(seed: int, n: int, K: int, P: int, ones: bool) -> None:
    """_row_products writes a row equal to np.dot's bit for bit when every sum has at most one
    non-zero product (two when the right factor holds zeros and ones), and declines otherwise."""
    from detente.simulation.fused import _row_products

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, K)) * (rng.random((n, K)) < 0.4)
    b = (rng.random((K, P)) < 0.5).astype(float) if ones else rng.standard_normal((K, P)) * (rng.random((K, P)) < 0.6)
    most = 2 if ones else 1
    full = np.dot(a, b)
    out = np.zeros((n, P))
    for e in range(n):
        live = ((a[e][:, None] != 0) & (b != 0)).sum(axis=0)
        done = _row_products(e, a, b, out, most)
        assert done == bool((live <= most).all())
        if done:
            assert np.array_equal(out[e], full[e])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**64 - 1), st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), min_size=1, max_size=5))
def test_pcg_stream_is_numpys(seed: int, shapes: list[tuple[int, int]]) -> None:
    """The inline PCG64 draws NumPy's numbers in NumPy's order, and leaves the generator where
    NumPy's own draws would have."""
    from detente.simulation import pcg

    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    words = pcg.attach(ours)
    assert words is not None
    for n, m in shapes:
        assert np.array_equal(pcg.random(words, n, m), theirs.random((n, m)))
    pcg.detach(ours, words)
    assert np.array_equal(ours.random(7), theirs.random(7))


def test_another_bit_generator_runs_identical_without_the_fused_loop() -> None:
    """A Philox generator cannot be drawn inline: the batch runs through the element-wise
    kernels, with the same outcomes as the reference."""
    from detente.simulation import pcg

    assert pcg.attach(np.random.Generator(np.random.Philox(3))) is None
    noisy = _noisy(HOSTAGE, 0.7, 0.01)
    setup = build_setup(noisy, "hostage", None)

    def fresh() -> list[Strategy]:
        return [make_strategy("reciprocal"), make_strategy("verify-first")]

    ref = run_batch(setup, fresh(), 300, 40, np.random.Generator(np.random.Philox(3)))
    fast = run_batch_compiled(setup, fresh(), 300, 40, np.random.Generator(np.random.Philox(3)))
    _same(ref, fast)


def test_the_command_line_compiled_run_prints_the_same() -> None:
    """`detente simulate --compiled` prints the same JSON as the NumPy engine (but the time)."""
    import json

    from typer.testing import CliRunner

    from detente.cli import app

    args = ["simulate", "worked-hostage", "--schedule", "hostage", "--strategy", "DPRK=verify-first"]
    args += ["--set", "dismantle.verification.detect=0.7", "--seed", "3", "-n", "3000", "--no-store", "--json"]
    outs = []
    for extra in ([], ["--compiled"]):
        result = CliRunner().invoke(app, args + extra)
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        data["provenance"].pop("seconds")
        outs.append(data)
    assert outs[0] == outs[1]
