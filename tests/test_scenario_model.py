"""The scenario model: docs/model.md §2 as written, expressions, parameters, dimensions,
named schedules, immutability and dump/load round trips."""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

import detente
from detente.core.compiled import compile_scenario
from detente.core.expr import Expr, ExpressionError, parse_expression
from detente.core.scenario import FrozenDict, Reversibility, Scenario, Step
from strategies import scenario_dicts, scenarios

FIXTURES = Path(__file__).parent / "fixtures"
SECTION2 = FIXTURES / "model_section2.yaml"
MODEL_MD = Path(__file__).resolve().parents[1] / "docs" / "model.md"  # the spec, §2


def _section2_block(markdown: str) -> str:
    section = markdown.split("## 2. Scenario file", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


# --------------------------------------------------------------------------- docs/model.md §2


def test_fixture_is_the_model_md_example_verbatim() -> None:
    assert SECTION2.read_text(encoding="utf-8") == _section2_block(MODEL_MD.read_text("utf-8"))


def test_model_md_section2_loads_exactly_as_written() -> None:
    scn = detente.load(SECTION2)
    assert scn.name == "Phased with a reversible hostage"
    assert scn.period == "month"
    assert scn.party_ids == ("US", "DPRK")
    assert [p.discount for p in scn.parties] == [0.9, 0.9]
    assert scn.concession_ids == ("moratorium", "dismantle", "relief")
    mor, dis, rel = scn.concessions
    assert (mor.by, dis.by, rel.by) == ("DPRK", "DPRK", "US")
    assert mor.flow == {"US": 2.0, "DPRK": -0.5}
    assert mor.once == {"DPRK": 0.0}
    assert mor.reversible == Reversibility(delay=0, cost=0.0)
    assert (mor.lag, mor.divisible, mor.requires) == (0, False, ())
    assert dis.flow == {"US": 3.0, "DPRK": -2.0}
    assert (dis.reversible, dis.lag, dis.divisible) == (None, 1, False)
    assert rel.flow == {"US": -1.0, "DPRK": 3.0}
    assert rel.reversible == Reversibility(delay=1, cost=0.0)
    assert (rel.lag, rel.divisible) == (0, True)
    assert scn.schedule == (
        Step(period=0, concession="moratorium", amount=1.0),
        Step(period=1, concession="relief", amount=1.0),
        Step(period=2, concession="dismantle", amount=1.0),
    )
    assert scn.design is not None
    assert scn.design.horizon == 6
    assert scn.design.tranches == {"relief": 2}
    assert scn.is_resolved


def test_reversible_false_and_true_are_accepted() -> None:
    text = """parties: [{id: US, discount: 0.9}]
concessions:
  - {id: a, by: US, reversible: false}
  - {id: b, by: US, reversible: true}
"""
    a, b = detente.loads(text).concessions
    assert a.reversible is None
    assert b.reversible == Reversibility()


# --------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("text", "env", "value"),
    [
        ("pressure * (1 - leakage)", {"pressure": 2.0, "leakage": 0.25}, 1.5),
        ("min(pressure, leakage)", {"pressure": 2.0, "leakage": 0.25}, 0.25),
        ("max(pressure, leakage, 3)", {"pressure": 2.0, "leakage": 0.25}, 3.0),
        ("-pressure", {"pressure": 2.0}, -2.0),
        ("-(1 - leakage) ** 2", {"leakage": 0.5}, -0.25),
        ("+3 / 4", {}, 0.75),
        ("2 ** -1", {}, 0.5),
    ],
)
def test_expressions_evaluate(text: str, env: dict[str, float], value: float) -> None:
    expr = parse_expression(text)
    assert expr.names == frozenset(env)
    assert expr.evaluate(env) == pytest.approx(value)


def test_expressions_evaluate_on_arrays() -> None:
    np = pytest.importorskip("numpy")
    expr = parse_expression("min(pressure * (1 - leakage), 1)")
    out = expr.evaluate({"pressure": np.array([1.0, 2.0]), "leakage": np.array([0.5, 0.0])})
    assert list(out) == [0.5, 1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "a call to '__import__' is not allowed"),
        ("__import__('os').system('ls')", "a call to '__import__' is not allowed"),
        ("open('x')", "a call to 'open' is not allowed"),
        ("eval('1')", "a call to 'eval' is not allowed"),
        ("pressure.real", "attribute access ('.real') is not allowed"),
        ("().__class__", "attribute access ('.__class__') is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("(lambda: 1)()", "a call to a lambda is not allowed"),
        ("leakage > 0.5", "a comparison is not allowed"),
        ("leakage and 1", "a boolean operator (and/or) is not allowed"),
        ("1 if leakage else 0", "a conditional (if/else) is not allowed"),
        ("[x for x in y]", "a comprehension is not allowed"),
        ("a[0]", "indexing is not allowed"),
        ("'text'", "only numbers are allowed, found the text 'text'"),
        ("True", "only numbers are allowed, found the constant True"),
        ("7 // 2", "the operator '//' is not allowed"),
        ("not leakage", "the operator 'not' is not allowed"),
        ("min", "'min' is a function"),
        ("max(a, key=b)", "max() takes one or more plain arguments"),
        ("1 +", "not a valid expression"),
        ("", "empty expression"),
        ("-" * 3000 + "1", "longer than 2000 characters"),
    ],
)
def test_forbidden_expressions_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('echo pwned')", "open('x').read()", "(lambda: 1)()", "a.b"],
)
def test_forbidden_expressions_in_a_file_name_the_field(text: str) -> None:
    yaml_text = f"""parties: [{{id: US, discount: 0.9}}]
concessions:
  - id: a
    by: US
    flow: {{US: "{text}"}}
"""
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(yaml_text, "calls.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("calls.yaml:5:16: concessions[0].flow.US: expected a number")
    assert "is not allowed" in str(problem)


def test_evaluation_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="division by zero"):
        parse_expression("1 / x").evaluate({"x": 0.0})
    with pytest.raises(ExpressionError, match="overflow"):
        parse_expression("10 ** 400.0").evaluate({})
    with pytest.raises(ExpressionError, match="not a real number"):
        parse_expression("(-1) ** 0.5").evaluate({})
    with pytest.raises(ExpressionError, match="unknown parameter 'x'"):
        parse_expression("x + 1").evaluate({})


def test_expressions_equal_by_source() -> None:
    assert parse_expression("a + b") == parse_expression("  a + b ")
    assert parse_expression("a + b") != parse_expression("b + a")
    assert hash(parse_expression("a*b")) == hash(parse_expression("a*b"))


# --------------------------------------------------------------------------- parameters

PARAMETRIC = """
name: Sanctions relief with leakage
parameters:
  pressure: {value: 2, range: [1, 4], source: "assumption"}
  leakage: {value: 0.25, range: [0, 1], distribution: triangular}
  patience: {value: 0.9, range: [0.8, 0.99]}
parties:
  - {id: US, discount: patience}
  - {id: DPRK, discount: 0.9}
concessions:
  - id: relief
    by: US
    flow: {US: -1, DPRK: "pressure * (1 - leakage)"}
    divisible: true
  - id: dismantle
    by: DPRK
    flow: {US: "max(3, pressure)", DPRK: "-min(2, pressure)"}
schedule:
  - {period: 0, concession: dismantle}
  - {period: 1, concession: relief}
"""


def test_expressions_stay_expressions_until_resolved() -> None:
    scn = detente.loads(PARAMETRIC)
    assert not scn.is_resolved
    assert isinstance(scn.concessions[0].flow["DPRK"], Expr)
    assert scn.concessions[0].flow["DPRK"].source == "pressure * (1 - leakage)"
    resolved = scn.resolve()
    assert resolved.is_resolved
    assert resolved.parties[0].discount == 0.9
    assert resolved.concessions[0].flow["DPRK"] == 1.5
    assert resolved.concessions[1].flow == {"US": 3.0, "DPRK": -2.0}


def test_resolve_with_parameters_and_fields() -> None:
    scn = detente.loads(PARAMETRIC)
    resolved = scn.resolve({"leakage": 0.6, "DPRK.discount": 0.97})
    assert resolved.party("DPRK").discount == 0.97
    assert resolved.concessions[0].flow["DPRK"] == pytest.approx(2 * (1 - 0.6))
    assert resolved.parameters["leakage"].value == 0.6
    assert scn.parameters["leakage"].value == 0.25  # the original is untouched
    comp = compile_scenario(scn, {"pressure": 4.0})
    assert comp.flow[0, 1] == pytest.approx(4 * 0.75)
    assert comp.flow[1].tolist() == [4.0, -2.0]


def test_resolve_unknown_name_lists_the_parameters() -> None:
    scn = detente.loads(PARAMETRIC)
    with pytest.raises(detente.UsageError) as info:
        scn.resolve({"leakge": 0.5})
    message = str(info.value)
    assert "unknown parameter 'leakge'" in message
    assert "did you mean 'leakage'?" in message
    assert "pressure, leakage, patience" in message


def test_resolve_that_breaks_the_scenario_is_a_scenario_error() -> None:
    scn = detente.loads(PARAMETRIC)
    with pytest.raises(detente.ScenarioError, match=r"discount in \(0, 1\), found 1\.5"):
        scn.resolve({"US.discount": 1.5})


def test_parameter_value_outside_its_range() -> None:
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(PARAMETRIC.replace("value: 0.25,", "value: 1.25,"), "p.yaml")
    expected = "p.yaml:5:20: parameters.leakage.value: expected the value inside its range [0, 1]"
    assert f"{expected}, found 1.25" in str(info.value)


# --------------------------------------------------------------------------- dimensions

DIMENSIONAL = """
dimensions: [security, economy]
parties:
  - {id: US, discount: 0.9, weights: {security: 2, economy: 0.5}}
  - {id: DPRK, discount: 0.9, weights: {security: 1, economy: 3}}
concessions:
  - id: relief
    by: US
    effects:
      US: {security: -0.5, economy: -1}
      DPRK: {economy: 1}
  - id: freeze
    by: DPRK
    flow: {US: 2}
    effects:
      DPRK: {security: -1, economy: 0.5}
"""


def test_effects_are_the_weighted_sum_of_dimensions() -> None:
    scn = detente.loads(DIMENSIONAL)
    flow = compile_scenario(scn).flow
    # relief: US 2 * -0.5 + 0.5 * -1 = -1.5; DPRK 3 * 1 = 3
    assert flow[0].tolist() == [-1.5, 3.0]
    # freeze: US flow 2; DPRK 1 * -1 + 3 * 0.5 = 0.5
    assert flow[1].tolist() == [2.0, 0.5]


def test_missing_weight_counts_as_one() -> None:
    text = DIMENSIONAL.replace(", weights: {security: 1, economy: 3}", "")
    flow = compile_scenario(detente.loads(text)).flow
    assert flow[0].tolist() == [-1.5, 1.0]


def test_flow_and_effects_for_one_party_is_refused() -> None:
    text = DIMENSIONAL.replace("flow: {US: 2}", "flow: {US: 2, DPRK: 1}")
    with pytest.raises(detente.ScenarioError, match="has both a flow and effects"):
        detente.loads(text)


# --------------------------------------------------------------------------- schedules

NAMED = """
parties:
  - {id: US, discount: 0.9}
  - {id: DPRK, discount: 0.9}
concessions:
  - {id: freeze, by: DPRK, flow: {US: 2, DPRK: -0.5}}
  - {id: relief, by: US, flow: {US: -1, DPRK: 3}, divisible: true, requires: [freeze]}
schedules:
  phased:
    - {period: 0, concession: freeze}
    - {period: 1, concession: relief, amount: 0.5}
    - {period: 2, concession: relief, amount: 0.5}
  big-bang:
    - {period: 0, concession: freeze}
    - {period: 1, concession: relief}
"""


def test_named_schedules() -> None:
    scn = detente.loads(NAMED)
    assert scn.schedule_names == ("phased", "big-bang")
    assert [s.amount for s in scn.get_schedule("phased")] == [1.0, 0.5, 0.5]
    assert len(scn.get_schedule("big-bang")) == 2
    assert [name for name, _ in scn.iter_schedules()] == ["phased", "big-bang"]


def test_unknown_schedule_lists_the_existing_ones() -> None:
    scn = detente.loads(NAMED)
    with pytest.raises(detente.UsageError) as info:
        scn.get_schedule("phasd")
    message = str(info.value)
    assert "no schedule named 'phasd'" in message
    assert "did you mean 'phased'?" in message
    assert "(schedules: phased, big-bang)" in message


def test_get_schedule_without_a_name() -> None:
    scn = detente.loads(NAMED)
    with pytest.raises(detente.UsageError, match="several schedules"):
        scn.get_schedule()
    only = detente.load(SECTION2)
    assert only.schedule_names == ("default",)
    assert only.get_schedule() == only.get_schedule("default") == only.schedule


def test_schedule_named_default_clashes_with_schedule() -> None:
    text = detente.dumps(detente.load(SECTION2)) + "schedules:\n  default: []\n"
    with pytest.raises(detente.ScenarioError, match="'default' belongs to the 'schedule:'"):
        detente.loads(text)


def test_requires_is_checked_in_every_schedule() -> None:
    text = NAMED.replace("- {period: 1, concession: relief}", "- {period: 0, concession: relief}")
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "n.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("n.yaml:15:7: schedules.big-bang[1]: 'relief' requires 'freeze'")


# --------------------------------------------------------------------------- immutability


def test_scenarios_are_immutable() -> None:
    scn = detente.load(SECTION2)
    with pytest.raises(ValidationError, match="frozen"):
        scn.name = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        scn.parties[0].discount = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError, match="cannot be changed in place"):
        scn.concessions[0].flow["US"] = 10.0
    with pytest.raises(TypeError, match="cannot be changed in place"):
        scn.concessions[0].flow.update(US=10.0)
    with pytest.raises(TypeError):
        scn.design.tranches.pop("relief")  # type: ignore[union-attr]
    assert isinstance(scn.concessions[0].flow, FrozenDict)
    assert scn.concessions[0].flow == {"US": 2.0, "DPRK": -0.5}


def test_copies_are_what_ifs() -> None:
    scn = detente.load(SECTION2)
    other = scn.with_fields({"relief.flow.DPRK": 4})
    assert other.concession("relief").flow["DPRK"] == 4.0
    assert scn.concession("relief").flow["DPRK"] == 3.0
    assert other.content_hash != scn.content_hash


def test_scenarios_pickle_copy_and_hash() -> None:
    scn = detente.loads(PARAMETRIC)
    for clone in (pickle.loads(pickle.dumps(scn)), copy.deepcopy(scn), copy.copy(scn)):
        assert clone == scn
        assert clone.content_hash == scn.content_hash
        assert hash(clone) == hash(scn)
    assert isinstance(pickle.loads(pickle.dumps(scn)).concessions[0].flow, FrozenDict)


def test_lookups_name_the_choices() -> None:
    scn = detente.load(SECTION2)
    with pytest.raises(detente.UsageError, match="unknown party 'USA'; did you mean 'US'"):
        scn.party("USA")
    with pytest.raises(detente.UsageError, match="did you mean 'relief'"):
        scn.concession("releif")


# --------------------------------------------------------------------------- round trips


def _fixture_files() -> list[Path]:
    cases = Path(detente.__file__).parent / "cases"
    return sorted(FIXTURES.glob("*.yaml")) + sorted(cases.glob("*.yaml"))


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_dump_load_round_trip_of_fixture_files(path: Path, tmp_path: Path) -> None:
    scn = detente.load(path)
    again = detente.loads(detente.dumps(scn))
    assert again == scn
    assert again.content_hash == scn.content_hash
    out = detente.dump(scn, tmp_path / "out.yaml")
    assert detente.load(out) == scn


def test_round_trip_of_expressions_and_parameters() -> None:
    for text in (PARAMETRIC, DIMENSIONAL, NAMED):
        scn = detente.loads(text)
        assert detente.loads(detente.dumps(scn)) == scn


def test_content_hash_ignores_formatting() -> None:
    flow = detente.loads("parties: [{id: US, discount: 0.9}]\nconcessions: [{id: a, by: US, flow: {US: 1}}]\n")
    block = detente.loads(
        "concessions:\n  - id: a\n    by: US\n    flow:\n      US: 1.0\nparties:\n  - id: US\n    discount: 0.90\n"
    )
    assert flow.content_hash == block.content_hash


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_dicts())
def test_generated_scenarios_are_valid(data: dict[str, object]) -> None:
    Scenario.model_validate(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_dump_load_round_trip_of_generated_scenarios(scn: Scenario) -> None:
    text = detente.dumps(scn)
    again = detente.loads(text, "generated.yaml")
    assert again == scn
    assert again.content_hash == scn.content_hash
    assert detente.dumps(again) == text
