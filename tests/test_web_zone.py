"""The agreement zone in the web app: ``POST /api/zone`` with demand toggles, and the page."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette suggests httpx2; httpx is what its TestClient runs on here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from detente.web.app import Limits, create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(limits=Limits(), allowed_hosts={"testserver", "127.0.0.1"})
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def test_every_stated_demand_closes_the_hanoi_zone(client: TestClient) -> None:
    res = client.post("/api/zone", params={"case": "hanoi-2019", "all_demands": "true"})
    assert res.status_code == 200, res.text
    z = res.json()
    assert z["empty"] is True
    assert z["figure"] is None
    assert [d["id"] for d in z["available_demands"]] == [
        "us-yongbyon-first",
        "us-one-more-step",
        "dprk-relief-for-yongbyon",
    ]
    assert all(d["on"] for d in z["available_demands"])


def test_toggling_the_dprk_demand_off_opens_the_zone(client: TestClient) -> None:
    res = client.post(
        "/api/zone",
        params={"case": "hanoi-2019", "demand": ["us-yongbyon-first", "us-one-more-step"], "points": 3},
    )
    assert res.status_code == 200, res.text
    z = res.json()
    assert z["empty"] is False
    assert z["frontier"]
    assert z["fair"]
    assert z["fastest"]
    assert z["figure"]["data"]["values"]
    assert [d["on"] for d in z["available_demands"]] == [True, True, False]


def test_unknown_demand_is_a_clear_error(client: TestClient) -> None:
    res = client.post("/api/zone", params={"case": "hanoi-2019", "demand": ["nope"]})
    assert res.status_code in (400, 422)
    assert "unknown demand 'nope'" in res.text


def test_the_zone_page_is_served(client: TestClient) -> None:
    res = client.get("/zone")
    assert res.status_code == 200
    assert "/static/zone.js" in res.text
    assert client.get("/static/zone.js").status_code == 200
