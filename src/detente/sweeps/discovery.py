"""Scenario discovery: the few boxes of the parameter space where a truth value is true (or false).

The implementation is EMA Workbench's (BSD-3-Clause): :class:`ema_workbench.analysis.prim.Prim`
for PRIM (Friedman and Fisher's patient rule induction, with peeling and pasting, as used in
scenario discovery by Bryant and Lempert) and :class:`ema_workbench.analysis.cart.CART`
(scikit-learn's decision tree, its leaves read as boxes) as a second view. This module turns
their boxes into plain data and sentences.

A box is an interval per *bounding* parameter (the parameters it restricts; every other one
is free over its range). Its **coverage** is the share of all points of interest (where the
output is true) that fall in the box, its **density** the share of the points in the box that
are of interest, its **mass** the share of all points in the box. PRIM peels the whole space
down to denser and smaller boxes; every step is a point on the coverage-density **trade-off
curve**, and the analyst picks one (``--box N``). The default pick is the box of largest
coverage whose density is at least 95 % of the densest box's: nearly as sharp, and more of the
cases explained. After the first box, PRIM looks for a next one among the points outside it,
and stops when the best box found is less dense than :data:`THRESHOLD`.

EMA Workbench imports matplotlib, seaborn and statsmodels and takes two to four seconds to
import: it is imported on first use only.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from ..core.scenario import Scenario

__all__ = [
    "Box",
    "Discovery",
    "box_text",
    "discover",
    "find_boxes",
    "main_failure_box",
    "simplify",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
#: A box is kept only when at least this share of its points are of interest.
THRESHOLD = 0.5
#: PRIM's share of points peeled (and pasted back) per step, and the smallest box mass.
PEEL_ALPHA = 0.05
PASTE_ALPHA = 0.05
MASS_MIN = 0.05
#: The default pick: the widest box at least this share as dense as the densest one.
DENSITY_SHARE = 0.95
#: The default pick bounds at most this many parameters (a box in words stays readable).
MAX_DEFAULT_BOUNDS = 3
#: A restriction is dropped from a box when that lowers its density by at most this much.
DROP_TOLERANCE = 0.01
#: Fewer points than this, or fewer than MIN_CASES points of interest, is too few for PRIM.
MIN_POINTS = 50
MIN_CASES = 5
#: At most this many boxes from one discovery.
MAX_BOXES = 3


@dataclass(frozen=True)
class Box:
    """One box: its statistics, the bounds of its bounding parameters, and a sentence."""

    coverage: float
    density: float
    mass: float
    bounds: dict[str, tuple[float, float]]
    text: str
    index: int | None = None  # its step on PRIM's peeling trajectory (None for a CART leaf)

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": self.coverage,
            "density": self.density,
            "mass": self.mass,
            "bounds": {k: [v[0], v[1]] for k, v in self.bounds.items()},
            "text": self.text,
            "index": self.index,
        }


@dataclass(frozen=True)
class Discovery:
    """What :func:`discover` (or :func:`find_boxes` alone) found."""

    output: str
    target: bool
    points: int
    cases: int
    boxes: tuple[Box, ...]
    tradeoff: tuple[dict[str, float], ...]
    selected: int | None
    cart: tuple[Box, ...] = ()
    parameters: tuple[str, ...] = ()
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return self.cases / self.points if self.points else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "target": self.target,
            "points": self.points,
            "cases": self.cases,
            "share": self.share,
            "boxes": [b.to_dict() for b in self.boxes],
            "tradeoff": list(self.tradeoff),
            "selected": self.selected,
            "cart": [b.to_dict() for b in self.cart],
            "parameters": list(self.parameters),
            "run_id": self.run_id,
        }


def _fmt(x: float, integer: bool) -> str:
    return f"{x:.0f}" if integer else f"{x:.3g}"


def box_text(
    bounds: dict[str, tuple[float, float]],
    lows: dict[str, float],
    highs: dict[str, float],
    integers: dict[str, bool] | None = None,
) -> str:
    """``"leakage > 0.52 and dprk_discount < 0.95"``: the bounding intervals in words.

    A bound at the end of the parameter's range is left out; an integer parameter's bounds are
    whole values (``>=``/``<=``).
    """
    parts = []
    for name, (lo, hi) in bounds.items():
        integer = bool((integers or {}).get(name, False))
        low_cut = lo > lows[name] + 1e-12
        high_cut = hi < highs[name] - 1e-12
        if integer:
            a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
            if low_cut and high_cut:
                parts.append(f"{name} = {a}" if a == b else f"{name} from {a} to {b}")
            elif low_cut:
                parts.append(f"{name} >= {a}")
            elif high_cut:
                parts.append(f"{name} <= {b}")
        elif low_cut and high_cut:
            parts.append(f"{name} between {_fmt(lo, False)} and {_fmt(hi, False)}")
        elif low_cut:
            parts.append(f"{name} > {_fmt(lo, False)}")
        elif high_cut:
            parts.append(f"{name} < {_fmt(hi, False)}")
    return " and ".join(parts) if parts else "anywhere in the plausible space"


def _quiet_import() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "ipyparallel not installed" and friends
        from ema_workbench.analysis import cart, prim
        from ema_workbench.analysis import scenario_discovery_util as sdutil
    for name in ("EMA", "EMA.ema_workbench", "ema_workbench"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return prim, cart, sdutil


def _restricted(
    lims: Any, init: Any, names: Sequence[str], lows: Mapping[str, float], highs: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    """The bounds of the parameters a box restricts; a side left at the sample's extent is set to
    the end of the parameter's range (so that it reads as unbounded)."""
    out: dict[str, tuple[float, float]] = {}
    for name in names:
        lo, hi = float(lims[name].iloc[0]), float(lims[name].iloc[1])
        lo_cut, hi_cut = lo > float(init[name].iloc[0]), hi < float(init[name].iloc[1])
        if lo_cut or hi_cut:
            out[name] = (lo if lo_cut else float(lows[name]), hi if hi_cut else float(highs[name]))
    return out


def _inside(x: FloatArray, names: Sequence[str], bounds: Mapping[str, tuple[float, float]]) -> BoolArray:
    inside = np.ones(len(x), dtype=bool)
    for name, (lo, hi) in bounds.items():
        col = x[:, list(names).index(name)]
        inside &= (col >= lo) & (col <= hi)
    return inside


def _stats(
    x: FloatArray,
    interest: BoolArray,
    names: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    remaining: BoolArray | None = None,
) -> tuple[float, float, float]:
    """Coverage, density and mass of the box ``bounds``: over the ``remaining`` points (those
    outside earlier boxes; default all), coverage and mass relative to all points."""
    inside = _inside(x, names, bounds)
    if remaining is not None:
        inside &= remaining
    k, m, total = int((inside & interest).sum()), int(inside.sum()), int(interest.sum())
    return (k / total if total else 0.0, k / m if m else 0.0, m / len(x))


def simplify(
    x: FloatArray,
    interest: BoolArray,
    names: Sequence[str],
    bounds: dict[str, tuple[float, float]],
    tolerance: float = DROP_TOLERANCE,
    remaining: BoolArray | None = None,
) -> dict[str, tuple[float, float]]:
    """Drop, one at a time, the restriction whose removal costs the least density, while the
    density stays within ``tolerance`` of the whole box's (PRIM keeps many nearly idle cuts; a
    box in words needs few). ``remaining``: the points outside earlier boxes."""
    bounds = dict(bounds)
    start = _stats(x, interest, names, bounds, remaining)[1]
    while len(bounds) > 1:
        after = {
            n: _stats(x, interest, names, {k: v for k, v in bounds.items() if k != n}, remaining)[1] for n in bounds
        }
        name = max(after, key=lambda n: after[n])
        if after[name] < start - tolerance:
            break
        del bounds[name]
    return bounds


def default_pick(density: FloatArray, restricted: NDArray[np.int_]) -> int:
    """The step of the trade-off curve picked by default: among the steps that bound at most
    :data:`MAX_DEFAULT_BOUNDS` parameters (all steps if none does), the first (widest) whose
    density is at least :data:`DENSITY_SHARE` of the densest one's."""
    allowed = np.flatnonzero(restricted <= MAX_DEFAULT_BOUNDS)
    if allowed.size == 0:
        allowed = np.arange(density.size)
    top = float(density[allowed].max())
    ok = allowed[density[allowed] >= DENSITY_SHARE * top]
    return int(ok[0]) if ok.size else int(allowed[-1])


def find_boxes(
    x: FloatArray,
    y: BoolArray,
    names: Sequence[str],
    *,
    lows: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    integer: Sequence[bool] | None = None,
    output: str = "",
    target: bool = True,
    box: int | None = None,
    max_boxes: int = MAX_BOXES,
    cart: bool = True,
) -> Discovery:
    """PRIM (and CART) on points ``x`` ``[n, d]`` with the points of interest where ``y == target``.

    ``lows``/``highs`` are the parameters' ranges (default: the sample's extent), used to tell a
    bound that restricts from one at the end of a range. ``box`` picks the step of the first
    box's trade-off curve (default: see the module). Raises UsageError when there are too few
    points or cases, or when ``box`` is not a step of the curve.
    """
    import pandas as pd  # type: ignore[import-untyped]

    x = np.asarray(x, dtype=float)
    interest = np.asarray(y, dtype=bool) == bool(target)
    n, d = x.shape
    cases = int(interest.sum())
    what = "true" if target else "false"
    if n < MIN_POINTS:
        raise UsageError(f"scenario discovery needs at least {MIN_POINTS} sample points, found {n} (--samples)")
    lo_map = dict(zip(names, lows if lows is not None else x.min(axis=0), strict=True))
    hi_map = dict(zip(names, highs if highs is not None else x.max(axis=0), strict=True))
    int_map = dict(zip(names, integer if integer is not None else [False] * d, strict=True))
    base = Discovery(output, bool(target), n, cases, (), (), None, (), tuple(names))
    if cases < MIN_CASES or n - cases < 1:
        if box is not None:
            raise UsageError(f"--box {box}: there is no trade-off curve: the output is {what} at {cases} of {n} points")
        return base
    prim, cart_mod, sdutil = _quiet_import()
    frame = pd.DataFrame(x, columns=list(names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(
            frame,
            interest,
            threshold=THRESHOLD,
            peel_alpha=PEEL_ALPHA,
            paste_alpha=PASTE_ALPHA,
            mass_min=MASS_MIN,
        )
        boxes: list[Box] = []
        tradeoff: list[dict[str, float]] = []
        selected: int | None = None
        remaining = np.ones(n, dtype=bool)
        for k in range(max_boxes):
            found = finder.find_box()
            if found is None:
                break
            traj = found.peeling_trajectory
            if k == 0:
                tradeoff = [
                    {
                        "coverage": float(r.coverage),
                        "density": float(r.density),
                        "mass": float(r.mass),
                        "restricted": int(r.res_dim),
                    }
                    for r in traj.itertuples()
                ]
            if float(found.mean) < THRESHOLD:
                break
            if k == 0 and box is not None:
                if not 0 <= box < len(traj):
                    raise UsageError(f"--box {box}: the trade-off curve has steps 0 to {len(traj) - 1}")
                pick = box
            else:
                pick = default_pick(traj["density"].to_numpy(dtype=float), traj["res_dim"].to_numpy(dtype=int))
            if k == 0:
                selected = pick
            found.select(pick)
            raw = _restricted(found.box_lims[pick], finder.box_init, names, lo_map, hi_map)
            bounds = simplify(x, interest, names, raw, remaining=remaining)
            coverage, density, mass = _stats(x, interest, names, bounds, remaining)
            if density < THRESHOLD and not (k == 0 and box is not None):  # a hand-picked box is kept
                break
            remaining &= ~_inside(x, names, bounds)
            boxes.append(
                Box(
                    coverage,
                    density,
                    mass,
                    bounds,
                    box_text(bounds, lo_map, hi_map, int_map),
                    pick,
                )
            )
            if k == 0 and box is not None:
                break  # a hand-picked box: the next ones would depend on the pick
        leaves: list[Box] = []
        if cart:
            tree = cart_mod.CART(frame, interest, mass_min=MASS_MIN)
            tree.build_tree()
            whole = sdutil._make_box(frame)
            for lims, stats in zip(tree.boxes, tree.stats, strict=True):
                if float(stats["density"]) < THRESHOLD:
                    continue
                bounds = _restricted(lims, whole, names, lo_map, hi_map)
                leaves.append(
                    Box(
                        float(stats["coverage"]),
                        float(stats["density"]),
                        float(stats["mass"]),
                        bounds,
                        box_text(bounds, lo_map, hi_map, int_map),
                    )
                )
            leaves.sort(key=lambda b: -b.coverage)
    return Discovery(
        output, bool(target), n, cases, tuple(boxes), tuple(tradeoff), selected, tuple(leaves), tuple(names)
    )


def main_failure_box(matrix: FloatArray, passes: BoolArray, space: Any) -> Box | None:
    """The first PRIM box where ``passes`` is false over the sample ``matrix`` of ``space`` (a
    :class:`~detente.sweeps.sampling.ParameterSpace`), or None when no box stands out. The
    caller makes sure there are enough points and failures (:data:`MIN_POINTS`, :data:`MIN_CASES`)."""
    found = find_boxes(
        matrix,
        passes,
        space.names,
        lows=space.lows,
        highs=space.highs,
        integer=space.integer,
        target=False,
        max_boxes=1,
        cart=False,
    )
    return found.boxes[0] if found.boxes else None


def discover(
    scenario: Scenario,
    output: str,
    *,
    samples: int = 1024,
    seed: int = 0,
    method: str = "sobol",
    target: bool = True,
    box: int | None = None,
    params: Sequence[str] | None = None,
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Discovery:
    """Sample the plausible space (``samples`` points by ``method``), evaluate ``output`` (a truth
    value of the claim language, or the id of one of the scenario's claims) at each with common
    random numbers, and find its boxes."""
    from .language import compile_expression, env_from_rows
    from .sampling import ParameterSpace, sample
    from .sweep import run_sweep

    if method not in ("sobol", "lhs", "random"):
        raise UsageError(f"--method {method!r}: discovery samples with sobol, lhs or random")
    # a claim of the scenario, by its id (as in its ``claims:`` section)
    named = {str(c.id): " ".join(str(c.claim).split()) for c in scenario.claims}
    if output.strip() in named:  # a claim of the scenario, by its id
        output = named[output.strip()]
    expr = compile_expression(output, scenario, "--output")
    if expr.type != "bool":
        raise UsageError(
            f"--output {output!r} is a number, not a truth value: compare it, e.g. --output '{output.strip()} > 0'"
        )
    if samples < MIN_POINTS:
        raise UsageError(f"--samples must be at least {MIN_POINTS} for scenario discovery, found {samples}")
    space = ParameterSpace.from_scenario(scenario, params)
    matrix = sample(space, method, samples, seed)
    sweep = run_sweep(
        scenario,
        expr.calls,
        space,
        matrix,
        seed=seed,
        kind="discover",
        executor=executor,
        store=store,
        run_id=run_id,
        progress=progress,
        extra={"output": output, "method": method, "samples": samples},
        common_seed=True,
    )
    env = env_from_rows(sweep.rows, expr.terms, expr.params, scenario)
    truth = np.asarray(expr.evaluate(env, len(sweep.rows)), dtype=bool)
    found = find_boxes(
        matrix,
        truth,
        space.names,
        lows=space.lows,
        highs=space.highs,
        integer=space.integer,
        output=output,
        target=target,
        box=box,
    )
    result = Discovery(
        found.output,
        found.target,
        found.points,
        found.cases,
        found.boxes,
        found.tradeoff,
        found.selected,
        found.cart,
        found.parameters,
        sweep.run_id,
        {"x": matrix, "y": truth == target},
    )
    if store is not None and sweep.run_id is not None:
        store.add_results(sweep.run_id, "discover", result.to_dict())
    return result
