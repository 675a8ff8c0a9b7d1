"""Timing of a check's notebook view, ``EnforcementReport._repr_html_`` (target: under 200 ms).

Run from the repository root::

    .venv/bin/python benchmarks/bench_repr_html.py

Prints the first call (which starts vl-convert's JavaScript engine once per process) and the
best of the following calls, in ms, for the Hanoi 2019 ``phased`` check (table + inline SVG).
"""

from __future__ import annotations

import time

import detente


def main() -> None:
    report = detente.check(detente.load("hanoi-2019"), schedule="phased")
    start = time.perf_counter()
    report._repr_html_()
    first = time.perf_counter() - start
    times = []
    for _ in range(10):
        start = time.perf_counter()
        report._repr_html_()
        times.append(time.perf_counter() - start)
    print(f"repr_html first call: {1000 * first:.0f} ms")
    print(f"repr_html check (best of 10): {1000 * min(times):.0f} ms (target: under 200 ms)")


if __name__ == "__main__":
    main()
