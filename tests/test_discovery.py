"""Scenario discovery (PRIM and CART boxes), extra-trees drivers, and ``detente discover``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from detente.cli import app
from detente.core.errors import UsageError
from detente.report.discovery_figures import box_spec, tradeoff_spec
from detente.sweeps.discovery import box_text, find_boxes, simplify
from detente.sweeps.drivers import tree_drivers

runner = CliRunner()
NAMES = ("a", "b", "c", "d", "e")


def _sample(n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    return np.asarray(qmc.LatinHypercube(d=len(NAMES), rng=np.random.default_rng(seed)).random(n))


def _inside(x: np.ndarray, bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name, (lo, hi) in bounds.items():
        col = x[:, NAMES.index(name)]
        inside &= (col >= lo) & (col <= hi)
    return inside


# --------------------------------------------------------------------------- PRIM on known boxes


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (lambda x: (x[:, 0] > 0.6) & (x[:, 1] < 0.3), {"a": (0.6, 1.0), "b": (0.0, 0.3)}),
        (lambda x: x[:, 2] > 0.5, {"c": (0.5, 1.0)}),
        (lambda x: (x[:, 3] > 0.2) & (x[:, 3] < 0.7), {"d": (0.2, 0.7)}),
    ],
)
def test_prim_finds_the_box_that_made_the_data(rule: object, expected: dict[str, tuple[float, float]]) -> None:
    x = _sample(600, 1)
    y = rule(x)  # type: ignore[operator]
    found = find_boxes(x, y, NAMES, lows=[0.0] * 5, highs=[1.0] * 5, cart=False)
    box = found.boxes[0]
    assert set(box.bounds) == set(expected)
    for name, (lo, hi) in expected.items():
        assert box.bounds[name][0] == pytest.approx(lo, abs=0.05)
        assert box.bounds[name][1] == pytest.approx(hi, abs=0.05)
    assert box.coverage > 0.85
    assert box.density > 0.9
    # cross-check: the statistics are those of the stated bounds, counted independently
    inside = _inside(x, box.bounds)
    assert box.coverage == pytest.approx((inside & y).sum() / y.sum())
    assert box.density == pytest.approx((inside & y).sum() / inside.sum())
    assert box.mass == pytest.approx(inside.mean())
    # the trade-off curve starts at the whole space and gets denser
    assert found.tradeoff[0]["coverage"] == pytest.approx(1.0)
    assert found.tradeoff[0]["density"] == pytest.approx(y.mean())
    assert found.tradeoff[-1]["density"] >= found.tradeoff[0]["density"]


def test_false_target_and_cart_agree_on_a_simple_rule() -> None:
    x = _sample(500, 2)
    holds = x[:, 0] < 0.7  # fails where a >= 0.7
    found = find_boxes(x, holds, NAMES, lows=[0.0] * 5, highs=[1.0] * 5, target=False)
    assert found.cases == int((~holds).sum())
    assert list(found.boxes[0].bounds) == ["a"]
    assert found.boxes[0].bounds["a"][0] == pytest.approx(0.7, abs=0.03)
    assert found.boxes[0].text.startswith("a > 0.")
    assert found.cart
    assert list(found.cart[0].bounds) == ["a"]
    assert found.cart[0].density == pytest.approx(1.0)


def test_picking_a_box_on_the_curve() -> None:
    x = _sample(400, 3)
    y = (x[:, 0] > 0.5) & (x[:, 1] > 0.5)
    first = find_boxes(x, y, NAMES, box=0, cart=False)
    assert first.selected == 0
    assert first.boxes[0].bounds == {}
    assert first.boxes[0].text == "anywhere in the plausible space"
    last = len(first.tradeoff) - 1
    assert find_boxes(x, y, NAMES, box=last, cart=False).boxes[0].density == pytest.approx(
        first.tradeoff[last]["density"], abs=0.05
    )
    with pytest.raises(UsageError, match="the trade-off curve has steps 0 to"):
        find_boxes(x, y, NAMES, box=last + 1, cart=False)


def test_no_box_when_the_output_is_constant_and_too_few_points_refused() -> None:
    x = _sample(100, 4)
    found = find_boxes(x, np.ones(100, dtype=bool), NAMES, target=False)
    assert found.boxes == ()
    assert found.tradeoff == ()
    assert found.cases == 0
    with pytest.raises(UsageError, match="no trade-off curve"):
        find_boxes(x, np.ones(100, dtype=bool), NAMES, target=False, box=1)
    with pytest.raises(UsageError, match="at least 50 sample points"):
        find_boxes(x[:20], np.ones(20, dtype=bool), NAMES)


@settings(max_examples=15, deadline=None)
@given(
    cut_a=st.floats(0.2, 0.8),
    cut_b=st.floats(0.2, 0.8),
    seed=st.integers(0, 1000),
)
def test_box_statistics_are_consistent(cut_a: float, cut_b: float, seed: int) -> None:
    x = _sample(200, seed)
    y = (x[:, 0] < cut_a) | (x[:, 1] > cut_b)
    found = find_boxes(x, y, NAMES, lows=[0.0] * 5, highs=[1.0] * 5, cart=False)
    outside_earlier = np.ones(len(x), dtype=bool)
    for box in found.boxes:
        assert 0.0 <= box.coverage <= 1.0
        assert 0.5 <= box.density <= 1.0
        assert 0.0 < box.mass <= 1.0
        inside = _inside(x, box.bounds) & outside_earlier
        assert box.coverage == pytest.approx((inside & y).sum() / y.sum())
        assert box.density == pytest.approx((inside & y).sum() / inside.sum())
        outside_earlier &= ~_inside(x, box.bounds)
    assert sum(b.coverage for b in found.boxes) <= 1.0 + 1e-9


def test_simplify_drops_idle_cuts_only() -> None:
    x = _sample(500, 5)
    y = x[:, 0] > 0.5
    bounds = {"a": (0.5, 1.0), "e": (0.01, 0.99)}  # the cut on e changes nothing that matters
    assert simplify(x, y, NAMES, bounds) == {"a": (0.5, 1.0)}
    assert simplify(x, y, NAMES, {"a": (0.5, 1.0)}) == {"a": (0.5, 1.0)}


@pytest.mark.parametrize(
    ("bounds", "integer", "text"),
    [
        ({"a": (0.52, 1.0)}, False, "a > 0.52"),
        ({"a": (0.0, 0.95)}, False, "a < 0.95"),
        ({"a": (0.1, 0.9)}, False, "a between 0.1 and 0.9"),
        ({"a": (2.0, 10.0)}, True, "a >= 2"),
        ({"a": (0.0, 4.0)}, True, "a <= 4"),
        ({"a": (3.0, 3.0)}, True, "a = 3"),
        ({"a": (0.52, 1.0), "b": (0.0, 0.3)}, False, "a > 0.52 and b < 0.3"),
    ],
)
def test_box_in_words(bounds: dict[str, tuple[float, float]], integer: bool, text: str) -> None:
    high = 10.0 if integer else 1.0
    lows, highs = dict.fromkeys(bounds, 0.0), dict.fromkeys(bounds, high)
    assert box_text(bounds, lows, highs, dict.fromkeys(bounds, integer)) == text


# --------------------------------------------------------------------------- drivers


def test_tree_drivers_find_the_parameters_that_matter() -> None:
    x = _sample(512, 6)
    y = (x[:, 0] > 0.4) & (x[:, 3] < 0.7)
    scored, floor = tree_drivers(x, y, NAMES, seed=1)
    drivers = [d["parameter"] for d in scored if d["driver"]]
    assert set(drivers) == {"a", "d"}
    assert floor is not None
    assert all(d["index"] > floor for d in scored if d["driver"])
    for d in scored:
        assert d["ci"][0] <= d["index"] <= d["ci"][1]
    assert scored == tree_drivers(x, y, NAMES, seed=1)[0]  # deterministic in the seed


def test_tree_drivers_of_a_constant_are_none() -> None:
    x = _sample(100, 7)
    assert tree_drivers(x, np.zeros(100, dtype=bool), NAMES, seed=0) == ([], None)


# --------------------------------------------------------------------------- figures


def test_figures_draw_the_curve_and_the_box() -> None:
    x = _sample(300, 8)
    y = (x[:, 0] > 0.6) & (x[:, 1] < 0.4)
    data = find_boxes(x, y, NAMES, lows=[0.0] * 5, highs=[1.0] * 5, output="o").to_dict()
    curve = tradeoff_spec(data)
    assert len(curve["data"]["values"]) == len(data["tradeoff"])
    points = [{**dict(zip(NAMES, row.tolist(), strict=True)), "interest": bool(v)} for row, v in zip(x, y, strict=True)]
    spec = box_spec(data, points)
    assert spec is not None
    rect = spec["layer"][1]["data"]["values"][0]
    assert {spec["layer"][0]["encoding"]["x"]["title"], spec["layer"][0]["encoding"]["y"]["title"]} == {"a", "b"}
    assert set(rect) == {"x", "x2", "y", "y2"}


# --------------------------------------------------------------------------- the command


def test_discover_command_json(toy_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "discover",
            str(toy_path),
            "--output",
            "check[hostage].self_enforcing",
            "--false",
            "-n",
            "128",
            "--json",
            "--figures",
            str(tmp_path / "fig"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"output", "boxes", "tradeoff"} <= set(data)
    assert data["output"] == "check[hostage].self_enforcing"
    box = data["boxes"][0]
    assert {"coverage", "density", "bounds", "text"} <= set(box)
    assert "relief_value" in box["bounds"]  # the hostage schedule fails when relief is worth little
    assert all(set(t) >= {"coverage", "density"} for t in data["tradeoff"])
    assert (tmp_path / "fig" / "tradeoff.vl.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "check[hostage].self_enforcin"], "did you mean 'self_enforcing'"),
        (["--output", "check[hostage].margin"], "is a number, not a truth value"),
        (["--output", "x >"], "ends too early"),
        (["--output", "x > 0.5", "-n", "10"], "at least 50"),
        (["--output", "x > 0.5", "--box", "-1"], "--box must be"),
        (["--output", "x > 0.5", "--method", "grid"], "sobol, lhs or random"),
    ],
)
def test_discover_refuses_bad_input(toy_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["discover", str(toy_path), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "10"], "at least 50"),
        (["-n", "0"], "at least 50"),
        (["--method", "sobol", "-n", "1"], "at least 2"),
        (["--method", "delta"], "unknown"),
    ],
)
def test_claims_refuses_bad_method_or_size(toy_path: Path, tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- {id: a, claim: x < 0.5}\n")
    result = runner.invoke(app, ["claims", str(toy_path), "--claims", str(path), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_sobol_method_warns_when_n_is_too_small(toy_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- {id: a, claim: 'x < 0.5 and y < 0.9'}\n")
    result = runner.invoke(app, ["claims", str(toy_path), "--claims", str(path), "--method", "sobol", "-n", "4"])
    assert result.exit_code == 0, result.output
    assert "too small for Sobol indices" in " ".join(result.output.split())


def test_common_random_numbers_give_identical_points_identical_outputs(toy_path: Path) -> None:
    import detente
    from detente.sweeps.language import compile_expression
    from detente.sweeps.sampling import ParameterSpace
    from detente.sweeps.sweep import run_sweep

    scn = detente.load(toy_path)
    expr = compile_expression("simulate[schedule=hostage; episodes=20; horizon=12].value.US > 0", scn)
    space = ParameterSpace.from_scenario(scn, ["x"])
    same = np.array([[0.3], [0.3], [0.3]])

    def values(common: bool) -> list[float]:
        rows = run_sweep(scn, expr.calls, space, same, seed=5, common_seed=common).rows
        return [next(v for k, v in r["outputs"].items() if k.endswith("value.US")) for r in rows]

    crn = values(True)
    assert crn[0] == crn[1] == crn[2]
    assert len(set(values(False))) > 1  # per-point seeds: the episodes differ


def test_discover_reads_a_claim_by_its_id(toy_path: Path, tmp_path: Path) -> None:
    text = toy_path.read_text() + "claims:\n  - {id: x-small, text: x is small., claim: x < 0.25}\n"
    path = tmp_path / "toy.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["discover", str(path), "--output", "x-small", "-n", "128", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["output"] == "x < 0.25"
    assert list(data["boxes"][0]["bounds"]) == ["x"]
    assert data["boxes"][0]["bounds"]["x"][1] == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize(
    ("density", "restricted", "pick"),
    [
        ([0.5, 0.8, 0.9, 0.95, 1.0], [0, 1, 2, 3, 4], 3),  # 1.0 needs four bounds; 0.9 < 0.95 * 0.95
        ([0.5, 0.96, 0.99, 1.0], [0, 1, 2, 3], 1),
        ([0.5, 0.9], [5, 6], 1),  # no step within three bounds: all steps count
    ],
)
def test_default_pick(density: list[float], restricted: list[int], pick: int) -> None:
    from detente.sweeps.discovery import default_pick

    assert default_pick(np.array(density), np.array(restricted)) == pick
