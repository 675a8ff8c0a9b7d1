"""The analyses a sweep or a claim runs at one parameter point: check, design and simulate.

A :class:`Call` is one analysis with its arguments, validated against the scenario when it is
made (:func:`make_call`), so that a typo fails before any computation. It has a canonical
``key`` (``check[phased]``, ``design[horizon=24]``, ``simulate[US=reciprocal, DPRK=hedger;
schedule=phased; episodes=200; horizon=120]``): two spellings of the same analysis get the same
key and are computed once per point. ``call.run(scenario, params, seed)`` returns a flat mapping
of outputs (``{"self_enforcing": True, "min_slack.DPRK": 1.68, ...}``); the column of an output
in a sweep, and its name in the claim language, is ``key + "." + output``.

Values are ``bool`` or ``float``; "never" is ``inf`` (an infeasible design's completion period)
and "undefined" is NaN. An analysis that fails at a point with a
:class:`~detente.core.errors.DetenteError` (a parameter point that makes the scenario invalid,
for example) returns ``{"error": message}`` instead of raising: the sweep records the point and
goes on, and every output of that call reads as undefined there.

Calls are small frozen dataclasses, so they pickle cheaply to worker processes and Dask workers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..core.errors import DetenteError, UsageError, did_you_mean
from ..core.scenario import Scenario

__all__ = [
    "ANALYSES",
    "Call",
    "CheckCall",
    "DesignCall",
    "OutputType",
    "SimulateCall",
    "make_call",
    "output_list",
]

OutputType = Literal["bool", "num"]
Value = bool | float | str
#: The analyses of the claim language, with a one-line description.
ANALYSES = {
    "check": "the self-enforcement check of a named schedule (docs/model.md §3)",
    "design": "the fastest self-enforcing schedule of the whole package (docs/model.md §4)",
    "simulate": "the Monte Carlo simulation of strategies (docs/model.md §5)",
}
#: Defaults of a simulate call in a sweep or a claim.
SIM_EPISODES = 200
SIM_HORIZON = 120


class Call(Protocol):
    """One analysis with its arguments."""

    @property
    def kind(self) -> str:
        """``check``, ``design`` or ``simulate``."""
        ...

    @property
    def key(self) -> str: ...

    def outputs(self, scenario: Scenario) -> dict[str, OutputType]:
        """Every output this call produces on ``scenario``, with its type."""
        ...

    def run(self, scenario: Scenario, params: Mapping[str, float], seed: int) -> dict[str, Value]:
        """The outputs at one parameter point (``seed`` drives any randomness)."""
        ...


def output_list(outputs: Mapping[str, OutputType], scenario: Scenario) -> str:
    """``value.PARTY, package_in_force.PARTY, ...``: outputs with party and concession ids folded."""
    folded: list[str] = []
    for name in outputs:
        head, _, tail = name.partition(".")
        if tail in scenario.party_ids:
            name = f"{head}.PARTY"
        elif tail in scenario.concession_ids:
            name = f"{head}.CONCESSION"
        if name not in folded:
            folded.append(name)
    return ", ".join(folded)


def _finite_or(x: float | None, default: float) -> float:
    return default if x is None else float(x)


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CheckCall:
    """``check[SCHEDULE]``: the check of docs/model.md §3 on one named schedule."""

    schedule: str
    kind: str = "check"

    @property
    def key(self) -> str:
        return f"check[{self.schedule}]"

    def outputs(self, scenario: Scenario) -> dict[str, OutputType]:
        out: dict[str, OutputType] = {"self_enforcing": "bool", "margin": "num", "min_slack": "num"}
        for pid in scenario.party_ids:
            out[f"min_slack.{pid}"] = "num"
        for pid in scenario.party_ids:
            out[f"participation.{pid}"] = "num"
        return out

    def run(self, scenario: Scenario, params: Mapping[str, float], seed: int) -> dict[str, Value]:
        from ..analysis.enforcement import check_params

        try:
            row = check_params(scenario, [params], self.schedule)[0]
        except DetenteError as exc:
            return {"error": str(exc)}
        return {k: (bool(v) if isinstance(v, bool) else float(v)) for k, v in row.items()}


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class DesignCall:
    """``design[horizon=H, CONCESSION=TRANCHES, time_limit=S]``: docs/model.md §4."""

    horizon: int | None = None
    tranches: tuple[tuple[str, int], ...] = ()
    time_limit: float | None = None
    kind: str = "design"

    @property
    def key(self) -> str:
        args = []
        if self.horizon is not None:
            args.append(f"horizon={self.horizon}")
        args += [f"{cid}={m}" for cid, m in self.tranches]
        if self.time_limit is not None:
            args.append(f"time_limit={self.time_limit:g}")
        return f"design[{', '.join(args)}]" if args else "design"

    def outputs(self, scenario: Scenario) -> dict[str, OutputType]:
        out: dict[str, OutputType] = {
            "feasible": "bool",
            "completion_period": "num",
            "min_slack": "num",
            "side_payment": "num",
        }
        for cid in scenario.concession_ids:
            out[f"done.{cid}"] = "num"
        return out

    def run(self, scenario: Scenario, params: Mapping[str, float], seed: int) -> dict[str, Value]:
        from ..design.milp import design

        try:
            res = design(
                scenario, self.horizon, dict(self.tranches) or None, params=params, time_limit=self.time_limit
            ).to_dict()
        except DetenteError as exc:
            return {"error": str(exc)}
        feasible = bool(res["feasible"])
        if not feasible and res.get("status") != "infeasible":
            # stopped (time limit, solver trouble) before the question was settled: undefined
            nan_out: dict[str, Value] = {"error": f"design stopped: {res.get('status')}"}
            return nan_out
        out: dict[str, Value] = {
            "feasible": feasible,
            "completion_period": _finite_or(res.get("completion_period"), math.inf) if feasible else math.inf,
            "min_slack": _finite_or(res.get("min_slack"), math.nan) if feasible else math.nan,
        }
        side = res.get("side_payment")
        if feasible:
            out["side_payment"] = 0.0
        elif side:
            out["side_payment"] = float(side["amount"])
        elif res.get("stats", {}).get("diagnostics_complete", True):
            out["side_payment"] = math.inf  # no payment to one party makes a schedule exist
        else:
            out["side_payment"] = math.nan  # the search for it ran out of time
        totals: dict[str, float] = {}
        done: dict[str, float] = {}
        for step in res["schedule"] if feasible else []:
            cid = step["concession"]
            totals[cid] = totals.get(cid, 0.0) + float(step["amount"])
            if cid not in done and totals[cid] >= 1.0 - 1e-9:
                done[cid] = float(step["period"])
        for cid in scenario.concession_ids:
            out[f"done.{cid}"] = done.get(cid, math.inf)
        return out


# --------------------------------------------------------------------------- simulate


@dataclass(frozen=True)
class SimulateCall:
    """``simulate[PARTY=STRATEGY, ...; schedule=S; episodes=N; horizon=H]``: docs/model.md §5.

    ``strategies`` names a strategy for every party of the scenario, in the scenario's order
    (parties not named by the user play ``reciprocal``), each in its canonical spelling.
    """

    strategies: tuple[tuple[str, str], ...]
    schedule: str
    episodes: int = SIM_EPISODES
    horizon: int = SIM_HORIZON
    kind: str = "simulate"

    @property
    def key(self) -> str:
        who = ", ".join(f"{pid}={s}" for pid, s in self.strategies)
        return f"simulate[{who}; schedule={self.schedule}; episodes={self.episodes}; horizon={self.horizon}]"

    def outputs(self, scenario: Scenario) -> dict[str, OutputType]:
        out: dict[str, OutputType] = {}
        for name in ("value", "package_in_force", "first_breach"):
            for pid in scenario.party_ids:
                out[f"{name}.{pid}"] = "num"
        for name in ("crisis_rate", "breach_rate", "completed", "crisis_period"):
            out[name] = "num"
        return out

    def run(self, scenario: Scenario, params: Mapping[str, float], seed: int) -> dict[str, Value]:
        from ..simulation.simulate import simulate

        try:
            res = simulate(
                scenario,
                dict(self.strategies),
                self.episodes,
                seed,
                schedule=self.schedule,
                horizon=self.horizon,
                params=params,
                no_deal=False,  # no output here reads values against no deal
            )
        except DetenteError as exc:
            return {"error": str(exc)}
        summary = res.summary()
        out: dict[str, Value] = {}

        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        for pid in scenario.party_ids:
            out[f"value.{pid}"] = num(summary["parties"][pid]["value"]["mean"])
        for pid in scenario.party_ids:
            out[f"package_in_force.{pid}"] = num(summary["parties"][pid]["package_in_force"]["mean"])
        for pid in scenario.party_ids:
            out[f"first_breach.{pid}"] = num(summary["parties"][pid]["first_breach_share"])
        out["crisis_rate"] = num(summary["crisis_rate"])
        out["breach_rate"] = num(summary["breach"]["mean"])
        out["completed"] = num(summary["completed"]["mean"])
        out["crisis_period"] = num(summary["crisis"]["mean_period"])
        return out


# --------------------------------------------------------------------------- binding


def _int_arg(kind: str, name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{kind}[{name}={text}]: expected a whole number") from None
    if not low <= value <= high:
        raise UsageError(f"{kind}[{name}={text}]: expected a whole number in {low}..{high}")
    return value


def _schedule_arg(scenario: Scenario, name: str | None, kind: str) -> str:
    names = scenario.schedule_names
    if name is None:
        if len(names) == 1:
            return names[0]
        if not names:
            raise UsageError(f"{kind}: scenario {scenario.name!r} has no schedule")
        raise UsageError(
            f"{kind}: scenario {scenario.name!r} has several schedules; name one, e.g. "
            f"{kind}[{'schedule=' if kind == 'simulate' else ''}{names[0]}] (schedules: {', '.join(names)})"
        )
    if name not in names:
        raise UsageError(
            f"{kind}: unknown schedule {name!r}{did_you_mean(name, names)} (schedules: {', '.join(names) or 'none'})"
        )
    return name


def make_call(kind: str, args: Sequence[tuple[str, str | None]], scenario: Scenario) -> Call:
    """Validate ``kind[args]`` against ``scenario`` and return its :class:`Call`.

    ``args`` are ``(name, value)`` pairs as written (``("US", "reciprocal")``,
    ``("schedule", "phased")``); a bare argument has value None (``check[phased]`` gives
    ``[("phased", None)]``). Raises UsageError naming the bad argument.
    """
    if kind == "check":
        if len(args) > 1:
            raise UsageError("check takes one argument, the schedule: check[phased]")
        name: str | None = None
        if args:
            key, value = args[0]
            if value is None:
                name = key
            elif key == "schedule":
                name = value
            else:
                raise UsageError(f"check[{key}={value}]: check takes a schedule name, e.g. check[phased]")
        return CheckCall(_schedule_arg(scenario, name, "check"))
    if kind == "design":
        horizon: int | None = None
        time_limit: float | None = None
        tranches: dict[str, int] = {}
        for key, value in args:
            if value is None:
                raise UsageError(f"design[{key}]: write NAME=VALUE, e.g. design[horizon=24] or design[relief=4]")
            if key == "horizon":
                horizon = _int_arg("design", key, value, 0, 240)
            elif key == "time_limit":
                try:
                    time_limit = float(value)
                except ValueError:
                    raise UsageError(f"design[time_limit={value}]: expected a number of seconds") from None
                if not time_limit > 0:
                    raise UsageError(f"design[time_limit={value}]: expected a positive number of seconds")
            elif key in scenario.concession_ids:
                if not scenario.concession(key).divisible and value != "1":
                    raise UsageError(f"design[{key}={value}]: {key!r} is not divisible, so it has 1 tranche")
                tranches[key] = _int_arg("design", key, value, 1, 64)
            else:
                choices = ["horizon", "time_limit", *scenario.concession_ids]
                raise UsageError(
                    f"design[{key}=...]: unknown argument{did_you_mean(key, choices)} (horizon, time_limit, "
                    f"or a concession's number of tranches: {', '.join(scenario.concession_ids)})"
                )
        return DesignCall(horizon, tuple(sorted(tranches.items())), time_limit)
    if kind == "simulate":
        from ..simulation.simulate import _strategy_map
        from ..simulation.strategies.base import make_strategy

        chosen: dict[str, str] = {}
        schedule: str | None = None
        episodes, horizon_sim = SIM_EPISODES, SIM_HORIZON
        for key, value in args:
            if value is None:
                raise UsageError(
                    f"simulate[{key}]: write PARTY=STRATEGY or schedule=NAME, e.g. "
                    "simulate[US=reciprocal, DPRK=hedger; schedule=phased]"
                )
            if key == "schedule":
                schedule = value
            elif key == "episodes":
                episodes = _int_arg("simulate", key, value, 1, 10**7)
            elif key == "horizon":
                horizon_sim = _int_arg("simulate", key, value, 1, 10**4)
            elif key in scenario.party_ids:
                chosen[key] = repr(make_strategy(value))
            else:
                choices = [*scenario.party_ids, "schedule", "episodes", "horizon"]
                raise UsageError(
                    f"simulate[{key}=...]: {key!r} is not a party or an option{did_you_mean(key, choices)} "
                    f"(parties: {', '.join(scenario.party_ids)}; options: schedule, episodes, horizon)"
                )
        strategies = tuple((pid, chosen.get(pid, "reciprocal")) for pid in scenario.party_ids)
        _strategy_map(scenario, dict(strategies))  # sides (sender/target) are checked here
        sched = _schedule_arg(scenario, schedule, "simulate")
        last = max((int(s.period) for s in scenario.get_schedule(sched) if isinstance(s.period, int)), default=-1)
        if last >= horizon_sim:
            raise UsageError(
                f"simulate[...; horizon={horizon_sim}]: schedule {sched!r} runs to period {last}; "
                f"use a horizon above it"
            )
        return SimulateCall(strategies, sched, episodes, horizon_sim)
    raise UsageError(f"unknown analysis {kind!r}{did_you_mean(kind, ANALYSES)} (analyses: {', '.join(ANALYSES)})")
