"""Tipping points: where, within a parameter's plausible range, a verdict flips.

For each parameter with a range, the margin of the check (smallest slack or participation)
is scanned on a grid across the range with the other parameters at their best values; each
change of verdict between neighbours is then located by bisection to :data:`TOL`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.compiled import compile_scenario, compile_schedule
from ..core.errors import UsageError
from ..core.scenario import Scenario, Step
from .enforcement import TOLERANCE, refuse_overflow
from .kernel import run_kernel

__all__ = ["TOL", "TippingPoint", "scan_parameter", "tipping_points"]

#: Bisection stops when the bracket is narrower than this (in the parameter's units).
TOL = 1e-4


@dataclass(frozen=True)
class TippingPoint:
    """The verdict holds on one side of ``value`` and fails on the other."""

    parameter: str
    value: float
    holds_below: bool
    best_value: float
    holds_at_best: bool
    range: tuple[float, float]
    integer: bool = False

    def _side(self, upward: bool) -> str:
        if self.integer:  # value lies halfway between the two whole numbers
            if upward:
                return f"reaches {self.value + 0.5:g} or more"
            return f"falls to {self.value - 0.5:g} or less"
        return f"rises above {self.value:.4g}" if upward else f"falls below {self.value:.4g}"

    def sentence(self, what: str = "this deal") -> str:
        best = f"(best value {self.best_value:g})"
        if self.holds_at_best:
            return f"{what} stops holding if {self.parameter} {self._side(self.holds_below)} {best}"
        side = self._side(not self.holds_below)
        return f"{what} starts holding if {self.parameter} {side} {best}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "value": self.value,
            "holds_below": self.holds_below,
            "best_value": self.best_value,
            "holds_at_best": self.holds_at_best,
            "range": list(self.range),
            "sentence": self.sentence(),
        }


def _margin_fn(scn: Scenario, steps: Sequence[Step], name: str) -> Callable[[float], float]:
    def margin(value: float) -> float:
        point = {name: value}
        comp = compile_scenario(scn, point)
        sched = compile_schedule(scn, steps, point)
        with np.errstate(over="ignore", invalid="ignore"):
            res = run_kernel(comp, sched.amounts)
        refuse_overflow(comp, res.comply, res.deviate, res.exists)
        slack = np.where(res.any_plan, res.comply - res.best_deviate, np.inf)
        return float(min(slack.min(initial=np.inf), res.comply[:, 0].min()))

    return margin


def scan_parameter(scn: Scenario, steps: Sequence[Step], name: str, grid: int = 41) -> list[TippingPoint]:
    """Every verdict flip of ``name`` inside its range, located to :data:`TOL`."""
    param = scn.parameters[name]
    if param.range is None:
        raise UsageError(f"parameter {name!r} has no range to scan")
    lo, hi = param.range
    if hi <= lo:
        return []
    f = _margin_fn(scn, steps, name)
    if param.integer:
        xs = np.arange(np.ceil(lo), np.floor(hi) + 1.0)
        if xs.size < 2:
            return []
    else:
        xs = np.linspace(lo, hi, grid)
    holds = [f(float(x)) >= -TOLERANCE for x in xs]
    at_best = f(param.value) >= -TOLERANCE
    out = []
    for a, b, ha, hb in zip(xs[:-1], xs[1:], holds[:-1], holds[1:], strict=True):
        if ha == hb:
            continue
        left, right = float(a), float(b)
        while right - left > TOL and not param.integer:
            mid = 0.5 * (left + right)
            if (f(mid) >= -TOLERANCE) == ha:
                left = mid
            else:
                right = mid
        out.append(
            TippingPoint(
                parameter=name,
                value=0.5 * (left + right),
                holds_below=ha,
                best_value=param.value,
                holds_at_best=at_best,
                range=(lo, hi),
                integer=param.integer,
            )
        )
    return out


def tipping_points(scn: Scenario, schedule: str | Sequence[Step] | None = None) -> list[TippingPoint]:
    """Tipping points of every ranged parameter for one schedule of ``scn``."""
    if schedule is None or isinstance(schedule, str):
        steps: Sequence[Step] = scn.get_schedule(schedule)
    else:
        steps = schedule
    out: list[TippingPoint] = []
    for name, param in scn.parameters.items():
        if param.range is not None and param.range[1] > param.range[0]:
            out += scan_parameter(scn, list(steps), name)
    return out
