"""The set-up a stranger meets: the version, the citation, and a test suite that neither times
itself nor installs system packages."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from typer.testing import CliRunner

import detente
from detente.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def test_version_option_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"detente {_project_version()}\n"
    assert detente.__version__ == _project_version()


def test_version_option_from_a_shell() -> None:
    run = subprocess.run([sys.executable, "-m", "detente", "--version"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"detente {_project_version()}"


def test_citation_file_names_the_release() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == _project_version()
    assert cff["license"] == "Apache-2.0"
    for key in ("message", "title", "authors"):  # the keys CFF 1.2.0 requires
        assert cff[key], key
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])


def _make_targets() -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([a-z]+):(?!=)(.*)$", line)
        if m:
            targets[m.group(1)] = m.group(2).split()
    return targets


def test_make_test_never_installs_system_packages() -> None:
    targets = _make_targets()
    seen: set[str] = set()
    todo = ["test"]
    while todo:
        name = todo.pop()
        if name in seen or name not in targets:
            continue
        seen.add(name)
        todo.extend(targets[name])
    assert "browser" not in seen, "make test must not depend on make browser (apt-get)"
    assert {"lint", "typecheck", "unit"} <= seen


def test_ci_installs_the_browser_before_the_tests() -> None:
    lines = [x.strip() for x in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    browser = next(i for i, x in enumerate(lines) if x == "make browser")
    test = next(i for i, x in enumerate(lines) if x.endswith("make test"))
    assert browser < test


_TIMING = re.compile(r"assert\b.*(\belapsed\b|perf_counter|monotonic\(\)\s*-|median\(times\)|\bseconds\s*<)")


def test_no_test_asserts_on_wall_clock_time() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "test_setup.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TIMING.search(line)
    ]
    assert offenders == [], "speed belongs in benchmarks/, not in assertions: " + ", ".join(offenders)


def test_command_modules_keep_annotations_evaluated() -> None:
    """String annotations make every `detente` start resolve them (benchmarks/bench_startup.py)."""
    for name in ("base_commands", "uncertainty", "web", "theory"):
        text = (ROOT / "src" / "detente" / "cli" / f"{name}.py").read_text(encoding="utf-8")
        assert "\nfrom __future__ import annotations" not in text, name
