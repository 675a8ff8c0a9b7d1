"""detente's classic round robin against the Axelrod library's, timed in the same run.

Run from the repository root (needs ``axelrod==4.13.1``)::

    .venv/bin/python benchmarks/compare_axelrod.py

The workload (the issue's speed target, at least 20 times faster): a noisy (ε = 0.05) round
robin of the eight deterministic classic strategies, self-play included, 200 turns, 50
repetitions, seed 1. Both sides run on one core:

* ``axelrod``: ``Tournament(players, turns=200, repetitions=50, noise=0.05, seed=1)
  .play(processes=None, progress_bar=False)``, which plays the matches and builds the result
  set (ranking, score matrices), like :func:`round_robin`. ``processes=None`` is Axelrod's
  serial path; note that ``processes=1`` is *not*: 4.13.1 replaces any value outside
  ``2..cpu_count()`` by ``cpu_count()`` and runs that many worker processes.
* ``axelrod (play only)``: the same with ``build_results=False`` (interactions still go to a
  temporary file, as the library always does): the conservative comparison.
* ``detente``: :func:`detente.simulation.classic.round_robin` with the same parameters.

Each figure is the median of ``--repeats`` timed runs after one untimed warm-up run (so
imports and first-call costs are excluded on both sides; importing axelrod alone takes tens of
seconds on a small machine). Prints both times, the ratios, and a check that the two rankings
agree on the top strategies.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from detente.simulation.classic import CLASSIC_STRATEGIES, round_robin, select_strategies

TURNS, REPETITIONS, NOISE, SEED = 200, 50, 0.05, 1


def cpu_model() -> str:
    """The CPU's model name where the OS says (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls after one warm-up call, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (median)")
    args = parser.parse_args()

    try:
        import axelrod as axl
    except ImportError:  # pragma: no cover - depends on the environment
        raise SystemExit("this benchmark needs the Axelrod library: pip install axelrod==4.13.1") from None

    names = select_strategies(axelrod=True, stochastic=False)
    players = [getattr(axl, CLASSIC_STRATEGIES[n].axelrod_name or "")() for n in names]

    def axelrod_full() -> Any:
        tournament = axl.Tournament(players, turns=TURNS, repetitions=REPETITIONS, noise=NOISE, seed=SEED)
        return tournament.play(processes=None, progress_bar=False)

    def axelrod_play_only() -> None:
        tournament = axl.Tournament(players, turns=TURNS, repetitions=REPETITIONS, noise=NOISE, seed=SEED)
        fd, path = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tournament.play(build_results=False, filename=path, processes=None, progress_bar=False)
        finally:
            os.remove(path)

    def ours() -> Any:
        return round_robin(names, TURNS, REPETITIONS, NOISE, SEED)

    t_ours, result = median_time(ours, max(args.repeats, 10))
    t_full, axl_result = median_time(axelrod_full, args.repeats)
    t_play, _ = median_time(axelrod_play_only, args.repeats)

    print(
        f"workload: round robin of {len(names)} strategies (self-play included), "
        f"{TURNS} turns, {REPETITIONS} repetitions, noise {NOISE}"
    )
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs; "
        f"python {platform.python_version()}, numpy {np.__version__}, axelrod {axl.__version__}"
    )
    print(f"axelrod (play + results): {t_full:8.3f} s")
    print(f"axelrod (play only):      {t_play:8.3f} s")
    print(f"detente round_robin:      {t_ours:8.3f} s")
    print(f"ratio (play + results):   {t_full / t_ours:8.1f}x")
    print(f"ratio (play only):        {t_play / t_ours:8.1f}x   (target >= 20)")
    label = {CLASSIC_STRATEGIES[n].axelrod_name: n for n in names}
    theirs = [label[type(p).__name__] for p in players]
    their_rank = [theirs[i] for i in axl_result.ranking]
    print(f"ranking, detente: {', '.join(result.ranking)}")
    print(f"ranking, axelrod: {', '.join(their_rank)}")


if __name__ == "__main__":
    main()
