"""Regression tests for hostile or oversized input: each one a defect that once gave a
traceback, an internal error (exit 70, HTTP 500) or quadratic time, now a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from detente.core.errors import ScenarioError
from detente.io.yaml import scenario_from_data


def _chain(n: int, cycle: bool = False) -> dict[str, Any]:
    concessions: list[dict[str, Any]] = []
    for k in range(n):
        c: dict[str, Any] = {"id": f"c{k}", "by": "A", "flow": {"A": -1, "B": 1}}
        if k:
            c["requires"] = [f"c{k - 1}"]
        concessions.append(c)
    if cycle:
        concessions[0]["requires"] = [f"c{n - 1}"]
    return {
        "name": "chain",
        "parties": [{"id": "A", "discount": 0.9}, {"id": "B", "discount": 0.9}],
        "concessions": concessions,
    }


def test_a_long_prerequisite_chain_is_no_recursion_error() -> None:
    scn = scenario_from_data(_chain(5_000), "chain.yaml")
    assert len(scn.concessions) == 5_000


def test_a_long_prerequisite_cycle_is_reported_once() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_data(_chain(3_000, cycle=True), "chain.yaml")
    cycles = [p for p in info.value.problems if "prerequisite cycle" in p.message]
    assert len(cycles) == 1
    assert cycles[0].message.startswith("prerequisite cycle: c0 -> c2999 -> c2998")
