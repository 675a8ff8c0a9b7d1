"""Hypothesis strategies for the self-enforcement check: small scenarios as plain data.

Every strategy here builds a plain ``dict`` in the scenario-file format of docs/model.md §2
(``name``, ``parties``, ``concessions``, ``schedule``; never ``requires``), so the very same
object feeds both the loop-based reference (``reference_check(data)``) and the library
(``Scenario.model_validate(data)``).

Ranges: 2-3 parties, 1-6 concessions, each with random flows and one-time values, reversible
(``{delay: 0-2, cost}``) or not, a verification lag of 0-3 and divisible or not; schedules use
periods 0-6, amounts in (0, 1], indivisible concessions whole and at most once, totals <= 1.
Some concessions are left out of the schedule, and a schedule may be empty.

Numbers come half from a coarse grid (quarters, so exact ties between plans and slacks of
exactly zero do occur) and half from continuous ranges. Values that a test needs to inspect
(for example which concession belongs to whom) are read back from the dict itself.

``usual_signs=True`` gives every concession a flow <= 0 to its giver and >= 0 to the others
(and the same signs for one-time values).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "PARTY_IDS",
    "concession_data",
    "discounts",
    "one_side_first",
    "package_data",
    "scenario_data",
    "schedule_data",
    "shifted",
    "with_schedule",
]

PARTY_IDS = ("A", "B", "C")
MAX_PERIOD = 6

Data = dict[str, Any]

_grid = st.integers(-24, 24).map(lambda n: n / 4)


def _no_dust(v: float) -> float:
    """Values below 1e-6 in size become 0: tiny ones only test underflow, not the model."""
    return 0.0 if abs(v) < 1e-6 else v


_continuous = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False).map(_no_dust)
#: A flow or one-time value of either sign.
values = st.one_of(_grid, _continuous)
#: A value >= 0 (a cost, or a flow with the usual sign for a receiver).
nonneg = st.one_of(st.integers(0, 24).map(lambda n: n / 4), st.floats(0.0, 10.0).map(_no_dust))
#: A per-period discount factor in (0, 1).
discounts = st.one_of(
    st.sampled_from([0.5, 0.75, 0.8, 0.9, 0.95]),
    st.floats(0.05, 0.98, allow_subnormal=False),
)


@st.composite
def concession_data(draw: st.DrawFn, cid: str, parties: list[str], usual_signs: bool = False) -> Data:
    """One concession of a random giver among ``parties``."""
    by = draw(st.sampled_from(parties))

    def signed(pid: str) -> float:
        if not usual_signs:
            return draw(values)
        v = draw(nonneg)
        return -v if pid == by else v

    flow: dict[str, float] = {}
    for pid in parties:
        if draw(st.integers(0, 5)) > 0:  # a missing party gets 0
            flow[pid] = signed(pid)
    out: Data = {"id": cid, "by": by, "flow": flow}
    if draw(st.integers(0, 3)) == 0:
        out["once"] = {pid: signed(pid) for pid in parties if draw(st.booleans())}
    rev = draw(st.integers(0, 3))
    if rev == 1:
        out["reversible"] = False
    elif rev >= 2:
        out["reversible"] = {"delay": draw(st.integers(0, 2)), "cost": draw(nonneg)}
    lag = draw(st.integers(-1, 3))
    if lag >= 0:
        out["verification_lag"] = lag
    if draw(st.booleans()):
        out["divisible"] = True
    elif draw(st.booleans()):
        out["divisible"] = False
    return out


@st.composite
def package_data(
    draw: st.DrawFn,
    usual_signs: bool = False,
    min_parties: int = 2,
    max_parties: int = 3,
    max_concessions: int = 6,
) -> Data:
    """Parties and concessions, without a schedule."""
    n_parties = draw(st.integers(min_parties, max_parties))
    parties = list(PARTY_IDS[:n_parties])
    n_conc = draw(st.integers(1, max_concessions))
    return {
        "name": "random",
        "parties": [{"id": pid, "discount": draw(discounts)} for pid in parties],
        "concessions": [draw(concession_data(f"k{k}", parties, usual_signs)) for k in range(n_conc)],
    }


def _amounts(draw: st.DrawFn, n: int) -> list[float]:
    """``n`` amounts in (0, 1] whose total is at most 1 (on a grid or continuous)."""
    if draw(st.booleans()):
        parts = [draw(st.integers(1, 4)) for _ in range(n)]
        den = max(4, sum(parts))
        return [p / den for p in parts]
    weights = [draw(st.floats(0.05, 1.0)) for _ in range(n)]
    total = draw(st.floats(0.1, 1.0))
    scale = total / sum(weights)
    return [min(1.0, w * scale) for w in weights]


@st.composite
def schedule_data(draw: st.DrawFn, package: Data, max_period: int = MAX_PERIOD) -> list[Data]:
    """A valid schedule for ``package``: indivisible concessions whole and once."""
    steps: list[Data] = []
    for c in package["concessions"]:
        if draw(st.integers(0, 5)) == 0:
            continue  # left out of the agreement
        if c.get("divisible", False):
            n = draw(st.integers(1, 3))
            for amount in _amounts(draw, n):
                steps.append(
                    {
                        "period": draw(st.integers(0, max_period)),
                        "concession": c["id"],
                        "amount": amount,
                    }
                )
        else:
            step: Data = {"period": draw(st.integers(0, max_period)), "concession": c["id"]}
            if draw(st.booleans()):
                step["amount"] = 1.0
            steps.append(step)
    return draw(st.permutations(steps)) if steps else steps


def with_schedule(package: Data, steps: list[Data]) -> Data:
    """A deep copy of ``package`` carrying ``steps`` as its schedule."""
    out = copy.deepcopy(package)
    out["schedule"] = copy.deepcopy(steps)
    return out


@st.composite
def scenario_data(draw: st.DrawFn, usual_signs: bool = False, **package_kw: Any) -> Data:
    """A package and one schedule for it, as one dict."""
    package = draw(package_data(usual_signs=usual_signs, **package_kw))
    return with_schedule(package, draw(schedule_data(package)))


def shifted(data: Data, s: int) -> Data:
    """``data`` with every step of its schedule ``s`` periods later."""
    out = copy.deepcopy(data)
    for step in out["schedule"]:
        step["period"] += s
    return out


@st.composite
def one_side_first(draw: st.DrawFn) -> tuple[Data, str]:
    """A schedule where every other party moves first, irreversibly, and one party moves last.

    Returns ``(data, last)``. Exact conditions (the hypotheses of the theorem tested with it):

    * usual signs, and every concession of ``last`` costs it something: its flow to ``last``
      is <= 0, its one-time value to ``last`` is <= 0, and at least one is < 0;
    * every concession of the other parties is irreversible;
    * ``last`` has at least one step, and no other party has a step at a period after the
      first step of ``last`` (steps in the same period are allowed).
    """
    package = draw(package_data(usual_signs=True))
    parties = [p["id"] for p in package["parties"]]
    last = draw(st.sampled_from(parties))
    for c in package["concessions"]:
        if c["by"] != last:
            c["reversible"] = False
            continue
        flow = c["flow"].get(last, 0.0)
        once = c.get("once", {}).get(last, 0.0)
        if flow == 0.0 and once == 0.0:
            c["flow"][last] = -draw(st.one_of(st.just(0.25), st.floats(1e-3, 10.0)))
    # make sure the last mover has a concession
    if not any(c["by"] == last for c in package["concessions"]):
        victim = draw(st.sampled_from(package["concessions"]))
        victim["by"] = last
        victim["flow"] = {pid: (-abs(v) if pid == last else abs(v)) for pid, v in victim["flow"].items()}
        victim["flow"][last] = -draw(st.one_of(st.just(1.0), st.floats(1e-3, 10.0)))
        if "once" in victim:
            victim["once"] = {pid: (-abs(v) if pid == last else abs(v)) for pid, v in victim["once"].items()}
    steps = draw(schedule_data(package))
    mine = [s for s in steps if package_by(package, s["concession"]) == last]
    if not mine:
        c = next(c for c in package["concessions"] if c["by"] == last)
        new = {"period": draw(st.integers(0, MAX_PERIOD)), "concession": c["id"], "amount": 1.0}
        steps = [s for s in steps if s["concession"] != c["id"]] + [new]
        mine = [s for s in steps if package_by(package, s["concession"]) == last]
    first = min(s["period"] for s in mine)
    for s in steps:
        if package_by(package, s["concession"]) != last and s["period"] > first:
            s["period"] = draw(st.integers(0, first))
    return with_schedule(package, steps), last


def package_by(package: Data, cid: str) -> str:
    """The giver of concession ``cid``."""
    return str(next(c["by"] for c in package["concessions"] if c["id"] == cid))
