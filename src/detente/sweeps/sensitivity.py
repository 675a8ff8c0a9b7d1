"""Global sensitivity with SALib: Sobol indices (first and total order, with confidence
intervals) and Morris elementary-effects screening, plus a one-at-a-time tornado.

The output is any expression of the claim language (``check[phased].min_slack.DPRK``,
``simulate[US=reciprocal; schedule=phased].crisis_rate``; a truth value counts as 0 or 1).
Points are drawn in the unit cube by SALib (scrambled Sobol sequences for Saltelli's scheme,
trajectories for Morris) and mapped through each parameter's distribution
(:meth:`~detente.sweeps.sampling.ParameterSpace.transform`), so the indices are with respect
to the parameters' plausible distributions, not to uniform boxes. Evaluations go through
:func:`detente.sweeps.sweep.run_sweep`: stored, resumable, and runnable on Dask.

Saltelli with second-order terms takes ``N * (2d + 2)`` evaluations (N = 1024 over 8
parameters: 18,432), without them ``N * (d + 2)``. Confidence intervals are SALib's bootstrap
95 % intervals (100 resamples). The tornado adds ``2d + 1`` evaluations: the output at the best
values, and with each parameter alone at the low and at the high end of its range.

SALib imports pandas and takes about two seconds to import: it is imported on first use only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError
from ..core.scenario import Scenario
from .sampling import ParameterSpace, point_seed, sampler_seed

__all__ = [
    "SensitivityResult",
    "salib_sobol_sample",
    "sensitivity",
    "sobol_from_values",
]

FloatArray = NDArray[np.float64]
SENSITIVITY_METHODS = ("sobol", "morris")


def _salib_seed(seed: int) -> int:
    return int(sampler_seed(seed).generate_state(1)[0])


def _problem(dim: int, names: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "num_vars": dim,
        "names": list(names) if names is not None else [f"x{j}" for j in range(dim)],
        "bounds": [[0.0, 1.0]] * dim,
    }


def salib_sobol_sample(dim: int, n: int, seed: int, *, second_order: bool = True) -> FloatArray:
    """Saltelli's sample in the unit cube: ``n * (2 dim + 2)`` rows (``n * (dim + 2)`` without
    second order), in SALib's block order ``A, AB_1..AB_d, [BA_1..BA_d,] B`` per base point."""
    from SALib.sample import sobol as sobol_sample

    if n < 2:
        raise UsageError(f"--samples must be at least 2 for Sobol indices, found {n}")
    if dim < 1:
        raise UsageError("nothing to vary: no parameter with a range")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n not a power of two: balance lost, still valid
        return np.asarray(
            sobol_sample.sample(_problem(dim), n, calc_second_order=second_order, seed=_salib_seed(seed)),
            dtype=float,
        )


def sobol_from_values(
    space: ParameterSpace, y: FloatArray, n: int, seed: int, *, second_order: bool = True
) -> dict[str, Any]:
    """SALib's Sobol analysis of ``y`` over Saltelli's sample of ``space`` (base size ``n``).

    A constant output has no variance to apportion: every index is then 0 (SALib would divide
    by zero).
    """
    from SALib.analyze import sobol as sobol_analyze

    y = np.asarray(y, dtype=float)
    d = space.dim
    if not np.all(np.isfinite(y)):
        bad = int((~np.isfinite(y)).sum())
        raise UsageError(
            f"the output is undefined (NaN or infinite) at {bad} of {y.size} points, so Sobol indices "
            "cannot be computed; pick an output that is always defined, e.g. a margin instead of a completion period"
        )
    if float(np.ptp(y)) == 0.0:
        zeros = np.zeros(d)
        out: dict[str, Any] = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros, "constant": True}
        if second_order:
            out["S2"] = np.full((d, d), np.nan)
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sobol_analyze.analyze(
            _problem(d, space.names),
            y,
            calc_second_order=second_order,
            num_resamples=100,
            conf_level=0.95,
            seed=_salib_seed(seed),
        )
    out = {k: np.asarray(res[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    out["constant"] = False
    if second_order:
        out["S2"] = np.asarray(res["S2"])
    return out


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of one output over ``parameters``, ranked (largest total order or mu* first)."""

    output: str
    method: str
    parameters: tuple[str, ...]
    indices: tuple[dict[str, Any], ...]
    base_value: float
    evaluations: int
    samples: int
    seed: int
    run_id: str | None
    constant: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "method": self.method,
            "parameters": list(self.parameters),
            "indices": list(self.indices),
            "base_value": _finite(self.base_value),
            "evaluations": self.evaluations,
            "samples": self.samples,
            "seed": self.seed,
            "run_id": self.run_id,
            "constant": self.constant,
        }


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def sensitivity(
    scenario: Scenario,
    output: str,
    *,
    method: str = "sobol",
    samples: int = 256,
    seed: int = 0,
    params: Sequence[str] | None = None,
    second_order: bool = True,
    levels: int = 4,
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    resume: bool = False,
    tornado: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Sobol or Morris indices of ``output`` (an expression of the claim language).

    ``samples`` is Saltelli's base size N for Sobol and the number of trajectories for Morris
    (``samples * (d + 1)`` evaluations, on a ``levels``-level grid).
    """
    from .language import compile_expression, env_from_rows
    from .sweep import evaluate_points, run_sweep

    if method not in SENSITIVITY_METHODS:
        raise UsageError(f"unknown method {method!r} (methods: {', '.join(SENSITIVITY_METHODS)})")
    expr = compile_expression(output, scenario, "--output")
    space = ParameterSpace.from_scenario(scenario, params)
    if method == "sobol":
        unit = salib_sobol_sample(space.dim, samples, seed, second_order=second_order)
    else:
        from SALib.sample import morris as morris_sample

        if samples < 2:
            raise UsageError(f"--samples (Morris trajectories) must be at least 2, found {samples}")
        if levels < 2 or levels % 2:
            raise UsageError(f"--levels must be an even number >= 2, found {levels}")
        unit = np.asarray(
            morris_sample.sample(_problem(space.dim, space.names), samples, num_levels=levels, seed=_salib_seed(seed)),
            dtype=float,
        )
    matrix = space.transform(unit)
    extra = {
        "output": output,
        "method": method,
        "base_samples": samples,
        "second_order": second_order,
        "levels": levels,
    }
    sweep = run_sweep(
        scenario,
        expr.calls,
        space,
        matrix,
        seed=seed,
        kind="sensitivity",
        executor=executor,
        store=store,
        run_id=run_id,
        resume=resume,
        progress=progress,
        extra=extra,
    )
    env = env_from_rows(sweep.rows, expr.terms, expr.params, scenario)
    y = expr.evaluate(env, len(sweep.rows)).astype(float)
    # the tornado: best values, then each parameter alone at each end of its range
    base = scenario.parameter_values()
    ends = space.transform(np.array([[0.0] * space.dim, [1.0] * space.dim]))
    swings: list[dict[str, float]] = [dict(base)]
    for j, name in enumerate(space.names):
        swings.append({**base, name: float(ends[0, j])})
        swings.append({**base, name: float(ends[1, j])})
    oat = np.full(len(swings), np.nan)
    if tornado:
        rows = evaluate_points(scenario, expr.calls, swings, point_seed(seed, 2**31 - 2), executor=executor)
        oat = expr.evaluate(env_from_rows(rows, expr.terms, expr.params, scenario), len(rows)).astype(float)
    indices: list[dict[str, Any]] = []
    constant = False
    if method == "sobol":
        res = sobol_from_values(space, y, samples, seed, second_order=second_order)
        constant = bool(res["constant"])
        for j, name in enumerate(space.names):
            indices.append(
                {
                    "parameter": name,
                    "first_order": _finite(res["S1"][j]),
                    "first_order_ci": _finite(res["S1_conf"][j]),
                    "total_order": _finite(res["ST"][j]),
                    "total_order_ci": _finite(res["ST_conf"][j]),
                    "at_low": _finite(oat[1 + 2 * j]),
                    "at_high": _finite(oat[2 + 2 * j]),
                }
            )
        indices.sort(key=lambda r: -(r["total_order"] or 0.0))
    else:
        from SALib.analyze import morris as morris_analyze

        if not np.all(np.isfinite(y)):
            raise UsageError("the output is undefined (NaN or infinite) at some points; Morris needs it everywhere")
        constant = float(np.ptp(y)) == 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = morris_analyze.analyze(
                _problem(space.dim, space.names), unit, y, num_levels=levels, seed=_salib_seed(seed)
            )
        for j, name in enumerate(space.names):
            indices.append(
                {
                    "parameter": name,
                    "mu_star": _finite(res["mu_star"][j]),
                    "mu_star_ci": _finite(res["mu_star_conf"][j]),
                    "mu": _finite(res["mu"][j]),
                    "sigma": _finite(res["sigma"][j]),
                    "at_low": _finite(oat[1 + 2 * j]),
                    "at_high": _finite(oat[2 + 2 * j]),
                }
            )
        indices.sort(key=lambda r: -(r["mu_star"] or 0.0))
    result = SensitivityResult(
        output=output,
        method=method,
        parameters=space.names,
        indices=tuple(indices),
        base_value=float(oat[0]),
        evaluations=int(matrix.shape[0]),
        samples=samples,
        seed=seed,
        run_id=sweep.run_id,
        constant=constant,
    )
    if store is not None and sweep.run_id is not None:
        store.add_results(sweep.run_id, "sensitivity", result.to_dict())
    return result
