"""Shared test setup: no test writes to the user's real run store."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_run_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DETENTE_STORE at a per-test file (tests that need their own still override it)."""
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    monkeypatch.setenv("DETENTE_STORE", str(path))
    return path
