"""Timing of the report and the figures.

Run from the repository root::

    .venv/bin/python benchmarks/bench_report.py

Prints one line per figure:

* ``bundle``: building the Vega/Vega-Lite/vega-embed script with vl-convert, cold (no cache)
  and from the on-disk cache (the report inlines it);
* ``report``: :func:`detente.report.html.report_html` on Hanoi 2019 with the defaults of
  ``detente report`` (all sections), and the time of each section (target: under 20 s on
  2 cores); ``--no-claims`` skips claims and Sobol indices;
* ``figure``: exporting the slack figure of Hanoi 2019 to SVG and PNG (first call and warm).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import detente
from detente.report import figures as F
from detente.report.html import ReportOptions, build_report, render_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-claims", action="store_true")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = cache
        F.javascript_bundle.cache_clear()
        t = time.perf_counter()
        F.javascript_bundle()
        cold = time.perf_counter() - t
        F.javascript_bundle.cache_clear()
        t = time.perf_counter()
        F.javascript_bundle()
        warm = time.perf_counter() - t
        if old is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = old
    print(f"bundle: cold {cold:.2f} s, from the disk cache {warm * 1000:.0f} ms")

    scn = detente.load("hanoi-2019")
    options = ReportOptions(claims=not opts.no_claims, sensitivity=not opts.no_claims)
    t = time.perf_counter()
    data = build_report(scn, options, source="hanoi-2019")
    html = render_report(data)
    total = time.perf_counter() - t
    sections = ", ".join(f"{k} {v:.2f}" for k, v in data["provenance"]["timings"].items())
    print(f"report: hanoi-2019 in {total:.1f} s ({len(html) / 1e6:.2f} MB); seconds per section: {sections}")

    spec = F.slack_spec(detente.check(scn, "us-big-deal").to_dict(), period_label=scn.period)
    with tempfile.TemporaryDirectory() as out:
        for suffix in ("svg", "png"):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                F.export(spec, Path(out) / f"slack.{suffix}")
                times.append(time.perf_counter() - t)
            print(f"figure: slack.{suffix} first {times[0] * 1000:.0f} ms, then {min(times[1:]) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
