"""The agreement zone and the design objectives (docs/zone.md).

* Every objective (deepest, fair, robust-slack, weighted values with floors, fastest) of the
  lazy MILP equals the brute-force oracle's on seeded small packages, with and without random
  demands (the MILP reads demands as rows; the oracle evaluates them on each schedule).
* On Hanoi: the zone under the stated demands is empty; the conflict is an irreducible
  infeasible subset (infeasible, and feasible without any one member); the relaxations open
  the zone and nothing short of them does; with the DPRK's demand dropped, every frontier
  point, the fair point and the fastest point pass ``check`` and meet the demands.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import detente
from detente.analysis.enforcement import check
from detente.cli import app
from detente.core.scenario import Step
from detente.design.bruteforce import brute_force_objective
from detente.design.demands import Rule, compile_rules, holds
from detente.design.instances import random_package
from detente.design.milp import _Search, design
from detente.design.objectives import fastest, optimise
from detente.design.package import Package, build_package, check_counts
from detente.design.zone import zone

runner = CliRunner()


def _random_rules(pkg: Package, rng: np.random.Generator) -> list[Rule]:
    comp = pkg.comp
    T = pkg.horizon
    rules: list[Rule] = []
    for n in range(int(rng.integers(1, 3))):
        party = int(rng.integers(comp.n_parties))
        form = str(rng.choice(["after", "in_force", "no_irreversible_before", "value_at_least", "completes_by"]))
        others = [k for k in range(comp.n_concessions) if comp.giver[k] != party]
        k = int(rng.choice(others)) if others else None
        if form == "after" and k is not None:
            rules.append(Rule(f"d{n}", n, party, form, k, float(rng.choice([0.5, 1.0])), None, None))
        elif form == "in_force":
            kk = int(rng.integers(comp.n_concessions))
            rules.append(
                Rule(f"d{n}", n, party, form, kk, float(rng.choice([0.5, 1.0])), int(rng.integers(T + 1)), None)
            )
        elif form == "no_irreversible_before":
            rules.append(Rule(f"d{n}", n, party, form, None, float(rng.integers(T + 1)), None, None))
        elif form == "value_at_least":
            rules.append(Rule(f"d{n}", n, party, form, None, float(rng.uniform(0, 3)), None, None))
        elif form == "completes_by":
            rules.append(Rule(f"d{n}", n, party, form, None, float(rng.integers(T + 1)), None, None))
    return rules


KINDS = ["feasible", "deepest", "fair", "robust-slack", "value"]


@pytest.mark.parametrize("seed", range(24))
def test_objectives_agree_with_the_oracle(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    scn = random_package(np.random.default_rng(seed), horizon=3, max_tranches_total=5)
    pkg = build_package(scn)
    rules = _random_rules(pkg, rng) if seed % 2 else []
    weights = [1.0] + [float(w) for w in rng.uniform(0.1, 2.0, pkg.comp.n_parties - 1)]
    for kind in KINDS:
        got = optimise(_Search(pkg, None), pkg.horizon, kind, rules, weights=weights)
        want = brute_force_objective(pkg, kind, rules, weights=weights)
        assert (want is None) == (got.status == "infeasible"), (kind, got.status)
        if want is None:
            continue
        assert got.status == "optimal"
        assert got.counts is not None
        assert got.check is not None
        assert got.check.ok
        assert all(holds(pkg, got.counts, got.check, r) for r in rules)
        if kind != "feasible":
            assert got.value == pytest.approx(want[0], abs=1e-5), kind


@pytest.mark.parametrize("seed", range(12))
def test_value_floors_and_fastest_agree_with_the_oracle(seed: int) -> None:
    scn = random_package(np.random.default_rng(50 + seed), horizon=3, max_tranches_total=5)
    pkg = build_package(scn)
    rules = _random_rules(pkg, np.random.default_rng(seed))
    best = brute_force_objective(pkg, "value", rules, weights=[0.0, 1.0] + [0.0] * (pkg.comp.n_parties - 2))
    if best is not None:
        floors: list[float | None] = [None] * pkg.comp.n_parties
        floors[1] = best[0] / 2
        w = [1.0] + [0.0] * (pkg.comp.n_parties - 1)
        want = brute_force_objective(pkg, "value", rules, weights=w, floors=floors)
        got = optimise(_Search(pkg, None), pkg.horizon, "value", rules, weights=w, floors=floors)
        assert want is not None
        assert got.status == "optimal"
        assert got.value == pytest.approx(want[0], abs=1e-6)
    T, found = fastest(_Search(pkg, None), rules)
    want_fast = brute_force_objective(pkg, "fastest", rules)
    assert (want_fast is None) == (T is None)
    if want_fast is not None and found.counts is not None and found.check is not None:
        assert -math.floor(want_fast[0]) == T  # the score is -completion + slack/16, slack in [0, 2]
        assert found.check.min_norm_slack / 16.0 - T == pytest.approx(want_fast[0], abs=1e-6)


def test_fastest_objective_without_demands_is_the_plain_designer() -> None:
    scn = detente.load("tests/fixtures/design_hostage.yaml")
    plain = design(scn)
    again = design(scn, demands=[])
    assert plain.completion_period == again.completion_period == 1
    assert plain.objective == "fastest"
    assert plain.objective_value == 1.0
    assert again.min_slack == pytest.approx(plain.min_slack, abs=1e-9)


def test_demand_rows_equal_direct_evaluation_on_every_schedule() -> None:
    """The MILP rows and holds() agree: feasible-with-rules equals enumeration-with-holds."""
    for seed in range(6):
        scn = random_package(np.random.default_rng(200 + seed), horizon=2, max_tranches_total=4)
        pkg = build_package(scn)
        rules = _random_rules(pkg, np.random.default_rng(seed))
        got = optimise(_Search(pkg, None), pkg.horizon, "feasible", rules)
        want = brute_force_objective(pkg, "feasible", rules)
        assert (want is None) == (got.status == "infeasible")


# --------------------------------------------------------------------------- Hanoi


@pytest.fixture(scope="module")
def hanoi_zone():  # type: ignore[no-untyped-def]
    return zone("hanoi-2019")


def test_hanoi_zone_is_empty_and_names_the_conflict(hanoi_zone) -> None:  # type: ignore[no-untyped-def]
    z = hanoi_zone
    assert z.empty
    ids = [c.demand for c in z.conflict]
    assert "dprk-relief-for-yongbyon" in ids
    assert any(i.startswith("us-") for i in ids)
    assert "cannot both hold" in z.message
    assert "0.97" in z.message
    dprk = next(c for c in z.conflict if c.demand == "dprk-relief-for-yongbyon")
    assert dprk.relax_to == 0.0  # any share of relief at month 0 keeps it closed
    assert dprk.relax_period == 8
    assert z.drop == ("dprk-relief-for-yongbyon",)


def test_hanoi_conflict_is_irreducible(hanoi_zone) -> None:  # type: ignore[no-untyped-def]
    pkg = build_package(detente.load("hanoi-2019"))
    rules = {r.id: r for r in compile_rules(pkg)}
    core = [rules[c.demand] for c in hanoi_zone.conflict]
    search = _Search(pkg, None)
    assert optimise(search, pkg.horizon, "feasible", core).status == "infeasible"
    for r in core:
        rest = [q for q in core if q is not r]
        assert optimise(search, pkg.horizon, "feasible", rest).status == "optimal"


def test_hanoi_relaxation_is_the_earliest_that_opens() -> None:
    pkg = build_package(detente.load("hanoi-2019"))
    rules = compile_rules(pkg)
    search = _Search(pkg, None)
    dprk = next(r for r in rules if r.id == "dprk-relief-for-yongbyon")
    others = [r for r in rules if r is not dprk]
    from dataclasses import replace

    assert optimise(search, pkg.horizon, "feasible", [*others, replace(dprk, period=8)]).status == "optimal"
    assert optimise(search, pkg.horizon, "feasible", [*others, replace(dprk, period=7)]).status == "infeasible"


def _passes_check(scn: detente.Scenario, schedule: list[dict[str, object]]) -> bool:
    steps = [Step(period=s["period"], concession=s["concession"], amount=s["amount"]) for s in schedule]
    return bool(check(scn, steps).self_enforcing)


def test_open_zone_frontier_fair_and_fastest_pass_check() -> None:
    scn = detente.load("hanoi-2019")
    kept = ["us-yongbyon-first", "us-one-more-step"]
    z = zone(scn, kept, points=6)
    assert not z.empty
    d = z.to_dict()
    assert d["frontier"]
    assert d["fair"]
    assert d["fastest"]
    pkg = build_package(scn)
    rules = compile_rules(pkg, kept)
    for p in [*d["frontier"], d["fair"], d["fastest"]]:
        assert _passes_check(scn, p["schedule"])
        ids = pkg.comp.concession_ids
        from detente.core.compiled import schedule_from_steps

        steps = [(s["period"], ids.index(s["concession"]), s["amount"]) for s in p["schedule"]]
        amounts = schedule_from_steps(len(ids), steps).amounts
        counts = np.zeros((len(ids), pkg.horizon + 1), dtype=np.int64)
        for t, k, a in steps:
            counts[k, t:] += round(a * pkg.m[k])
        c = check_counts(pkg, counts)
        assert np.allclose(amounts.sum(axis=1), 1.0)
        assert all(holds(pkg, counts, c, r) for r in rules)
    values = [(p["values"]["US"], p["values"]["DPRK"]) for p in d["frontier"]]
    for a in values:  # no point dominates another
        assert not any(b[0] >= a[0] and b[1] >= a[1] and b != a for b in values)

    def nash(p: dict[str, float]) -> float:
        return math.log(p["US"]) + math.log(p["DPRK"])

    assert all(nash(d["fair"]["values"]) >= nash(p["values"]) - 1e-6 for p in d["frontier"])
    assert d["fastest"]["completes"] <= min(p["completes"] for p in d["frontier"])


# --------------------------------------------------------------------------- CLI


def test_zone_json_contract() -> None:
    res = runner.invoke(app, ["zone", "hanoi-2019", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["empty"] is True
    assert {"demand", "party", "relax_to", "text"} <= set(out["conflict"][0])
    assert out["frontier"] == []
    assert out["fair"] is None
    assert out["fastest"] is None


def test_zone_unknown_demand_exits_2() -> None:
    res = runner.invoke(app, ["zone", "hanoi-2019", "--drop", "dprk-relief"])
    assert res.exit_code == 2
    assert "unknown demand 'dprk-relief'" in res.output


@pytest.mark.parametrize("objective", ["fastest", "deepest", "fair"])
def test_design_json_carries_the_objective(objective: str) -> None:
    res = runner.invoke(app, ["design", "tests/fixtures/design_hostage.yaml", "--objective", objective, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["objective"] == objective
    assert isinstance(out["objective_value"], float)


def test_design_unknown_objective_exits_2() -> None:
    res = runner.invoke(app, ["design", "tests/fixtures/design_hostage.yaml", "--objective", "cheapest"])
    assert res.exit_code == 2
    assert "objective: expected one of fastest, deepest, fair, robust-slack" in res.output


# --------------------------------------------------------------------------- rows vs holds


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 10_000))
def test_demand_rows_accept_exactly_the_schedules_that_meet_the_demand(seed: int, pick: int) -> None:
    """With X fixed to a schedule, the master (participation rows plus one demand's rows) is
    feasible if and only if the schedule participates and holds() says it meets the demand."""
    from detente.design.bruteforce import schedules
    from detente.design.demands import add_rule
    from detente.design.master import Master
    from detente.design.package import requires_ok

    scn = random_package(np.random.default_rng(seed), horizon=2, max_tranches_total=4)
    pkg = build_package(scn)
    rng = np.random.default_rng(pick)
    rules = _random_rules(pkg, rng)
    every = [c for c in schedules(pkg.m, pkg.horizon) if requires_ok(c, pkg)]
    assume(every)  # a requires chain longer than the horizon leaves no schedule to pick
    counts = every[int(rng.integers(len(every)))]
    c = check_counts(pkg, counts)
    for rule in rules:
        master = Master(pkg, pkg.horizon)
        add_rule(master, rule)
        for k in range(counts.shape[0]):
            for t in range(counts.shape[1]):
                master.add_row({int(master.X[k, t]): 1.0}, float(counts[k, t]), float(counts[k, t]))
        feasible = master.solve(None).status == "optimal"
        expected = holds(pkg, counts, c, rule) and bool((c.participation >= -1e-9).all())
        assert feasible == expected, (rule, counts.tolist())


def test_frontier_figure_marks_every_kind() -> None:
    from detente.report.zone_figure import frontier_spec, positions

    scn = detente.load("hanoi-2019")
    z = zone(scn, ["us-yongbyon-first"], points=3).to_dict()
    spec = frontier_spec(z, positions(scn))
    kinds = {row["kind"] for row in spec["data"]["values"]}
    assert {"frontier", "no deal", "fair (Nash)", "fastest", "position (not self-enforcing)"} <= kinds
    labels = {row["label"] for row in spec["data"]["values"]}
    assert {"us-big-deal", "dprk-offer", "phased"} <= labels
    json.dumps(spec, allow_nan=False)


# --------------------------------------------------------------------------- generated zones


def _with_random_demands(seed: int) -> detente.Scenario:
    from detente.core.scenario import Demand

    draw = 1000 * seed
    while True:  # a package with some self-enforcing schedule, so that demands decide the zone
        scn = random_package(np.random.default_rng(draw), horizon=3, max_tranches_total=5)
        if brute_force_objective(build_package(scn), "feasible") is not None:
            break
        draw += 1
    rng = np.random.default_rng(seed + 7)
    parties = list(scn.party_ids)
    demands = []
    for n in range(3):
        party = str(rng.choice(parties))
        others = [c.id for c in scn.concessions if c.by != party]
        form = str(rng.choice(["after", "in_force", "no_irreversible_before", "value_at_least"]))
        if form == "after" and others:
            demands.append(Demand(id=f"d{n}", party=party, form="after", concession=str(rng.choice(others))))
        elif form == "in_force":
            cid = str(rng.choice([c.id for c in scn.concessions]))
            demands.append(
                Demand(id=f"d{n}", party=party, form="in_force", concession=cid, period=int(rng.integers(2)))
            )
        elif form == "no_irreversible_before":
            demands.append(Demand(id=f"d{n}", party=party, form=form, period=int(rng.integers(1, 4))))
        else:
            demands.append(Demand(id=f"d{n}", party=party, form="value_at_least", value=float(rng.uniform(0, 2))))
    return scn.model_copy(update={"demands": tuple(demands)})


@pytest.mark.parametrize("seed", range(16))
def test_generated_zones_are_minimal_conflicts_or_checked_frontiers(seed: int) -> None:
    scn = _with_random_demands(seed)
    z = zone(scn, points=4)
    pkg = build_package(scn)
    rules = {r.id: r for r in compile_rules(pkg)}
    search = _Search(pkg, None)
    if z.empty and z.conflict:
        core = [rules[c.demand] for c in z.conflict]
        assert optimise(search, pkg.horizon, "feasible", core).status == "infeasible"
        for r in core:
            assert optimise(search, pkg.horizon, "feasible", [q for q in core if q is not r]).status == "optimal"
        for c in z.conflict:  # a relaxation, when given, opens the zone with everything else held
            if c.relax_to is not None:
                moved = rules[c.demand].at(c.relax_to)
                rest = [q for q in rules.values() if q.id != c.demand]
                assert optimise(search, pkg.horizon, "feasible", [*rest, moved]).status == "optimal"
        want = brute_force_objective(pkg, "feasible", list(rules.values()))
        assert want is None
    elif not z.empty:
        want = brute_force_objective(pkg, "feasible", list(rules.values()))
        assert want is not None
        for p in [*z.frontier, z.fair, z.fastest]:
            assert p is not None
            assert _passes_check(scn, [{"period": t, "concession": k, "amount": a} for t, k, a in p.schedule])


def test_a_demand_that_waits_on_its_own_prerequisite_is_a_cycle() -> None:
    text = """
name: cycle
parties: [{id: US, discount: 0.9}, {id: DPRK, discount: 0.9}]
concessions:
  - {id: dismantle, by: DPRK, flow: {US: 3, DPRK: -2}}
  - {id: relief, by: US, flow: {US: -1, DPRK: 3}, requires: [dismantle]}
demands:
  - {id: dprk-relief-first, party: DPRK, form: after, concession: relief}
"""
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "cycle.yaml")
    assert "cycle" in str(info.value)
    assert "demands[0]" in str(info.value)


@pytest.mark.parametrize("objective", ["fastest", "deepest", "fair", "robust-slack"])
def test_design_objective_equals_the_oracle_on_the_worked_example(objective: str) -> None:
    scn = detente.load("tests/fixtures/design_hostage.yaml")
    milp = design(scn, objective=objective, demands=[] if objective == "fastest" else None)
    oracle = design(scn, objective=objective, method="bruteforce", demands=[])
    assert milp.feasible
    assert oracle.feasible
    assert milp.objective == oracle.objective == objective
    assert milp.objective_value == pytest.approx(oracle.objective_value, abs=1e-6)
    assert _passes_check(scn, [{"period": t, "concession": k, "amount": a} for t, k, a in milp.schedule])
