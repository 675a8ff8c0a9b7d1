"""Regression table for the self-enforcement check (docs/model.md §3) and its JSON contract.

In the style of pygambit's ``tests/test_nash.py``: each row names a fixture in
``tests/fixtures/check/``, a schedule, the expected verdict and the expected numbers of some
constraints. The numbers are the worked examples of docs/model.md §3, to 1e-9, plus one
fixture whose tipping point is derived by hand (``discount_tipping.yaml``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import detente
from detente.analysis.tipping import tipping_points

FIXTURES = Path(__file__).parent / "fixtures" / "check"
TOL = 1e-9


@dataclass(frozen=True)
class Row:
    """One expected constraint: (party, τ) with its numbers."""

    party: str
    period: int
    comply: float
    deviate: float
    slack: float
    plan: str
    response_period: int
    seen: int | None = None


@dataclass(frozen=True)
class CheckCase:
    """A fixture, a schedule and what the check must say about it."""

    id: str
    fixture: str
    schedule: str | None
    self_enforcing: bool
    rows: tuple[Row, ...] = ()
    participation: dict[str, float] = field(default_factory=dict)
    #: when True, ``rows`` is the complete list of constraints, in order
    complete: bool = False


CASES = [
    CheckCase(
        id="front-loaded",
        fixture="hostage_schedules.yaml",
        schedule="front_loaded",
        self_enforcing=False,
        rows=(
            Row("US", 0, 21.0, 30.0, -9.0, "halt", 2),
            Row("US", 1, 20.0, 30.0, -10.0, "halt", 2),
            Row("US", 2, 20.0, 29.0, -9.0, "halt_and_reverse", 4),
            Row("DPRK", 0, 7.0, 5.13, 1.87, "halt", 2),
        ),
        participation={"US": 21.0, "DPRK": 7.0},
        complete=True,
    ),
    CheckCase(
        id="moratorium",
        fixture="hostage_schedules.yaml",
        schedule="moratorium",
        self_enforcing=False,
        rows=(Row("DPRK", 1, 7.0, 8.962, -1.962, "halt", 4, seen=3),),
    ),
    CheckCase(
        id="section-2-file",  # the same schedule, as written in docs/model.md §2
        fixture="hostage.yaml",
        schedule=None,
        self_enforcing=False,
        rows=(Row("DPRK", 1, 7.0, 8.962, -1.962, "halt", 4, seen=3),),
    ),
    CheckCase(
        id="everything-at-0",
        fixture="hostage_schedules.yaml",
        schedule="all_at_zero",
        self_enforcing=False,
        rows=(Row("DPRK", 0, 5.0, 5.7, -0.7, "halt", 1, seen=0),),
    ),
    CheckCase(
        id="split-relief",
        fixture="hostage_schedules.yaml",
        schedule="split_relief",
        self_enforcing=True,
    ),
    CheckCase(
        id="discount-tipping-at-best",
        fixture="discount_tipping.yaml",
        schedule=None,
        self_enforcing=True,
        rows=(
            # slack 1/(1-d) - 2(1+d) at d = 0.9; d times that at tau = 0
            Row("DPRK", 1, 10.0, 3.8, 6.2, "halt", 3, seen=2),
            Row("DPRK", 0, 2.0 + 0.9 * 10.0, 2 * (1 + 0.9 + 0.81), 0.9 * 6.2, "halt", 3, seen=2),
        ),
        participation={"US": 8.0, "DPRK": 11.0},
    ),
]


def _load(fixture: str) -> detente.Scenario:
    return detente.load(str(FIXTURES / fixture))


def _by_key(constraints: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c["party"], c["period"]): c for c in constraints}


def _assert_rows(case: CheckCase, out: dict[str, Any]) -> None:
    assert out["self_enforcing"] is case.self_enforcing
    found = _by_key(out["constraints"])
    if case.complete:
        assert [(c["party"], c["period"]) for c in out["constraints"]] == [(r.party, r.period) for r in case.rows]
    for r in case.rows:
        c = found[(r.party, r.period)]
        assert c["comply"] == pytest.approx(r.comply, abs=TOL), (r, c)
        assert c["deviate"] == pytest.approx(r.deviate, abs=TOL), (r, c)
        assert c["slack"] == pytest.approx(r.slack, abs=TOL), (r, c)
        assert c["plan"] == r.plan, (r, c)
        assert c["response_period"] == r.response_period, (r, c)
        if r.seen is not None:
            assert c["seen"] == r.seen, (r, c)
    for party, value in case.participation.items():
        assert out["participation"][party] == pytest.approx(value, abs=TOL)
    violated = [(c["party"], c["period"]) for c in out["constraints"] if c["slack"] < -1e-9]
    assert [(c["party"], c["period"]) for c in out["violations"]] == violated
    if case.self_enforcing:
        assert not out["violations"]
        assert all(c["slack"] >= -TOL for c in out["constraints"])
        assert all(v >= -TOL for v in out["participation"].values())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_check_table(case: CheckCase) -> None:
    report = detente.check(_load(case.fixture), case.schedule)
    assert report.self_enforcing is case.self_enforcing
    _assert_rows(case, report.to_dict())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_check_table_cli_json(case: CheckCase) -> None:
    args = ["check", str(FIXTURES / case.fixture), "--json"]
    if case.schedule is not None:
        args += ["--schedule", case.schedule]
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stderr
    _assert_rows(case, json.loads(proc.stdout))


# --------------------------------------------------------------------------- JSON contract

CONSTRAINT_KEYS = {"party", "period", "comply", "deviate", "slack", "plan", "response_period"}


def _assert_contract(out: dict[str, Any]) -> None:
    assert {"self_enforcing", "participation", "constraints", "violations"} <= out.keys()
    assert isinstance(out["self_enforcing"], bool)
    assert isinstance(out["participation"], dict)
    assert all(isinstance(v, float) for v in out["participation"].values())
    assert out["constraints"], "expected constraints"
    for c in [*out["constraints"], *out["violations"]]:
        assert c.keys() >= CONSTRAINT_KEYS
        assert isinstance(c["party"], str)
        assert isinstance(c["period"], int)
        assert isinstance(c["response_period"], int)
        assert c["plan"] in ("halt", "halt_and_reverse")
        for key in ("comply", "deviate", "slack"):
            assert isinstance(c[key], float)
            assert math.isfinite(c[key])
        assert c["slack"] == pytest.approx(c["comply"] - c["deviate"], abs=1e-12)
    assert all(c["slack"] < -1e-9 for c in out["violations"])
    assert all(c in out["constraints"] for c in out["violations"])
    # one constraint per (party, period)
    keys = [(c["party"], c["period"]) for c in out["constraints"]]
    assert len(keys) == len(set(keys))


def test_json_contract_library() -> None:
    out = detente.check(_load("hostage_schedules.yaml"), "front_loaded").to_dict()
    _assert_contract(out)
    json.dumps(out, allow_nan=False)  # serialisable as it stands
    assert out["participation"] == pytest.approx({"US": 21.0, "DPRK": 7.0}, abs=TOL)
    assert [(c["party"], c["period"]) for c in out["violations"]] == [("US", 0), ("US", 1), ("US", 2)]


def test_json_contract_cli() -> None:
    proc = _cli("check", str(FIXTURES / "hostage.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    _assert_contract(out)
    assert out == json.loads(json.dumps(detente.check(_load("hostage.yaml")).to_dict()))


def test_leverage_json() -> None:
    proc = _cli("check", str(FIXTURES / "hostage.yaml"), "--json", "--leverage")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    _assert_contract(out)
    assert isinstance(out["leverage"], list)
    assert out["leverage"]
    for row in out["leverage"]:
        assert {"party", "period", "exposure", "leverage"} <= row.keys()
        assert row["leverage"] >= 0.0
        assert row["exposure"] >= 0.0


# --------------------------------------------------------------------------- tipping point


def test_tipping_point_of_the_discount() -> None:
    """DPRK's slack 1/(1-d) - 2(1+d) crosses 0 at d = 1/sqrt(2) (see the fixture)."""
    scn = _load("discount_tipping.yaml")
    (tip,) = tipping_points(scn)
    assert tip.parameter == "dprk_discount"
    assert tip.value == pytest.approx(1 / math.sqrt(2), abs=1e-4)
    assert tip.holds_below is False
    assert tip.holds_at_best is True
    # the hand-derived slack, on both sides of the threshold
    for d in (0.6, 0.7, 0.71, 0.8, 0.95):
        report = detente.check(scn, params={"dprk_discount": d})
        slack = {(c.party, c.period): c.slack for c in report.constraints}
        assert slack[("DPRK", 1)] == pytest.approx(1 / (1 - d) - 2 * (1 + d), abs=TOL)
        assert slack[("DPRK", 0)] == pytest.approx(d * (1 / (1 - d) - 2 * (1 + d)), abs=TOL)
        assert report.self_enforcing is (d >= 1 / math.sqrt(2))


def test_tipping_json() -> None:
    proc = _cli("check", str(FIXTURES / "discount_tipping.yaml"), "--json", "--tipping")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    _assert_contract(out)
    (tip,) = out["tipping_points"]
    assert tip["parameter"] == "dprk_discount"
    assert tip["value"] == pytest.approx(1 / math.sqrt(2), abs=1e-4)
    assert tip["holds_below"] is False


# --------------------------------------------------------------------------- CLI bad input


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "detente", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "Traceback" not in proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


def _words(text: str) -> str:
    return " ".join(text.split())


def test_cli_no_schedule_points_to_design() -> None:
    proc = _cli("check", str(FIXTURES / "no_schedule.yaml"))
    assert proc.returncode == 2
    err = _words(proc.stderr)
    assert "no schedule" in err
    assert "detente design" in err
    assert not proc.stdout.strip()


def test_cli_no_schedule_json() -> None:
    proc = _cli("check", str(FIXTURES / "no_schedule.yaml"), "--json")
    assert proc.returncode == 2
    assert "detente design" in _words(proc.stderr)


def test_cli_unknown_schedule_lists_names() -> None:
    proc = _cli("check", str(FIXTURES / "hostage_schedules.yaml"), "--schedule", "front_load")
    assert proc.returncode == 2
    err = _words(proc.stderr)
    assert "front_load" in err
    for name in ("front_loaded", "moratorium", "all_at_zero", "split_relief"):
        assert name in err


def test_cli_unknown_parameter_lists_parameters() -> None:
    proc = _cli("check", str(FIXTURES / "discount_tipping.yaml"), "--set", "dprk_discont=0.8")
    assert proc.returncode == 2
    err = _words(proc.stderr)
    assert "dprk_discont" in err
    assert "dprk_discount" in err


def test_cli_unknown_parameter_without_parameters() -> None:
    proc = _cli("check", str(FIXTURES / "hostage.yaml"), "--set", "leakage=0.5", "--json")
    assert proc.returncode == 2
    err = _words(proc.stderr)
    assert "leakage" in err
    assert "parameters: none" in err


def test_cli_known_parameter_changes_the_verdict() -> None:
    proc = _cli("check", str(FIXTURES / "discount_tipping.yaml"), "--set", "dprk_discount=0.6", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["self_enforcing"] is False
    slack = {(c["party"], c["period"]): c["slack"] for c in out["constraints"]}
    assert slack[("DPRK", 1)] == pytest.approx(1 / 0.4 - 2 * 1.6, abs=TOL)
