"""The command line end to end: each command, its JSON, and the built-in cases."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cases_lists_the_library() -> None:
    code, out = run("cases", "--json")
    assert code == 0
    names = {c["name"] for c in json.loads(out)["cases"]}
    assert {"hanoi-2019", "worked-front-loaded", "worked-hostage"} <= names


@pytest.mark.parametrize("name", sorted(detente.builtin_cases()))
def test_builtin_case_loads_dumps_and_loads_back(name: str, tmp_path) -> None:
    scn = detente.load(name)
    path = detente.dump(scn, tmp_path / f"{name}.yaml")
    again = detente.load(path)
    assert again == scn
    assert again.content_hash == scn.content_hash


def test_show_renders_parties_concessions_and_timelines() -> None:
    code, out = run("show", "hanoi-2019")
    assert code == 0
    for text in ("Parties", "Concessions", "Parameters", "us-big-deal", "phased", "irreversible"):
        assert text in out


def test_schema_is_json_schema() -> None:
    code, out = run("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "detente scenario"
    assert "concessions" in schema["properties"]


def test_validate_reports_valid_files() -> None:
    code, out = run("validate", "hanoi-2019", "worked-hostage")
    assert code == 0
    assert out.count("valid:") == 2


@pytest.mark.parametrize(
    ("schedule", "holds"),
    [("us-big-deal", False), ("dprk-offer", True), ("phased", True)],
)
def test_hanoi_verdicts(schedule: str, holds: bool) -> None:
    code, out = run("check", "hanoi-2019", "--schedule", schedule, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["self_enforcing"] is holds
    assert {"participation", "constraints", "violations"} <= data.keys()
    if not holds:
        assert data["violations"]
        assert all(v["explanation"].startswith("In month") for v in data["violations"])


def test_check_without_schedule_name_checks_every_schedule() -> None:
    code, out = run("check", "hanoi-2019", "--json")
    assert code == 0
    assert set(json.loads(out)["schedules"]) == {"us-big-deal", "dprk-offer", "phased"}


def test_what_if_set_flips_the_phased_verdict() -> None:
    code, out = run("check", "hanoi-2019", "-s", "phased", "--set", "leakage=0.6", "--json")
    assert code == 0
    assert json.loads(out)["self_enforcing"] is False
    code, out = run("check", "hanoi-2019", "-s", "phased", "--set", "DPRK.discount=0.99", "--json")
    assert code == 0
    assert json.loads(out)["provenance"]["parameters"]["leakage"] == 0.4


def test_tipping_finds_the_leakage_threshold() -> None:
    code, out = run("check", "hanoi-2019", "-s", "phased", "--tipping", "--json")
    assert code == 0
    tips = {t["parameter"]: t for t in json.loads(out)["tipping_points"]}
    leak = tips["leakage"]
    assert leak["holds_below"] is True
    assert leak["holds_at_best"] is True
    scn = detente.load("hanoi-2019")
    below = detente.check(scn, "phased", params={"leakage": leak["value"] - 2e-4})
    above = detente.check(scn, "phased", params={"leakage": leak["value"] + 2e-4})
    assert below.self_enforcing
    assert not above.self_enforcing


def test_strict_exit_code() -> None:
    code, _ = run("check", "hanoi-2019", "-s", "us-big-deal", "--strict")
    assert code == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "hanoi-2019", "-s", "nope"], "us-big-deal"),
        (["check", "hanoi-2019", "--set", "leakge=0.5"], "did you mean 'leakage'"),
        (["check", "hanoi-2019", "--set", "DPRK.discount=1.5"], "discount in (0, 1)"),
        (["check", "hanoi-2019", "--set", "leakage"], "NAME=VALUE"),
        (["show", "hanoi-2091"], "did you mean 'hanoi-2019'"),
        (["show", "missing.yaml"], "no such file"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args: list[str], needle: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "detente", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert needle in " ".join((proc.stderr + proc.stdout).split())
