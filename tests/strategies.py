"""Hypothesis strategies for valid scenarios, as plain data and as :class:`Scenario` objects.

:func:`scenario_dicts` builds a ``dict`` in the scenario-file format (docs/model.md §2 plus
the project's additions) that is valid by construction: 1-3 parties and 1-6 concessions,
optional reversibility (``false``, ``true`` or ``{delay, cost}``), verification lags,
divisible concessions, an acyclic ``requires`` order, optional parameters with expressions,
optional dimensions with weights and effects, a ``schedule``, named ``schedules`` and a
``design`` section. Every schedule respects the rules: indivisible concessions whole and at
most once, totals at most 1, every step after its prerequisites are complete.

:func:`scenarios` validates those dicts into scenarios. Ids include words that plain YAML
reads as something else (``NO``, ``on``, ``1``, ``null``), so dumping must quote them.

Usage::

    from strategies import scenario_dicts, scenarios

    @given(scenarios())
    def test_something(scn): ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from detente.core.scenario import Scenario

__all__ = [
    "CONCESSION_IDS",
    "PARTY_IDS",
    "concession_dicts",
    "expressions",
    "scenario_dicts",
    "scenarios",
    "schedule_lists",
    "texts",
]

Data = dict[str, Any]

#: Party ids, including words that plain YAML would read as booleans or numbers.
PARTY_IDS = ("US", "DPRK", "ROK", "China", "NO", "on", "1", "Party A")
#: Concession ids, likewise (a concession id may not equal a party id).
CONCESSION_IDS = (
    "moratorium",
    "dismantle",
    "relief",
    "freeze",
    "inspections",
    "aid",
    "null",
    "yes",
    "2.5",
    "end-of-war",
)
PARAMETERS = {"pressure": (1.0, 4.0), "leakage": (0.0, 1.0)}
DIMENSIONS = ("security", "economy", "status")
MAX_PERIOD = 8

#: Free text: names, descriptions, period labels, sources.
texts = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 -_:#'\"&*!?,.[]{}()éü—한")),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s != "")

_quarters = st.integers(-40, 40).map(lambda n: n / 4)
_reals = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
#: A plain value of either sign.
numbers = st.one_of(_quarters, _reals, st.integers(-20, 20))
#: Discount factors in (0, 1).
discounts = st.one_of(
    st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
    st.floats(0.05, 0.995, allow_subnormal=False),
)


def expressions(names: list[str]) -> st.SearchStrategy[str]:
    """Arithmetic over ``names`` that evaluates to a finite number for any values in range."""
    if not names:
        return st.sampled_from(["1 + 2", "-0.5", "2 * (3 - 1)", "max(1, 2)", "min(0.5, 1) * 4"])
    name = st.sampled_from(names)
    return st.one_of(
        name,
        name.map(lambda n: f"-{n}"),
        name.map(lambda n: f"2 * {n} - 1"),
        st.tuples(name, name).map(lambda t: f"{t[0]} * (1 - {t[1]})"),
        st.tuples(name, name).map(lambda t: f"min({t[0]}, {t[1]}) + max({t[1]}, 0.5)"),
        name.map(lambda n: f"({n} + 1) ** 2 / 4"),
    )


@st.composite
def concession_dicts(
    draw: st.DrawFn,
    cid: str,
    parties: list[str],
    earlier: list[str],
    params: list[str],
    dims: list[str],
) -> Data:
    """One concession that only requires concessions in ``earlier`` (so no cycles)."""
    values = st.one_of(numbers, expressions(params)) if params else numbers
    c: Data = {"id": cid, "by": draw(st.sampled_from(parties))}
    flow_to = draw(st.lists(st.sampled_from(parties), unique=True, max_size=len(parties)))
    if flow_to or draw(st.booleans()):
        c["flow"] = {pid: draw(values) for pid in flow_to}
    if draw(st.booleans()):
        once_to = draw(st.lists(st.sampled_from(parties), unique=True))
        c["once"] = {pid: draw(values) for pid in once_to}
    if dims:
        others = [p for p in parties if p not in flow_to]
        effect_to = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        if effect_to:
            c["effects"] = {
                pid: {d: draw(values) for d in draw(st.lists(st.sampled_from(dims), unique=True))} for pid in effect_to
            }
    reversible = draw(st.sampled_from(["absent", "false", "true", "mapping"]))
    if reversible == "false":
        c["reversible"] = False
    elif reversible == "true":
        c["reversible"] = True
    elif reversible == "mapping":
        rev: Data = {}
        if draw(st.booleans()):
            rev["delay"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            costs = st.one_of(st.integers(0, 3), st.floats(0.0, 5.0, allow_subnormal=False))
            rev["cost"] = draw(costs)
        c["reversible"] = rev
    if draw(st.booleans()):
        c["verification_lag"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        c["divisible"] = draw(st.booleans())
    if earlier and draw(st.booleans()):
        c["requires"] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2))
    if draw(st.booleans()):
        c["name"] = draw(texts)
    return c


@st.composite
def schedule_lists(draw: st.DrawFn, concessions: list[Data]) -> list[Data]:
    """A valid schedule over ``concessions`` (given in an order that respects ``requires``)."""
    completion: dict[str, int] = {}  # period in which each concession is fully in force
    steps: list[Data] = []
    for c in concessions:
        requires = c.get("requires", [])
        if any(r not in completion for r in requires) or not draw(st.booleans()):
            continue
        earliest = max((completion[r] + 1 for r in requires), default=0)
        if earliest > MAX_PERIOD:
            continue
        periods = st.integers(earliest, min(earliest + 3, MAX_PERIOD))
        if c.get("divisible"):
            m = draw(st.integers(1, 3))
            full = draw(st.booleans())
            amounts = [1.0 / m] * m if full else [0.25] * m
            ts = sorted(draw(st.lists(periods, min_size=m, max_size=m)))
            for t, a in zip(ts, amounts, strict=True):
                step: Data = {"period": t, "concession": c["id"]}
                if a != 1.0 or draw(st.booleans()):
                    step["amount"] = a
                steps.append(step)
            if full:
                completion[c["id"]] = ts[-1]
        else:
            t = draw(periods)
            step = {"period": t, "concession": c["id"]}
            if draw(st.booleans()):
                step["amount"] = 1
            steps.append(step)
            completion[c["id"]] = t
    return draw(st.permutations(steps))


@st.composite
def scenario_dicts(draw: st.DrawFn) -> Data:
    """A valid scenario as plain data (see the module docstring for the ranges)."""
    n_parties = draw(st.integers(1, 3))
    parties = draw(st.lists(st.sampled_from(PARTY_IDS), min_size=n_parties, max_size=n_parties, unique=True))
    cids = draw(st.lists(st.sampled_from(CONCESSION_IDS), min_size=1, max_size=6, unique=True))
    data: Data = {}
    if draw(st.booleans()):
        data["name"] = draw(texts)
    if draw(st.booleans()):
        data["period"] = draw(st.sampled_from(["month", "quarter", "year", "round"]))
    params: list[str] = []
    if draw(st.booleans()):
        params = draw(st.lists(st.sampled_from(sorted(PARAMETERS)), min_size=1, unique=True))
        data["parameters"] = {}
        for name in params:
            lo, hi = PARAMETERS[name]
            p: Data = {"value": draw(st.floats(lo, hi, allow_subnormal=False))}
            if draw(st.booleans()):
                p["range"] = [lo, hi]
            if draw(st.booleans()):
                p["distribution"] = draw(st.sampled_from(["uniform", "triangular", "normal"]))
            if draw(st.booleans()):
                p["source"] = draw(texts)
            data["parameters"][name] = p
    dims: list[str] = []
    if draw(st.booleans()):
        dims = draw(st.lists(st.sampled_from(DIMENSIONS), min_size=1, unique=True))
        data["dimensions"] = dims
    party_list = []
    for pid in parties:
        party: Data = {"id": pid, "discount": draw(discounts)}
        if dims and draw(st.booleans()):
            party["weights"] = {d: draw(st.floats(0.0, 3.0, allow_subnormal=False)) for d in dims}
        party_list.append(party)
    data["parties"] = party_list
    concessions = [draw(concession_dicts(cid, parties, cids[:i], params, dims)) for i, cid in enumerate(cids)]
    data["concessions"] = concessions
    if draw(st.booleans()):
        data["schedule"] = draw(schedule_lists(concessions))
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(["phased", "fast", "slow", "hostage"]), unique=True))
        data["schedules"] = {name: draw(schedule_lists(concessions)) for name in names}
    if draw(st.booleans()):
        design: Data = {}
        if draw(st.booleans()):
            design["horizon"] = draw(st.integers(0, 12))
        divisible = [c["id"] for c in concessions if c.get("divisible")]
        if divisible and draw(st.booleans()):
            design["tranches"] = {cid: draw(st.integers(1, 4)) for cid in divisible}
        data["design"] = design
    return data


def scenarios() -> st.SearchStrategy[Scenario]:
    """Valid :class:`Scenario` objects built from :func:`scenario_dicts`."""
    return scenario_dicts().map(Scenario.model_validate)
