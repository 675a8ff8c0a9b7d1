"""Simulation speed and memory: episode-periods per second and peak memory.

Run: ``python benchmarks/bench_simulate.py``. Prints one line per figure. The scenario is a
generated two-party package of ten concessions with an action-for-action schedule, and the
Hanoi case's phased schedule for the environment (sanctions, hazard, crisis).

``--cpu`` times with the process's CPU time instead of the wall clock (for before/after
comparisons on a loaded machine: run the same script with ``PYTHONPATH`` at each source tree).
"""

from __future__ import annotations

import inspect
import os
import resource
import subprocess
import sys
import tempfile
import time

import detente

SCENARIO = """
name: benchmark - two parties, ten concessions
period: month
parties:
  - {id: A, discount: 0.97}
  - {id: B, discount: 0.96}
concessions:
  - {id: a1, by: A, flow: {A: -0.2, B: 0.5}, reversible: {delay: 1, cost: 0.2}, verification_lag: 0}
  - {id: a2, by: A, flow: {A: -0.1, B: 0.3}, reversible: {delay: 0, cost: 0.1}}
  - {id: a3, by: A, flow: {A: -0.3, B: 0.6}, divisible: true, reversible: {delay: 1, cost: 0.5}}
  - {id: a4, by: A, flow: {A: -0.1, B: 0.4}}
  - {id: a5, by: A, flow: {A: -0.2, B: 0.5}, divisible: true}
  - {id: b1, by: B, flow: {A: 0.5, B: -0.1}, reversible: {delay: 0, cost: 0.1}}
  - {id: b2, by: B, flow: {A: 0.8, B: -0.3}, verification_lag: 2, divisible: true}
  - {id: b3, by: B, flow: {A: 0.4, B: -0.2}, reversible: {delay: 0, cost: 0.3}, verification_lag: 3}
  - {id: b4, by: B, flow: {A: 1.0, B: -0.4}, verification_lag: 4, divisible: true}
  - {id: b5, by: B, flow: {A: 0.3, B: -0.1}, verification_lag: 1}
schedule:
  - {period: 0, concession: b1}
  - {period: 1, concession: a2}
  - {period: 1, concession: b2, amount: 0.5}
  - {period: 3, concession: a1}
  - {period: 3, concession: b2, amount: 0.5}
  - {period: 5, concession: a3, amount: 0.5}
  - {period: 5, concession: b3}
  - {period: 8, concession: a3, amount: 0.5}
  - {period: 8, concession: b4, amount: 0.5}
  - {period: 12, concession: a5, amount: 0.5}
  - {period: 13, concession: b4, amount: 0.5}
  - {period: 17, concession: a4}
  - {period: 17, concession: b5}
  - {period: 18, concession: a5, amount: 0.5}
"""


def rate(
    scn: detente.Scenario,
    strategies: dict[str, str],
    episodes: int,
    horizon: int = 120,
    schedule: str | None = None,
    **options: bool,
) -> float:
    """Episode-periods per second of one run (after a warm-up), best of three."""
    from detente.simulation.simulate import simulate

    simulate(scn, strategies, 4096, seed=0, horizon=horizon, schedule=schedule, **options)  # warm up
    clock = time.process_time if "--cpu" in sys.argv else time.perf_counter
    best = float("inf")
    for _ in range(3):
        start = clock()
        simulate(scn, strategies, episodes, seed=1, horizon=horizon, schedule=schedule, **options)
        best = min(best, clock() - start)
    return episodes * horizon / best


def memory_child() -> None:
    from detente.simulation.simulate import simulate

    scn = detente.loads(SCENARIO, "benchmark")
    res = simulate(scn, {}, 1_000_000, seed=1, horizon=120)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.0f} {res.summary()['parties']['A']['value']['mean']:.6f}")


def compile_child() -> None:
    from detente.simulation.simulate import simulate

    scn = detente.loads(SCENARIO, "benchmark")
    start = time.perf_counter()
    simulate(scn, {"A": "reciprocal", "B": "verify-first"}, 100, seed=0, compiled=True, no_deal=False)
    print(f"{time.perf_counter() - start:.3f}")


def compile_seconds(cache: str) -> float:
    """Wall seconds of the first compiled simulation in a fresh process, numba's cache in ``cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run(
        [sys.executable, __file__, "--compile-child"], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        memory_child()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--compile-child":
        compile_child()
        return
    scn = detente.loads(SCENARIO, "benchmark")
    clean = rate(scn, {"A": "reciprocal", "B": "reciprocal"}, 200_000)
    print(
        "simulate, perfect verification, reciprocal vs reciprocal: "
        f"{clean / 1e6:.1f} M episode-periods/s (target >= 10)"
    )
    noisy = scn.with_fields(
        {
            "b2.verification.detect": 0.8,
            "b3.verification.detect": 0.7,
            "b4.verification.false_alarm": 0.002,
        }
    )
    rough = rate(noisy, {"A": "reciprocal", "B": "verify-first"}, 100_000)
    print(
        "simulate, missed detections and false alarms (no period can be skipped): "
        f"{rough / 1e6:.1f} M episode-periods/s"
    )
    from detente.simulation.simulate import simulate

    if "compiled" in inspect.signature(simulate).parameters:
        fast = rate(noisy, {"A": "reciprocal", "B": "verify-first"}, 400_000, compiled=True)
        print(f"  the same compiled (compiled=True, identical results): {fast / 1e6:.1f} M episode-periods/s (goal 20)")
        with tempfile.TemporaryDirectory() as cache:
            cold = compile_seconds(cache)
            warm = compile_seconds(cache)
        print(f"  first compiled call in a new process: {cold:.1f} s with an empty cache, {warm:.1f} s from the cache")
    hanoi = detente.load("hanoi-2019")
    env = rate(hanoi, {"US": "reciprocal", "DPRK": "reciprocal"}, 40_000, schedule="phased")
    print(
        "simulate, Hanoi phased with sanctions, hazard and crisis (the domestic clock), "
        f"reciprocal vs reciprocal, values against no deal included: {env / 1e6:.2f} M episode-periods/s"
    )
    if "no_deal" in inspect.signature(simulate).parameters:
        bare = rate(hanoi, {"US": "reciprocal", "DPRK": "reciprocal"}, 40_000, schedule="phased", no_deal=False)
        print(f"  the same without values against no deal (no_deal=False): {bare / 1e6:.2f} M episode-periods/s")
    if "--cpu" in sys.argv:
        return
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child"], capture_output=True, text=True, check=True
    ).stdout.split()
    print(
        f"simulate, 1,000,000 episodes x 120 periods: peak memory {float(out[0]):.0f} MB (target <= 2048), "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
