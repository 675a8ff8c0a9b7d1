"""Timing of the self-enforcement check (MODEL.md section 3).

Run from the repository root, on one core (OpenBLAS would otherwise start a thread per CPU
for the batched matrix products, which only adds contention on a small shared machine)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_check.py

Prints one line per figure:

* ``check``: one :func:`detente.check` (compile, kernel and full report) of a generated
  scenario with 40 concessions, 3 parties and a 36-period schedule; best of repeats, in ms
  (target: under 5 ms);
* ``kernel``: the kernel alone on the same schedule, in ms;
* ``check_many``: :func:`detente.check_many` on 10,000 such schedules (margins only), in s
  (target: under 10 s on one core);
* ``missed detection``: the same check with every concession seen with probability 0.7 per
  period (``verification: {lag, detect: 0.7}``), and its ratio to the check with detect = 1
  measured in the same run (target: at most 2);
* ``lag 10,000``: one check of MODEL.md's staged example with a verification lag of 10,000
  periods, time and peak traced memory (target: under 1 s and 200 MB), for detect 1 and 0.5;
* ``--verification``: ``detente check hanoi-2019 -s phased --verification``'s analysis (the
  check and :func:`detente.analysis.verification.verification_needed`), in s (target: under 2 s).

The scenario and schedules are drawn from a fixed seed, so every run times the same work.
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
import tracemalloc

import numpy as np

import detente
from detente.analysis.kernel import run_kernel
from detente.core.compiled import compile_scenario, compile_schedule
from detente.core.scenario import Scenario, Step

PARTIES = ("US", "DPRK", "ROK")


def make_scenario(rng: np.random.Generator, n_concessions: int = 40) -> Scenario:
    """A random package with the usual signs: costly to the giver, valuable to the others."""
    concessions = []
    for k in range(n_concessions):
        by = PARTIES[k % len(PARTIES)]
        flow = {p: round(float(rng.uniform(0.0, 1.5)), 3) for p in PARTIES if p != by}
        flow[by] = -round(float(rng.uniform(0.2, 3.0)), 3)
        c: dict[str, object] = {
            "id": f"c{k}",
            "by": by,
            "flow": flow,
            "verification_lag": int(rng.integers(0, 4)),
            "divisible": bool(rng.random() < 0.3),
        }
        if rng.random() < 0.5:
            c["reversible"] = {"delay": int(rng.integers(0, 3)), "cost": round(float(rng.uniform(0, 3)), 3)}
        if rng.random() < 0.2:
            c["once"] = {by: -round(float(rng.uniform(0, 2)), 3)}
        concessions.append(c)
    data = {
        "name": "benchmark",
        "parties": [{"id": p, "discount": d} for p, d in zip(PARTIES, (0.95, 0.9, 0.93), strict=True)],
        "concessions": concessions,
    }
    return Scenario.model_validate(data)


def make_schedule(rng: np.random.Generator, scn: Scenario, periods: int = 36) -> list[Step]:
    """Every concession scheduled (divisible ones in 1-3 tranches); the last step at periods-1."""
    steps = []
    for c in scn.concessions:
        n = int(rng.integers(1, 4)) if c.divisible else 1
        for _ in range(n):
            steps.append(Step(period=int(rng.integers(0, periods)), concession=c.id, amount=1.0 / n))
    steps[int(rng.integers(0, len(steps)))] = steps[0].model_copy(update={"period": periods - 1})
    return steps


def with_detection(scn: Scenario, detect: float) -> Scenario:
    """``scn`` with every concession seen with probability ``detect`` per period (lags kept)."""
    data = scn.model_dump(mode="json", exclude_unset=True)
    for c in data["concessions"]:
        c["verification"] = {"lag": c.pop("verification_lag", 0), "detect": detect}
    return Scenario.model_validate(data)


def staged(lag: int, detect: float) -> Scenario:
    """MODEL.md's staged worked example, the dismantlement verified after ``lag`` periods."""
    return Scenario.model_validate(
        {
            "name": "staged",
            "parties": [{"id": "US", "discount": 0.9}, {"id": "DPRK", "discount": 0.9}],
            "concessions": [
                {"id": "moratorium", "by": "DPRK", "flow": {"US": 2, "DPRK": -0.5}, "reversible": {"delay": 0}},
                {
                    "id": "dismantle",
                    "by": "DPRK",
                    "flow": {"US": 3, "DPRK": -2},
                    "verification": {"lag": lag, "detect": detect},
                },
                {"id": "relief", "by": "US", "flow": {"US": -1, "DPRK": 3}, "reversible": {"delay": 1}},
            ],
            "schedule": [
                {"period": 0, "concession": "moratorium"},
                {"period": 1, "concession": "relief"},
                {"period": 2, "concession": "dismantle"},
            ],
        }
    )


def long_lag(detect: float) -> None:
    scn = staged(10_000, detect)
    tracemalloc.start()
    start = time.perf_counter()
    report = detente.check(scn)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"check with a lag of 10,000 (detect {detect:g}): {elapsed * 1e3:.1f} ms, peak traced memory "
        f"{peak / 2**20:.2f} MiB (self-enforcing: {report.self_enforcing})"
    )


def verification_on_hanoi() -> None:
    from detente.analysis.verification import verification_needed

    hanoi = detente.load("hanoi-2019")
    start = time.perf_counter()
    detente.check(hanoi, "phased")
    needs = verification_needed(hanoi, "phased")
    elapsed = time.perf_counter() - start
    top = needs.most_needed
    print(
        f"check hanoi-2019 -s phased --verification (analysis): {elapsed:.2f} s "
        f"(most needed: {top.concession if top else None})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    scn = make_scenario(rng)
    steps = make_schedule(rng, scn)

    # one check: the full public call, including compilation and the report
    detente.check(scn, steps)  # warm up imports and caches
    number = 50
    best = min(timeit.repeat(lambda: detente.check(scn, steps), number=number, repeat=args.repeat))
    print(f"check (40 concessions, 3 parties, 36 periods): {best / number * 1e3:.2f} ms (best of {args.repeat})")

    comp = compile_scenario(scn)
    amounts = compile_schedule(scn, steps).amounts
    best_kernel = min(timeit.repeat(lambda: run_kernel(comp, amounts), number=number, repeat=args.repeat))
    print(f"kernel only (same schedule): {best_kernel / number * 1e3:.3f} ms (best of {args.repeat})")

    # the same check when every breach may be missed (detect 0.7), and its ratio to detect 1
    noisy = with_detection(scn, 0.7)
    sure = with_detection(scn, 1.0)
    detente.check(noisy, steps)
    t_sure = min(timeit.repeat(lambda: detente.check(sure, steps), number=number, repeat=args.repeat))
    t_noisy = min(timeit.repeat(lambda: detente.check(noisy, steps), number=number, repeat=args.repeat))
    print(
        f"check with missed detection (detect 0.7): {t_noisy / number * 1e3:.2f} ms against "
        f"{t_sure / number * 1e3:.2f} ms with detect 1: ratio {t_noisy / t_sure:.2f}"
    )
    noisy_comp = compile_scenario(noisy)
    t_kn = min(timeit.repeat(lambda: run_kernel(noisy_comp, amounts), number=number, repeat=args.repeat))
    print(f"kernel only with missed detection: {t_kn / number * 1e3:.3f} ms (ratio {t_kn / best_kernel:.2f})")

    long_lag(1.0)
    long_lag(0.5)
    verification_on_hanoi()

    schedules = [make_schedule(rng, scn) for _ in range(args.schedules)]
    start = time.perf_counter()
    margins = detente.check_many(scn, schedules)
    elapsed = time.perf_counter() - start
    n_ok = int((np.asarray(margins) >= -1e-9).sum())
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"check_many ({args.schedules:,} schedules): {elapsed:.2f} s "
        f"({elapsed / args.schedules * 1e3:.3f} ms each; {n_ok} self-enforcing; "
        f"cpus {os.cpu_count()}, OPENBLAS_NUM_THREADS={threads})"
    )


if __name__ == "__main__":
    main()
