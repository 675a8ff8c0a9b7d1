"""Benchmarks of the schedule designer (docs/design.md quotes these figures).

    .venv/bin/python benchmarks/bench_design.py            # both benchmarks
    .venv/bin/python benchmarks/bench_design.py --sweep 20 # plus 20 seeds of the large one
    .venv/bin/python benchmarks/bench_design.py --skip-oracle --hard 12  # the harder variant, profiled

1. Large: a generated 20-concession, 3-party package with up to 4 tranches per divisible
   concession and horizon 24 (seed 0 of :func:`detente.design.instances.phased_package`).
   Requirement: optimal in under 10 s on one core.
2. Oracle ratio: a generated package of 7 concessions (7 tranches), 3 parties, horizon 4
   (5^7 = 78,125 placements, fewer after ``requires``), solved by
   :func:`detente.design.milp.design` and by the brute-force oracle. Requirement: the oracle
   is at least 100 times slower, and both agree.
3. Hard (``--hard N``): seeds 0..N-1 of the harder variant of the large package
   (``discount=(0.8, 0.9)``, ``gain_ratio=(1.2, 1.5)``, docs/design.md) under a time limit
   (``--hard-limit``, default 10 s), with a profile per seed: master solves, lazy-cut rounds,
   the longest single solve and its horizon. Target: every seed optimal within 10 s.

``--solver highs`` sends every master to HiGHS, as before CP-SAT took the feasibility masters.

The process pins itself to one CPU where the OS allows it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from detente.design import search
from detente.design.bruteforce import brute_force_design
from detente.design.instances import phased_package, random_package
from detente.design.master import Master, SolveOutcome
from detente.design.milp import design

LARGE_SEED = 0
ORACLE_SEED = 0


def _one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def large(seed: int, *, quiet: bool = False) -> float:
    scn = phased_package(np.random.default_rng(seed))
    t0 = time.perf_counter()
    r = design(scn)
    dt = time.perf_counter() - t0
    st = r.stats
    if not quiet:
        n_div = sum(1 for c in scn.concessions if c.divisible)
        print(
            f"large package (seed {seed}): {len(scn.concessions)} concessions ({n_div} divisible), "
            f"{len(scn.parties)} parties, {st['tranches']} tranches, horizon {r.provenance.horizon}"
        )
        print(
            f"  status {r.status}, completion period {r.completion_period}, min normalised slack {r.min_slack:.4g}"
            if r.min_slack is not None
            else f"  status {r.status}"
        )
        print(
            f"  fastest period proved in {st.get('primary_time', dt):.2f} s; "
            f"with the max-min tie-break {dt:.2f} s "
            f"({st['solves']} MILP solves, {st['cuts']} cuts, secondary {st.get('secondary')})"
        )
    else:
        print(
            f"  seed {seed:3d}: {r.status:8s} T*={r.completion_period} "
            f"primary {st.get('primary_time', dt):6.2f} s total {dt:6.2f} s"
        )
    return dt


HARD = {"discount": (0.8, 0.9), "gain_ratio": (1.2, 1.5)}


def hard(seed: int, limit: float) -> float:
    """One seed of the harder variant, with the time of every master solve recorded."""
    scn = phased_package(np.random.default_rng(seed), discount=HARD["discount"], gain_ratio=HARD["gain_ratio"])
    solves: list[tuple[float, int, str]] = []
    plain = Master.solve

    def timed(self: Master, time_limit: float | None) -> SolveOutcome:
        t0 = time.perf_counter()
        out = plain(self, time_limit)
        solves.append((time.perf_counter() - t0, self.T, out.status))
        return out

    Master.solve = timed  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        r = design(scn, time_limit=limit if limit > 0 else None)
        dt = time.perf_counter() - t0
    finally:
        Master.solve = plain  # type: ignore[method-assign]
    worst = max(solves, default=(0.0, -1, "none"))
    print(
        f"  seed {seed:3d}: {r.status:10s} T*={r.completion_period} lower bound {r.lower_bound} "
        f"total {dt:6.2f} s (T* proved in {r.stats.get('primary_time', dt):.2f} s, tie-break "
        f"{r.stats.get('secondary', '-')}); {len(solves)} solves, {r.stats['iterations']} cut rounds, "
        f"longest solve {worst[0]:.2f} s (T={worst[1]}, {worst[2]})"
    )
    return dt


def oracle_ratio(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scn = random_package(rng, n_parties=3, n_concessions=7, max_tranches_total=7, horizon=4, p_reversible=1.0)
    t0 = time.perf_counter()
    a = design(scn)
    t_design = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = brute_force_design(scn)
    t_oracle = time.perf_counter() - t0
    assert a.feasible == b.feasible
    assert a.completion_period == b.completion_period
    print(
        f"oracle ratio (seed {seed}): {a.stats['tranches']} tranches, horizon 4, "
        f"{b.stats['schedules']} schedules enumerated"
    )
    print(f"  feasible {a.feasible}, completion period {a.completion_period} (both agree)")
    print(f"  design {t_design:.3f} s, oracle {t_oracle:.1f} s, ratio {t_oracle / t_design:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=int, default=0, help="also run this many seeds of the large package")
    parser.add_argument("--skip-oracle", action="store_true")
    parser.add_argument("--hard", type=int, default=0, help="also run this many seeds of the harder variant")
    parser.add_argument("--hard-limit", type=float, default=10.0, help="time limit per hard seed (s); 0: none")
    parser.add_argument(
        "--solver", choices=("cpsat", "highs"), default=search.SOLVER, help="highs: every master to HiGHS"
    )
    args = parser.parse_args()
    search.SOLVER = args.solver
    print(_one_core(), f"solver {args.solver}")
    large(LARGE_SEED)
    if args.sweep:
        times = [large(s, quiet=True) for s in range(args.sweep)]
        print(f"  sweep of {args.sweep}: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    if args.hard:
        print(f"harder variant ({HARD}), time limit {args.hard_limit:g} s per seed:")
        times = [hard(s, args.hard_limit) for s in range(args.hard)]
        print(f"  {args.hard} seeds: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    if not args.skip_oracle:
        oracle_ratio(ORACLE_SEED)


if __name__ == "__main__":
    main()
