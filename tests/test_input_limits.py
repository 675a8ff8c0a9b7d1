"""Regression tests for hostile or oversized input: each one a defect that once gave a
traceback, an internal error (exit 70, HTTP 500) or quadratic time, now a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.core.errors import ScenarioError
from detente.core.expr import ExpressionError, parse_expression
from detente.io.yaml import scenario_from_data


def _chain(n: int, cycle: bool = False) -> dict[str, Any]:
    concessions: list[dict[str, Any]] = []
    for k in range(n):
        c: dict[str, Any] = {"id": f"c{k}", "by": "A", "flow": {"A": -1, "B": 1}}
        if k:
            c["requires"] = [f"c{k - 1}"]
        concessions.append(c)
    if cycle:
        concessions[0]["requires"] = [f"c{n - 1}"]
    return {
        "name": "chain",
        "parties": [{"id": "A", "discount": 0.9}, {"id": "B", "discount": 0.9}],
        "concessions": concessions,
    }


def test_a_long_prerequisite_chain_is_no_recursion_error() -> None:
    scn = scenario_from_data(_chain(5_000), "chain.yaml")
    assert len(scn.concessions) == 5_000


def test_a_long_prerequisite_cycle_is_reported_once() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_data(_chain(3_000, cycle=True), "chain.yaml")
    cycles = [p for p in info.value.problems if "prerequisite cycle" in p.message]
    assert len(cycles) == 1
    assert cycles[0].message.startswith("prerequisite cycle: c0 -> c2999 -> c2998")


# --------------------------------------------------------------------------- the command line

runner = CliRunner()
TOY = "tests/fixtures/toy_sweeps.yaml"


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check", "hanoi-2019", "--set", "leakage=nan"), "--set leakage: expected a finite number"),
        (("check", "hanoi-2019", "--set", "leakage=inf"), "--set leakage: expected a finite number"),
        (("check", "hanoi-2019", "--set", "leakage=1e999"), "--set leakage: expected a finite number"),
        (("check", TOY, "--set", "US.foo=1"), "unknown field 'foo'"),
        (("check", TOY, "--set", "US.discount=1e300"), "--set US.discount"),
        (("simulate", TOY, "-s", "front", "--no-store", "--seed", "-1"), "--seed"),
        (("simulate", TOY, "-s", "front", "--no-store", "--seed", str(2**63)), "--seed"),
        (("simulate", TOY, "-s", "front", "--no-store", "--strategy", "US=grit(k=x)"), "'k' expects a whole number"),
        (("simulate", TOY, "-s", "front", "--no-store", "-n", "1000000000", "--horizon", "1000"), "--episodes"),
        (("serve", "--jobs", "0"), "--jobs"),
        (("match", "tit-for-tat", "defector", "--turns", "1000000000"), "--turns"),
        (("tournament", "--game", "prisoners-dilemma", "--repetitions", "1000000000"), "--repetitions"),
        (("tournament", "--game", "prisoners-dilemma", "--repetitions", "100000"), "--turns × --repetitions"),
    ],
)
def test_bad_arguments_are_a_clear_message_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    code, out = _run(*args)
    assert code == 2, out
    flat = " ".join(out.replace("│", " ").split())
    assert expected in flat, out
    assert "internal error" not in out
    assert "Traceback" not in out


def test_a_5000_digit_integer_is_over_the_number_size_limit(tmp_path: Path) -> None:
    text = Path(TOY).read_text(encoding="utf-8")
    path = tmp_path / "big.yaml"
    path.write_text(text.replace("fixed: {value: 2}", "fixed: {value: " + "9" * 5000 + "}"), encoding="utf-8")
    code, out = _run("validate", str(path))
    assert code == 2
    assert "number-size limit" in out
    assert "5000-digit number" in out


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("+".join(["x"] * 60), True),  # a flat sum is long, not deep
        ("-".join(["x"] * 200), True),
        ("*".join(["x"] * 100) + "+" + "/".join(["x"] * 100), True),
        ("+".join(["x"] * 300), False),
        ("(x+" * 70 + "x" + ")" * 70, False),
        ("-" * 80 + "x", False),
        ("9" * 20 + " * x", False),
    ],
)
def test_expression_depth_is_distinguished_from_length(text: str, ok: bool) -> None:
    if ok:
        assert parse_expression(text).names == {"x"}
        return
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    message = str(info.value)
    assert any(word in message for word in ("too long", "nested too deeply", "number-size limit")), message


def test_a_lag_over_its_limit_is_refused_at_load() -> None:
    data = _chain(2)
    data["concessions"][0]["verification_lag"] = 10**9
    with pytest.raises(ScenarioError) as info:
        scenario_from_data(data, "lag.yaml")
    assert "at most 10,000 (the limit)" in str(info.value)
