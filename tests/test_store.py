"""The run store: provenance, listing, Parquet export, resuming, locks, and a real kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.core.errors import UsageError
from detente.store.duckdb import RunStore, default_store_path, record_simulation
from detente.sweeps.sweep import sweep

runner = CliRunner()
HERE = Path(__file__).resolve().parent


def canon(rows: object) -> str:
    return json.dumps(rows, sort_keys=True, allow_nan=True)


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


# --------------------------------------------------------------------------- contents


def test_a_stored_sweep_carries_its_provenance(toy_path: Path, tmp_path: Path) -> None:
    scn = detente.load(toy_path)
    store = RunStore(tmp_path / "s.duckdb")
    stored = sweep(scn, "check", samples=10, seed=21, store=store, run_id="prov")
    memory = sweep(scn, "check", samples=10, seed=21)
    assert canon(stored.rows) == canon(memory.rows)
    info = store.info("prov").to_dict()
    assert info["points"] == info["completed"] == 10
    assert info["status"] == "done"
    assert info["kind"] == "sweep"
    assert info["scenario_hash"] == scn.content_hash
    assert info["seed"] == 21
    assert info["version"] == detente.__version__
    assert info["parameters"] == ["x", "y", "relief_value", "lag"]
    assert info["spec"]["analyses"] == ["check[front]", "check[hostage]"]
    assert info["spec"]["method"] == "lhs"
    assert info["seconds"] > 0
    assert [r["run_id"] for r in store.list_runs()] == ["prov"]


def test_export_to_parquet(toy_path: Path, tmp_path: Path) -> None:
    code, out = cli("sweep", str(toy_path), "-n", "7", "--run-id", "exp", "--json")
    assert code == 0, out
    rows = json.loads(out)["rows"]
    target = tmp_path / "exp.parquet"
    code, out = cli("runs", "export", "exp", "--parquet", str(target))
    assert code == 0, out
    table = duckdb.sql(f"SELECT * FROM '{target}' ORDER BY point")
    assert table.columns[:5] == ["point", "x", "y", "relief_value", "lag"]
    data = table.fetchall()
    assert len(data) == 7
    col = table.columns.index("check[hostage].self_enforcing")
    assert [r[col] for r in data] == [row["outputs"]["check[hostage].self_enforcing"] for row in rows]
    col = table.columns.index("check[front].min_slack.US")
    assert [r[col] for r in data] == [row["outputs"]["check[front].min_slack.US"] for row in rows]


def test_runs_commands(toy_path: Path) -> None:
    assert cli("sweep", str(toy_path), "-n", "3", "--run-id", "one")[0] == 0
    code, out = cli("runs", "--json")
    assert code == 0
    assert [r["run_id"] for r in json.loads(out)["runs"]] == ["one"]
    code, out = cli("runs")
    assert code == 0
    assert "one" in out
    code, out = cli("runs", "show", "one")
    assert code == 0
    assert "scenario_hash" in out
    code, out = cli("runs", "show", "onr")
    assert code == 2
    assert "no run 'onr'" in out
    assert "did you mean 'one'" in out


def test_record_a_simulation(toy_path: Path, tmp_path: Path) -> None:
    from detente.simulation.simulate import simulate

    scn = detente.load(toy_path)
    store = RunStore(tmp_path / "sim.duckdb")
    result = simulate(scn, {"DPRK": "hedger"}, 50, 3, schedule="hostage")
    run_id = record_simulation(store, scn, result, schedule="hostage")
    info = store.info(run_id).to_dict()
    assert info["kind"] == "simulate"
    assert info["seed"] == 3
    assert info["completed"] == 1
    assert store.results(run_id)["summary"]["episodes"] == 50


def test_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("DETENTE_STORE")
    assert default_store_path() == Path(user_data_dir("detente", appauthor=False)) / "runs.duckdb"
    monkeypatch.setenv("DETENTE_STORE", "/somewhere/else.duckdb")
    assert default_store_path() == Path("/somewhere/else.duckdb")


# --------------------------------------------------------------------------- resuming


class _Dies:
    """An executor that computes ``chunks`` chunks, then is interrupted (like Ctrl-C)."""

    name = "local"
    workers = 1

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def run(self, task: Any, chunks: Any) -> Iterator[list[Any]]:
        for chunk in chunks:
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            yield list(task.run_chunk(chunk))

    def close(self) -> None:
        pass


def test_resume_computes_only_the_missing_points(toy_path: Path, tmp_path: Path) -> None:
    scn = detente.load(toy_path)
    store = RunStore(tmp_path / "r.duckdb")
    kwargs: dict[str, Any] = {"samples": 300, "seed": 5, "store": store, "run_id": "r"}
    with pytest.raises(KeyboardInterrupt) as stopped:
        sweep(scn, "check", executor=_Dies(2), **kwargs)
    assert getattr(stopped.value, "run_id", None) == "r"  # the command line names the run to resume
    partial = store.info("r").completed
    assert 0 < partial < 300
    resumed = sweep(scn, "check", resume=True, **kwargs)
    assert (resumed.reused, resumed.computed) == (partial, 300 - partial)
    fresh = sweep(scn, "check", samples=300, seed=5)
    assert canon(resumed.rows) == canon(fresh.rows)
    assert store.info("r").status == "done"


def test_resume_refuses_other_settings_and_existing_ids(toy_path: Path) -> None:
    assert cli("sweep", str(toy_path), "-n", "5", "--run-id", "taken")[0] == 0
    code, out = cli("sweep", str(toy_path), "-n", "5", "--run-id", "taken")
    assert code == 2
    assert "exists already" in out
    code, out = cli("sweep", str(toy_path), "-n", "6", "--run-id", "taken", "--resume")
    assert code == 2
    assert "other settings (a different points)" in " ".join(out.split())
    code, out = cli("sweep", str(toy_path), "-n", "5", "--seed", "1", "--run-id", "taken", "--resume")
    assert code == 2
    assert "a different seed" in " ".join(out.split())
    code, out = cli("sweep", str(toy_path), "-n", "5", "--run-id", "taken", "--resume", "--json")
    assert code == 0  # resuming a finished run computes nothing and prints its rows
    assert json.loads(out)["rows"]
    assert json.loads(out)["run_id"] == "taken"


# --------------------------------------------------------------------------- damaged or locked


def test_a_file_that_is_not_a_store(tmp_path: Path, toy_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    code, out = cli("sweep", str(toy_path), "-n", "3", "--store", str(bad))
    assert code == 2
    assert "not a detente run store" in " ".join(out.split())
    assert bad.read_bytes() == b"this is not a database" * 100


def test_a_locked_store_is_a_clear_error_and_stays_intact(
    toy_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.duckdb"
    assert cli("sweep", str(toy_path), "-n", "4", "--store", str(path), "--run-id", "before", "--json")[0] == 0
    before = RunStore(path).rows("before")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        monkeypatch.setenv("DETENTE_STORE_TIMEOUT", "0.5")
        code, out = cli("sweep", str(toy_path), "-n", "4", "--store", str(path), "--run-id", "after")
        assert code == 2
        text = " ".join(out.split())
        assert "is locked by another process" in text
        assert f"process {holder.pid}" in text
        code, out = cli("runs", "--store", str(path))
        assert code == 2
        assert "locked" in out
    finally:
        holder.kill()
        holder.wait()
    store = RunStore(path)
    assert [r["run_id"] for r in store.list_runs()] == ["before"]
    assert canon(store.rows("before")) == canon(before)


# --------------------------------------------------------------------------- kill -9


def _completed(store: RunStore, run_id: str) -> int:
    if not store.path.exists():
        return 0
    try:
        return store.info(run_id).completed
    except UsageError:
        return 0


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "detente", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DETENTE_STORE_TIMEOUT": "60"},
        start_new_session=True,  # its own process group: the pool workers die with it
    )


def _kill_when(proc: subprocess.Popen[bytes], store: RunStore, run_id: str, more_than: int) -> int:
    deadline = time.monotonic() + 120
    while _completed(store, run_id) <= more_than:
        assert proc.poll() is None, "the sweep ended before it could be killed; make it longer"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9, the sweep and its workers at once
    proc.wait()
    return _completed(store, run_id)


def test_kill_9_mid_sweep_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    n = 3000
    args = [
        "sweep",
        "hanoi-2019",
        "-a",
        "check",
        "-n",
        str(n),
        "--seed",
        "8",
        "--store",
        str(path),
        "--run-id",
        "victim",
    ]
    store = RunStore(path, timeout=60)
    first = _kill_when(_start([*args, "--workers", "1"]), store, "victim", 0)
    assert 0 < first < n
    # killed again, this time with a process pool, after some more progress
    second = _kill_when(_start([*args, "--workers", "2", "--resume"]), store, "victim", first)
    assert first < second < n
    done = subprocess.run(
        [sys.executable, "-m", "detente", *args, "--workers", "2", "--resume", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "DETENTE_STORE_TIMEOUT": "60"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [r["point"] for r in rows] == list(range(n))
    with duckdb.connect(str(path)) as con:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT point) FROM points WHERE run_id = 'victim'"
        ).fetchone()
    assert total == distinct == n
    # and the rows are those of an uninterrupted run, bit for bit
    fresh = sweep(detente.load("hanoi-2019"), "check", samples=n, seed=8)
    assert canon(json.loads(json.dumps(fresh.to_dict()["rows"]))) == canon(rows)
    assert RunStore(path).info("victim").status == "done"


# --------------------------------------------------------------------------- seeds, read-only, damage, repair


@pytest.mark.parametrize("seed", [0, 2**63 - 1])
def test_a_sweep_keeps_its_seed(toy_path: Path, tmp_path: Path, seed: int) -> None:
    store = RunStore(tmp_path / "seeds.duckdb")
    result = sweep(detente.load(toy_path), "check", samples=3, seed=seed, store=store, run_id="s")
    assert result.seed == seed
    assert store.info("s").seed == seed
    code, out = cli("runs", "show", "s", "--store", str(store.path), "--json")
    assert code == 0, out
    assert json.loads(out)["seed"] == seed


@pytest.mark.parametrize("seed", [0, 2**63 - 1, 2**63, 2**63 + 12345, 2**64 - 1])
def test_every_64_bit_seed_is_stored_losslessly(toy_path: Path, tmp_path: Path, seed: int) -> None:
    store = RunStore(tmp_path / "seeds.duckdb")
    store.create_run(
        "s", kind="sweep", scenario=detente.load(toy_path), spec={}, spec_hash="h", parameters=[], plan=[[]], seed=seed
    )
    assert store.info("s").seed == seed
    assert store.list_runs()[0]["run_id"] == "s"


def test_a_simulation_with_a_seed_above_2_63_is_stored(toy_path: Path, tmp_path: Path) -> None:
    from detente.simulation.simulate import simulate

    scn = detente.load(toy_path)
    result = simulate(scn, {"DPRK": "hedger"}, 5, 2**64 - 2, schedule="front")
    store = RunStore(tmp_path / "sim.duckdb")
    run_id = record_simulation(store, scn, result, schedule="front")
    assert store.info(run_id).seed == 2**64 - 2


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64, 10**30])
def test_seeds_outside_the_range_are_refused_before_anything_is_stored(
    toy_path: Path, tmp_path: Path, seed: int
) -> None:
    path = tmp_path / "refused.duckdb"
    code, out = cli("sweep", str(toy_path), "-n", "3", "--seed", str(seed), "--store", str(path))
    assert code == 2, out
    assert "--seed" in out
    assert "internal error" not in out
    with pytest.raises(UsageError, match="--seed must be a whole number between 0 and 2"):
        sweep(detente.load(toy_path), "check", samples=3, seed=seed, store=RunStore(path))
    assert RunStore(path).list_runs() == []


@pytest.mark.parametrize("seed", [-1, 2**64, 10**30])
def test_the_store_refuses_seeds_it_cannot_keep(toy_path: Path, tmp_path: Path, seed: int) -> None:
    path = tmp_path / "refused.duckdb"
    with pytest.raises(UsageError, match="--seed"):
        RunStore(path).create_run(
            "x",
            kind="sweep",
            scenario=detente.load(toy_path),
            spec={},
            spec_hash="h",
            parameters=[],
            plan=[],
            seed=seed,
        )
    assert RunStore(path).list_runs() == []


def test_runs_opens_the_store_read_only(toy_path: Path, tmp_path: Path) -> None:
    """Another process holds the store open read-only: DuckDB then refuses every writer, so
    listing and showing work only because they open it read-only too."""
    path = tmp_path / "ro.duckdb"
    assert cli("sweep", str(toy_path), "-n", "4", "--store", str(path), "--run-id", "ro", "--json")[0] == 0
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only=True); print('ready', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        code, out = cli("runs", "--store", str(path), "--json")
        assert code == 0, out
        assert [r["run_id"] for r in json.loads(out)["runs"]] == ["ro"]
        code, out = cli("runs", "show", "ro", "--store", str(path), "--json")
        assert code == 0, out
    finally:
        holder.kill()
        holder.wait()
    assert path.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only files")
def test_a_read_only_store_can_be_listed(toy_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "runs.duckdb"
    assert cli("sweep", str(toy_path), "-n", "4", "--store", str(path), "--run-id", "ro", "--json")[0] == 0
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)
    try:
        code, out = cli("runs", "--store", str(path), "--json")
        assert code == 0, out
        assert [r["run_id"] for r in json.loads(out)["runs"]] == ["ro"]
    finally:
        folder.chmod(0o755)


def test_a_store_damaged_deep_in_its_data_is_a_clear_error(toy_path: Path, tmp_path: Path) -> None:
    """Garbage written over one stretch of the file at a time, past its header: every command
    either still works or says the store is damaged (exit 2, naming the file); never exit 70."""
    pristine = tmp_path / "pristine.duckdb"
    assert cli("sweep", str(toy_path), "-n", "3000", "--store", str(pristine), "--run-id", "big", "--json")[0] == 0
    size = pristine.stat().st_size
    damaged = 0
    for fraction in (0.3, 0.5, 0.7, 0.9):
        path = tmp_path / f"damaged{fraction}.duckdb"
        path.write_bytes(pristine.read_bytes())
        with path.open("r+b") as f:
            for offset in range(int(size * fraction), min(size - 4096, int(size * fraction) + 2**18), 8192):
                f.seek(offset)
                f.write(bytes(range(256)) * 4)
        for args in (
            ["runs", "show", "big", "--json", "--rows"],
            ["runs", "export", "big", "--parquet", str(tmp_path / "x.pq")],
        ):
            code, out = cli(*args, "--store", str(path))
            text = " ".join(out.split())
            assert code in (0, 2), out
            if code == 2:
                assert f"run store {path}" in text, out
                assert "damaged" in text, out
                damaged += 1
    assert damaged > 0  # the damage was seen, and reported as such


class _Forgetful(RunStore):
    """A store that silently drops one batch of points (the defect this guards against)."""

    dropped = False

    def add_points(self, run_id: str, results: Any) -> None:
        if not self.dropped and len(results) > 1:
            type(self).dropped = True
            return
        super().add_points(run_id, results)


def test_a_sweep_reads_back_its_points_and_recomputes_lost_ones(toy_path: Path, tmp_path: Path) -> None:
    scn = detente.load(toy_path)
    store = _Forgetful(tmp_path / "f.duckdb")
    result = sweep(scn, "check", samples=40, seed=4, store=store, run_id="f")
    assert _Forgetful.dropped
    assert [r["point"] for r in result.rows] == list(range(40))
    assert result.computed > 40  # the lost batch was computed again
    assert canon(result.rows) == canon(sweep(scn, "check", samples=40, seed=4).rows)
    assert store.info("f").status == "done"


def test_resume_repairs_a_run_marked_done_that_lacks_points(toy_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "repair.duckdb"
    args = ["sweep", str(toy_path), "-n", "30", "--seed", "2", "--store", str(path), "--run-id", "rp", "--json"]
    code, out = cli(*args)
    assert code == 0, out
    full = json.loads(out)["rows"]
    with duckdb.connect(str(path)) as con:  # points lost behind the store's back
        con.execute("DELETE FROM points WHERE run_id = 'rp' AND point BETWEEN 10 AND 19")
    assert RunStore(path).info("rp").status == "done"
    code, out = cli(*args, "--resume")
    assert code == 0, out
    data = json.loads(out)
    assert (data["computed"], data["reused"]) == (10, 20)
    assert canon(data["rows"]) == canon(full)


def test_a_process_holding_the_lock_file_makes_others_wait_then_give_up(toy_path: Path, tmp_path: Path) -> None:
    from detente.store.locking import lock_path

    path = tmp_path / "held.duckdb"
    assert cli("sweep", str(toy_path), "-n", "3", "--store", str(path), "--run-id", "h", "--json")[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl, os, sys, time; fd = os.open({str(lock_path(path))!r}, os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('ready', flush=True); sys.stdin.readline(); os.close(fd); "
            "time.sleep(60)",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == "ready"
        # the message states how long it waited (the lock's timeout), so no clock is read here
        with pytest.raises(UsageError, match=r"is locked by another process; waited 0\.5 s"):
            RunStore(path, timeout=0.5).add_results("h", "k", 1)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        # the abandoned waiter takes the lock once it is free and lets it go again at once
        assert RunStore(path, timeout=10).list_runs()[0]["run_id"] == "h"
        RunStore(path, timeout=10).add_results("h", "k", 2)
        assert RunStore(path).results("h") == {"k": 2}
    finally:
        holder.kill()
        holder.wait()


def test_without_a_lock_file_reading_goes_ahead_and_writing_is_refused(
    toy_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a read-only directory that has no lock file (root can write anywhere, so the lock
    file is sent to a directory that does not exist)."""
    import detente.store.locking as module

    path = tmp_path / "nolock.duckdb"
    assert cli("sweep", str(toy_path), "-n", "3", "--store", str(path), "--run-id", "n", "--json")[0] == 0
    monkeypatch.setattr(module, "lock_path", lambda p: tmp_path / "absent" / "x.lock")
    assert [r["run_id"] for r in RunStore(path).list_runs()] == ["n"]
    with pytest.raises(UsageError, match="cannot create its lock file"):
        RunStore(path).add_results("n", "k", 1)
