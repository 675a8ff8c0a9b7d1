"""Shared test setup: no test writes to the user's real run store."""

from __future__ import annotations

from pathlib import Path

import pytest

TOY = Path(__file__).parent / "fixtures" / "toy_sweeps.yaml"


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
