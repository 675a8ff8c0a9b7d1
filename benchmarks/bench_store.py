"""Timing of the run store (figures in docs/performance.md).

Run from the repository root::

    .venv/bin/python benchmarks/bench_store.py

Prints one JSON line per figure:

* ``plan``: ``RunStore.create_run`` of a run whose sample plan has 1,000,000 points of 28
  parameters (the Hanoi case's ranged parameters): the plan goes in from NumPy columns; Ctrl-C
  waits for this write, so it bounds how long a Ctrl-C can take at the start of a sweep;
* ``ops``: the mean time of one ``add_points`` of 10 points and of one ``list_runs`` on a small
  store (each opens the file under the store's lock, and closes it);
* ``concurrent``: 3 writer processes adding 200 points each in batches of 10 while 2 reader
  processes list runs, all on one store: wall time, and whether all 600 points are there.

The machine's load average is printed with each figure.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from detente.store.duckdb import RunStore


class _Scenario:
    name = "bench"
    content_hash = "0" * 64

    def to_data(self) -> dict[str, Any]:
        return {}


def _create(store: RunStore, run_id: str, plan: Any) -> None:
    store.create_run(
        run_id, kind="sweep", scenario=_Scenario(), spec={}, spec_hash="b", parameters=[], plan=plan, seed=0
    )


def _emit(figure: str, **values: Any) -> None:
    print(json.dumps({"figure": figure, **values, "load": round(os.getloadavg()[0], 2)}), flush=True)


def _writer(path: str, writer: int) -> None:
    store = RunStore(path, timeout=120)
    for start in range(0, 200, 10):
        store.add_points(f"w{writer}", [(i, {"v": i}, 0.0, "b") for i in range(start, start + 10)])


def _reader(path: str, stop: Any) -> None:
    store = RunStore(path, timeout=120)
    while not stop.is_set():
        store.list_runs()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "plan.duckdb")
        plan = np.random.default_rng(0).random((1_000_000, 28))
        start = time.perf_counter()
        _create(store, "plan", plan)
        _emit("plan", points=1_000_000, parameters=28, seconds=round(time.perf_counter() - start, 2))

        small = RunStore(Path(tmp) / "ops.duckdb")
        _create(small, "ops", [[0.0]] * 100)
        start = time.perf_counter()
        for k in range(10):
            small.add_points("ops", [(k * 10 + i, {"v": i}, 0.0, "b") for i in range(10)])
        add = (time.perf_counter() - start) / 10
        start = time.perf_counter()
        for _ in range(10):
            small.list_runs()
        listing = (time.perf_counter() - start) / 10
        _emit("ops", add_points_ms=round(add * 1000, 1), list_runs_ms=round(listing * 1000, 1))

        path = str(Path(tmp) / "concurrent.duckdb")
        shared = RunStore(path)
        for w in range(3):
            _create(shared, f"w{w}", [[0.0]] * 200)
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        readers = [ctx.Process(target=_reader, args=(path, stop)) for _ in range(2)]
        writers = [ctx.Process(target=_writer, args=(path, w)) for w in range(3)]
        for proc in readers:
            proc.start()
        start = time.perf_counter()
        for proc in writers:
            proc.start()
        for proc in writers:
            proc.join()
        seconds = time.perf_counter() - start
        stop.set()
        for proc in readers:
            proc.join()
        stored = sum(shared.info(f"w{w}").completed for w in range(3))
        _emit("concurrent", seconds=round(seconds, 2), stored=stored, expected=600)


if __name__ == "__main__":
    main()
