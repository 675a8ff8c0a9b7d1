"""``detente design --robust SHARE``: a schedule that holds across most of the plausible space.

Draws an in-sample set of points (scrambled Sobol', ``samples`` points), finds the fastest
schedule self-enforcing at ``SHARE`` of them with the scenario-based MILP of
:mod:`detente.design.robust`, then measures its coverage on a fresh, independent sample of the
same size (another seed) with a Wilson 95 % interval, and finds with PRIM
(:mod:`detente.sweeps.discovery`) the main region of the fresh sample where it fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import UsageError
from ..core.scenario import Scenario

__all__ = ["robust"]

#: Tag of the fresh sample's seed (independent of the in-sample points and of the episodes).
FRESH_TAG = 2**31 - 3


def robust(
    scenario: Scenario,
    target: float,
    *,
    samples: int = 200,
    seed: int = 0,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """The robust design's JSON: ``{"status", "completion_period", "schedule", "robust": {...}}``."""
    from ..design.robust import coverage, robust_design
    from .claims import wilson
    from .discovery import MIN_CASES, MIN_POINTS, main_failure_box
    from .sampling import ParameterSpace, check_seed, point_seed, sample

    if isinstance(target, bool) or not isinstance(target, int | float) or not 0.0 < float(target) <= 1.0:
        raise UsageError(f"--robust must be a share in (0, 1], e.g. 0.9; found {target!r}")
    if samples < 10:
        raise UsageError(f"--robust-samples must be at least 10, found {samples}")
    check_seed(seed)
    space = ParameterSpace.from_scenario(scenario)
    base = scenario.parameter_values()
    inside = [{**base, **p} for p in space.points(sample(space, "sobol", samples, seed))]
    result = robust_design(scenario, inside, float(target), horizon=horizon, tranches=tranches, time_limit=time_limit)
    out: dict[str, Any] = {
        "status": result.status,
        "completion_period": result.completion_period,
        "schedule": result.schedule,
        "lower_bound": result.lower_bound,
        "solves": result.solves,
        "cuts": result.cuts,
        "seconds": round(result.seconds, 3),
    }
    robust_info: dict[str, Any] = {
        "target": float(target),
        "samples": samples,
        "coverage_in_sample": result.coverage_in_sample,
        "coverage_out_of_sample": None,
        "ci": None,
        "failure_box": None,
    }
    if result.counts is not None:
        fresh_matrix = sample(space, "sobol", samples, point_seed(seed, FRESH_TAG))
        fresh = [{**base, **p} for p in space.points(fresh_matrix)]
        passes = coverage(scenario, result.counts, fresh, horizon=horizon, tranches=tranches)
        robust_info["coverage_out_of_sample"] = float(passes.mean())
        robust_info["ci"] = list(wilson(int(passes.sum()), int(passes.size)))
        if samples >= MIN_POINTS and int((~passes).sum()) >= MIN_CASES:
            box = main_failure_box(fresh_matrix, passes, space)
            if box is not None:
                robust_info["failure_box"] = box.to_dict()
    out["robust"] = robust_info
    return out
