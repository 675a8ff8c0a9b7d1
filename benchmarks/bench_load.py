"""Timing of scenario loading and of the command line's start-up.

Run from the repository root::

    .venv/bin/python benchmarks/bench_load.py

Prints one line per figure:

* ``load``: :func:`detente.load` of a generated file with 3 parties, 200 concessions and 500
  schedule steps (YAML parsing, validation, every semantic check); best of 20 after one
  warm-up, in ms (target: under 200 ms);
* ``load_errors``: the same file with 20 errors in it, until the ScenarioError listing them
  (the error path runs a second, salvaging validation); best of 20, in ms;
* ``load_10k``: :func:`detente.load` of a generated file with 2 parties and 10,000 concessions
  (about 800 KB; every other one requires the one before it, and one schedule runs them all),
  best of 3, in s of wall time and of CPU time (target: validating 10,000 concessions in
  under 1 s);
* ``cli_help``: wall time of ``.venv/bin/detente --help`` in a fresh process, best of 5, in s
  (target: under 0.5 s); skipped when the console script is not installed.

The file is generated deterministically, so every run times the same work.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import detente

PARTIES = ("US", "DPRK", "ROK")
N_CONCESSIONS = 200
N_DIVISIBLE = 100  # each in 4 tranches: 400 steps, plus 100 whole steps = 500
TRANCHES = 4
LOAD_TARGET_MS = 200.0
HELP_TARGET_S = 0.5
LARGE_N = 10_000
LARGE_TARGET_S = 1.0


def make_data() -> dict[str, Any]:
    """A valid scenario as plain data: 3 parties, 200 concessions, 500 schedule steps."""
    concessions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for k in range(N_CONCESSIONS):
        by = PARTIES[k % len(PARTIES)]
        c: dict[str, Any] = {
            "id": f"c{k:03d}",
            "by": by,
            "flow": {p: (-1.0 - (k % 7) / 4 if p == by else 0.5 + (k % 5) / 2) for p in PARTIES},
        }
        if k % 10 == 0:
            c["flow"][PARTIES[(k + 1) % 3]] = "pressure * (1 - leakage)"
        if k % 3 == 0:
            c["reversible"] = {"delay": k % 3, "cost": (k % 4) / 2}
        if k % 4 == 1:
            c["verification_lag"] = k % 3
        if k < N_DIVISIBLE:
            c["divisible"] = True
            for j in range(TRANCHES):
                steps.append({"period": (k % 50) + 2 * j, "concession": c["id"], "amount": 1 / TRANCHES})
        else:
            # every other whole concession waits for the one before it
            period = 60 + (k - N_DIVISIBLE)
            if k % 2 == 1:
                c["requires"] = [f"c{k - 1:03d}"]
            steps.append({"period": period, "concession": c["id"]})
        concessions.append(c)
    return {
        "name": "Benchmark: 200 concessions",
        "period": "month",
        "parameters": {
            "pressure": {"value": 2.0, "range": [1.0, 4.0], "source": "benchmark"},
            "leakage": {"value": 0.3, "range": [0.0, 1.0], "distribution": "triangular"},
        },
        "parties": [{"id": p, "discount": 0.9 + i / 50} for i, p in enumerate(PARTIES)],
        "concessions": concessions,
        "schedule": steps,
        "design": {"horizon": 120, "tranches": {f"c{k:03d}": TRANCHES for k in range(N_DIVISIBLE)}},
    }


def with_errors(data: dict[str, Any]) -> dict[str, Any]:
    """The same scenario with 20 errors: bad types, unknown parties and concessions."""
    bad = yaml.safe_load(yaml.safe_dump(data))
    for k in range(0, 200, 20):
        bad["concessions"][k]["by"] = "USA"
        bad["concessions"][k + 1]["flow"] = {"US": [1]}
    return bad


def best_of(func: Any, repeats: int, clock: Any = time.perf_counter) -> float:
    """Best of ``repeats`` timings of ``func`` after one warm-up; ``clock`` is wall time by
    default (``time.process_time`` gives CPU time, which other jobs on the machine disturb less)."""
    func()  # warm-up
    times = []
    for _ in range(repeats):
        start = clock()
        func()
        times.append(clock() - start)
    return min(times)


def bench_load(directory: Path) -> None:
    data = make_data()
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scn = detente.load(path)
    n_steps = len(scn.get_schedule())
    assert (len(scn.parties), len(scn.concessions), n_steps) == (3, 200, 500)
    size_kb = path.stat().st_size / 1024
    seconds = best_of(lambda: detente.load(path), 20)
    verdict = "ok" if seconds * 1000 < LOAD_TARGET_MS else "SLOW"
    print(
        f"load: {seconds * 1000:.1f} ms (3 parties, 200 concessions, {n_steps} steps, "
        f"{size_kb:.0f} KB; target < {LOAD_TARGET_MS:.0f} ms) {verdict}"
    )

    bad_path = directory / "bench_bad.yaml"
    bad_path.write_text(yaml.safe_dump(with_errors(data), sort_keys=False), encoding="utf-8")

    def load_bad() -> int:
        try:
            detente.load(bad_path)
        except detente.ScenarioError as exc:
            return len(exc.problems)
        raise AssertionError("the bad file loaded")

    n_problems = load_bad()
    seconds = best_of(load_bad, 20)
    print(f"load_errors: {seconds * 1000:.1f} ms ({n_problems} problems reported)")


def make_large(n: int = LARGE_N) -> dict[str, Any]:
    """A valid two-party scenario with ``n`` concessions and a schedule of ``n`` steps."""
    concessions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for k in range(n):
        by, other = ("US", "DPRK") if k % 2 else ("DPRK", "US")
        c: dict[str, Any] = {
            "id": f"c{k:05d}",
            "by": by,
            "flow": {by: -1.0 - (k % 7) / 4, other: 0.5 + (k % 5) / 2},
            "verification_lag": k % 3,
        }
        if k % 2 == 1:
            c["requires"] = [f"c{k - 1:05d}"]
        concessions.append(c)
        steps.append({"period": k % 200 + (k % 2), "concession": c["id"]})
    return {
        "name": f"Benchmark: {n:,} concessions",
        "parties": [{"id": "US", "discount": 0.9}, {"id": "DPRK", "discount": 0.92}],
        "concessions": concessions,
        "schedule": steps,
    }


def bench_large(directory: Path) -> None:
    path = directory / "large.yaml"
    # one concession or step per line, as a person (or a generator) would write them
    path.write_text(yaml.safe_dump(make_large(), sort_keys=False, default_flow_style=None, width=200), encoding="utf-8")
    scn = detente.load(path)
    assert len(scn.concessions) == LARGE_N
    size_kb = path.stat().st_size / 1024
    seconds = best_of(lambda: detente.load(path), 3)
    cpu = best_of(lambda: detente.load(path), 3, clock=time.process_time)
    from detente.core.scenario import scenario_problems

    checks = best_of(lambda: scenario_problems(scn), 3)
    verdict = "ok" if seconds < LARGE_TARGET_S else "SLOW"
    print(
        f"load_10k: {seconds:.2f} s wall, {cpu:.2f} s CPU ({LARGE_N:,} concessions, {size_kb:.0f} KB; "
        f"semantic checks {checks * 1000:.0f} ms of it; target < {LARGE_TARGET_S:g} s) {verdict}"
    )


def bench_help() -> None:
    script = Path(sys.executable).parent / "detente"
    if not script.exists():
        print(f"cli_help: skipped ({script} is not installed)")
        return
    probe = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        print(f"cli_help: skipped (`detente --help` exited with {probe.returncode})")
        return
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([str(script), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    best = min(times)
    verdict = "ok" if best < HELP_TARGET_S else "SLOW"
    print(f"cli_help: {best:.3f} s (best of 5; target < {HELP_TARGET_S} s) {verdict}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_load(Path(tmp))
        bench_large(Path(tmp))
    bench_help()


if __name__ == "__main__":
    main()
