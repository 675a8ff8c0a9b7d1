"""Sampling and sweeps: ranges and distributions, seeds, rows that equal direct analyses,
executor invariance, and the ``detente sweep`` command with its bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.core.errors import UsageError
from detente.design.milp import design
from detente.sweeps.executors import LocalExecutor
from detente.sweeps.sampling import ParameterSpace, point_seed, sample, unit_sample
from detente.sweeps.sweep import sweep

runner = CliRunner()


@pytest.fixture
def toy(toy_path: Path) -> detente.Scenario:
    return detente.load(toy_path)


def canon(rows: object) -> str:
    """Rows as text, so that NaN equals NaN and every bit of every float counts."""
    return json.dumps(rows, sort_keys=True, allow_nan=True)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("method", ["lhs", "sobol", "random"])
def test_samples_stay_in_range_and_integers_are_whole(toy: detente.Scenario, method: str) -> None:
    space = ParameterSpace.from_scenario(toy)
    assert space.names == ("x", "y", "relief_value", "lag")  # 'fixed' has no range
    m = sample(space, method, 64, seed=5)
    assert m.shape == (64, 4)
    for j in range(space.dim):
        assert m[:, j].min() >= space.lows[j]
        assert m[:, j].max() <= space.highs[j]
    assert np.array_equal(m[:, 3], np.rint(m[:, 3]))


def test_integer_parameter_takes_each_whole_value_equally_often(toy: detente.Scenario) -> None:
    # rounding the plain range [0, 3] would give 0 and 3 half the weight of 1 and 2
    space = ParameterSpace.from_scenario(toy, ["lag"])
    values = sample(space, "random", 40_000, seed=1)[:, 0]
    shares = [float(np.mean(values == v)) for v in (0, 1, 2, 3)]
    assert shares == pytest.approx([0.25] * 4, abs=0.01)


def test_latin_hypercube_puts_one_point_in_each_stratum() -> None:
    u = unit_sample("lhs", 50, 3, seed=2)
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 50).astype(int)) == list(range(50))


def test_triangular_and_normal_distributions() -> None:
    space = ParameterSpace(("t", "n"), (0.0, 0.0), (1.0, 10.0), (0.2, 5.0), ("triangular", "normal"), (False, False))
    m = sample(space, "random", 20_000, seed=3)
    t, n = m[:, 0], m[:, 1]
    # triangular(0, 0.2, 1): P(t <= 0.2) = 0.2, mean 0.4
    assert float(np.mean(t <= 0.2)) == pytest.approx(0.2, abs=0.015)
    assert float(t.mean()) == pytest.approx(0.4, abs=0.01)
    # normal, mean 5, sd 10/4 = 2.5, truncated to [0, 10]: symmetric, inside, sd a bit below 2.5
    assert n.min() >= 0
    assert n.max() <= 10
    assert float(n.mean()) == pytest.approx(5.0, abs=0.06)
    assert 2.1 < float(n.std()) < 2.5


def test_same_seed_same_points_other_seed_other_points(toy: detente.Scenario) -> None:
    space = ParameterSpace.from_scenario(toy)
    assert np.array_equal(sample(space, "sobol", 16, 9), sample(space, "sobol", 16, 9))
    assert not np.array_equal(sample(space, "sobol", 16, 9), sample(space, "sobol", 16, 10))


def test_grid_is_the_product_of_levels(toy: detente.Scenario) -> None:
    space = ParameterSpace.from_scenario(toy, ["x", "lag"])
    g = sample(space, "grid", 3, seed=0)
    assert g.shape == (3 * 3, 2)
    assert sorted(set(g[:, 0])) == [0.0, 0.5, 1.0]
    assert set(g[:, 1]) <= {0.0, 1.0, 2.0, 3.0}
    assert len(set(g[:, 1])) == 3
    with pytest.raises(UsageError, match="points"):
        ParameterSpace.from_scenario(toy).grid(1000)


def test_point_seed_is_the_spawned_child() -> None:
    children = np.random.SeedSequence(7).spawn(5)
    for i, child in enumerate(children):
        assert point_seed(7, i) == int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert len({point_seed(7, i) for i in range(100)}) == 100


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["fixed"], "has no range"),
        (["nope"], "unknown parameter 'nope'"),
        (["relief_valu"], "did you mean 'relief_value'"),
    ],
)
def test_bad_parameter_choice(toy: detente.Scenario, names: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ParameterSpace.from_scenario(toy, names)


def test_empty_range_is_refused(tmp_path: Path, toy_text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(toy_text.replace("x: {value: 0.5, range: [0, 1]}", "x: {value: 0.5, range: [0.5, 0.5]}"))
    with pytest.raises(UsageError, match="empty range"):
        ParameterSpace.from_scenario(detente.load(path))


# --------------------------------------------------------------------------- sweeps


def test_check_rows_equal_direct_checks(toy: detente.Scenario) -> None:
    result = sweep(toy, "check", samples=12, seed=4)
    assert [r["point"] for r in result.rows] == list(range(12))
    for row in result.rows:
        for name in ("front", "hostage"):
            report = detente.check(toy, name, params=row["params"])
            out = row["outputs"]
            assert out[f"check[{name}].self_enforcing"] is report.self_enforcing
            assert out[f"check[{name}].margin"] == report.margin
            assert out[f"check[{name}].min_slack.DPRK"] == report.min_slack_by_party()["DPRK"]
            assert out[f"check[{name}].participation.US"] == report.participation["US"]


def test_design_rows_equal_direct_designs(toy: detente.Scenario) -> None:
    result = sweep(toy, "design", samples=6, seed=1, params=["relief_value"])
    seen = set()
    for row in result.rows:
        d = design(toy, params=row["params"])
        out = row["outputs"]
        assert out["design.feasible"] is d.feasible
        expected = d.completion_period if d.feasible else math.inf
        assert out["design.completion_period"] == expected
        seen.add(d.feasible)
        if not d.feasible:
            assert out["design.done.relief"] == math.inf
            assert out["design.side_payment"] > 0
    assert seen == {True, False}  # relief_value in [1, 5] crosses feasibility


def test_simulate_rows_use_one_seed_per_point_and_any_worker_count(toy: detente.Scenario) -> None:
    from detente.simulation.simulate import simulate

    kwargs = {"samples": 10, "seed": 11, "strategies": {"DPRK": "hedger"}, "episodes": 40, "schedules": ["hostage"]}
    serial = sweep(toy, "simulate", **kwargs)
    with LocalExecutor(2) as ex:
        pooled = sweep(toy, "simulate", executor=ex, **kwargs)
    assert canon(serial.rows) == canon(pooled.rows)
    key = "simulate[US=reciprocal, DPRK=hedger; schedule=hostage; episodes=40; horizon=120]"
    row = serial.rows[7]
    direct = simulate(
        toy, {"DPRK": "hedger"}, 40, point_seed(11, 7), schedule="hostage", horizon=120, params=row["params"]
    ).summary()
    assert row["outputs"][f"{key}.value.US"] == direct["parties"]["US"]["value"]["mean"]
    other = sweep(toy, "simulate", **{**kwargs, "seed": 12})
    assert canon(other.rows) != canon(serial.rows)


# --------------------------------------------------------------------------- the command


def test_sweep_json_contract(toy_path: Path) -> None:
    code, out = run("sweep", str(toy_path), "--analysis", "check", "-n", "8", "--schedule", "hostage", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert set(data) >= {"run_id", "rows"}
    assert [r["point"] for r in data["rows"]] == list(range(8))
    first = data["rows"][0]
    assert set(first["params"]) == {"x", "y", "relief_value", "lag"}
    assert set(first["outputs"]) == {
        "check[hostage].self_enforcing",
        "check[hostage].margin",
        "check[hostage].min_slack",
        "check[hostage].min_slack.US",
        "check[hostage].min_slack.DPRK",
        "check[hostage].participation.US",
        "check[hostage].participation.DPRK",
    }
    code, out = run("runs", "show", data["run_id"], "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["run_id"], shown["points"], shown["completed"]) == (data["run_id"], 8, 8)


def test_sweep_table_output(toy_path: Path) -> None:
    code, out = run("sweep", str(toy_path), "-n", "6", "--method", "sobol", "-s", "hostage")
    assert code == 0, out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "check[hostage]" in line)
    assert "self_enforcing" in lines[header + 1]
    assert "%" in lines[header + 1]  # the share of points where it holds
    assert "stored in" in " ".join(out.split())


def test_infeasible_design_prints_null_in_json(toy_path: Path) -> None:
    code, out = run(
        "sweep", str(toy_path), "-a", "design", "-n", "4", "-p", "relief_value", "--method", "grid", "--json"
    )
    assert code == 0, out
    rows = json.loads(out)["rows"]
    assert [r["params"]["relief_value"] for r in rows] == [1.0, 1 + 4 / 3, 1 + 8 / 3, 5.0]
    assert rows[0]["outputs"]["design.completion_period"] is None  # never: no self-enforcing schedule
    assert rows[-1]["outputs"]["design.completion_period"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "fixed"], "has no range"),
        (["--param", "nope"], "unknown parameter"),
        (["--analysis", "chek"], "did you mean 'check'"),
        (["--method", "halton"], "unknown"),
        (["--schedule", "nope"], "unknown schedule 'nope'"),
        (["-a", "simulate", "--strategy", "US=nonsense", "-s", "hostage"], "unknown strategy 'nonsense'"),
        (["-a", "simulate", "--strategy", "USA=reciprocal", "-s", "hostage"], "'USA' is not a party"),
        (["--strategy", "US=reciprocal"], "for --analysis simulate"),
        (["--executor", "spark"], "unknown executor"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
        (["-n", "0"], "at least 1"),
        (["--seed", "-1"], "--seed"),
        (["--run-id", "bad id!"], "--run-id"),
        (["--resume"], "no unfinished sweep"),
    ],
)
def test_bad_sweep_input_is_one_clear_message(toy_path: Path, args: list[str], message: str) -> None:
    code, out = run("sweep", str(toy_path), "-n", "3", *args)
    assert code == 2, out
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_empty_range_on_the_command_line(tmp_path: Path, toy_text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(toy_text.replace("y: {value: 0.5, range: [0, 1]}", "y: {value: 0.5, range: [0.5, 0.5]}"))
    code, out = run("sweep", str(path), "-n", "3")
    assert code == 2
    assert "empty range" in out
    assert "'y'" in out


def test_one_executor_serves_several_tasks_in_turn(toy: detente.Scenario) -> None:
    # a pool keeps the task its workers were started with; a later task must get a fresh pool,
    # even when it happens to occupy the memory address of a task that has been freed
    from detente.sweeps.sweep import analysis_calls, evaluate_points

    calls = analysis_calls(toy, "simulate", schedules=["hostage"], strategies={"DPRK": "hedger"}, episodes=20)
    points = [{**toy.parameter_values(), "relief_value": 1 + 0.25 * i} for i in range(12)]
    expected = evaluate_points(toy, calls, points, seed=3)
    with LocalExecutor(2) as ex:
        for _ in range(3):
            sweep(toy, "check", samples=40, seed=1, executor=ex)
            assert canon(evaluate_points(toy, calls, points, seed=3, executor=ex)) == canon(expected)


# --------------------------------------------------------------------------- wide grids


def _wide(toy_text: str, tmp_path: Path) -> Path:
    path = tmp_path / "wide.yaml"
    path.write_text(
        toy_text.replace(
            'relief_value: {value: 3, range: [1, 5], source: "made up for the tests"}',
            "relief_value: {value: 3, range: [0, 1e12], integer: true}",
        ),
        encoding="utf-8",
    )
    return path


def test_a_grid_over_a_wide_integer_range_never_enumerates_it(toy_text: str, tmp_path: Path) -> None:
    scn = detente.load(_wide(toy_text, tmp_path))
    space = ParameterSpace.from_scenario(scn, ["relief_value", "lag"])
    axes = space.grid_axes(3)
    assert axes[0].tolist() == [0.0, 5e11, 1e12]
    assert axes[1].tolist() == [0.0, 2.0, 3.0]  # rint(linspace(0, 3, 3)) = 0, 2 (1.5 rounds to even), 3
    grid = space.grid(2)
    assert grid.tolist() == [[0.0, 0.0], [0.0, 3.0], [1e12, 0.0], [1e12, 3.0]]
    code, out = run("sweep", str(tmp_path / "wide.yaml"), "--method", "grid", "-n", "2", "-p", "relief_value", "--json")
    assert code == 0, out
    assert [r["params"]["relief_value"] for r in json.loads(out)["rows"]] == [0.0, 1e12]


@pytest.mark.parametrize(
    ("levels", "params", "points"),
    [(10_000_000, ["relief_value"], "10,000,000"), (3000, ["relief_value", "x"], "9,000,000")],
)
def test_a_grid_beyond_the_point_limit_is_refused_before_it_is_made(
    toy_text: str, tmp_path: Path, levels: int, params: list[str], points: str
) -> None:
    from detente.sweeps.sampling import MAX_POINTS

    scn = detente.load(_wide(toy_text, tmp_path))
    with pytest.raises(UsageError, match=f"has {points} points, more than the limit of {MAX_POINTS:,}"):
        ParameterSpace.from_scenario(scn, params).grid_axes(levels)
    args = [a for p in params for a in ("-p", p)]
    code, out = run("sweep", str(tmp_path / "wide.yaml"), "--method", "grid", "-n", str(levels), *args)
    assert code == 2
    assert "sweep points" in out


def test_samples_beyond_the_point_limit_are_refused() -> None:
    from detente.sweeps.sampling import MAX_POINTS

    with pytest.raises(UsageError, match="limit"):
        unit_sample("lhs", MAX_POINTS + 1, 2, 0)
