"""The claim language (parsing, types, errors, evaluation) and ``detente claims``."""

from __future__ import annotations

import builtins
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import detente
from detente.analysis.tipping import tipping_points
from detente.cli import app
from detente.core.errors import UsageError
from detente.sweeps.claims import (
    ClaimSpec,
    compile_claim,
    compile_expression,
    evaluate_claims,
    load_claims_file,
    split_args,
)

runner = CliRunner()


CLAIMS = """
claims:
  - id: x-small
    text: x is below a quarter.
    claim: x < 0.25
  - id: hostage-holds
    text: The hostage schedule holds.
    claim: check[hostage].self_enforcing
  - id: always
    claim: x < 2
  - id: front-fails
    claim: not check[front].self_enforcing
    expect: false
"""


@pytest.fixture
def toy(toy_path: Path) -> detente.Scenario:
    return detente.load(toy_path)


@pytest.fixture
def claims_path(tmp_path: Path) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(CLAIMS, encoding="utf-8")
    return path


def value(text: str, scn: detente.Scenario, env: dict[str, Any] | None = None) -> Any:
    expr = compile_expression(text, scn)
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in (env or {}).items()}
    return expr.evaluate(arrays, 1)[0]


# --------------------------------------------------------------------------- the language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 == 7", True),
        ("(1 + 2) * 3 == 9", True),
        ("2 - 1 - 1 == 0", True),
        ("8 / 2 / 2 == 2", True),
        ("-2 < -1 < 0", True),
        ("0 < 2 < 1", False),
        ("not true and false", False),
        ("not (true and false)", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("true == (not false)", True),
        ("min(3, 1, 2) == 1 and max(1, 4) == 4 and abs(-2) == 2", True),
        ("1e-3 < .01", True),
        ("inf > 1e300", True),
        ("2 * x == 1", True),  # a parameter reads its best value when it is not swept
    ],
)
def test_operators_and_precedence(toy: detente.Scenario, text: str, expected: bool) -> None:
    assert bool(value(text, toy, {"param:x": 0.5})) is expected


def test_nan_makes_every_comparison_false(toy: detente.Scenario) -> None:
    env = {"check[hostage].margin": math.nan}
    assert not value("check[hostage].margin > 0", toy, env)
    assert not value("check[hostage].margin != 0", toy, env)
    assert value("not (check[hostage].margin > 0)", toy, env)
    # a truth value that could not be computed counts as false
    assert not value("check[hostage].self_enforcing", toy, {"check[hostage].self_enforcing": math.nan})


def test_terms_are_canonical_and_computed_once(toy: detente.Scenario) -> None:
    a = compile_expression("simulate[DPRK=reciprocal; schedule=hostage].crisis_rate", toy)
    b = compile_expression("simulate[schedule=hostage, US=reciprocal].value.US", toy)
    assert a.calls == b.calls
    assert a.calls[0].key == "simulate[US=reciprocal, DPRK=reciprocal; schedule=hostage; episodes=200; horizon=120]"
    both = compile_claim(
        ClaimSpec(
            "c", "check[hostage].margin > 0 and check[hostage].min_slack.DPRK > -1 or check[front].self_enforcing"
        ),
        toy,
    )
    assert [c.key for c in both.expression.calls] == ["check[hostage]", "check[front]"]


def test_split_args_keeps_strategy_parameters_together() -> None:
    assert split_args("US=grit(k=4, m=2), DPRK=hedger; schedule=phased") == [
        ("US", "grit(k=4, m=2)"),
        ("DPRK", "hedger"),
        ("schedule", "phased"),
    ]
    assert split_args("phased") == [("phased", None)]


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ("", "empty"),
        ("check[hostage].self_enforcing and", "ends too early"),
        ("check[hostage].self_enforcing AND true", "lower case"),
        ("check[nope].self_enforcing", "unknown schedule 'nope'"),
        ("check[hostag].self_enforcing", "did you mean 'hostage'"),
        ("check[hostage].self_enforcin", "did you mean 'self_enforcing'"),
        ("check[hostage].min_slack.USA < 0", "'USA' is not one of US, DPRK"),
        ("check[hostage].participation > 0", "name the party or concession"),
        ("check[hostage]", "needs an output"),
        ("check.self_enforcing", "several schedules"),
        ("checks[hostage].margin > 0", "did you mean 'check'"),
        ("foo.bar > 1", "unknown analysis 'foo'"),
        ("simulate[US=nonsense; schedule=hostage].crisis_rate > 0", "unknown strategy 'nonsense'"),
        ("simulate[USA=reciprocal; schedule=hostage].crisis_rate > 0", "'USA' is not a party"),
        ("simulate[US=reciprocal].crisis_rate > 0", "several schedules"),
        ("simulate[schedule=hostage; horizon=1].crisis_rate > 0", "runs to period 2"),
        ("simulate[schedule=hostage].crisis_rat > 0", "did you mean 'crisis_rate'"),
        ("design[horizon=abc].feasible", "whole number"),
        ("design[relief=3, moratorium=2].feasible", "not divisible"),
        ("design[hrizon=3].feasible", "did you mean 'horizon'"),
        ("design.done.nothing < 3", "'nothing' is not one of"),
        ("check[hostage].margin", "must be true or false"),
        ("check[hostage].self_enforcing + 1 > 0", "needs a number"),
        ("check[hostage].self_enforcing < 1", "needs a number"),
        ("check[hostage].self_enforcing == 1", "compares a number with a truth value"),
        ("not check[hostage].margin", "needs a truth value"),
        ("x = 1", "'=' is not an operator"),
        ("check[hostage.margin > 0", "never closed"),
        ("x > 0]", "without a matching"),
        ("leakage > 0.5", "unknown name 'leakage'"),
        ("__import__('os').system('true')", "unexpected character"),
        ("__import__(1) > 0", "unknown name '__import__'"),
        ("x.__class__ > 0", "unexpected"),
        ("lambda: 1", "unexpected character ':'"),
        ("lambda > 1", "unknown name 'lambda'"),
        ("x > 0 ; x < 1", "unexpected character ';'"),
        ("x > 0 x < 1", "missing operator"),
        ("min(x) > 0", "two or more"),
        ("abs(x, y) > 0", "one argument"),
        ("(x > 0", "expected ')'"),
        ("x > > 0", "expected a value"),
        ("true == not false", "write (not ...)"),
        ("and x > 0", "needs a truth value before it"),
        ("[1] > 0", "must follow an analysis"),
        ("`weird` > 0", "can only follow '.'"),
        ("((((" * 30 + "x" + "))))" * 30 + " > 0", "nested too deeply"),
    ],
)
def test_bad_claims_are_refused_with_a_clear_message(toy: detente.Scenario, claim: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        compile_claim(ClaimSpec("c1", claim), toy)
    text = str(info.value)
    assert message in text
    assert text.startswith("claim 'c1'")
    assert ", column " in text or "empty" in text or "must be true or false" in text


def test_errors_point_at_the_column(toy: detente.Scenario) -> None:
    with pytest.raises(UsageError) as info:
        compile_claim(ClaimSpec("c", "x > 0 and y >< 1"), toy)
    assert str(info.value).startswith("claim 'c', column 14: expected a value, found '<'")
    assert "\n    x > 0 and y >< 1\n                 ^" in str(info.value)


def test_nothing_is_ever_evaluated_as_code(toy: detente.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile must not be used")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    claim = compile_claim(ClaimSpec("c", "check[hostage].margin > -1 and (x + 1) * 2 >= min(y, 3)"), toy)
    env = {"check[hostage].margin": np.array([0.5, -2.0]), "param:x": np.zeros(2), "param:y": np.ones(2)}
    assert claim.expression.evaluate(env, 2).tolist() == [True, False]


def test_the_hanoi_claims_compile() -> None:
    from detente.sweeps.claims import claims_from_scenario

    scn = detente.load("hanoi-2019")
    specs = claims_from_scenario(scn)
    assert len(specs) >= 6
    for spec in specs:
        assert compile_claim(spec, scn).expression.type == "bool"


# --------------------------------------------------------------------------- claim files


def test_claims_file_forms(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- {id: a, claim: x > 0}\n- {id: b, claim: 'y <\n   1', expect: false, samples: 8}\n")
    specs = load_claims_file(listed)
    assert [(s.id, s.claim, s.expect, s.samples) for s in specs] == [
        ("a", "x > 0", True, None),
        ("b", "y < 1", False, 8),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("claims:\n  - {id: a, claim: x > 0, expct: true}\n", "did you mean 'expect'"),
        ("- {id: a, claim: x > 0}\n- {id: a, claim: x > 1}\n", "duplicate claim id 'a'"),
        ("- &c {id: a, claim: x > 0}\n- *c\n", "aliases are not allowed"),
        ("- {id: a, claim: [x]}\n", "expected a 'claim'"),
        ("- {id: a, claim: x > 0, samples: 1}\n", "'samples' must be"),
        ("- {id: a, claim: x > 0, expect: maybe}\n", "'expect' must be"),
        ("claims: [\n", "not valid YAML"),
        ("name: nothing here\n", "a 'claims:' key"),
    ],
)
def test_bad_claims_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_claims_file(path)


# --------------------------------------------------------------------------- evaluation


def test_evaluate_claims_against_known_answers(toy: detente.Scenario, claims_path: Path) -> None:
    specs = load_claims_file(claims_path)
    results, run_ids = evaluate_claims(toy, specs, samples=64, seed=3, method="sobol")
    by_id = {r.id: r for r in results}
    assert run_ids == []  # no store given

    small = by_id["x-small"]
    lo, hi = small.ci95
    assert lo <= 0.25 <= hi
    assert small.holds_share == pytest.approx(0.25, abs=0.06)
    assert small.drivers[0]["parameter"] == "x"
    assert small.drivers[0]["method"] == "Sobol total order"
    assert small.drivers[0]["index"] > 0.8
    assert all(d["index"] < 0.1 for d in small.drivers[1:])
    (tip,) = small.tipping_points
    assert tip["parameter"] == "x"
    assert tip["value"] == pytest.approx(0.25, abs=1e-3)
    assert tip["holds_below"]
    assert "x < 0.25" in tip["sentence"]
    assert small.verdict == "mostly fails"
    assert not small.agrees
    assert "The model disagrees with this claim" in small.message

    # the check's verdict flips where detente's own tipping-point scan says it does
    held = by_id["hostage-holds"]
    exact = next(t for t in tipping_points(toy, "hostage") if t.parameter == "relief_value")
    share = (5 - exact.value) / 4  # relief_value uniform on [1, 5]
    assert held.ci95[0] <= share <= held.ci95[1]
    assert held.drivers[0]["parameter"] == "relief_value"
    tip = next(t for t in held.tipping_points if t["parameter"] == "relief_value")
    assert tip["value"] == pytest.approx(exact.value, abs=2e-3)
    assert not tip["holds_below"]

    always = by_id["always"]
    assert always.holds_share == 1.0
    assert always.message.startswith("The model agrees: the claim holds at every one of the 128 sample points")
    assert always.verdict == "holds"
    assert always.agrees
    assert always.tipping_points == ()
    assert always.drivers == ()
    assert always.failure_box is None
    assert "no drivers: the claim holds everywhere" in always.drivers_sentence

    front = by_id["front-fails"]  # asserted false by the 'literature' but true everywhere in the model
    assert front.holds_share == 1.0
    assert not front.agrees
    assert "disagrees" in front.message


def test_claims_command_json_contract(toy_path: Path, claims_path: Path) -> None:
    result = runner.invoke(app, ["claims", str(toy_path), "--claims", str(claims_path), "-n", "64", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [c["id"] for c in data["claims"]] == ["x-small", "hostage-holds", "always", "front-fails"]
    for c in data["claims"]:
        assert {"id", "statement", "holds_share", "holds_ci", "drivers", "failure_box", "tipping_points"} <= set(c)
        assert 0 <= c["holds_ci"][0] <= c["holds_share"] <= c["holds_ci"][1] <= 1
        for d in c["drivers"]:
            assert set(d) == {"parameter", "index", "ci", "method"}
            assert d["ci"][0] <= d["index"] <= d["ci"][1]
        if c["failure_box"] is not None:
            assert {"coverage", "density", "bounds", "text"} <= set(c["failure_box"])
    by_id = {c["id"]: c for c in data["claims"]}
    assert [d["parameter"] for d in by_id["x-small"]["drivers"]] == ["x"]
    assert by_id["always"]["drivers"] == []
    assert by_id["always"]["failure_box"] is None
    assert list(by_id["x-small"]["failure_box"]["bounds"]) == ["x"]
    (run_id,) = data["run_ids"]
    shown = json.loads(runner.invoke(app, ["runs", "show", run_id, "--json"]).output)
    assert shown["kind"] == "claims"
    assert shown["points"] == 64 == shown["completed"]
    assert [c["id"] for c in shown["results"]["claims"]] == [c["id"] for c in data["claims"]]


def test_claims_command_says_where_the_model_disagrees(toy_path: Path, claims_path: Path) -> None:
    result = runner.invoke(
        app, ["claims", str(toy_path), "--claims", str(claims_path), "-n", "64", "--only", "x-small"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "The model disagrees with this claim" in text
    assert "driven by x (" in text
    assert "(extra-trees feature scoring)" in text
    assert "failure box: fails mainly when x > 0.2" in text
    assert "tipping: along x" in text


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ("- {id: a, claim: 'check[hostage].self_enforcin'}\n", "did you mean 'self_enforcing'"),
        ("- {id: a, claim: 'simulate[US=bully; schedule=hostage].crisis_rate > 0'}\n", "unknown strategy 'bully'"),
        ("- {id: a, claim: 'x >'}\n", "ends too early"),
    ],
)
def test_claims_command_refuses_bad_claims_before_running(
    toy_path: Path, tmp_path: Path, claims: str, message: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(claims)
    result = runner.invoke(app, ["claims", str(toy_path), "--claims", str(path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "runs.duckdb").exists()  # nothing ran, nothing was stored


def test_claims_command_without_claims(toy_path: Path) -> None:
    result = runner.invoke(app, ["claims", str(toy_path)])
    assert result.exit_code == 2
    assert "has no claims" in result.output


@pytest.mark.slow
def test_the_hanoi_claims_evaluate() -> None:
    result = runner.invoke(app, ["claims", "hanoi-2019", "-n", "50", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["claims"]) >= 6
    for c in data["claims"]:
        assert c["message"]


def test_claims_with_their_own_sample_sizes_share_one_sample(toy_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "sizes.yaml"
    path.write_text("- {id: a, claim: x < 0.5, samples: 60}\n- {id: b, claim: y < 0.5, samples: 80}\n")
    result = runner.invoke(app, ["claims", str(toy_path), "--claims", str(path), "--json", "--run-id", "sz"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["run_ids"] == ["sz"]
    assert [c["n"] for c in data["claims"]] == [80, 80]  # the largest, for both
    shown = json.loads(runner.invoke(app, ["runs", "show", "sz", "--json"]).output)
    assert shown["points"] == 80
    assert [c["id"] for c in shown["results"]["claims"]] == ["a", "b"]
