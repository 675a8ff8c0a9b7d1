"""Global sensitivity: Sobol and Morris against analytic answers, and ``detente sensitivity``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.core.errors import UsageError
from detente.sweeps.sensitivity import sensitivity

runner = CliRunner()
HERE = Path(__file__).resolve().parent


def test_sobol_indices_of_a_linear_function(toy_path: Path) -> None:
    # Y = x + 2 y with x, y ~ U(0, 1): Var = 1/12 + 4/12, so S_x = 0.2 and S_y = 0.8 (no interactions)
    scn = detente.load(toy_path)
    res = sensitivity(scn, "x + 2 * y", samples=512, seed=1, params=["x", "y"], tornado=True)
    idx = {r["parameter"]: r for r in res.indices}
    assert [r["parameter"] for r in res.indices] == ["y", "x"]
    assert idx["x"]["first_order"] == pytest.approx(0.2, abs=0.05)
    assert idx["y"]["first_order"] == pytest.approx(0.8, abs=0.05)
    assert idx["x"]["total_order"] == pytest.approx(0.2, abs=0.05)
    assert idx["y"]["total_order"] == pytest.approx(0.8, abs=0.05)
    assert 0 < idx["x"]["total_order_ci"] < 0.1
    assert res.evaluations == 512 * (2 * 2 + 2)
    assert res.base_value == pytest.approx(1.5)
    assert (idx["y"]["at_low"], idx["y"]["at_high"]) == (pytest.approx(0.5), pytest.approx(2.5))


def test_morris_ranks_by_elementary_effects(toy_path: Path) -> None:
    scn = detente.load(toy_path)
    res = sensitivity(scn, "x + 2 * y", method="morris", samples=20, seed=2, params=["x", "y", "lag"])
    idx = {r["parameter"]: r for r in res.indices}
    assert [r["parameter"] for r in res.indices][:2] == ["y", "x"]
    assert idx["y"]["mu_star"] == pytest.approx(2 * idx["x"]["mu_star"], rel=1e-6)
    assert idx["lag"]["mu_star"] == 0


def test_sobol_of_a_check_output_finds_its_driver(toy_path: Path) -> None:
    scn = detente.load(toy_path)
    res = sensitivity(scn, "check[hostage].margin", samples=64, seed=3, second_order=False)
    assert res.indices[0]["parameter"] == "relief_value"
    assert res.indices[0]["total_order"] > 0.9
    idx = {r["parameter"]: r for r in res.indices}
    assert idx["x"]["total_order"] == idx["y"]["total_order"] == 0  # the scenario never reads them


def test_constant_output_has_no_drivers(toy_path: Path) -> None:
    res = sensitivity(detente.load(toy_path), "check[front].participation.US", samples=8, seed=0, params=["x", "y"])
    assert res.constant
    assert all(r["total_order"] == 0 for r in res.indices)


def test_an_undefined_output_is_refused(toy_path: Path) -> None:
    with pytest.raises(UsageError, match="undefined"):
        sensitivity(detente.load(toy_path), "design.completion_period", samples=4, seed=0, params=["relief_value"])


def test_sensitivity_command_prints_a_tornado(toy_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sensitivity",
            str(toy_path),
            "--output",
            "check[hostage].min_slack.DPRK",
            "-n",
            "32",
            "-p",
            "relief_value",
            "-p",
            "x",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "What drives check[hostage].min_slack.DPRK" in " ".join(result.output.split())
    lines = result.output.splitlines()
    first = next(i for i, line in enumerate(lines) if "relief_val" in line)
    assert "█" * 8 in lines[first]  # the longest bar (8 cells): the top driver
    assert any("│ x " in line and "█" not in line for line in lines[first + 1 :])


def test_sensitivity_command_json(toy_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sensitivity",
            str(toy_path),
            "-o",
            "check[hostage].self_enforcing",
            "-n",
            "16",
            "--method",
            "morris",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "morris"
    assert data["evaluations"] == 16 * (4 + 1)
    assert data["indices"][0]["parameter"] == "relief_value"
    shown = json.loads(runner.invoke(app, ["runs", "show", data["run_id"], "--json"]).output)
    assert shown["kind"] == "sensitivity"
    assert shown["results"]["sensitivity"]["output"] == data["output"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "check[hostage].marginn"], "did you mean 'margin'"),
        (["-o", "check[hostage].margin >"], "ends too early"),
        (["-o", "x", "--method", "fast"], "unknown method"),
        (["-o", "x", "-p", "fixed"], "has no range"),
        (["-o", "x", "--method", "morris", "--levels", "3"], "even"),
    ],
)
def test_bad_sensitivity_input(toy_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["sensitivity", str(toy_path), "-n", "4", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
