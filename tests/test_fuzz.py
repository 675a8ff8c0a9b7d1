"""Fuzzing the front ends: no input may give an internal error, a traceback, HTTP 500 or a NaN.

Hypothesis generates scenario files (valid ones from ``strategies.scenario_dicts`` with one
value replaced by something hostile: huge or non-finite numbers, text, markup, deep or long
expressions, wrong types), ``--set`` items, strategy specs and claim texts, and runs them
through the command line's entry point (typer's runner, in process) and the web app's routes
(httpx's test client). The property is the same everywhere:

* the command line exits 0, 1 (a ``--strict`` verdict) or 2 (a message), never 70, and prints
  no "internal error" and no traceback;
* the web app answers below 500, always with JSON;
* JSON output is strict: no NaN or infinity in a verdict.

The default run is small (about 20 examples per property); ``-m slow`` runs many more.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from detente.cli import app
from detente.web.app import Limits, create_app
from strategies import scenario_dicts

TOY = Path(__file__).parent / "fixtures" / "toy_sweeps.yaml"
TOY_TEXT = TOY.read_text(encoding="utf-8")

FAST = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
LONG = settings(FAST, max_examples=300, derandomize=False)

runner = CliRunner()

# --------------------------------------------------------------------------- hostile values

MARKUP = ["[link=http://evil.example/x]DPRK[/link]", ":x:", "[/bold]", "[conceal]x[/conceal]", "\x1b]8;;http://e\x07"]
NUMBERS_AS_TEXT = ["nan", "inf", "-inf", "1e999", "-1e999", "9" * 400, "1e15", "1e16", "0x10", "1_000", "", " "]
EXPRESSIONS = [
    " + ".join(["x"] * 60),
    " + ".join(["x"] * 400),
    "(x + " * 80 + "x" + ")" * 80,
    "-" * 100 + "x",
    "x ** 1000",
    "10 ** 400",
    "1 / 0",
    "1 / (x - x)",
    "max()",
    "__import__('os')",
    "x.real",
    "9" * 5000,
    "min(x, " * 50 + "x" + ")" * 50,
]

leaves: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**15, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(MARKUP + NUMBERS_AS_TEXT + EXPRESSIONS),
    st.text(max_size=20),
)
values: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in plain data."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@st.composite
def hostile_scenarios(draw: st.DrawFn) -> str:
    """YAML text of a valid scenario with up to three values replaced by hostile ones."""
    data = draw(scenario_dicts())
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        _replace(data, draw(st.sampled_from(paths)), draw(values))
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


set_keys = st.sampled_from(
    [
        "x",
        "y",
        "lag",
        "fixed",
        "relief_value",
        "nosuch",
        "US.discount",
        "US.foo",
        "DPRK.weights.security",
        "relief.flow.US",
        "relief.reversible.delay",
        "dismantle.verification.lag",
        "dismantle.verification_lag",
        "design.horizon",
        "design.tranches.relief",
        "environment.sanctions.leakage",
        "name",
        ".",
        "US.",
    ]
) | st.text(min_size=1, max_size=12).filter(lambda s: "=" not in s)
set_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(NUMBERS_AS_TEXT + EXPRESSIONS + MARKUP),
    st.text(max_size=12),
).filter(lambda s: s.strip() != "")

STRATEGY_NAMES = ["reciprocal", "grim", "grit", "hedger", "faithful", "opportunist", "maximum-pressure", "nobody"]
param_values = st.one_of(
    st.integers(-5, 10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "x", "", "1e999", "[link=a]b[/link]"]),
)


@st.composite
def strategy_specs(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(STRATEGY_NAMES) | st.text(max_size=10))
    if draw(st.booleans()):
        return name
    params = draw(st.dictionaries(st.sampled_from(["k", "rate", "forgiveness", "q", ""]), param_values, max_size=3))
    inner = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({inner})" if draw(st.booleans()) else f"{name}({inner}"


claim_atoms = st.sampled_from(
    [
        "check[front].self_enforcing",
        "check[hostage].min_slack.US",
        "check[nosuch].self_enforcing",
        "x",
        "y > 0.5",
        "lag",
        "1e999",
        "nan",
        "0",
        "not",
        "and",
        "or",
        "(",
        ")",
        ">",
        "<=",
        "==",
        "+",
        "*",
        "max(",
        ",",
        "simulate[US=grit(k=x); schedule=front].package_in_force.DPRK",
        "[link=http://evil.example]x[/link]",
    ]
)
claim_texts = st.one_of(st.lists(claim_atoms, min_size=1, max_size=8).map(" ".join), st.text(max_size=40))


# --------------------------------------------------------------------------- properties


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-finite number {constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    out = result.output
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, out[-2000:])
    assert "internal error" not in out, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}")
    return result


def _check_cli(path: Path, *extra: str) -> None:
    result = _cli("check", str(path), "--json", *extra)
    if result.exit_code == 0:
        data = _strict_json(result.stdout)
        verdicts = [data] if "schedules" not in data else list(data["schedules"].values())
        for verdict in verdicts:
            assert isinstance(verdict["self_enforcing"], bool)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    limits = Limits(max_sync_episodes=200, max_sim_horizon=24, sync_timeout=30.0, max_workers=2)
    with TestClient(create_app(limits=limits, allowed_hosts={"testserver"})) as c:
        yield c


def _web(client: TestClient, path: str, body: str | None = None, **params: Any) -> Any:
    res = client.post(path, content=body, params=params, headers={"content-type": "application/yaml"})
    assert res.status_code < 500, (path, params, res.status_code, res.text[:2000])
    data = _strict_json(res.text)
    if res.status_code == 200 and path == "/api/check":
        verdicts = [data] if "schedules" not in data else list(data["schedules"].values())
        for verdict in verdicts:
            assert isinstance(verdict["self_enforcing"], bool)
            for row in verdict.get("constraints", []):
                for value in row.values():
                    assert not (isinstance(value, float) and not math.isfinite(value))
    return data


def _scenario_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@FAST
@given(text=hostile_scenarios())
def test_scenario_files_through_the_cli(tmp_path: Path, text: str) -> None:
    path = _scenario_file(tmp_path, text)
    _cli("validate", str(path))
    _check_cli(path)
    _cli("show", str(path))


@FAST
@given(text=hostile_scenarios())
def test_scenario_files_through_the_web(client: TestClient, text: str) -> None:
    _web(client, "/api/validate", text)
    _web(client, "/api/check", text)


@FAST
@given(items=st.lists(st.tuples(set_keys, set_values), min_size=1, max_size=3))
def test_set_values_through_the_cli_and_the_web(
    tmp_path: Path, client: TestClient, items: list[tuple[str, str]]
) -> None:
    sets = [f"{k}={v}" for k, v in items]
    args = [a for s in sets for a in ("--set", s)]
    _check_cli(TOY, *args)
    _web(client, "/api/check", TOY_TEXT, set=sets)


@FAST
@given(spec=strategy_specs(), seed=st.integers(-(2**64), 2**64) | st.none())
def test_strategy_specs_and_seeds_through_the_cli_and_the_web(client: TestClient, spec: str, seed: int | None) -> None:
    args = ["simulate", str(TOY), "-s", "front", "-n", "20", "--horizon", "12", "--no-store", "--json"]
    if seed is not None:
        args += ["--seed", str(seed)]
    result = _cli(*args, "--strategy", f"US={spec}")
    if result.exit_code == 0:
        _strict_json(result.stdout)
    params: dict[str, Any] = {"schedule": "front", "episodes": 20, "horizon": 12, "strategy": f"US={spec}"}
    if seed is not None:
        params["seed"] = seed
    _web(client, "/api/simulate", TOY_TEXT, **params)


@FAST
@given(spec=strategy_specs(), items=st.lists(st.tuples(set_keys, set_values), max_size=2))
def test_simulation_jobs_never_fail_with_an_internal_error(
    client: TestClient, spec: str, items: list[tuple[str, str]]
) -> None:
    params = {"schedule": "front", "episodes": 20, "horizon": 12, "strategy": f"US={spec}"}
    res = client.post(
        "/api/jobs/simulate",
        content=TOY_TEXT,
        params={**params, "set": [f"{k}={v}" for k, v in items]},
        headers={"content-type": "application/yaml"},
    )
    assert res.status_code < 500, res.text
    if res.status_code != 202:
        return
    job_id = res.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        job = _strict_json(client.get(f"/api/jobs/{job_id}").text)
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert job["status"] in ("done", "failed"), job
    assert "internal error" not in (job["error"] or ""), job


@FAST
@given(claim=claim_texts)
def test_claim_texts_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claim: str) -> None:
    # the claim is compiled (and every error reported) before anything runs; the evaluation
    # itself takes seconds per claim, so the fast run stops there (the slow run evaluates)
    from detente.sweeps import claims as claims_module

    def no_evaluation(*_: Any, **__: Any) -> Any:
        raise _Compiled

    monkeypatch.setattr(claims_module, "evaluate_claims", no_evaluation)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump([{"id": "fuzz", "claim": claim}]), encoding="utf-8")
    result = runner.invoke(app, ["claims", str(TOY), "--claims", str(path), "-n", "2", "-w", "1"])
    if "internal error (_Compiled" in result.output:  # the command's guard reports our stand-in
        return
    assert result.exit_code == 2, (claim, result.exit_code, result.output[-2000:])
    assert "internal error" not in result.output
    assert "Traceback" not in result.output


class _Compiled(Exception):
    """Raised instead of evaluating a claim that compiled."""


# --------------------------------------------------------------------------- long runs


@pytest.mark.slow
@LONG
@given(text=hostile_scenarios())
def test_scenario_files_long(tmp_path: Path, client: TestClient, text: str) -> None:
    path = _scenario_file(tmp_path, text)
    _cli("validate", str(path))
    _check_cli(path)
    _web(client, "/api/check", text)


@pytest.mark.slow
@settings(LONG, max_examples=10)
@given(claim=claim_texts)
def test_claim_texts_evaluated(tmp_path: Path, claim: str) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump([{"id": "fuzz", "claim": claim}]), encoding="utf-8")
    # 50 points: the least claims take
    result = _cli("claims", str(TOY), "--claims", str(path), "-n", "50", "-w", "1", "--json")
    if result.exit_code == 0:
        _strict_json(result.stdout)
