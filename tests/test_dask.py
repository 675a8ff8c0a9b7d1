"""Sweeps on dask.distributed: a 2-worker LocalCluster on loopback gives the same rows, bit for
bit, as this process; an unreachable scheduler fails fast with a clear message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.core.errors import UsageError
from detente.sweeps.executors import DaskExecutor
from detente.sweeps.sweep import sweep

distributed = pytest.importorskip("distributed")

runner = CliRunner()
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port 8787 is already in use")  # another cluster's
        c = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with c:
        yield c


def canon(rows: object) -> str:
    return json.dumps(rows, sort_keys=True, allow_nan=True)


def test_dask_rows_equal_local_rows(cluster: Any, toy_path: Path) -> None:
    scn = detente.load(toy_path)
    kwargs: dict[str, Any] = {"samples": 24, "seed": 6, "strategies": {"DPRK": "hedger"}, "episodes": 30}
    local = sweep(scn, "simulate", **kwargs)
    with DaskExecutor(cluster.scheduler_address) as ex:
        assert ex.workers == 2
        remote = sweep(scn, "simulate", executor=ex, **kwargs)
        workers = {str(w) for w in ex.client.run(lambda: 1)}
    assert canon(remote.rows) == canon(local.rows)
    assert len(workers) == 2


def test_dask_from_the_command_line_with_a_scheduler(cluster: Any, toy_path: Path) -> None:
    args = ["sweep", str(toy_path), "-a", "check", "-n", "40", "--seed", "2", "--json"]
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--executor", "dask", "--scheduler", cluster.scheduler_address])
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert canon(json.loads(local.output)["rows"]) == canon(json.loads(remote.output)["rows"])
    run_id = json.loads(remote.output)["run_id"]
    shown = json.loads(runner.invoke(app, ["runs", "show", run_id, "--json"]).output)
    assert shown["executor"] == "dask"
    assert shown["workers"] == 2
    assert shown["completed"] == 40


def test_dask_starts_its_own_local_cluster(toy_path: Path) -> None:
    args = ["sweep", str(toy_path), "-a", "check", "-n", "12", "--seed", "4", "--json"]
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--executor", "dask", "--workers", "2"])
    assert remote.exit_code == 0, remote.output
    assert canon(json.loads(local.output)["rows"]) == canon(json.loads(remote.output)["rows"])


def test_an_unreachable_scheduler_fails_fast(toy_path: Path) -> None:
    result = runner.invoke(
        app,
        ["sweep", str(toy_path), "-n", "3", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"],
    )
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in " ".join(result.output.split())
    assert not (Path(str(toy_path.parent)) / "runs.duckdb").exists()  # nothing was stored


def test_a_scheduler_address_needs_a_scheme() -> None:
    with pytest.raises(UsageError, match="tcp://HOST:8786"):
        DaskExecutor("127.0.0.1:8786", timeout=1)
