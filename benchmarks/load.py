"""Load test of the web app on loopback: concurrent check requests, and the page's round trip.

Run from the repository root::

    .venv/bin/python benchmarks/load.py                # 50 concurrent, 4 rounds
    .venv/bin/python benchmarks/load.py --page          # also time checks through the page

It starts ``detente serve`` as a child process on a free loopback port (never another
address), waits for it, then sends ``--rounds`` waves of ``--concurrency`` simultaneous
``POST /api/check`` requests with the Hanoi 2019 YAML as the body (the page's own request:
schedule ``phased``, leverage and figures), and prints p50, p95, p99 and the maximum latency
and the number of errors. The run is bounded: at most ``rounds * concurrency`` requests and
``--max-seconds`` of wall time, after which it stops by itself and stops the server.

``--page`` drives Debian's Chromium (``/usr/bin/chromium``) through Playwright: it opens the
page, chooses hanoi-2019 and clicks Check ``--page-runs`` times, reading the round trip the
page itself measures (click to verdict and figures' data on screen).

Exit status 1 when a target is missed: p99 over 2 s, any error, or a median page round trip
over 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("detente")
    cmd = [str(exe), "serve", "--host", HOST, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    proc.kill()
    raise SystemExit("the server did not start within 30 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def wave(client: httpx.AsyncClient, url: str, body: bytes, n: int) -> tuple[list[float], int]:
    async def one() -> tuple[float, bool]:
        start = time.perf_counter()
        try:
            res = await client.post(
                url,
                content=body,
                params={"schedule": "phased", "leverage": "true", "figures": "true"},
                headers={"content-type": "application/yaml"},
            )
            ok = res.status_code == 200 and res.json()["self_enforcing"] is True
        except httpx.HTTPError:
            ok = False
        return time.perf_counter() - start, ok

    results = await asyncio.gather(*(one() for _ in range(n)))
    return [t for t, _ in results], sum(1 for _, ok in results if not ok)


async def load(port: int, concurrency: int, rounds: int, max_seconds: float) -> tuple[list[float], int]:
    from detente.io.yaml import case_path

    body = case_path("hanoi-2019").read_bytes()
    url = f"http://{HOST}:{port}/api/check"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    started = time.monotonic()
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await wave(client, url, body, 2)  # warm-up: imports and the parse cache
        for _ in range(rounds):
            if time.monotonic() - started > max_seconds:
                break
            lat, err = await wave(client, url, body, concurrency)
            latencies += lat
            errors += err
    return latencies, errors


def page_round_trips(port: int, runs: int) -> list[int]:
    from playwright.sync_api import sync_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        page.goto(f"http://{HOST}:{port}/")
        page.wait_for_selector("body[data-ready=true]")
        page.select_option("#case-select", "hanoi-2019")
        page.wait_for_selector("#run-check:not([disabled])")
        page.select_option("#schedule-select", "phased")
        for _ in range(runs):
            page.locator("#verdict").evaluate("v => v.removeAttribute('data-ms')")
            page.click("#run-check")
            page.wait_for_selector("#verdict[data-ms]")
            out.append(int(page.get_attribute("#verdict", "data-ms") or 0))
        browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--page", action="store_true", help="also time checks through the page in Chromium")
    parser.add_argument("--page-runs", type=int, default=20)
    opts = parser.parse_args()
    if not (1 <= opts.concurrency <= 200 and 1 <= opts.rounds <= 50):
        parser.error("keep it bounded: --concurrency 1..200, --rounds 1..50")
    port = free_port()
    server = start_server(port)
    failed = False
    try:
        latencies, errors = asyncio.run(load(port, opts.concurrency, opts.rounds, opts.max_seconds))
        p99 = percentile(latencies, 99)
        print(
            f"check x{len(latencies)} ({opts.concurrency} concurrent, {os.cpu_count()} cores): "
            f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, errors {errors}"
        )
        failed = errors > 0 or p99 > 2.0
        if opts.page:
            trips = page_round_trips(port, opts.page_runs)
            median = statistics.median(trips)
            print(
                f"page check round trip x{len(trips)}: median {median:.0f} ms, "
                f"p95 {percentile([float(t) for t in trips], 95):.0f} ms, max {max(trips)} ms"
            )
            failed = failed or median > 300
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
