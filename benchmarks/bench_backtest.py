"""Timing of the backtest of the case library (``detente backtest``).

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_backtest.py --samples 256

Prints one line per figure:

* ``best``: the ten built-in cases at their best values only (check, first breach, and the
  reciprocal simulation where the schedule is self-enforcing), loading included, in s
  (target: under 10 s);
* ``samples``: the whole backtest with ``--samples`` points per case over every ranged
  parameter, in s (target: under 2 minutes at 256 on 2 cores).

The sample and the simulations use a fixed seed, so every run times the same work.
"""

from __future__ import annotations

import argparse
import time

from detente.io.yaml import builtin_cases, load
from detente.sweeps.backtest import backtest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    cases = [(name, scn) for name in builtin_cases() if (scn := load(name)).outcome is not None]
    result = backtest(cases, samples=0, seed=args.seed)
    best = time.perf_counter() - started
    print(f"best: {len(cases)} cases at best values in {best:.2f} s ({result.summary_line()})")

    started = time.perf_counter()
    result = backtest(cases, samples=args.samples, seed=args.seed)
    whole = time.perf_counter() - started
    print(f"samples: {len(cases)} cases x {args.samples} samples in {whole:.1f} s ({result.summary_line()})")


if __name__ == "__main__":
    main()
