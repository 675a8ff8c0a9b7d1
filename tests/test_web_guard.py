"""The web app under hostile or runaway requests: time and memory limits, the guard's host and
token checks, the self-hosted API docs, and argument limits answered 422 (never 500)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.io.yaml import case_path
from detente.web import routes
from detente.web.app import CSP, Limits, create_app
from detente.web.workers import WorkerDied, WorkerPool, WorkerTimedOut

HOSTAGE = case_path("worked-hostage").read_text(encoding="utf-8")
TOY = Path(__file__).parent / "fixtures" / "toy_sweeps.yaml"
YAML = {"content-type": "application/yaml"}


@pytest.fixture
def app() -> Any:
    return create_app(limits=Limits(sync_timeout=1.0, worker_memory_mb=256), allowed_hosts={"testserver"})


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spin(*_: Any, **__: Any) -> Any:
    while True:
        pass


def _hog(*_: Any, **__: Any) -> Any:
    import numpy as np

    return np.ones(2**30, dtype=np.uint8).sum()  # 1 GB, over the allowance (stopped near 64 MB)


def _die(*_: Any, **__: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- runaways


def test_a_runaway_check_is_killed_and_answered_504(app: Any, client: TestClient, monkeypatch) -> None:
    monkeypatch.setattr(routes, "run_check", _spin)
    res = client.post("/api/check", params={"case": "worked-hostage"})
    assert res.status_code == 504
    assert "time limit of 1 s" in res.json()["detail"]
    pool = app.app.state.workers
    time.sleep(0.5)
    # the spinning worker (past a second of CPU) was replaced: no live worker has spent that much
    spinning = [pid for pid in pool.pids() if _cpu_seconds(pid) >= 1.0]
    assert spinning == []
    # the server still answers
    monkeypatch.undo()
    assert client.post("/api/check", params={"case": "worked-hostage"}).status_code == 200


def test_a_memory_hog_fails_alone_with_503(monkeypatch) -> None:
    monkeypatch.setattr(routes, "run_check", _hog)
    app = create_app(limits=Limits(sync_timeout=60.0, worker_memory_mb=64), allowed_hosts={"testserver"})
    with TestClient(app) as client:
        res = client.post("/api/check", params={"case": "worked-hostage"})
        assert res.status_code == 503
        assert "memory allowance of 64 MB" in res.json()["detail"]


def test_a_crashed_worker_is_answered_503(client: TestClient, monkeypatch) -> None:
    monkeypatch.setattr(routes, "run_simulate", _die)
    res = client.post("/api/simulate", params={"case": "worked-hostage", "schedule": "hostage", "episodes": 10})
    assert res.status_code == 503
    assert "without an answer" in res.json()["detail"]


def test_a_runaway_job_is_killed_at_its_time_limit() -> None:
    pool = WorkerPool(1, memory_mb=None)
    with pytest.raises(WorkerTimedOut):
        pool.run(lambda report: _spin(), timeout=0.5)
    assert not pool._live
    with pytest.raises(WorkerDied):
        pool.run(lambda report: _die(), timeout=5)
    seen: list[tuple[float, str]] = []
    assert (
        pool.run(lambda report: (report(0.5, "half"), 42)[1], timeout=5, report=lambda f, m: seen.append((f, m))) == 42
    )
    assert seen == [(0.5, "half")]


def test_scenario_errors_cross_the_process_boundary(client: TestClient) -> None:
    res = client.post("/api/check", params={"case": "worked-hostage", "schedule": "nope"})
    assert res.status_code == 422
    assert "nope" in res.json()["detail"]


# --------------------------------------------------------------------------- guard


def test_any_loopback_address_is_its_own_host() -> None:
    with TestClient(create_app(), base_url="http://127.0.0.2:8000") as c:
        assert c.get("/api/cases").status_code == 200
        assert c.get("/api/cases", headers={"host": "[::1]:8000"}).status_code == 200
        assert c.get("/api/cases", headers={"host": "evil.example"}).status_code == 421
        assert c.get("/api/cases", headers={"host": "127.0.0.1.evil.example"}).status_code == 421
        assert c.get("/api/cases", headers={"host": "10.0.0.1"}).status_code == 421


TOKEN = "jeton-sécurisé-ключ"


def test_a_non_ascii_token_works_in_headers_cookie_and_query() -> None:
    app = create_app(token=TOKEN, loopback_only=False)
    raw = TOKEN.encode("utf-8")
    with TestClient(app) as c:
        assert c.get("/api/cases", headers=[(b"authorization", b"Bearer " + raw)]).status_code == 200
        assert c.get("/api/cases", headers=[(b"x-detente-token", raw)]).status_code == 200
        assert c.get("/api/cases", headers=[(b"x-detente-token", raw[:-1])]).status_code == 401
        page = c.get("/", params={"token": TOKEN})
        assert page.status_code == 200
        assert c.get("/api/cases").status_code == 200  # the cookie the page set
    with TestClient(app) as fresh:
        assert fresh.get("/api/cases").status_code == 401
        assert fresh.get("/api/cases", params={"token": "wrong"}).status_code == 401


def test_api_docs_are_served_from_this_server(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    assert "http" not in page.text.replace('href="/api/openapi.json"', "")  # nothing from elsewhere
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css", "/static/api-docs.js"):
        res = client.get(asset)
        assert res.status_code == 200, asset
        assert len(res.content) > 100


# --------------------------------------------------------------------------- limits as 422


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"set": "x=nan"}, "set=x: expected a finite number"),
        ({"set": "x=1e999"}, "set=x: expected a finite number"),
        ({"set": "US.foo=1"}, "unknown field 'foo'"),
        ({"strategy": "US=grit(k=x)", "schedule": "hostage"}, "'k' expects a whole number"),
        ({"seed": -1, "schedule": "hostage"}, "seed must be between 0 and 2**63 - 1"),
        ({"seed": 2**63, "schedule": "hostage"}, "seed must be between 0 and 2**63 - 1"),
    ],
)
def test_bad_arguments_are_422(client: TestClient, params: dict[str, Any], expected: str) -> None:
    path = "/api/simulate" if "strategy" in params or "seed" in params else "/api/check"
    res = client.post(path, params={"case": "worked-hostage", **params})
    assert res.status_code == 422, res.text
    assert expected in res.json()["detail"]


def test_a_flat_sum_of_60_terms_is_accepted(client: TestClient) -> None:
    flow = " + ".join(["x / 60"] * 60)
    text = TOY.read_text(encoding="utf-8").replace("flow: {US: 2, DPRK: -0.5}", f'flow: {{US: "{flow}", DPRK: -0.5}}')
    assert flow in text
    res = client.post("/api/validate", content=text, headers=YAML)
    assert res.status_code == 200, res.text
    deep = "(x + " * 70 + "x" + ")" * 70
    res = client.post("/api/validate", content=text.replace(flow, deep), headers=YAML)
    assert res.status_code == 422
    assert "nested too deeply" in res.json()["detail"]


PARENT = """
import sys, threading, time
from detente.web.workers import WorkerPool

pool = WorkerPool(1, memory_mb=None)

def spin(report):
    while True:
        pass

threading.Thread(target=lambda: pool.run(spin, timeout=120), daemon=True).start()
while not pool._live:
    time.sleep(0.05)
time.sleep(0.2)
print(next(iter(pool._live)).pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return any(line.startswith("State:") and "Z" in line for line in fh)
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").exists(), reason="Linux only")
def test_a_computation_dies_with_a_killed_server() -> None:
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(child)
    finally:
        parent.kill()
        if child and not _gone(child):  # never leave a spinning process behind
            os.kill(child, signal.SIGKILL)


def test_a_claims_job_may_start_its_own_process_pool() -> None:
    with TestClient(create_app(allowed_hosts={"testserver"})) as client:
        _claims_job(client)


def test_a_claims_job_starts_its_own_pool_after_the_server_started_one() -> None:
    """A fork server started in the server's process is not the forked job's child: the job
    must start its own instead of failing with ChildProcessError (seen as a flaky job)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("forkserver")) as pool:
        assert pool.submit(abs, -3).result() == 3
    with TestClient(create_app(allowed_hosts={"testserver"})) as client:
        _claims_job(client)


def _claims_job(client: TestClient) -> None:
    text = (
        TOY.read_text(encoding="utf-8")
        + '\nclaims:\n  - {id: c, text: a claim, claim: "check[front].self_enforcing or x > 0.5"}\n'
    )
    res = client.post("/api/jobs/claims", content=text, params={"schedule": "front", "samples": 2}, headers=YAML)
    assert res.status_code == 202, res.text
    job_id = res.json()["id"]
    deadline = time.monotonic() + 120
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["result"]["claims"], job["result"]["claims_reason"]
    assert job["result"]["claims"][0]["id"] == "c"
