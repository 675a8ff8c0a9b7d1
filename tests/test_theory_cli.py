"""``detente theory``: the JSON contract of each subcommand, its tables, and bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente.cli import app

runner = CliRunner()

CASES = [
    (
        ["inspection", "--g", "1", "--f", "3", "--d", "0.8", "--c", "0.2", "--a", "2"],
        {"g": 1, "f": 3, "d": 0.8, "c": 0.2, "a": 2},
        {"q": 0.3125, "p": 0.125, "inspector_payoff": -0.25, "leader_payoff": -0.0625, "d_min": 0.25},
    ),
    (["dresher", "--n", "5", "--m", "2", "--b", "1"], {"n": 5, "m": 2, "b": 1}, {"value": 0.375}),
    (["dresher", "--n", "6", "--m", "3"], {"n": 6, "m": 3, "b": 1}, {"value": 10 / 42}),
    (["fearon", "--p", "0.6", "--cost-a", "0.1", "--cost-b", "0.1"], {"p": 0.6, "cost_a": 0.1}, {"range": [0.5, 0.7]}),
    (
        [
            "powell",
            "--discount",
            "0.9",
            "--p-now",
            "0.3",
            "--p-next",
            "0.6",
            "--cost-decliner",
            "0.1",
            "--cost-riser",
            "0.1",
        ],
        {"discount": 0.9, "p_now": 0.3, "p_next": 0.6, "cost_decliner": 0.1, "cost_riser": 0.1},
        {"war": True, "threshold": 0.319 / 0.9},
    ),
    (
        ["gradualism", "--b", "1", "--discount", "0.9", "--periods", "5"],
        {"b": 1, "discount": 0.9, "periods": 5},
        {"path": [0.45, 0.5625, 0.625781, 0.667557, 0.697573], "value": 4.5, "ratio": 0.9},
    ),
    (["trust", "--R", "4", "--T", "3", "--P", "2", "--S", "0"], {"R": 4, "T": 3, "P": 2, "S": 0}, {"threshold": 2 / 3}),
    (
        ["reactive", "--p1", "1", "--q1", "0", "--p2", "1", "--q2", "0", "--noise", "0.05"],
        {"p1": 1, "q1": 0, "noise": 0.05, "R": 3, "S": 0, "T": 5, "P": 1},
        {"s1": 0.5, "payoff1": 2.25, "payoff2": 2.25, "gtft_q": 1 / 3},
    ),
]


@pytest.mark.parametrize(("args", "inputs", "results"), CASES, ids=[c[0][0] + str(i) for i, c in enumerate(CASES)])
def test_json_is_model_inputs_results(args: list[str], inputs: dict, results: dict) -> None:
    out = runner.invoke(app, ["theory", *args, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert set(data) == {"model", "inputs", "results"}
    assert data["model"] == args[0]
    for key, value in inputs.items():
        assert data["inputs"][key] == pytest.approx(value)
    for key, value in results.items():
        if isinstance(value, bool):
            assert data["results"][key] is value
        else:
            assert data["results"][key] == pytest.approx(value, abs=5e-7)


@pytest.mark.parametrize("args", [c[0] for c in CASES])
def test_tables_fit_80_columns(args: list[str]) -> None:
    out = runner.invoke(app, ["theory", *args], terminal_width=80)
    assert out.exit_code == 0, out.output
    assert all(len(line) <= 80 for line in out.output.splitlines())
    assert args[0] in out.output


def test_tables_show_the_numbers() -> None:
    out = runner.invoke(app, ["theory", "inspection", "--g", "1", "--f", "3", "--d", "0.8", "--c", "0.2", "--a", "2"])
    for text in ("0.3125", "0.125", "-0.25", "-0.0625", "deters"):
        assert text in out.output
    out = runner.invoke(app, ["theory", "gradualism", "--b", "1", "--discount", "0.9", "--periods", "5"])
    for text in ("0.450000", "0.562500", "0.625781", "0.667557", "0.697573"):
        assert text in out.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dresher", "--n", "3", "--m", "4"], "--m 4: must be a whole number from 0 to 3"),
        (["dresher", "--n", "3", "--m", "1", "--b", "0"], "--b 0: must be a number in (0, 1e+12]"),
        (
            ["inspection", "--g", "1", "--f", "3", "--d", "1.5", "--c", "0.2", "--a", "2"],
            "--d 1.5: must be a number in (0, 1]",
        ),
        (
            ["fearon", "--p", "0.6", "--cost-a", "-0.1", "--cost-b", "0.1"],
            "--cost-a -0.1: must be a number in [0, 1e+12]",
        ),
        (["fearon", "--p", "nan", "--cost-a", "0.1", "--cost-b", "0.1"], "--p nan: must be a number in [0, 1]"),
        (
            [
                "powell",
                "--discount",
                "1",
                "--p-now",
                "0.3",
                "--p-next",
                "0.6",
                "--cost-decliner",
                "0",
                "--cost-riser",
                "0",
            ],
            "--discount 1: must be a number in (0, 1)",
        ),
        (
            [
                "powell",
                "--discount",
                "0.9",
                "--p-now",
                "0.3",
                "--p-next",
                "2",
                "--cost-decliner",
                "0",
                "--cost-riser",
                "0",
            ],
            "--p-next 2: must be a number in [0, 1]",
        ),
        (["gradualism", "--b", "-1", "--discount", "0.9"], "--b -1: must be a number in [1e-09, 1e+09]"),
        (["gradualism", "--b", "1", "--discount", "0.9", "--periods", "0"], "--periods 0: must be a whole number"),
        (["trust", "--R", "3", "--T", "5", "--P", "1", "--S", "0"], "--R 3: must be a number > T = 5"),
        (["reactive", "--p1", "1", "--q1", "0", "--p2", "1", "--q2", "2"], "--q2 2: must be a number in [0, 1]"),
    ],
)
def test_bad_input_names_the_option_and_range(args: list[str], expected: str) -> None:
    out = runner.invoke(app, ["theory", *args])
    assert out.exit_code == 2
    text = " ".join(out.output.split())  # the error console does not wrap, but be safe
    assert expected in text
    assert "Traceback" not in out.output
    assert text.count("error:") == 1


def test_a_non_number_is_a_usage_error() -> None:
    out = runner.invoke(app, ["theory", "dresher", "--n", "2.5", "--m", "1"])
    assert out.exit_code == 2
    assert "--n" in out.output
