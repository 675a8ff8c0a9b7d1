"""Tipping points of a claim: where it flips along one parameter, the others at their best values.

Every scan point uses the same seed (common random numbers), so a flip of a simulated claim
comes from the parameter, not from sampling noise between neighbours. :class:`Memo` keeps the
analysis outputs of explicit points, so that the scans of several claims share their points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..core.errors import DetenteError
from ..core.scenario import Scenario
from .language import env_from_rows

if TYPE_CHECKING:
    from .language import Expression


class CompiledClaim(Protocol):
    """What a tipping scan reads of a compiled claim (:class:`detente.sweeps.claims.CompiledClaim`)."""

    @property
    def expression(self) -> Expression: ...


__all__ = ["Memo", "tipping"]

BoolArray = NDArray[np.bool_]


class Memo:
    """Analysis outputs at explicit points, computed once: tipping scans of several claims
    share their points whenever they scan the same parameter with the same analyses."""

    def __init__(self, scenario: Scenario, seed: int, executor: Any) -> None:
        self.scenario = scenario
        self.seed = seed
        self.executor = executor
        self.cache: dict[tuple[str, tuple[tuple[str, float], ...]], dict[str, Any]] = {}

    def truth(self, claim: CompiledClaim, points: Sequence[Mapping[str, float]], parallel: bool = True) -> BoolArray:
        from .sweep import evaluate_points

        keys = [tuple(sorted((k, float(v)) for k, v in p.items())) for p in points]
        for call in claim.expression.calls:
            missing = [i for i, key in enumerate(keys) if (call.key, key) not in self.cache]
            if not missing:
                continue
            rows = evaluate_points(
                self.scenario,
                [call],
                [points[i] for i in missing],
                self.seed,
                executor=self.executor if parallel else None,
            )
            for i, row in zip(missing, rows, strict=True):
                self.cache[(call.key, keys[i])] = row["outputs"]
        rows_out = []
        for p, key in zip(points, keys, strict=True):
            outputs: dict[str, Any] = {}
            for call in claim.expression.calls:
                outputs.update(self.cache[(call.key, key)])
            rows_out.append({"params": dict(p), "outputs": outputs})
        env = env_from_rows(rows_out, claim.expression.terms, claim.expression.params, self.scenario)
        return np.asarray(claim.expression.evaluate(env, len(rows_out)).astype(bool))


def _fmt_num(x: float) -> str:
    return f"{x:.4g}"


def _holding_sentence(name: str, intervals: list[tuple[float, float]], lo: float, hi: float, integer: bool) -> str:
    """The sentence "holds when leakage < 0.487" from the sub-intervals of [lo, hi] where a claim holds."""
    parts = []
    for a, b in intervals:
        if integer:
            if a <= lo and b >= hi:
                parts.append(f"any {name}")
            elif a <= lo:
                parts.append(f"{name} <= {b:g}")
            elif b >= hi:
                parts.append(f"{name} >= {a:g}")
            elif a == b:
                parts.append(f"{name} = {a:g}")
            else:
                parts.append(f"{name} from {a:g} to {b:g}")
        elif a <= lo:
            parts.append(f"{name} < {_fmt_num(b)}")
        elif b >= hi:
            parts.append(f"{name} > {_fmt_num(a)}")
        else:
            parts.append(f"{name} between {_fmt_num(a)} and {_fmt_num(b)}")
    return " or ".join(parts)


def tipping(
    scenario: Scenario,
    claim: CompiledClaim,
    space: Any,
    names: Sequence[str],
    scan_points: int,
    memo: Memo,
    bisections: int = 10,
) -> list[dict[str, Any]]:
    """Flips of ``claim`` along each parameter of ``names``, the others at their best values.

    Every scan point uses the same seed (common random numbers), so a flip of a simulated claim
    comes from the parameter, not from sampling noise between neighbours. Each flip between two
    scan points is narrowed by ``bisections`` halvings (integer parameters: to the whole value).
    Each tipping point carries a ``sentence`` describing where, along its parameter, the claim
    holds.
    """
    out: list[dict[str, Any]] = []
    base = scenario.parameter_values()
    best_truth = bool(memo.truth(claim, [base], parallel=False)[0])
    for name in names:
        j = space.names.index(name)
        lo, hi, integer = space.lows[j], space.highs[j], space.integer[j]
        if integer:
            grid = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
            if grid.size > 65:
                grid = np.unique(np.rint(np.linspace(grid[0], grid[-1], 65)))
        else:
            grid = np.linspace(lo, hi, scan_points)
        try:
            truth = memo.truth(claim, [{**base, name: float(v)} for v in grid])
        except DetenteError:
            continue
        flips: list[tuple[float, bool]] = []  # (value, holds below it)
        for a in range(len(grid) - 1):
            if truth[a] == truth[a + 1]:
                continue
            left, right = float(grid[a]), float(grid[a + 1])
            left_truth = bool(truth[a])
            if integer:
                if right - left > 1:  # a coarse integer grid: walk the whole values between
                    for v in np.arange(left + 1, right):
                        if bool(memo.truth(claim, [{**base, name: float(v)}], parallel=False)[0]) != left_truth:
                            right = float(v)
                            break
                        left = float(v)
                flips.append((right, left_truth))
                continue
            for _ in range(bisections):
                mid = 0.5 * (left + right)
                if bool(memo.truth(claim, [{**base, name: mid}], parallel=False)[0]) == left_truth:
                    left = mid
                else:
                    right = mid
            flips.append((0.5 * (left + right), left_truth))
        if not flips:
            continue
        # where it holds: integer flips sit at the first whole value of the new verdict
        intervals: list[tuple[float, float]] = []
        start = lo if bool(truth[0]) else None
        for value, holds_below in flips:
            if holds_below and start is not None:
                intervals.append((start, value - 1 if integer else value))
                start = None
            elif not holds_below:
                start = value
        if start is not None:
            intervals.append((start, hi))
        where = _holding_sentence(name, intervals, lo, hi, integer) if intervals else "nowhere"
        sentence = (
            f"along {name} (others at their best values) it holds when {where}; range "
            f"{lo:g}-{hi:g}, best value {base[name]:g}"
        )
        for value, holds_below in flips:
            out.append(
                {
                    "parameter": name,
                    "value": value,
                    "holds_below": holds_below,
                    "best_value": float(base[name]),
                    "holds_at_best": best_truth,
                    "range": [lo, hi],
                    "integer": integer,
                    "sentence": sentence,
                }
            )
    return out
