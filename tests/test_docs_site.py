"""The documentation site builds with ``mkdocs build --strict`` (about 6 s): no broken link, no
missing page, no docstring the API reference cannot read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")

ROOT = Path(__file__).resolve().parents[1]


def test_site_builds_strict_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = (site / "model.html").read_text(encoding="utf-8")
    for n, title in enumerate(["Vocabulary", "Scenario file", "Self-enforcement", "Schedule design"], start=1):
        assert f"{n}. {title}" in model
    assert "7. JSON contracts" in model
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "EnforcementReport" in api
    assert "to_frame" in api
    assert (site / "notebooks" / "hanoi.ipynb").exists()
    assert "fonts.googleapis.com" not in (site / "index.html").read_text(encoding="utf-8")
