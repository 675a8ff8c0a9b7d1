"""The run store and sweeps under stress, with real processes: several writers and readers on one
store (nothing lost, 20 trials), ``kill -9`` of a sweep (no orphan workers), and a real Ctrl-C
(a clean, truthful stop with exit code 130)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from detente.store.duckdb import RunStore

TRIALS = 20
WRITERS = 3
READERS = 2
POINTS = 20  # per writer and trial, written in batches of BATCH
BATCH = 10


class _Scenario:
    """Just what ``RunStore.create_run`` reads from a scenario."""

    name = "stress"
    content_hash = "0" * 64

    def to_data(self) -> dict[str, Any]:
        return {}


def _store_path(root: str, trial: int) -> Path:
    return Path(root) / f"trial{trial}.duckdb"


def _writer(root: str, writer: int, barrier: Any, errors: Any) -> None:
    try:
        for trial in range(TRIALS):
            barrier.wait()
            store = RunStore(_store_path(root, trial), timeout=60)
            store.create_run(
                f"run{writer}",
                kind="sweep",
                scenario=_Scenario(),
                spec={},
                spec_hash="stress",
                parameters=["a"],
                plan=[[float(i)] for i in range(POINTS)],
                seed=trial,
            )
            for start in range(0, POINTS, BATCH):
                batch = [(i, {"value": i, "by": writer}, 0.001, f"w{writer}") for i in range(start, start + BATCH)]
                store.add_points(f"run{writer}", batch)
            barrier.wait()
    except BaseException as exc:  # reported to the test, which fails
        errors.put(f"writer {writer}: {type(exc).__name__}: {exc}")
        barrier.abort()


def _reader(root: str, reader: int, barrier: Any, errors: Any) -> None:
    try:
        for trial in range(TRIALS):
            barrier.wait()
            store = RunStore(_store_path(root, trial), timeout=60)
            for _ in range(2):
                runs = store.list_runs()
                assert len(runs) <= WRITERS, runs
                assert all(0 <= r["completed"] <= POINTS for r in runs), runs
            barrier.wait()
    except BaseException as exc:
        errors.put(f"reader {reader}: {type(exc).__name__}: {exc}")
        barrier.abort()


def test_concurrent_writers_and_readers_lose_nothing(tmp_path: Path) -> None:
    """3 writer and 2 reader processes on one new store at once (each writer creates its run,
    then adds its points in batches), in each of 20 stores (trials)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS + READERS)
    errors = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, barrier, errors)) for w in range(WRITERS)]
    procs += [ctx.Process(target=_reader, args=(str(tmp_path), r, barrier, errors)) for r in range(READERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, problems
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    for trial in range(TRIALS):
        path = _store_path(str(tmp_path), trial)
        with duckdb.connect(str(path), read_only=True) as con:
            counts = con.execute(
                "SELECT run_id, count(*), count(DISTINCT point), min(point), max(point), "
                "count(*) FILTER (WHERE outputs = json_object('value', point, 'by', "
                "CAST(substr(run_id, 4) AS INTEGER))::VARCHAR) FROM points GROUP BY run_id ORDER BY run_id"
            ).fetchall()
            plans = con.execute("SELECT count(*) FROM plan").fetchone()
        assert counts == [(f"run{w}", POINTS, POINTS, 0, POINTS - 1, POINTS) for w in range(WRITERS)], (trial, counts)
        assert plans == (WRITERS * POINTS,)


# --------------------------------------------------------------------------- real sweeps


def _sweep(store: Path, *extra: str, points: int = 200_000) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "detente", "sweep", "hanoi-2019", "-a", "check", "-n", str(points)),
            *("--store", str(store), "--run-id", "victim", *extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DETENTE_STORE_TIMEOUT": "60"},
    )


def _wait_for(condition: Any, proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, "the sweep ended early"
        assert time.monotonic() < deadline, "the sweep did not get going"
        time.sleep(0.1)


def _completed(store: Path) -> int:
    try:
        return RunStore(store, timeout=60).info("victim").completed
    except Exception:
        return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pidfd and process listing as on Linux")
def test_kill_9_of_a_sweep_leaves_no_worker_behind(tmp_path: Path) -> None:
    store = tmp_path / "k.duckdb"
    proc = _sweep(store, "--workers", "2", points=50_000)
    family: list[psutil.Process] = []
    try:
        parent = psutil.Process(proc.pid)
        # the two pool workers, the fork server and the resource tracker, once points are flowing
        _wait_for(lambda: _completed(store) > 2 and len(parent.children(recursive=True)) >= 4, proc)
        family = parent.children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep only, as a kill -9 from a shell would
        proc.wait()
        _gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, [" ".join(p.cmdline()[:4]) for p in alive]
    finally:
        for p in family:  # only the sweep's own processes, should any remain
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        proc.kill()
        proc.communicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals as on Linux")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_mid_sweep_is_a_clean_resumable_stop(tmp_path: Path, workers: str) -> None:
    store = tmp_path / "c.duckdb"
    proc = _sweep(store, "--workers", workers, points=20_000)
    try:
        _wait_for(lambda: _completed(store) > 2, proc)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    text = " ".join(err.split())
    assert proc.returncode == 130, err
    assert "internal error" not in text, err
    assert "Traceback" not in text, err
    assert "Continue with: detente sweep hanoi-2019 ... --run-id victim --resume" in text, err
    info = RunStore(store).info("victim")
    assert info.status == "interrupted"
    assert 0 < info.completed < info.points


class _SignalledStore(RunStore):
    """A store that receives a real SIGINT while it writes a run and its plan."""

    def create_run(self, run_id: str, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the write...
        super().create_run(run_id, **kwargs)  # ...which completes all the same


class _StoppedStore(RunStore):
    """A store whose run is never written: Ctrl-C came first."""

    def create_run(self, run_id: str, **kwargs: Any) -> None:
        raise KeyboardInterrupt


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals as on Linux")
def test_ctrl_c_while_the_plan_is_written_keeps_the_whole_run(toy_path: Path, tmp_path: Path) -> None:
    import detente
    from detente.sweeps.sweep import SweepInterrupted, sweep

    scn = detente.load(toy_path)
    store = _SignalledStore(tmp_path / "s.duckdb")
    with pytest.raises(SweepInterrupted) as stopped:
        sweep(scn, "check", samples=500, seed=3, store=store, run_id="held")
    assert stopped.value.run_id == "held"  # the message may say: continue with --resume
    info = RunStore(store.path).info("held")
    assert (info.status, info.points, info.completed) == ("interrupted", 500, 0)
    resumed = sweep(scn, "check", samples=500, seed=3, store=RunStore(store.path), run_id="held", resume=True)
    assert resumed.computed == 500
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_before_the_run_is_stored_promises_nothing(toy_path: Path, tmp_path: Path) -> None:
    import detente
    from detente.sweeps.sweep import SweepInterrupted, sweep

    store = _StoppedStore(tmp_path / "n.duckdb")
    with pytest.raises(SweepInterrupted) as stopped:
        sweep(detente.load(toy_path), "check", samples=50, seed=3, store=store, run_id="never")
    assert stopped.value.run_id is None  # the command line then says there is nothing to resume
    assert RunStore(store.path).list_runs() == []


def test_the_command_line_says_when_there_is_nothing_to_resume(
    toy_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from detente.cli import app

    monkeypatch.setattr(RunStore, "create_run", _StoppedStore.create_run)
    result = CliRunner().invoke(app, ["sweep", str(toy_path), "-n", "5", "--run-id", "ghost"])
    text = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert "nothing to resume" in text
    assert "--resume" not in text
