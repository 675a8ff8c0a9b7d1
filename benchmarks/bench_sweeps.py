"""Timing of sweeps and sensitivity (issue 6, figures in docs/performance.md).

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweeps.py
    .venv/bin/python benchmarks/bench_sweeps.py --only sobol      # or: --only dask

Prints one JSON line per figure:

* ``sobol``: ``detente sensitivity`` on the Hanoi case over 8 parameters, Sobol with
  second-order terms, N = 1024: 1024 * (2 * 8 + 2) = 18,432 checks of the phased schedule,
  on a local process pool of 2 workers, with every point written to a temporary run store
  (the command line's path); target under 60 s on 2 cores;
* ``dask``: the same simulation sweep (Hanoi, phased schedule, US reciprocal against a DPRK
  hedger, 200 episodes of 120 months per point) on a LocalCluster of 1 worker and on one of 2,
  alternately, ``--repeats`` times each; cluster start-up excluded; the rows of both must be
  identical; target: 2 workers at least 1.7 times faster than 1.

The machine's load average is printed with each figure: on a shared machine the ratios move
with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import detente
from detente.store.duckdb import RunStore
from detente.sweeps.executors import DaskExecutor, LocalExecutor
from detente.sweeps.sensitivity import sensitivity
from detente.sweeps.sweep import sweep

SOBOL_PARAMS = [
    "leakage",
    "relief_share",
    "relief_cost_us",
    "snapback_cost",
    "us_discount",
    "dprk_discount",
    "yongbyon_lag",
    "icbm_cost",
]


def _load() -> float:
    return os.getloadavg()[0]


def bench_sobol(workers: int, samples: int) -> dict[str, object]:
    scn = detente.load("hanoi-2019")
    with tempfile.TemporaryDirectory() as tmp, LocalExecutor(workers) as ex:
        store = RunStore(Path(tmp) / "runs.duckdb")
        load = _load()
        start = time.perf_counter()
        res = sensitivity(
            scn,
            "check[phased].margin",
            samples=samples,
            seed=1,
            params=SOBOL_PARAMS,
            executor=ex,
            store=store,
            tornado=True,
        )
        seconds = time.perf_counter() - start
    return {
        "figure": "sobol",
        "evaluations": res.evaluations,
        "workers": workers,
        "seconds": round(seconds, 2),
        "target_seconds": 60,
        "top": [(r["parameter"], round(r["total_order"] or 0.0, 3)) for r in res.indices[:3]],
        "load_before": round(load, 2),
        "load_after": round(_load(), 2),
    }


def bench_dask(points: int, episodes: int, repeats: int) -> dict[str, object]:
    """Both clusters stay up and the runs alternate (1, 2, 1, 2, ...), so that both see the
    same background load; the fastest run of each counts (the least disturbed one)."""
    scn = detente.load("hanoi-2019")
    kwargs: dict[str, object] = {
        "samples": points,
        "seed": 2,
        "schedules": ["phased"],
        "strategies": {"DPRK": "hedger"},
        "episodes": episodes,
    }
    times: dict[int, list[float]] = {1: [], 2: []}
    rows: dict[int, str] = {}
    loads: list[float] = []
    with DaskExecutor(None, workers=1) as one, DaskExecutor(None, workers=2) as two:
        for _ in range(repeats):
            for n, ex in ((1, one), (2, two)):
                loads.append(_load())
                start = time.perf_counter()
                result = sweep(scn, "simulate", executor=ex, **kwargs)  # type: ignore[arg-type]
                times[n].append(time.perf_counter() - start)
                rows[n] = json.dumps(result.rows, sort_keys=True, allow_nan=True)
    best = {n: min(t) for n, t in times.items()}
    return {
        "figure": "dask",
        "points": points,
        "episodes": episodes,
        "seconds_1_worker": [round(t, 2) for t in times[1]],
        "seconds_2_workers": [round(t, 2) for t in times[2]],
        "speedup_best": round(best[1] / best[2], 2),
        "speedup_per_pair": [round(a / b, 2) for a, b in zip(times[1], times[2], strict=True)],
        "target_speedup": 1.7,
        "identical_rows": rows[1] == rows[2],
        "load": [round(min(loads), 2), round(max(loads), 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sobol", "dask"])
    parser.add_argument("--samples", type=int, default=1024, help="Sobol base size N")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=64, help="points of the simulation sweep")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each cluster (dask)")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    print(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count(), "version": detente.__version__}))
    if args.only in (None, "sobol"):
        print(json.dumps(bench_sobol(args.workers, args.samples)), flush=True)
    if args.only in (None, "dask"):
        print(json.dumps(bench_dask(args.points, args.episodes, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
