"""Figures: Vega-Lite specs from plain data, and their offline export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import detente
from detente.core.errors import UsageError
from detente.report import figures as F

HOSTAGE = detente.load("worked-hostage")


def layer_values(spec: dict) -> list[dict]:
    return spec["data"]["values"]


def test_timeline_tells_reversible_from_irreversible() -> None:
    rows = F.timeline_rows(HOSTAGE, name="designed")
    kinds = {r["concession"]: r["kind"] for r in rows}
    assert kinds == {"moratorium": "reversible", "dismantle": "irreversible", "relief": "reversible"}
    relief = [r for r in rows if r["concession"] == "relief"]
    # two tranches of one half: in force 50 % from period 0, 100 % from period 1
    assert [(r["start"], r["end"], r["in_force"]) for r in relief] == [(0, 1, 0.5), (1, 3, 1.0)]
    assert {r["party"] for r in rows} == {"US", "DPRK"}
    spec = F.timeline_spec(rows, parties=HOSTAGE.party_ids, period_label="month")
    color = spec["vconcat"][0]["layer"][0]["encoding"]["color"]
    assert color["scale"]["domain"] == ["irreversible", "reversible"]
    assert color["scale"]["range"][0] != color["scale"]["range"][1]
    # one panel per party, in the scenario's order, each showing only its own concessions
    assert [panel["title"]["text"] for panel in spec["vconcat"]] == ["US", "DPRK"]
    assert [panel["transform"] for panel in spec["vconcat"]] == [
        [{"filter": {"field": "party", "equal": party}}] for party in ("US", "DPRK")
    ]
    orders = [r["order"] for r in spec["data"]["values"]]
    assert orders == sorted(orders)  # the y axis lists concessions in schedule order


def test_slack_marks_violations_from_the_check_json() -> None:
    report = detente.check(HOSTAGE, "hostage").to_dict()
    spec = F.slack_spec(report, period_label="month")
    rows = layer_values(spec)
    violated = [r for r in rows if r["status"] == "violated"]
    assert [(r["party"], r["period"]) for r in violated] == [(c["party"], c["period"]) for c in report["violations"]]
    assert all(r["explanation"] for r in violated)
    assert "NOT self-enforcing" in spec["title"]["text"]


def test_slack_from_a_plain_dict() -> None:
    data = {
        "self_enforcing": True,
        "participation": {"A": 1.0, "B": 2.0},
        "constraints": [
            {"party": "A", "period": 0, "slack": 0.5, "comply": 1, "deviate": 0.5, "plan": "halt"},
            {"party": "B", "period": 0, "slack": float("inf"), "plan": "halt"},
        ],
    }
    rows = layer_values(F.slack_spec(data))
    assert [r["party"] for r in rows] == ["A"]  # infinite slack is dropped, never NaN in JSON
    json.dumps(F.slack_spec(data), allow_nan=False)


def test_leverage_has_exposure_and_leverage_per_period() -> None:
    report = detente.check(HOSTAGE, "hostage", leverage=True).to_dict()
    rows = layer_values(F.leverage_spec(report))
    assert {r["measure"] for r in rows} == {"exposure", "leverage"}
    assert len(rows) == 2 * len(report["leverage"])


def test_outcomes_quantiles() -> None:
    row = F.quantile_row("US=grim", "US", list(range(101)))
    assert (row["p5"], row["p50"], row["p95"], row["mean"]) == (5.0, 50.0, 95.0, 50.0)
    assert F.quantile_row("x", "US", [float("nan")])["n"] == 0
    spec = F.outcomes_spec([row, F.quantile_row("US=grim", "DPRK", [1, 2, 3])])
    assert spec["facet"]["column"]["sort"] == ["US", "DPRK"]


def test_tournament_heatmap_has_a_cell_per_pairing() -> None:
    result = {
        "sides": ["US", "DPRK"],
        "rows": ["a", "b"],
        "columns": ["x", "y", "z"],
        "value": {"US": [[1, 2, 3], [4, 5, 6]], "DPRK": [[6, 5, 4], [3, 2, float("nan")]]},
        "crisis_rate": [[0, 0.1, 0.2], [0.3, 0.4, 0.5]],
        "episodes": 10,
    }
    spec = F.tournament_spec(result)
    assert [p["title"] for p in spec["hconcat"]] == ["value to US", "value to DPRK", "crisis rate"]
    cells = spec["hconcat"][1]["data"]["values"]
    assert len(cells) == 6
    assert cells[-1]["value"] is None
    json.dumps(spec, allow_nan=False)


def test_sobol_sorted_by_total_order_with_intervals() -> None:
    data = {
        "output": "margin",
        "parameters": [
            {"parameter": "a", "first_order": 0.1, "total_order": 0.2, "total_order_ci": [0.15, 0.25]},
            {"parameter": "b", "first_order": 0.5, "total_order": 0.7, "first_order_ci": 0.05},
        ],
    }
    spec = F.sobol_spec(data)
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["b", "a"]
    rows = layer_values(spec)
    b_first = next(r for r in rows if r["parameter"] == "b" and r["index"] == "first order")
    assert (b_first["lo"], b_first["hi"]) == pytest.approx((0.45, 0.55))


def test_tornado_of_the_check_margin() -> None:
    data = F.tornado_data(detente.load("hanoi-2019"), "phased")
    assert data["baseline"] == pytest.approx(detente.check(detente.load("hanoi-2019"), "phased").margin)
    leakage = next(r for r in data["rows"] if r["parameter"] == "leakage")
    assert leakage["output_high"] < 0 < leakage["output_low"]  # the deal breaks at high leakage
    spec = F.tornado_spec(data)
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    swings = {r["parameter"]: abs(r["output_high"] - r["output_low"]) for r in data["rows"]}
    assert [swings[p] for p in order] == sorted(swings.values(), reverse=True)


def test_claims_robustness_buckets() -> None:
    claims = [
        {
            "id": "c1",
            "statement": "s1",
            "holds_share": 0.95,
            "ci95": [0.9, 0.98],
            "drivers": [{"parameter": "leakage", "total_order": 0.6}],
        },
        {"id": "c2", "statement": "s2", "holds_share": 0.4, "ci95": [0.3, 0.5]},
        {"id": "c3", "statement": "s3", "holds_share": 0.02, "ci95": [0.0, 0.05]},
    ]
    rows = layer_values(F.claims_spec(claims))
    assert [r["verdict"] for r in rows] == ["holds almost everywhere", "depends on the parameters", "rarely holds"]
    assert rows[0]["drivers"] == "leakage (0.60)"


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf", "json", "html"])
def test_export_offline(tmp_path: Path, suffix: str) -> None:
    spec = F.slack_spec(detente.check(HOSTAGE, "hostage").to_dict())
    path = F.export(spec, tmp_path / f"slack.{suffix}")
    data = path.read_bytes()
    magic = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF", "json": b"{", "html": b"<!doctype html>"}[suffix]
    assert magic in data[:200]
    if suffix == "html":
        text = data.decode()
        assert "vegaEmbed" in text
        assert "<script src" not in text


def test_export_refuses_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown figure format"):
        F.export({}, tmp_path / "x.gif")


def test_javascript_bundle_is_cached_and_self_contained() -> None:
    bundle = F.javascript_bundle()
    assert "vegaEmbed" in bundle
    assert F.javascript_bundle() is bundle


# --------------------------------------------------------------------------- fitting a window


def _svg_width(spec: dict) -> float:
    import re

    svg = F.to_svg(spec)
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"', svg)
    assert m, svg[:200]
    return float(m.group(1))


#: The report's column sits about 140 px from the left of a 1,280 px window.
MAX_FIGURE_WIDTH = 1100


def test_sobol_intervals_beyond_the_unit_range_stay_inside_the_figure() -> None:
    # small samples give estimates and intervals far outside [0, 1]: once 2,510 px wide
    wild = {
        "output": "check[phased].margin",
        "parameters": [
            {"parameter": "dprk_discount", "first_order": -0.22, "total_order": 0.97, "total_order_ci": 2.5},
            {"parameter": "icbm_cost", "first_order": 0.03, "total_order": 1.4, "total_order_ci": [-40.0, 60.0]},
            {"parameter": "leakage", "first_order": 0.01, "total_order": 0.02, "first_order_ci": 0.5},
        ],
    }
    spec = F.sobol_spec(wild)
    assert _svg_width(spec) <= F.WIDTH + 100
    rows = spec["data"]["values"]
    assert all(0.0 <= r[k] <= 1.0 for r in rows for k in ("bar", "lo_drawn", "hi_drawn") if r[k] is not None)
    # the numbers as computed stay in the data, for the tooltip
    assert {r["value"] for r in rows if r["parameter"] == "icbm_cost"} == {0.03, 1.4}
    assert [r["lo"] for r in rows if r["parameter"] == "icbm_cost" and r["index"] == "total order"] == [-40.0]


def test_every_figure_of_the_report_fits_a_1280_pixel_window() -> None:
    report = detente.check(HOSTAGE, "hostage", leverage=True).to_dict()
    names = ["denuclearization-first", "faithful", "grim", "grit", "hedger", "maximum-pressure", "opportunist"]
    grid = [[float(r - c) for c in range(len(names))] for r in range(len(names))]
    tournament = {
        "sides": ["US", "DPRK"],
        "rows": names,
        "columns": names,
        "value": {"US": grid, "DPRK": grid},
        "crisis_rate": [[0.5] * len(names)] * len(names),
        "episodes": 10,
        "schedule": "phased",
    }
    specs = {
        "timeline": F.timeline_spec(F.timeline_rows(HOSTAGE, name="hostage"), parties=HOSTAGE.party_ids),
        "slack": F.slack_spec(report),
        "leverage": F.leverage_spec(report),
        "tournament": F.tournament_spec(tournament),
        "outcomes": F.outcomes_spec(
            [F.quantile_row(f"US={a}, DPRK=reciprocal", p, [1.0, 2.0, 3.0]) for a in names for p in ("US", "DPRK")]
        ),
        "claims": F.claims_spec([{"id": "a-long-claim-identifier", "holds_share": 0.4, "ci95": [-0.5, 1.5]}]),
    }
    widths = {kind: _svg_width(spec) for kind, spec in specs.items()}
    assert all(w <= MAX_FIGURE_WIDTH for w in widths.values()), widths


def test_tournament_names_the_rows_once() -> None:
    names = ["a", "b"]
    grid = [[1.0, 2.0], [3.0, 4.0]]
    spec = F.tournament_spec(
        {"sides": ["US", "DPRK"], "rows": names, "columns": names, "value": {"US": grid, "DPRK": grid}}
    )
    axes = [panel["layer"][0]["encoding"]["y"].get("axis", {}) for panel in spec["hconcat"]]
    assert axes[0].get("labels", True) is True
    assert all(axis.get("labels") is False for axis in axes[1:])
