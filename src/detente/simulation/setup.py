"""Everything the simulation engine needs, as arrays: the scenario, the schedule, observation
and the environment at one parameter point (and at each combination of shocks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..analysis.enforcement import TOLERANCE, check
from ..core.compiled import Compiled, compile_scenario, compile_schedule
from ..core.errors import UsageError
from ..core.expr import Expr
from ..core.scenario import Scenario, Step

__all__ = ["MAX_SHOCKS", "SimSetup", "build_setup"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Shocks combine into 2**n variants of the scenario; more than this is refused.
MAX_SHOCKS = 4


def _num(value: float | int | Expr | None, env: Mapping[str, float], default: float = 0.0) -> float:
    if value is None:
        return default
    if isinstance(value, Expr):
        return float(value.evaluate(env))
    return float(value)


@dataclass(frozen=True, eq=False)
class Variant:
    """The scenario's numbers under one combination of shocks."""

    flow: FloatArray  # [K, P]
    once: FloatArray  # [K, P]
    pressure: float
    leakage: float
    hazard_base: FloatArray  # [P]
    hazard_growth: FloatArray  # [P]
    crisis: FloatArray  # [P]
    hazard_enough: FloatArray  # [P] benefit level that stops the domestic clock (inf: none)
    giver: IntArray  # [K]

    @cached_property
    def benefit_flow(self) -> FloatArray:
        """[K, P]: what concession k, fully in force, gives party p per period when p is not its
        giver and the flow is positive (0 otherwise): the benefit the domestic clock measures."""
        return np.where(self._others, np.clip(self.flow, 0.0, None), 0.0)

    @cached_property
    def benefit_step(self) -> BoolArray:
        """[K, P]: a step of concession k is a new benefit to p (another party's concession with a
        positive flow or one-time value to p)."""
        return self._others & ((self.flow > 0) | (self.once > 0))

    @cached_property
    def _others(self) -> BoolArray:
        others: BoolArray = np.arange(self.flow.shape[1])[None, :] != self.giver[:, None]
        return others


@dataclass(frozen=True, eq=False)
class SimSetup:
    """A scenario, a schedule and an environment compiled for the engine."""

    scenario: Scenario
    steps: tuple[Step, ...]
    params: dict[str, float]
    comp: Compiled
    step_period: IntArray
    step_concession: IntArray
    step_giver: IntArray
    step_amount: FloatArray
    lag: IntArray
    detect: FloatArray
    false_alarm: FloatArray
    target: int  # sanctions target party, -1 without sanctions
    variants: tuple[Variant, ...]
    shock_at: tuple[int | None, ...]
    shock_probability: tuple[float, ...]
    shock_names: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(self.step_period.size)

    @cached_property
    def _report(self) -> Any:
        return check(self.scenario, list(self.steps), params=self.params, explain=False)

    def temptation(self, party: int) -> tuple[int, str, int] | None:
        """The first (τ, plan, ρ) where the check finds deviating pays ``party``, if any."""
        pid = self.comp.party_ids[party]
        for c in self._report.constraints:
            if c.party == pid and c.slack < -TOLERANCE:
                return c.period, c.plan, c.response_period
        return None


def build_setup(
    scenario: Scenario,
    schedule: str | Sequence[Step] | None = None,
    params: Mapping[str, float] | None = None,
) -> SimSetup:
    """Compile ``scenario`` with one of its schedules for the simulation engine."""
    steps = scenario.get_schedule(schedule) if schedule is None or isinstance(schedule, str) else tuple(schedule)
    comp = compile_scenario(scenario, params)
    env_values = dict(comp.params)
    sched = compile_schedule(scenario, list(steps), params)
    order = sorted(range(len(sched.steps)), key=lambda i: sched.steps[i][:2])
    triples = [sched.steps[i] for i in order]
    K, P = comp.n_concessions, comp.n_parties
    detect = np.ones(K)
    false_alarm = np.zeros(K)
    for k, c in enumerate(scenario.concessions):
        if c.verification is not None:
            detect[k] = _num(c.verification.detect, env_values, 1.0)
            false_alarm[k] = _num(c.verification.false_alarm, env_values, 0.0)
    if not ((detect >= 0) & (detect <= 1) & (false_alarm >= 0) & (false_alarm <= 1)).all():
        raise UsageError("verification.detect and verification.false_alarm must lie in [0, 1]")

    env = getattr(scenario, "environment", None)
    pidx = {pid: i for i, pid in enumerate(comp.party_ids)}
    target = -1
    shocks: tuple[Any, ...] = ()
    if env is not None:
        if env.sanctions is not None:
            if env.sanctions.target not in pidx:
                raise UsageError(f"environment.sanctions.target: unknown party {env.sanctions.target!r}")
            target = pidx[env.sanctions.target]
        shocks = tuple(env.shocks)
    if len(shocks) > MAX_SHOCKS:
        raise UsageError(f"at most {MAX_SHOCKS} shocks are supported, found {len(shocks)}")

    def variant(values: Mapping[str, float]) -> Variant:
        c = compile_scenario(scenario, values) if values != env_values else comp
        base = np.zeros(P)
        growth = np.zeros(P)
        crisis = np.zeros(P)
        enough = np.full(P, np.inf)
        pressure = leakage = 0.0
        if env is not None:
            for pid, hz in env.hazard.items():
                base[pidx[pid]] = _num(hz.base, values)
                growth[pidx[pid]] = _num(hz.growth, values)
                if hz.enough is not None:
                    enough[pidx[pid]] = _num(hz.enough, values)
            for pid, v in env.crisis.items():
                crisis[pidx[pid]] = _num(v, values)
            if env.sanctions is not None:
                pressure = _num(env.sanctions.pressure, values, 1.0)
                leakage = _num(env.sanctions.leakage, values, 0.0)
        return Variant(c.flow, c.once, pressure, leakage, base, growth, crisis, enough, c.giver)

    variants = []
    for mask in range(1 << len(shocks)):
        values = dict(env_values)
        for b, shock in enumerate(shocks):
            if mask >> b & 1:
                for name, v in shock.set.items():
                    if name not in values:
                        raise UsageError(f"shock {shock.name!r} sets unknown parameter {name!r}")
                    values[name] = _num(v, env_values)
        variants.append(variant(values))

    return SimSetup(
        scenario=scenario,
        steps=tuple(steps),
        params=dict(params or {}),
        comp=comp,
        step_period=np.array([t for t, _, _ in triples], dtype=np.int64),
        step_concession=np.array([k for _, k, _ in triples], dtype=np.int64),
        step_giver=np.array([comp.giver[k] for _, k, _ in triples], dtype=np.int64),
        step_amount=np.array([a for _, _, a in triples], dtype=np.float64),
        lag=comp.lag.copy(),
        detect=detect,
        false_alarm=false_alarm,
        target=target,
        variants=tuple(variants),
        shock_at=tuple(None if s.at is None else round(_num(s.at, env_values)) for s in shocks),
        shock_probability=tuple(_num(s.probability, env_values) for s in shocks),
        shock_names=tuple(s.name for s in shocks),
    )
