"""Shared test setup: no test writes to the user's real run store; no browser, one line.

The browser tests (tests/browser) need Debian's Chromium. ``make test`` never installs it:
when it is absent (and ``CI`` is unset) the whole directory is left out and the end of the
session says so in one line; ``make browser`` installs it, and CI runs that first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TOY = Path(__file__).parent / "fixtures" / "toy_sweeps.yaml"
CHROMIUM = Path(os.environ.get("DETENTE_CHROMIUM", "/usr/bin/chromium"))
BROWSER_TESTS = Path(__file__).parent / "browser"


def _skip_browser_tests() -> bool:
    return not CHROMIUM.exists() and not os.environ.get("CI")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if _skip_browser_tests() and collection_path == BROWSER_TESTS:
        return True
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skip_browser_tests():
        terminalreporter.write_line(f"browser tests skipped: {CHROMIUM} is missing (`make browser` installs it)")


@pytest.fixture(autouse=True)
def _private_run_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DETENTE_STORE at ``tmp_path / "runs.duckdb"`` (tests that need another override it)."""
    path = tmp_path / "runs.duckdb"
    monkeypatch.setenv("DETENTE_STORE", str(path))
    return path


@pytest.fixture
def toy_text() -> str:
    """The small two-party scenario the sweep, claim, store and Dask tests share."""
    return TOY.read_text(encoding="utf-8")


@pytest.fixture
def toy_path(tmp_path: Path, toy_text: str) -> Path:
    """:func:`toy_text` written to a file of the test's own."""
    path = tmp_path / "toy.yaml"
    path.write_text(toy_text, encoding="utf-8")
    return path
