"""Sample points over the parameters' plausible ranges: grid, random, Latin hypercube, Sobol.

Every method first draws points in the unit cube [0, 1)^d and then maps each coordinate
through the inverse distribution function of its parameter (:meth:`ParameterSpace.transform`):

- ``uniform`` (the default): evenly over ``range``;
- ``triangular``: mode at the parameter's best ``value``;
- ``normal``: mean at ``value``, standard deviation a quarter of the range, truncated to it.

An ``integer: true`` parameter is sampled over ``[low - 0.5, high + 0.5]`` and rounded, so that
under a uniform distribution each whole value in the range is equally likely (rounding the
plain range would give the two ends half weight).

``grid`` ignores the distributions: it takes ``levels`` evenly spaced values of each parameter
over its range (the distinct whole values, for an integer parameter) and their product.

Seeds: the sample matrix is drawn from ``SeedSequence([seed, SAMPLER_TAG])``, independent of
the per-point seeds of :func:`point_seed` (``SeedSequence(seed).spawn(n)[i]``), so a point's
random numbers do not depend on the sampling method, the number of points, the executor or
the order in which points run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError, did_you_mean
from ..core.limits import MAX_SEED, MAX_SWEEP_POINTS
from ..core.scenario import Scenario

__all__ = [
    "MAX_POINTS",
    "METHODS",
    "ParameterSpace",
    "check_seed",
    "point_seed",
    "sample",
    "sampler_seed",
    "unit_sample",
]

FloatArray = NDArray[np.float64]
Method = Literal["grid", "random", "lhs", "sobol"]
#: Sampling methods, as named on the command line.
METHODS: tuple[str, ...] = ("lhs", "sobol", "random", "grid")
#: The most points a sweep may have, whatever the method (a grid's points are the product of its
#: levels): more are refused before anything is sampled or allocated (docs/limits.md).
MAX_POINTS = MAX_SWEEP_POINTS
#: Tag mixed into the sampler's seed so that it is independent of the per-point seeds.
SAMPLER_TAG = 0x5EED5A17


def point_seed(seed: int, index: int) -> int:
    """The seed of sample point ``index``: a 63-bit integer drawn from the ``index``-th child of
    ``SeedSequence(seed)`` (``SeedSequence(seed).spawn(n)[index]`` for any ``n > index``).

    Computed directly from the spawn key, so that a resumed run or a remote worker gets the
    same seed without spawning every child.
    """
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def check_seed(seed: int) -> int:
    """``seed`` when it is a whole number in 0 .. MAX_SEED (2**63 - 1, as on the command line)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= MAX_SEED:
        raise UsageError(f"--seed must be a whole number between 0 and 2**63 - 1, found {seed!r}")
    return int(seed)


def sampler_seed(seed: int) -> np.random.SeedSequence:
    """The SeedSequence the sample matrix is drawn from."""
    return np.random.SeedSequence([check_seed(seed), SAMPLER_TAG])


@dataclass(frozen=True)
class ParameterSpace:
    """The parameters a sweep varies, with their ranges, distributions and best values."""

    names: tuple[str, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    best: tuple[float, ...]
    distributions: tuple[str, ...]
    integer: tuple[bool, ...]

    @property
    def dim(self) -> int:
        return len(self.names)

    @classmethod
    def from_scenario(cls, scenario: Scenario, names: Sequence[str] | None = None) -> ParameterSpace:
        """The space of ``names`` (default: every parameter with a range).

        Raises UsageError for an unknown parameter, a parameter without a range, an empty range
        (low equal to high), or when there is nothing to vary.
        """
        params = scenario.parameters
        if names:
            chosen: list[str] = []
            for name in names:
                if name not in params:
                    known = ", ".join(params) or "none"
                    raise UsageError(f"unknown parameter {name!r}{did_you_mean(name, params)} (parameters: {known})")
                if params[name].range is None:
                    raise UsageError(
                        f"parameter {name!r} has no range, so it cannot be swept: give it one in the "
                        f"scenario (parameters.{name}.range: [low, high]) or leave it out"
                    )
                if name not in chosen:
                    chosen.append(name)
        else:
            chosen = [n for n, p in params.items() if p.range is not None]
            if not chosen:
                raise UsageError(
                    f"scenario {scenario.name!r} has no parameter with a range, so there is nothing to "
                    "sweep: give parameters a plausible range (parameters.NAME.range: [low, high])"
                )
        lows, highs, best, dists, ints = [], [], [], [], []
        for name in chosen:
            p = params[name]
            assert p.range is not None
            lo, hi = p.range
            if not hi > lo:
                raise UsageError(
                    f"parameter {name!r} has an empty range [{lo:g}, {hi:g}], so it cannot be swept: "
                    f"widen it (parameters.{name}.range) or remove the range to hold it fixed"
                )
            if p.integer and math.floor(hi) < math.ceil(lo):
                raise UsageError(f"integer parameter {name!r}: no whole number in its range [{lo:g}, {hi:g}]")
            lows.append(float(lo))
            highs.append(float(hi))
            best.append(float(p.value))
            dists.append(p.distribution)
            ints.append(bool(p.integer))
        return cls(tuple(chosen), tuple(lows), tuple(highs), tuple(best), tuple(dists), tuple(ints))

    def transform(self, unit: FloatArray) -> FloatArray:
        """Map points of the unit cube ``[n, d]`` to parameter values ``[n, d]``."""
        from scipy.special import ndtr, ndtri

        u = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
        out: FloatArray = np.empty(u.shape, dtype=float)
        for j in range(self.dim):
            lo, hi, mode = self.lows[j], self.highs[j], self.best[j]
            if self.integer[j]:
                lo, hi = math.ceil(lo) - 0.5, math.floor(hi) + 0.5
            col = u[:, j]
            dist = self.distributions[j]
            if dist == "triangular":
                c = (min(max(mode, lo), hi) - lo) / (hi - lo)
                left = lo + np.sqrt(col * (hi - lo) * (c * (hi - lo)))
                right = hi - np.sqrt((1.0 - col) * (hi - lo) * ((1.0 - c) * (hi - lo)))
                x = np.where(col < c, left, right)
            elif dist == "normal":
                sd = (self.highs[j] - self.lows[j]) / 4.0
                a, b = ndtr((lo - mode) / sd), ndtr((hi - mode) / sd)
                x = mode + sd * ndtri(np.clip(a + col * (b - a), 1e-300, 1.0 - 1e-16))
            else:
                x = lo + col * (hi - lo)
            x = np.clip(np.asarray(x, dtype=float), lo, hi)
            if self.integer[j]:
                x = np.clip(np.rint(x), math.ceil(self.lows[j]), math.floor(self.highs[j]))
            out[:, j] = x + 0.0  # no negative zero from rounding -0.3
        return out

    def grid_axes(self, levels: int) -> list[FloatArray]:
        """The values of each parameter in a grid of ``levels`` levels: ``levels`` evenly spaced
        values over its range (its best value when ``levels`` is 1), or for an integer parameter
        the distinct whole values nearest to them (every whole value when there are no more
        than ``levels``). The number of values is computed first, so the range itself is never
        enumerated, and a grid of more than :data:`MAX_POINTS` points is refused before any
        value is made."""
        if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or levels < 1:
            raise UsageError(f"a grid needs at least 1 level per parameter, found {levels}")
        levels = int(levels)
        sizes: list[int] = []
        for j in range(self.dim):
            if self.integer[j]:
                whole = math.floor(self.highs[j]) - math.ceil(self.lows[j]) + 1
                sizes.append(min(levels, whole))
            else:
                sizes.append(levels)
        total = math.prod(sizes)
        if total > MAX_POINTS:
            raise UsageError(
                f"a grid of {levels:,} levels over {self.dim} parameter{'s' if self.dim != 1 else ''} has "
                f"{total:,} points, more than the limit of {MAX_POINTS:,} sweep points; use fewer levels "
                "(--samples), vary fewer parameters (--param), or use --method lhs"
            )
        axes: list[FloatArray] = []
        for j in range(self.dim):
            if self.integer[j]:
                lo, hi = math.ceil(self.lows[j]), math.floor(self.highs[j])
                if hi - lo + 1 <= levels:
                    axes.append(np.arange(lo, hi + 1, dtype=float))
                else:
                    axes.append(np.unique(np.rint(np.linspace(float(lo), float(hi), levels))))
            elif levels > 1:
                axes.append(np.linspace(self.lows[j], self.highs[j], levels))
            else:
                axes.append(np.array([self.best[j]]))
        return axes

    def grid(self, levels: int) -> FloatArray:
        """Every combination of the :meth:`grid_axes` values, ``[n, d]`` (the last parameter
        varies fastest)."""
        axes = self.grid_axes(levels)
        if not axes:
            return np.zeros((1, 0))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def points(self, matrix: FloatArray) -> list[dict[str, float]]:
        """Rows of ``matrix`` as parameter overrides (``{"leakage": 0.43, ...}``)."""
        return [dict(zip(self.names, (float(v) for v in row), strict=True)) for row in matrix]

    def to_dict(self) -> dict[str, object]:
        return {
            "names": list(self.names),
            "lows": list(self.lows),
            "highs": list(self.highs),
            "best": list(self.best),
            "distributions": list(self.distributions),
            "integer": list(self.integer),
        }

    def salib_problem(self) -> dict[str, object]:
        """The SALib problem over the unit cube (values are mapped by :meth:`transform`)."""
        return {"num_vars": self.dim, "names": list(self.names), "bounds": [[0.0, 1.0]] * self.dim}


def unit_sample(method: str, n: int, dim: int, seed: int) -> FloatArray:
    """``n`` points of the unit cube ``[0, 1)^dim`` by ``method`` (random, lhs or sobol)."""
    from scipy.stats import qmc

    if n < 1:
        raise UsageError(f"--samples must be at least 1, found {n}")
    if n > MAX_POINTS:
        raise UsageError(f"--samples {n:,}: more than the limit of {MAX_POINTS:,} sweep points")
    rng = np.random.default_rng(sampler_seed(seed))
    if method == "random":
        return rng.random((n, dim))
    if method == "lhs":
        return np.asarray(qmc.LatinHypercube(d=dim, rng=rng).random(n))
    if method == "sobol":
        engine = qmc.Sobol(d=dim, scramble=True, rng=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n not a power of 2: balance lost
            return np.asarray(engine.random(n))
    raise UsageError(
        f"unknown sampling method {method!r}{did_you_mean(method, METHODS)} (methods: {', '.join(METHODS)})"
    )


def sample(space: ParameterSpace, method: str, n: int, seed: int) -> FloatArray:
    """Parameter values ``[points, d]``: ``n`` points by ``method``, or for ``grid``, ``n``
    levels per parameter (``n ** d`` points at most)."""
    if method == "grid":
        return space.grid(n)
    return space.transform(unit_sample(method, n, space.dim, seed))
