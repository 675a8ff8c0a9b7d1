"""Robust design (``design --robust``): cross-checked against the designer point by point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.core.errors import UsageError
from detente.design.milp import design
from detente.design.robust import coverage, robust_design
from detente.sweeps.sampling import ParameterSpace, sample

runner = CliRunner()


def _points(scn: detente.Scenario, n: int, seed: int) -> list[dict[str, float]]:
    space = ParameterSpace.from_scenario(scn)
    return [{**scn.parameter_values(), **p} for p in space.points(sample(space, "sobol", n, seed))]


@pytest.fixture
def toy(toy_path: Path) -> detente.Scenario:
    return detente.load(toy_path)


def test_one_point_robust_design_is_the_design(toy: detente.Scenario) -> None:
    for p in _points(toy, 6, 2):
        expected = design(toy, params=p).to_dict()
        got = robust_design(toy, [p], 1.0)
        assert got.completion_period == expected["completion_period"]
        assert (got.status == "optimal") == bool(expected["feasible"])


@pytest.mark.parametrize("target", [0.25, 0.5, 0.75])
def test_robust_design_is_the_fastest_schedule_at_the_target_share(toy: detente.Scenario, target: float) -> None:
    points = _points(toy, 16, 3)
    need = -(-int(target * 100) * len(points) // 100)
    fastest = [design(toy, params=p).to_dict()["completion_period"] for p in points]
    got = robust_design(toy, points, target)
    feasible = sorted(t for t in fastest if t is not None)
    if len(feasible) < need:
        assert got.status == "infeasible"
        return
    assert got.status == "optimal"
    assert got.coverage_in_sample is not None
    assert got.coverage_in_sample >= need / len(points)
    # a schedule completing by T passes only where that point's fastest schedule is no later
    assert got.completion_period >= feasible[need - 1]
    # an independent count of where the schedule passes agrees with the designer's
    assert got.counts is not None
    passes = coverage(toy, got.counts, points)
    assert passes.tolist() == got.passes.tolist()  # type: ignore[union-attr]
    assert all(fastest[i] is not None and fastest[i] <= got.completion_period for i in range(16) if passes[i])


@pytest.mark.parametrize("target", [0.0, -0.1, 1.5])
def test_target_outside_the_unit_interval_is_refused(toy: detente.Scenario, target: float) -> None:
    with pytest.raises(UsageError, match=r"\(0, 1\]"):
        robust_design(toy, _points(toy, 4, 1), target)


def test_design_robust_command(toy_path: Path) -> None:
    result = runner.invoke(app, ["design", str(toy_path), "--robust", "0.5", "--robust-samples", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    r = data["robust"]
    assert {"target", "coverage_in_sample", "coverage_out_of_sample", "ci", "samples"} <= set(r)
    assert r["target"] == 0.5
    assert r["samples"] == 60
    assert r["coverage_in_sample"] >= 0.5
    assert r["ci"][0] <= r["coverage_out_of_sample"] <= r["ci"][1]
    assert data["schedule"]


@pytest.mark.parametrize(("args", "message"), [(["--robust", "0"], "(0, 1]"), (["--robust", "1.2"], "(0, 1]")])
def test_design_robust_bad_input(toy_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["design", str(toy_path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
