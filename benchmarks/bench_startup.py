"""Start-up time: ``import detente`` and ``detente --help`` in a fresh process.

Run from the repository root::

    .venv/bin/python benchmarks/bench_startup.py [--repeats 15]

Each figure is the wall time of a new Python process (interpreter start-up included), best of
``--repeats`` runs after one warm-up (which also writes the byte-code cache, as an
installation does), and the median; targets 0.3 s each. ``detente --help``
runs the console entry point as ``python -m detente --help``, so no installed script is needed.
A figure measured on a loaded machine is noisy: the best of many runs is the one to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_S = 0.3

COMMANDS = {
    "import_detente": [sys.executable, "-c", "import detente"],
    "detente_help": [sys.executable, "-m", "detente", "--help"],
    "python_alone": [sys.executable, "-c", "pass"],
}


#: As installed: byte code is cached (an environment that sets PYTHONDONTWRITEBYTECODE would
#: otherwise time the compilation of every module on every start).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    for name, cmd in COMMANDS.items():
        wall(cmd)  # warm the file cache
        times = [wall(cmd) for _ in range(args.repeats)]
        best, median = min(times), statistics.median(times)
        target = "" if name == "python_alone" else f" (target < {TARGET_S} s)"
        print(f"{name}: best {best:.3f} s, median {median:.3f} s over {args.repeats} runs{target}")


if __name__ == "__main__":
    main()
