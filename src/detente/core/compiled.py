"""A scenario as NumPy arrays, for the numeric engines.

:func:`compile_scenario` evaluates every expression for one assignment of the parameters and
lays the result out as arrays indexed by concession and party. It does not go through
pydantic again, so sweeps can compile thousands of points cheaply; it still refuses values
that break the model (a discount outside (0, 1), a negative cost or lag) with a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .errors import Problem, ScenarioError
from .expr import Expr
from .scenario import EPS, Scenario, Step

__all__ = ["FRAGILE_TOLERANCE", "Compiled", "CompiledSchedule", "compile_scenario", "compile_schedule"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Relative tolerance of the fragility test G_k > ε_k (the same as the slack verdict's).
FRAGILE_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class Compiled:
    """Numbers of one scenario at one parameter point, indexed [concession, party]."""

    party_ids: tuple[str, ...]
    concession_ids: tuple[str, ...]
    labels: tuple[str, ...]
    discount: FloatArray  # [P]
    flow: FloatArray  # [K, P] per-period value while in force (dimension effects folded in)
    once: FloatArray  # [K, P] one-time value per unit implemented
    giver: IntArray  # [K]
    reversible: BoolArray  # [K]
    delay: IntArray  # [K]
    cost: FloatArray  # [K]
    lag: IntArray  # [K]
    detect: FloatArray  # [K] probability that a breach of k, once observable, is seen in a period
    divisible: BoolArray  # [K]
    requires: tuple[tuple[int, ...], ...]
    period_label: str = "period"
    params: Mapping[str, float] = field(default_factory=dict)

    @property
    def n_parties(self) -> int:
        return len(self.party_ids)

    @property
    def n_concessions(self) -> int:
        return len(self.concession_ids)

    @property
    def gain_from_undoing(self) -> FloatArray:
        """G_k = (-flow_gk) * discount_g**delay_k / (1 - discount_g) - cost_k (docs/model.md §3)."""
        k = np.arange(self.n_concessions)
        dg = self.discount[self.giver]
        own = self.flow[k, self.giver]
        return (-own) * dg**self.delay / (1.0 - dg) - self.cost

    @property
    def fragile_tolerance(self) -> FloatArray:
        """ε_k = 1e-9 · max(1, |cost_k|, |flow_gk| / (1 − discount_g)) (docs/model.md §3)."""
        k = np.arange(self.n_concessions)
        dg = self.discount[self.giver]
        scale = np.maximum(np.maximum(1.0, np.abs(self.cost)), np.abs(self.flow[k, self.giver]) / (1.0 - dg))
        out: FloatArray = FRAGILE_TOLERANCE * scale
        return out

    @property
    def fragile(self) -> BoolArray:
        """Reversible concessions whose undoing pays their giver on its own: G_k > ε_k.

        A giver that gains nothing (G_k = 0 up to rounding) does not undo: its threat is empty.
        """
        out: BoolArray = self.reversible & (self.gain_from_undoing > self.fragile_tolerance)
        return out

    @property
    def uncertain(self) -> bool:
        """Whether some breach may be missed (a detection probability below 1)."""
        return bool((self.detect < 1.0).any())


@dataclass(frozen=True, eq=False)
class CompiledSchedule:
    """A schedule as an amounts matrix ``amounts[k, t]`` over periods 0..H."""

    amounts: FloatArray  # [K, H + 1]
    steps: tuple[tuple[int, int, float], ...]  # (period, concession index, amount)

    @property
    def last_period(self) -> int:
        """H, the last scheduled period (-1 for an empty schedule)."""
        return max((t for t, _, _ in self.steps), default=-1)


def _value(value: float | int | Expr, env: Mapping[str, float]) -> float:
    if isinstance(value, Expr):
        return float(value.evaluate(env))
    return float(value)


def compile_scenario(scn: Scenario, params: Mapping[str, float] | None = None) -> Compiled:
    """Evaluate ``scn`` at its best parameter values, updated by ``params``."""
    env = scn.parameter_values(params)
    problems: list[Problem] = []
    pidx = {pid: i for i, pid in enumerate(scn.party_ids)}
    P, K = len(scn.parties), len(scn.concessions)
    discount = np.empty(P)
    weights = np.ones((P, len(scn.dimensions)))
    dim_index = {d: i for i, d in enumerate(scn.dimensions)}
    for i, p in enumerate(scn.parties):
        discount[i] = _value(p.discount, env)
        if not 0.0 < discount[i] < 1.0:
            problems.append(
                Problem(f"expected a discount in (0, 1), found {discount[i]:g}", ("parties", i, "discount"))
            )
        for dim, w in p.weights.items():
            weights[i, dim_index[dim]] = _value(w, env)
    flow = np.zeros((K, P))
    once = np.zeros((K, P))
    giver = np.empty(K, dtype=np.int64)
    reversible = np.zeros(K, dtype=bool)
    delay = np.zeros(K, dtype=np.int64)
    cost = np.zeros(K)
    lag = np.zeros(K, dtype=np.int64)
    detect = np.ones(K)
    divisible = np.zeros(K, dtype=bool)
    cidx = {c.id: k for k, c in enumerate(scn.concessions)}
    for k, c in enumerate(scn.concessions):
        giver[k] = pidx[c.by]
        divisible[k] = c.divisible
        for pid, v in c.flow.items():
            flow[k, pidx[pid]] = _value(v, env)
        for pid, v in c.once.items():
            once[k, pidx[pid]] = _value(v, env)
        for pid, effects in c.effects.items():
            j = pidx[pid]
            flow[k, j] += sum(weights[j, dim_index[d]] * _value(v, env) for d, v in effects.items())
        if c.reversible is not None:
            reversible[k] = True
            d = _value(c.reversible.delay, env)
            cost[k] = _value(c.reversible.cost, env)
            if not math.isfinite(d) or d < 0 or abs(d - round(d)) > EPS:
                problems.append(
                    Problem(f"expected a whole delay >= 0, found {d:g}", ("concessions", k, "reversible", "delay"))
                )
            if cost[k] < 0:
                problems.append(
                    Problem(f"expected a cost >= 0, found {cost[k]:g}", ("concessions", k, "reversible", "cost"))
                )
            delay[k] = max(0, round(d)) if math.isfinite(d) else 0
        ell = _value(c.lag, env)
        if not math.isfinite(ell) or ell < 0 or abs(ell - round(ell)) > EPS:
            problems.append(
                Problem(
                    f"expected a whole verification lag >= 0, found {ell:g}", ("concessions", k, "verification_lag")
                )
            )
        lag[k] = max(0, round(ell)) if math.isfinite(ell) else 0
        if c.verification is not None:
            q = _value(c.verification.detect, env)
            if not 0.0 <= q <= 1.0:  # also refuses NaN
                problems.append(
                    Problem(
                        f"expected a detection probability in [0, 1], found {q:g}",
                        ("concessions", k, "verification", "detect"),
                    )
                )
            else:
                detect[k] = q
    if not (np.isfinite(flow).all() and np.isfinite(once).all() and np.isfinite(cost).all()):
        problems.append(Problem("a flow, one-time value or cost is not finite", ("concessions",)))
    if problems:
        raise ScenarioError(problems)
    return Compiled(
        party_ids=scn.party_ids,
        concession_ids=scn.concession_ids,
        labels=tuple(c.label for c in scn.concessions),
        discount=discount,
        flow=flow,
        once=once,
        giver=giver,
        reversible=reversible,
        delay=delay,
        cost=cost,
        lag=lag,
        detect=detect,
        divisible=divisible,
        requires=tuple(tuple(cidx[r] for r in c.requires) for c in scn.concessions),
        period_label=scn.period,
        params=dict(env),
    )


def compile_schedule(
    scn: Scenario, steps: Sequence[Step], params: Mapping[str, float] | None = None
) -> CompiledSchedule:
    """Lay ``steps`` out as an amounts matrix (expressions evaluated at ``params``)."""
    env = scn.parameter_values(params)
    cidx = {c.id: k for k, c in enumerate(scn.concessions)}
    out: list[tuple[int, int, float]] = []
    for step in steps:
        t = _value(step.period, env)
        a = _value(step.amount, env)
        if t < 0 or abs(t - round(t)) > EPS or not math.isfinite(t):
            raise ScenarioError([Problem(f"expected a whole period >= 0, found {t:g}", ("schedule",))])
        if not 0.0 < a <= 1.0 + EPS:
            raise ScenarioError([Problem(f"expected an amount in (0, 1], found {a:g}", ("schedule",))])
        out.append((round(t), cidx[step.concession], a))
    return schedule_from_steps(len(scn.concessions), out)


def schedule_from_steps(n_concessions: int, steps: Sequence[tuple[int, int, float]]) -> CompiledSchedule:
    """Build a :class:`CompiledSchedule` from (period, concession index, amount) triples."""
    horizon = max((t for t, _, _ in steps), default=-1)
    amounts = np.zeros((n_concessions, horizon + 1))
    for t, k, a in steps:
        amounts[k, t] += a
    return CompiledSchedule(amounts=amounts, steps=tuple(sorted((int(t), int(k), float(a)) for t, k, a in steps)))
