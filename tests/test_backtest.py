"""The case library and the backtest: sourced cases on shared actor profiles, outcomes read
only by the backtest, the JSON contract, and regression rows of the predictions at best values."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import detente
from detente.analysis.enforcement import check
from detente.cli import app
from detente.core.outcome import KINDS, Outcome, months_between
from detente.io.actors import load_profile, profile_names
from detente.sweeps.backtest import (
    Breach,
    Prediction,
    backtest,
    backtest_case,
    compare,
    predict,
    recorded,
    wilson,
)

CASES = (
    "agreed-framework-1994",
    "six-party-2007",
    "leap-day-2012",
    "singapore-2018",
    "hanoi-2019",
    "jcpoa-2015",
    "libya-2003",
    "inf-1987",
    "start-1991",
    "new-start-2010",
)
DPRK_CASES = ("agreed-framework-1994", "six-party-2007", "leap-day-2012", "singapore-2018", "hanoi-2019")
SRC = Path(detente.__file__).parent


@pytest.fixture(scope="module")
def library() -> dict[str, detente.Scenario]:
    return {name: detente.load(name) for name in CASES}


# --------------------------------------------------------------------------- the library


def test_every_case_of_the_issue_is_built_in_with_an_outcome(library: dict[str, detente.Scenario]) -> None:
    assert set(CASES) <= set(detente.builtin_cases())
    for name, scn in library.items():
        assert scn.outcome is not None, name
        assert scn.period == "month", name


@pytest.mark.parametrize("name", CASES)
def test_every_number_is_a_sourced_parameter_and_every_step_has_a_kind(name: str) -> None:
    scn = detente.load(name)
    for pname, p in scn.parameters.items():
        assert p.range is not None, f"{name}: {pname} has no range"
        assert p.range[0] < p.range[1], f"{name}: {pname} has an empty range"
        assert p.source, f"{name}: {pname} has no source"
    for c in scn.concessions:
        assert c.kind in KINDS, f"{name}: {c.id} has no kind"
        assert c.source in scn.sources, f"{name}: {c.id} cites {c.source!r}"
    out = scn.outcome
    assert out is not None
    assert out.sources
    assert all(key in scn.sources for key in out.sources)


@pytest.mark.parametrize("name", CASES)
def test_actor_parameters_come_from_the_profiles(name: str) -> None:
    """Discounts, hazards, crisis costs and leakage by China are the profiles' values."""
    scn = detente.load(name)
    text = (SRC / "cases" / f"{name}.yaml").read_text()
    refs = dict(re.findall(r"^  (\w+): \{from: (\w+\.\w+)\}", text, flags=re.M))
    assert refs, name
    assert re.search(r"^actors: \{", text, flags=re.M), name
    for pname, ref in refs.items():
        actor, key = ref.split(".")
        declared = re.search(rf"{actor}: (\w+)", text.split("actors:", 1)[1].splitlines()[0])
        assert declared is not None
        profile = load_profile(declared.group(1))
        assert not isinstance(profile, str)
        assert scn.parameters[pname].value == profile.parameters[key].value
        assert scn.parameters[pname].range == profile.parameters[key].range
        assert scn.parameters[pname].source
        assert scn.parameters[pname].source.startswith("Actor profile")
    for party in scn.parties:
        assert isinstance(party.discount, detente.core.expr.Expr), f"{name}: {party.id} discount is not a parameter"
        assert party.discount.source in refs, f"{name}: {party.id} discount is not from a profile"


def test_the_dprk_shares_one_profile_across_every_case() -> None:
    dprk = load_profile("dprk")
    assert not isinstance(dprk, str)
    for name in DPRK_CASES:
        scn = detente.load(name)
        discount = scn.party("DPRK").discount
        assert isinstance(discount, detente.core.expr.Expr)
        assert scn.parameters[discount.source].value == dprk.parameters["discount"].value
        assert scn.parameters[discount.source].range == dprk.parameters["discount"].range
        env = scn.environment
        assert env is not None
        assert "DPRK" in env.hazard


def test_profiles_are_valid_and_sourced() -> None:
    assert {"us", "dprk", "china", "iran", "ussr", "libya"} <= set(profile_names())
    for name in profile_names():
        profile = load_profile(name)
        assert not isinstance(profile, str), profile
        for pname, p in profile.parameters.items():
            assert p.range is not None, f"{name}.{pname}"
            assert p.source, f"{name}.{pname}"
            assert p.range[0] <= p.value <= p.range[1]
    china = load_profile("china")
    assert not isinstance(china, str)
    assert "leakage" in china.parameters


def test_an_override_with_a_reason_is_kept_in_the_source() -> None:
    text = """
name: override
period: month
actors: {US: us, DPRK: dprk}
parameters:
  us_discount: {from: US.discount}
  dprk_discount:
    from: DPRK.discount
    value: 0.95
    range: [0.9, 0.97]
    reason: "A source says the regime grew more patient."
parties:
  - {id: US, discount: us_discount}
  - {id: DPRK, discount: dprk_discount}
concessions:
  - {id: freeze, by: DPRK, kind: freeze, flow: {US: 1, DPRK: -0.2}}
schedule:
  - {period: 0, concession: freeze}
"""
    scn = detente.loads(text, "override.yaml")
    p = scn.parameters["dprk_discount"]
    assert p.value == 0.95
    assert p.range == (0.9, 0.97)
    assert p.source is not None
    assert p.source.startswith("Override of the dprk profile (0.97, range [0.93, 0.99])")
    assert "grew more patient" in p.source


def test_hanoi_keeps_the_numbers_the_readme_quotes() -> None:
    scn = detente.load("hanoi-2019")
    big = check(scn, "us-big-deal")
    assert not big.self_enforcing
    assert big.participation["DPRK"] == pytest.approx(-2.18, abs=0.005)
    phased = check(scn, "phased")
    assert phased.self_enforcing
    assert phased.min_slack == pytest.approx(1.68, abs=0.005)
    assert scn.parameters["leakage"].value == 0.4
    assert list(scn.parameters)[:8] == [
        "pressure",
        "leakage",
        "relief_share",
        "relief_cost_us",
        "snapback_cost",
        "snapback_delay",
        "us_discount",
        "dprk_discount",
    ]


def test_dumped_cases_load_back_equal(tmp_path: Path, library: dict[str, detente.Scenario]) -> None:
    for name, scn in library.items():
        path = detente.dump(scn, tmp_path / f"{name}.yaml")
        assert detente.load(path) == scn


# --------------------------------------------------------------------------- outcomes


def test_outcomes_are_read_only_by_the_backtest() -> None:
    """No analysis, design, simulation or sweep other than the backtest reads ``.outcome``."""
    allowed = {
        SRC / "sweeps" / "backtest.py",
        SRC / "core" / "outcome.py",
        SRC / "core" / "scenario.py",
        SRC / "core" / "models.py",  # declares the field (and imports its type)
        SRC / "cli" / "backtest.py",
        SRC / "cli" / "base_commands.py",  # `detente cases` lists the outcome
    }
    for path in SRC.rglob("*.py"):
        if path in allowed:
            continue
        assert not re.search(r"\.outcome\b(?!s)", path.read_text()), path


@given(
    st.dates(dt.date(1950, 1, 1), dt.date(2050, 12, 31)),
    st.dates(dt.date(1950, 1, 1), dt.date(2050, 12, 31)),
)
@settings(max_examples=60, deadline=None)
def test_months_between_counts_calendar_months(a: dt.date, b: dt.date) -> None:
    n = months_between(a, b)
    assert n == -months_between(b, a)
    assert months_between(a.replace(day=1), b.replace(day=28)) == n
    if a <= b:
        assert n >= 0


def test_recorded_breaches(library: dict[str, detente.Scenario]) -> None:
    assert recorded(library["agreed-framework-1994"]) == Breach("DPRK", 95, "freeze", "freeze")
    assert recorded(library["six-party-2007"]) == Breach("DPRK", 11, "declaration", "declaration")
    assert recorded(library["leap-day-2012"]) == Breach("DPRK", 1, "moratorium", "moratorium")
    assert recorded(library["jcpoa-2015"]) == Breach("US", 31, "relief", "relief")
    assert recorded(library["new-start-2010"]) == Breach("Russia", 144, "russia_inspections", "inspection")
    for name in ("libya-2003", "inf-1987", "start-1991"):
        assert recorded(library[name]) is None
        out = library[name].outcome
        assert isinstance(out, Outcome)
        assert out.completed


# --------------------------------------------------------------------------- prediction

#: The model's prediction at the best values: (self-enforcing, completes, first breach).
#: A regression table: a change here is a change in what the model says about history.
BEST = {
    "agreed-framework-1994": (False, False, Breach("DPRK", 87, "dismantle", "dismantlement")),
    "six-party-2007": (False, False, Breach("DPRK", 3, "declaration", "declaration")),
    "leap-day-2012": (False, False, Breach("DPRK", 0, "moratorium", "moratorium")),
    "singapore-2018": (False, False, Breach("DPRK", 2, "denuclearization", "dismantlement")),
    "hanoi-2019": (False, False, Breach("DPRK", 0, "yongbyon", "dismantlement")),
    "jcpoa-2015": (True, True, None),
    "libya-2003": (False, False, Breach("US", 3, "relief", "relief")),
    "inf-1987": (False, False, Breach("USSR", 12, "ussr_elimination", "dismantlement")),
    "start-1991": (False, False, Breach("US", 37, "us_reductions", "dismantlement")),
    "new-start-2010": (False, False, Breach("US", 1, "us_reductions", "dismantlement")),
}


@pytest.mark.parametrize("name", CASES)
def test_prediction_at_best_values(name: str, library: dict[str, detente.Scenario]) -> None:
    pred = predict(library[name])
    assert (pred.self_enforcing, pred.completed, pred.first_breach) == BEST[name]


@pytest.mark.parametrize("name", CASES)
def test_predicted_breach_is_the_checks_earliest_violation(name: str, library: dict[str, detente.Scenario]) -> None:
    """Cross-check against the check's JSON: the earliest failing constraint or participation."""
    scn = library[name]
    out = scn.outcome
    assert out is not None
    data = check(scn, out.schedule).to_dict()
    order = scn.party_ids.index
    failing = [(c["period"], c["slack"], order(c["party"]), c["party"]) for c in data["violations"]]
    failing += [(0, v, order(p), p) for p, v in data["participation"].items() if v < -1e-9]
    pred = predict(scn)
    if not failing:
        assert pred.first_breach is None
        assert pred.self_enforcing
        return
    period, _, _, party = min(failing)
    assert pred.first_breach is not None
    assert (pred.first_breach.party, pred.first_breach.period) == (party, period)
    # the step is one of the breacher's own concessions
    assert scn.concession(pred.first_breach.step).by == party
    assert not pred.completed  # what is not self-enforcing is not predicted to complete


def test_the_simulation_decides_completion_only_for_self_enforcing_schedules(
    library: dict[str, detente.Scenario],
) -> None:
    pred = predict(library["jcpoa-2015"], seed=3)
    assert pred.simulated_completion is not None
    assert 0.0 <= pred.simulated_completion <= 1.0
    assert pred.completed == (pred.simulated_completion >= 0.5)
    assert predict(library["hanoi-2019"]).simulated_completion is None


_breach = st.builds(
    Breach,
    st.sampled_from(["US", "DPRK"]),
    st.integers(0, 200),
    st.sampled_from(["a", "b"]),
    st.sampled_from(KINDS),
)


@given(st.one_of(st.none(), _breach), st.one_of(st.none(), _breach), st.booleans(), st.integers(0, 36))
@settings(max_examples=100, deadline=None)
def test_compare_rules(guess: Breach | None, actual: Breach | None, completed: bool, window: int) -> None:
    out = Outcome(start=dt.date(2000, 1, 1), completed=completed)
    pred = Prediction(
        self_enforcing=guess is None, completed=not completed, first_breach=guess, simulated_completion=None
    )
    m = compare(pred, out, actual, window)
    assert m["completed"] is False
    if guess is None or actual is None:
        assert m["party"] == m["kind"] == m["timing"] == (guess is None and actual is None)
    else:
        assert m["party"] == (guess.party == actual.party)
        assert m["kind"] == (guess.kind == actual.kind)
        assert m["timing"] == (abs(guess.period - actual.period) <= window)


@given(st.integers(0, 500), st.integers(1, 500))
@settings(max_examples=100, deadline=None)
def test_wilson_interval_contains_the_share(k: int, n: int) -> None:
    k = min(k, n)
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_share_is_reproducible_and_in_its_interval(library: dict[str, detente.Scenario]) -> None:
    a = backtest_case("six-party-2007", library["six-party-2007"], samples=12, seed=5)
    b = backtest_case("six-party-2007", library["six-party-2007"], samples=12, seed=5)
    assert a.share == b.share
    assert a.share is not None
    assert a.share_ci is not None
    assert a.share_ci[0] <= a.share <= a.share_ci[1]


# --------------------------------------------------------------------------- command line

runner = CliRunner()


def test_backtest_json_contract() -> None:
    result = runner.invoke(app, ["backtest", "--json", "--samples", "4", "--seed", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["case"] for c in data["cases"]] == sorted(CASES)
    for c in data["cases"]:
        assert set(c["outcome"]) >= {"completed", "first_breach"}
        assert set(c["predicted"]) >= {"self_enforcing", "completed", "first_breach"}
        assert set(c["match"]) == {"completed", "party", "kind", "timing"}
        assert isinstance(c["share"], float)
        assert len(c["share_ci"]) == 2
        for fb in (c["outcome"]["first_breach"], c["predicted"]["first_breach"]):
            assert fb is None or set(fb) == {"party", "period", "step", "kind"}
    summary = data["summary"]
    assert summary["cases"] == 10
    assert summary["matches_at_best"] == sum(all(c["match"].values()) for c in data["cases"])
    assert set(summary["missed"]) == {c["case"] for c in data["cases"] if not all(c["match"].values())}


def test_backtest_names_cases_and_refuses_a_case_without_outcome() -> None:
    result = runner.invoke(app, ["backtest", "leap-day-2012", "--samples", "0"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 cases match at the best values" in result.stdout
    bad = runner.invoke(app, ["backtest", "worked-hostage"])
    assert bad.exit_code == 2
    assert "no 'outcome:' block" in bad.output
    assert "Traceback" not in bad.output


def test_cases_lists_dates_and_outcome() -> None:
    result = runner.invoke(app, ["cases", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)["cases"]}
    assert rows["jcpoa-2015"]["dates"] == "2015-07 to 2025-09"
    assert "US exit" in rows["jcpoa-2015"]["outcome"]


def test_backtest_report_page(tmp_path: Path) -> None:
    out = tmp_path / "backtest.html"
    result = runner.invoke(app, ["report", "--backtest", "--samples", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'data-spec="breakdown"' in html
    assert "of 10 cases match at the best values" in html
    for name in CASES:
        assert name in html


def test_backtest_on_a_subset_sums_up() -> None:
    cases = [(n, detente.load(n)) for n in ("leap-day-2012", "libya-2003")]
    res = backtest(cases)
    assert res.summary()["matches_at_best"] == 1
    assert res.missed == ["libya-2003"]
    assert "libya-2003" in res.summary_line()


#: What each miss would take (docs/cases.md, section 6): one parameter moved, the rest at
#: their best values. (case, parameter, a value that matches, a value that does not).
WHAT_IT_TAKES = [
    ("hanoi-2019", "declaration_cost", 0.26, 0.24),
    ("inf-1987", "inspections_value", 0.26, 0.25),
    ("start-1991", "inspections_value", 0.23, 0.22),
    ("libya-2003", "relief_cost_us", 0.01, 0.011),
]


@pytest.mark.parametrize(("name", "param", "fixed", "missed"), WHAT_IT_TAKES)
def test_what_each_miss_would_take(name: str, param: str, fixed: float, missed: float) -> None:
    scn = detente.load(name)
    out = scn.outcome
    assert out is not None
    actual = recorded(scn)
    assert all(compare(predict(scn, {param: fixed}), out, actual, 12).values())
    assert not all(compare(predict(scn, {param: missed}), out, actual, 12).values())


def test_new_start_can_match_completion_only_far_outside_the_range() -> None:
    scn = detente.load("new-start-2010")
    out = scn.outcome
    assert out is not None
    assert not predict(scn, {"inspections_value": 0.57}).completed
    high = predict(scn, {"inspections_value": 0.58})
    assert high.completed
    assert not compare(high, out, recorded(scn), 12)["party"]  # Russia's 2023 breach is never predicted


def test_schema_knows_actors_kinds_and_outcomes() -> None:
    from detente.io.schema import scenario_json_schema

    schema = scenario_json_schema()
    assert set(schema["properties"]["actors"]["additionalProperties"]["enum"]) == set(profile_names())
    refs = schema["properties"]["parameters"]["additionalProperties"]["anyOf"]
    assert {"$ref": "#/$defs/ProfileParameter"} in refs
    assert schema["$defs"]["ProfileParameter"]["required"] == ["from"]
    assert "outcome" in schema["properties"]
    assert set(schema["$defs"]["Concession"]["properties"]["kind"]["anyOf"][0]["enum"]) == set(KINDS)


_TEMPLATE = """name: dates
period: month
parties:
  - {{id: US, discount: 0.9}}
  - {{id: DPRK, discount: 0.9}}
concessions:
  - {{id: freeze, by: DPRK, kind: freeze, flow: {{US: 1, DPRK: -0.2}}}}
schedule:
  - {{period: 0, concession: freeze}}
outcome:
  signed: {signed}
  start: {start}
  completed: false
  first_breach: {{party: DPRK, date: {breach}, step: freeze}}
  exit: {{party: DPRK, date: {exit}}}
  ended: {ended}
"""


@given(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)), min_size=5, max_size=5))
@settings(max_examples=60, deadline=None)
def test_outcome_dates_are_refused_exactly_when_out_of_order(dates: list[dt.date]) -> None:
    signed, start, breach, exit_, ended = dates
    text = _TEMPLATE.format(signed=signed, start=start, breach=breach, exit=exit_, ended=ended)
    in_order = (
        months_between(signed, start) >= 0 and start <= breach <= ended and start <= exit_ <= ended and breach <= exit_
    )
    if in_order:
        scn = detente.loads(text, "dates.yaml")
        assert scn.outcome is not None
        assert scn.outcome.period(breach) == months_between(start, breach)
    else:
        with pytest.raises(detente.ScenarioError) as info:
            detente.loads(text, "dates.yaml")
        assert all(p.line is not None and p.loc[0] == "outcome" for p in info.value.problems)


@pytest.mark.parametrize("name", [n for n in CASES if n != "hanoi-2019"])
def test_no_bare_numbers_in_values_and_reversals(name: str) -> None:
    """Flows, one-time values, reversal costs and delays are parameters with sources (Hanoi keeps
    the few fixed small values it always had, so that the numbers the README quotes stay put)."""
    scn = detente.load(name)
    for c in scn.concessions:
        for key in ("flow", "once"):
            for pid, v in getattr(c, key).items():
                assert isinstance(v, detente.core.expr.Expr), f"{name}: {c.id}.{key}.{pid} = {v}"
        if c.reversible is not None:
            for key in ("delay", "cost"):
                v = getattr(c.reversible, key)
                assert isinstance(v, detente.core.expr.Expr) or v == 0, f"{name}: {c.id}.reversible.{key} = {v}"


def test_readme_states_the_backtest_result(library: dict[str, detente.Scenario]) -> None:
    readme = (SRC.parent.parent / "README.md").read_text()
    matched = sum(all(compare(predict(s), s.outcome, recorded(s), 12).values()) for s in library.values() if s.outcome)
    assert f"{matched} of {len(library)} cases match on every count at the best" in readme.replace("\n", " ")


def test_report_without_a_scenario_or_backtest_is_a_usage_error() -> None:
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2
    assert "--backtest" in result.output
    assert "Traceback" not in result.output


def test_hanoi_backtest_reads_the_agreement_zone_under_the_recorded_demands() -> None:
    """A case that records the parties' demands gets the zone at best values: at Hanoi no
    self-enforcing schedule meets both sides' stated demands, which predicts no deal."""
    from detente.sweeps.backtest import backtest_case

    result = backtest_case("hanoi-2019", detente.load("hanoi-2019"))
    zone = result.predicted.zone
    assert zone is not None
    assert zone["empty"] is True
    assert set(zone["conflict"]) == {"us-one-more-step", "dprk-relief-for-yongbyon"}
    assert result.to_dict()["predicted"]["zone"]["empty"] is True
    # a case without demands carries no zone
    assert backtest_case("inf-1987", detente.load("inf-1987")).predicted.zone is None
