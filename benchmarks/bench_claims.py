"""Timing of claims and scenario discovery (issue 13, figures in docs/performance.md).

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_claims.py
    .venv/bin/python benchmarks/bench_claims.py --only claims --samples 1024
    .venv/bin/python benchmarks/bench_claims.py --only discover

Prints one JSON line per figure:

* ``claims``: ``detente claims hanoi-2019 --samples N --seed 1`` (default N = 1024) through
  :func:`detente.sweeps.claims.evaluate_claims` on a local pool of 2 workers, with the sweep,
  the drivers, the failure boxes and the tipping scans timed apart; target under 90 s on
  2 cores;
* ``discover``: PRIM (three boxes) and CART on a stored 1024-point sample of
  ``check[phased].self_enforcing``, after the sample: target under 10 s.

Each figure carries wall-clock seconds, the CPU seconds of this process (pool workers are not
its children, so with ``--workers 2`` their time is not in it), and the machine's load
average: on a shared machine wall-clock time moves with the load, CPU time much less. With
``--workers 1`` everything runs in this process, each part's CPU time is printed, and
``two_core_estimate_seconds`` is the sweep's CPU time halved plus the serial parts: the wall
time to expect on two otherwise idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from typing import Any

from detente.io.yaml import load
from detente.sweeps.executors import LocalExecutor


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _emit(name: str, **fields: Any) -> None:
    print(json.dumps({"figure": name, **fields, "load": [round(x, 2) for x in os.getloadavg()]}), flush=True)


def bench_claims(samples: int, workers: int) -> None:
    import detente.sweeps.claims as claims_mod
    import detente.sweeps.discovery as discovery_mod
    import detente.sweeps.drivers as drivers_mod
    import detente.sweeps.tipping as tipping_mod

    parts: dict[str, float] = {"drivers": 0.0, "failure_boxes": 0.0, "tipping": 0.0}
    cpu_parts: dict[str, float] = dict.fromkeys(parts, 0.0)

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - start
                cpu_parts[name] += time.process_time() - cpu

        return wrapper

    drivers_mod.tree_drivers = timed("drivers", drivers_mod.tree_drivers)  # type: ignore[method-assign]
    claims_mod._failure_box = timed("failure_boxes", claims_mod._failure_box)  # type: ignore[attr-defined]
    tipping_mod.tipping = timed("tipping", tipping_mod.tipping)  # type: ignore[method-assign]
    del discovery_mod
    scn = load("hanoi-2019")
    specs = claims_mod.claims_from_scenario(scn)
    cpu0, start = _cpu(), time.perf_counter()
    with LocalExecutor(workers) as ex:
        results, _ = claims_mod.evaluate_claims(scn, specs, samples=samples, seed=1, executor=ex)
    wall = time.perf_counter() - start
    cpu = _cpu() - cpu0
    serial = {f"{k}_cpu_seconds": round(v, 2) for k, v in cpu_parts.items()}
    if workers == 1:  # everything ran here: the CPU time of each part, and a 2-core estimate
        sweep_cpu = cpu - sum(cpu_parts.values())
        serial["sweep_cpu_seconds"] = round(sweep_cpu, 2)
        serial["two_core_estimate_seconds"] = round(sweep_cpu / 2 + sum(cpu_parts.values()), 2)
    _emit(
        "claims",
        samples=samples,
        workers=workers,
        claims=len(results),
        seconds=round(wall, 2),
        cpu_seconds=round(cpu, 2),
        sweep_seconds=round(wall - sum(parts.values()), 2),
        **{f"{k}_seconds": round(v, 2) for k, v in parts.items()},
        **serial,
        target_seconds=90,
    )


def bench_discover(samples: int, workers: int) -> None:
    import numpy as np

    from detente.sweeps.discovery import find_boxes
    from detente.sweeps.language import compile_expression, env_from_rows
    from detente.sweeps.sampling import ParameterSpace, sample
    from detente.sweeps.sweep import run_sweep

    scn = load("hanoi-2019")
    output = "check[phased].self_enforcing"
    expr = compile_expression(output, scn)
    space = ParameterSpace.from_scenario(scn)
    matrix = sample(space, "sobol", samples, 1)
    with LocalExecutor(workers) as ex:
        rows = run_sweep(scn, expr.calls, space, matrix, seed=1, executor=ex, common_seed=True).rows
    truth = np.asarray(expr.evaluate(env_from_rows(rows, expr.terms, expr.params, scn), len(rows)), dtype=bool)
    cpu0, start = _cpu(), time.perf_counter()
    found = find_boxes(
        matrix, truth, space.names, lows=space.lows, highs=space.highs, integer=space.integer, target=False
    )
    wall = time.perf_counter() - start
    _emit(
        "discover",
        samples=samples,
        boxes=len(found.boxes),
        seconds=round(wall, 2),
        cpu_seconds=round(_cpu() - cpu0, 2),
        target_seconds=10,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["claims", "discover"])
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.only in (None, "discover"):
        bench_discover(args.samples, args.workers)
    if args.only in (None, "claims"):
        bench_claims(args.samples, args.workers)


if __name__ == "__main__":
    main()
