"""Results are data: every result's ``to_frame()``, ``to_dict()`` and ``_repr_html_`` agree."""

from __future__ import annotations

import json

import numpy as np
import pytest

import detente
from detente.core.errors import UsageError
from detente.core.results import ResultProtocol
from detente.simulation.simulate import simulate
from detente.simulation.tournament import tournament
from detente.sweeps.claims import ClaimResult, claims_frame
from detente.sweeps.sweep import SweepResult, sweep


@pytest.fixture(scope="module")
def hanoi() -> detente.Scenario:
    return detente.load("hanoi-2019")


def test_check_frame_is_the_constraints(hanoi: detente.Scenario) -> None:
    report = detente.check(hanoi, schedule="phased")
    frame = report.to_frame()
    assert isinstance(report, ResultProtocol)
    assert list(frame.columns[:6]) == ["party", "period", "comply", "deviate", "slack", "violated"]
    assert len(frame) == len(report.constraints)
    np.testing.assert_allclose(frame["slack"], [c["slack"] for c in report.to_dict()["constraints"]])
    assert frame["violated"].tolist() == [c.violated for c in report.constraints]
    assert frame["slack"].min() == pytest.approx(report.min_slack)
    json.dumps(report.to_dict())


def test_check_html_has_table_and_figure(hanoi: detente.Scenario) -> None:
    report = detente.check(hanoi, schedule="us-big-deal")
    html = report._repr_html_()
    assert "<table" in html
    assert "<svg" in html
    assert "not self-enforcing" in html


def test_design_frame_and_failed_design(hanoi: detente.Scenario) -> None:
    result = detente.design(hanoi)
    assert isinstance(result, ResultProtocol)
    frame = result.to_frame()
    assert list(frame.columns) == ["period", "concession", "amount"]
    assert [tuple(r) for r in frame.itertuples(index=False)] == [tuple(s) for s in result.schedule]
    failed = detente.design(hanoi, horizon=0)
    assert not failed.feasible
    with pytest.raises(UsageError, match="has no schedule"):
        failed.to_frame()
    assert "has no schedule" in failed._repr_html_()


def test_simulation_dict_and_frame_agree(hanoi: detente.Scenario) -> None:
    result = simulate(hanoi, {"US": "reciprocal", "DPRK": "reciprocal"}, episodes=64, seed=1, schedule="phased")
    assert isinstance(result, ResultProtocol)
    frame = result.to_frame()
    assert len(frame) == 64
    assert result.to_dict()["crisis_rate"] == pytest.approx(frame["crisis"].mean())
    assert result.to_dict()["parties"]["US"]["value"]["mean"] == pytest.approx(frame["value.US"].mean())
    assert "<svg" in result._repr_html_()


def test_tournament_frame_is_every_pairing(hanoi: detente.Scenario) -> None:
    pools = {"US": ["reciprocal", "grim"], "DPRK": ["reciprocal", "hedger"]}
    result = tournament(hanoi, pools, episodes=16, seed=2, schedule="phased")
    frame = result.to_frame()
    assert len(frame) == len(result.rows) * len(result.columns)
    first = frame.iloc[-1]
    assert (first["row"], first["column"]) == (result.rows[-1], result.columns[-1])
    assert first["crisis_rate"] == result.crisis_rate[-1][-1]
    assert "<table" in result._repr_html_()


def test_sweep_frame_flattens_rows(hanoi: detente.Scenario) -> None:
    result = sweep(hanoi, "check", samples=4, seed=1, schedules=["phased"])
    frame = result.to_frame()
    assert frame["point"].tolist() == [0, 1, 2, 3]
    margins = [r["outputs"]["check[phased].margin"] for r in result.rows]
    np.testing.assert_allclose(frame["outputs.check[phased].margin"], margins)
    empty = SweepResult("run-x", [], ("a",), ("check",), 4, 0, 0, 0.0, 1)
    with pytest.raises(UsageError, match=r"no rows.*run-x"):
        empty.to_frame()
    assert "no rows" in empty._repr_html_()


def test_claims_frame() -> None:
    claim = ClaimResult(
        "c1", "text", "check[phased].self_enforcing", True, 0.75, (0.5, 0.9), 8, (), (), 0, "mostly holds", True, "m"
    )
    frame = claims_frame([claim, claim])
    assert len(frame) == 2
    row = claim.to_frame().iloc[0]
    assert (row["holds_share"], row["ci95_low"], row["ci95_high"], row["n"]) == (0.75, 0.5, 0.9, 8)
    assert "<svg" in claim._repr_html_()


def test_zone_frame_is_the_frontier(hanoi: detente.Scenario) -> None:
    from detente.design.zone import zone

    z = zone(hanoi, ["us-yongbyon-first", "us-one-more-step"], points=4)
    assert isinstance(z, ResultProtocol)
    frame = z.to_frame()
    assert len(frame) == len(z.frontier)
    assert frame["fair"].sum() == (z.fair in z.frontier)
    assert "<table" in z._repr_html_()


def test_empty_zone_frame_names_the_missing_frontier() -> None:
    from detente.design.zone import ZoneResult

    empty = ZoneResult(empty=True, demands=("a", "b"), horizon=6, parties=("US", "DPRK"), drop=("b",))
    with pytest.raises(UsageError, match=r"no frontier.*drop b"):
        empty.to_frame()


def test_backtest_frame_one_row_per_case() -> None:
    from detente.sweeps.backtest import backtest

    res = backtest([(n, detente.load(n)) for n in ("leap-day-2012", "libya-2003")])
    frame = res.to_frame()
    assert frame["case"].tolist() == ["leap-day-2012", "libya-2003"]
    assert frame["matched"].tolist() == [c.matched for c in res.cases]
    assert "match.timing" in frame.columns
    assert "cases match at the best values" in res._repr_html_()
