"""The web app's JSON API through httpx (Starlette's TestClient): contracts, bad input, security."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette suggests httpx2; httpx is what its TestClient runs on here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import detente
from detente.io.yaml import case_path
from detente.web.app import CSP, Limits, create_app

HOSTAGE = case_path("worked-hostage").read_text(encoding="utf-8")
HANOI = case_path("hanoi-2019").read_text(encoding="utf-8")
YAML = {"content-type": "application/yaml"}
BAD = Path(__file__).parent / "fixtures" / "bad"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(limits=Limits(max_sync_episodes=20_000), allowed_hosts={"testserver", "127.0.0.1"})
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def wait_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        data = client.get(f"/api/jobs/{job_id}").json()
        if data["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


# --------------------------------------------------------------------------- scenarios


def test_cases_lists_the_builtin_names(client: TestClient) -> None:
    res = client.get("/api/cases")
    assert res.status_code == 200
    names = [c["name"] for c in res.json()["cases"]]
    assert names == list(detente.builtin_cases())


def test_case_text_and_unknown_case(client: TestClient) -> None:
    res = client.get("/api/cases/worked-hostage")
    assert res.status_code == 200
    assert res.json()["yaml"] == HOSTAGE
    res = client.get("/api/cases/hanoi-2091")
    assert res.status_code == 404
    assert "did you mean 'hanoi-2019'" in res.json()["detail"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "hanoi-2019.yaml", "C:\\x"])
def test_no_file_system_paths_from_the_client(client: TestClient, name: str) -> None:
    res = client.post("/api/check", params={"case": name})
    assert res.status_code == 404
    assert "root:" not in res.text


def test_validate_summarises_the_scenario(client: TestClient) -> None:
    res = client.post("/api/validate", content=HANOI, headers=YAML)
    assert res.status_code == 200
    data = res.json()
    assert data["parties"] == ["US", "DPRK"]
    assert data["schedules"] == ["us-big-deal", "dprk-offer", "phased"]
    assert {"name": "leakage", "value": 0.4}.items() <= next(
        p for p in data["parameters"] if p["name"] == "leakage"
    ).items()
    assert "reciprocal" in data["strategies"]["DPRK"]


# --------------------------------------------------------------------------- check


def test_check_returns_the_model_contract(client: TestClient) -> None:
    res = client.post("/api/check", content=HOSTAGE, params={"schedule": "hostage"}, headers=YAML)
    assert res.status_code == 200
    data = res.json()
    expected = detente.check(detente.loads(HOSTAGE), "hostage").to_dict()
    for key in ("self_enforcing", "participation", "constraints", "violations"):
        assert data[key] == expected[key]
    # docs/model.md §3 worked example: DPRK at τ = 1 gains 1.962 by halting
    bad = [c for c in data["violations"] if c["party"] == "DPRK" and c["period"] == 1]
    assert bad
    assert bad[0]["slack"] == pytest.approx(-1.962, abs=1e-3)
    assert "gains" in bad[0]["explanation"]


def test_check_of_every_schedule_and_of_a_case(client: TestClient) -> None:
    res = client.post("/api/check", content=HOSTAGE, headers=YAML)
    assert set(res.json()["schedules"]) == {"hostage", "all-at-once", "designed"}
    res = client.post("/api/check", params={"case": "hanoi-2019", "schedule": "phased"})
    assert res.status_code == 200
    assert res.json()["self_enforcing"] is True


def test_check_with_figures_and_leverage(client: TestClient) -> None:
    res = client.post(
        "/api/check", params={"case": "hanoi-2019", "schedule": "phased", "figures": "true", "leverage": "true"}
    )
    data = res.json()
    assert set(data["figures"]) == {"timeline", "slack", "leverage"}
    assert data["leverage"]
    assert {"exposure", "leverage"} <= set(data["leverage"][0])


def test_a_what_if_that_breaks_the_schedule_is_explained(client: TestClient) -> None:
    res = client.post("/api/check", params={"case": "hanoi-2019", "schedule": "phased", "set": "leakage=0.6"})
    data = res.json()
    assert data["self_enforcing"] is False
    assert data["violations"]
    assert all(v["explanation"] for v in data["violations"])
    assert data["provenance"]["parameters"]["leakage"] == 0.6


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["leakge=0.6"], "did you mean 'leakage'"),
        (["leakage"], "expected NAME=VALUE"),
        (["leakage=abc"], "expected a number"),
        (["leakage=nan"], "finite"),
    ],
)
def test_bad_what_ifs_are_422(client: TestClient, sets: list[str], message: str) -> None:
    res = client.post("/api/check", params={"case": "hanoi-2019", "schedule": "phased", "set": sets})
    assert res.status_code == 422
    assert message in res.json()["detail"]


def test_unknown_schedule_is_422_with_suggestion(client: TestClient) -> None:
    res = client.post("/api/check", params={"case": "hanoi-2019", "schedule": "phase"})
    assert res.status_code == 422
    assert "phased" in res.json()["detail"]


# --------------------------------------------------------------------------- bad input


def test_malformed_yaml_is_422_with_line_numbers(client: TestClient) -> None:
    res = client.post("/api/check", content="name: x\nparties: [\n", headers=YAML, params={"source": "mine.yaml"})
    assert res.status_code == 422
    problem = res.json()["problems"][0]
    assert problem["file"] == "mine.yaml"
    assert problem["line"] == 3
    assert "not valid YAML" in problem["message"]


def test_every_problem_of_a_bad_file_with_its_line(client: TestClient) -> None:
    text = (BAD / "misspelled_key.yaml").read_text(encoding="utf-8")
    res = client.post("/api/validate", content=text, headers=YAML, params={"source": "/home/me/misspelled_key.yaml"})
    assert res.status_code == 422
    problems = res.json()["problems"]
    assert any(p["line"] == 5 and "concessions" in p["message"] for p in problems)
    assert all(p["file"] == "misspelled_key.yaml" for p in problems)  # only the base name is echoed


def test_non_utf8_and_empty_bodies(client: TestClient) -> None:
    res = client.post("/api/check", content=b"name: \xff\n", headers=YAML)
    assert res.status_code == 422
    assert res.json()["problems"][0]["line"] == 1
    res = client.post("/api/check", content=b"", headers=YAML)
    assert res.status_code == 422
    assert "no scenario" in res.json()["detail"]
    res = client.post("/api/check", content=HOSTAGE, params={"case": "worked-hostage"}, headers=YAML)
    assert res.status_code == 422


def test_oversized_body_is_413_and_the_server_keeps_serving(client: TestClient) -> None:
    big = "# padding\n" * 110_000  # 1.1 MB
    res = client.post("/api/check", content=big, headers=YAML)
    assert res.status_code == 413
    assert "at most 1 MB" in res.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"#" * 100_000

    res = client.post("/api/check", content=chunks(), headers=YAML)
    assert res.status_code == 413
    assert client.get("/api/cases").status_code == 200


def test_unknown_api_path_is_404_json(client: TestClient) -> None:
    res = client.get("/api/nothing/here")
    assert res.status_code == 404
    assert "no API endpoint" in res.json()["detail"]


# --------------------------------------------------------------------------- design and simulate


def test_design_endpoint_matches_the_model(client: TestClient) -> None:
    res = client.post("/api/design", params={"case": "worked-hostage", "figures": "true"})
    assert res.status_code == 200
    data = res.json()
    assert data["feasible"] is True
    assert data["completion_period"] == 1  # docs/model.md §3: relief in two tranches
    assert data["roadmap"]
    assert "timeline" in data["figures"]


def test_design_time_limit_is_capped(client: TestClient) -> None:
    res = client.post("/api/design", params={"case": "worked-hostage", "time_limit": "1e9"})
    assert res.status_code == 422
    assert "time_limit" in res.json()["detail"]


def test_simulate_endpoint_and_its_caps(client: TestClient) -> None:
    res = client.post(
        "/api/simulate",
        params={"case": "worked-hostage", "schedule": "designed", "episodes": 500, "seed": 1, "figures": "true"},
    )
    assert res.status_code == 200
    data = res.json()
    assert data["episodes"] == 500
    assert "outcomes" in data["figures"]
    res = client.post("/api/simulate", params={"case": "worked-hostage", "schedule": "designed", "episodes": 10**7})
    assert res.status_code == 422
    assert "between 1 and 20,000" in res.json()["detail"]
    assert "/api/jobs/simulate" in res.json()["detail"]
    res = client.post(
        "/api/simulate", params={"case": "worked-hostage", "schedule": "designed", "strategy": "US=nobody"}
    )
    assert res.status_code == 422
    assert "unknown strategy" in res.json()["detail"]


# --------------------------------------------------------------------------- jobs


def test_simulation_job_runs_to_completion(client: TestClient) -> None:
    res = client.post(
        "/api/jobs/simulate", params={"case": "worked-hostage", "schedule": "designed", "episodes": 3000, "seed": 7}
    )
    assert res.status_code == 202
    job = wait_job(client, res.json()["id"])
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    assert job["result"]["episodes"] == 3000
    assert client.get("/api/jobs").json()["jobs"][0]["id"] == job["id"]


def test_cancel_a_running_job_then_cancel_again(client: TestClient) -> None:
    res = client.post(
        "/api/jobs/simulate",
        params={"case": "hanoi-2019", "schedule": "phased", "episodes": 1_000_000, "seed": 3},
    )
    job_id = res.json()["id"]
    deadline = time.monotonic() + 10
    while client.get(f"/api/jobs/{job_id}").json()["progress"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    res = client.delete(f"/api/jobs/{job_id}")
    assert res.status_code == 200
    job = wait_job(client, job_id)
    assert job["status"] == "cancelled"
    assert job["progress"] < 1.0
    res = client.delete(f"/api/jobs/{job_id}")
    assert res.status_code == 409
    assert "cancelled" in res.json()["detail"]


def test_unknown_job_and_kind(client: TestClient) -> None:
    for method in ("get", "delete"):
        res = getattr(client, method)("/api/jobs/0123456789abcdef")
        assert res.status_code == 404
        assert "no job" in res.json()["detail"]
    res = client.post("/api/jobs/mine-bitcoin", params={"case": "hanoi-2019"})
    assert res.status_code == 404
    assert "kinds: design, simulate" in res.json()["detail"]


def test_job_caps_are_checked_before_starting(client: TestClient) -> None:
    res = client.post("/api/jobs/simulate", params={"case": "hanoi-2019", "schedule": "phased", "episodes": 10**9})
    assert res.status_code == 422
    assert "episodes must be between 1 and 1,000,000" in res.json()["detail"]
    res = client.post("/api/jobs/claims", params={"case": "hanoi-2019", "samples": 10**6})
    assert res.status_code == 422
    res = client.post("/api/jobs/simulate", params={"case": "hanoi-2019"})
    assert res.status_code == 422
    assert "choose a schedule" in res.json()["detail"]


def test_report_job_and_its_download(client: TestClient) -> None:
    res = client.post("/api/jobs/report", params={"case": "worked-hostage", "episodes": 20, "samples": 4})
    job = wait_job(client, res.json()["id"], timeout=120)
    assert job["status"] == "done", job
    assert job["download"].endswith("/report.html")
    res = client.get(job["download"])
    assert res.status_code == 200
    assert "attachment" in res.headers["content-disposition"]
    assert "Worked example - phased with a reversible hostage" in res.text


def test_a_cancelled_report_is_gone(client: TestClient) -> None:
    jobs = client.app.app.state.jobs  # type: ignore[attr-defined]
    started = [client.post("/api/jobs/report", params={"case": "hanoi-2019"}).json()["id"] for _ in range(3)]
    for job_id in started:
        client.delete(f"/api/jobs/{job_id}")
    for job_id in started:
        jobs.wait(job_id, timeout=60)
        assert client.get(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
    res = client.get(f"/api/jobs/{started[-1]}/report.html")
    assert res.status_code == 410
    assert "cancelled" in res.json()["detail"]


# --------------------------------------------------------------------------- security


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for res in (client.get("/"), client.get("/api/cases"), client.get("/api/cases/nope"), client.get("/static/app.js")):
        assert res.headers["content-security-policy"] == CSP
        assert res.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in CSP
    assert "unsafe-eval" not in CSP


def test_page_loads_scripts_from_this_server_only(client: TestClient) -> None:
    html = client.get("/").text
    assert 'src="/static/vega.js"' in html
    assert 'src="/static/app.js"' in html
    assert "http://" not in html
    assert "https://" not in html
    res = client.get("/static/vega.js")
    assert res.status_code == 200
    assert "vegaEmbed" in res.text


def test_loopback_app_refuses_other_host_names() -> None:
    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/cases").status_code == 200
        assert c.get("/api/cases", headers={"host": "localhost:8000"}).status_code == 200
        res = c.get("/api/cases", headers={"host": "attacker.example"})
        assert res.status_code == 421


def test_cross_site_posts_are_refused(client: TestClient) -> None:
    res = client.post("/api/check", params={"case": "hanoi-2019"}, headers={"origin": "http://evil.example"})
    assert res.status_code == 403
    res = client.post(
        "/api/check", params={"case": "hanoi-2019", "schedule": "phased"}, headers={"origin": "http://127.0.0.1"}
    )
    assert res.status_code == 200


def test_token_is_required_on_every_request() -> None:
    app = create_app(token="s3cret-token", loopback_only=False)
    with TestClient(app, base_url="http://10.1.2.3:8000") as c:
        for path in ("/", "/api/cases", "/static/app.js", "/api/openapi.json"):
            res = c.get(path)
            assert res.status_code == 401, path
            assert "token" in res.json()["detail"]
        assert c.get("/api/cases", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/cases", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.get("/api/cases", headers={"x-detente-token": "s3cret-token"}).status_code == 200
        page = c.get("/?token=s3cret-token")
        assert page.status_code == 200
        assert "HttpOnly" in page.headers["set-cookie"]
        assert "SameSite=Strict" in page.headers["set-cookie"]
        # the cookie now authenticates the page's own requests
        assert c.get("/api/cases").status_code == 200
        assert c.post("/api/check", params={"case": "hanoi-2019", "schedule": "phased"}).status_code == 200


def test_claims_job_says_why_when_there_is_nothing_to_evaluate(client: TestClient) -> None:
    res = client.post("/api/jobs/claims", params={"case": "worked-hostage", "schedule": "hostage", "samples": 4})
    job = wait_job(client, res.json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["claims"] is None
    assert "states no claims" in job["result"]["claims_reason"]
    assert "no parameter has a range" in job["result"]["sobol_reason"]
