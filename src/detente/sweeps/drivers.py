"""Drivers of a truth value from one space-filling sample: feature scoring by extremely randomised trees.

Sobol indices need Saltelli's ``N * (d + 2)`` design and, for a 0/1 output over 26 parameters,
thousands of base points before their intervals exclude zero. Feature scoring, as EMA Workbench
does it (``ema_workbench.analysis.feature_scoring``), fits scikit-learn's
:class:`~sklearn.ensemble.ExtraTreesClassifier` to the sample (parameters in, truth value out) and
reads each parameter's share of the trees' impurity decrease: the scores sum to one, a parameter
that never separates true from false scores near zero, and one sample of a few hundred points is
enough.

Intervals: the forest is bagged (every tree is grown on its own bootstrap resample of the
points), so the trees' scores are independent replicates; a parameter's index is their mean
and its 95 % interval the mean plus or minus 1.96 standard errors over the trees. Each parameter gets a *shadow*
(a copy of its column with the points shuffled, so related to nothing, as in the Boruta
method); the largest shadow's index is the *noise floor*, what a parameter can score by
chance at this sample size, and a parameter is a driver only when the lower end of its
interval lies above it. A truth value
that is the same at every point has no drivers (there is nothing to separate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DRIVER_METHODS", "tree_drivers"]

FloatArray = NDArray[np.float64]
#: Methods of ``claims --method``.
DRIVER_METHODS = ("trees", "sobol")
TREES_METHOD = "extra-trees feature scoring"
Z_TWO_SIDED = 1.959963984540054


def tree_drivers(
    x: FloatArray,
    y: NDArray[np.bool_],
    names: Sequence[str],
    seed: int,
    *,
    trees: int = 200,
) -> tuple[list[dict[str, Any]], float | None]:
    """Scores of every parameter (largest first) and the noise floor; ``([], None)`` when ``y`` is constant.

    Each entry is ``{"parameter", "index", "ci": [lo, hi], "method", "driver"}``: ``index`` is the
    score on the whole sample, ``ci`` the bootstrap percentile interval, ``driver`` whether
    it beats the noise column (see the module). Deterministic in ``seed``.
    """
    from sklearn.ensemble import ExtraTreesClassifier

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=bool)
    n, d = x.shape
    if n == 0 or y.all() or not y.any():
        return [], None
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD81E]))
    shadows = np.column_stack([rng.permutation(x[:, j]) for j in range(d)])
    data = np.hstack([x, shadows])
    forest = ExtraTreesClassifier(
        n_estimators=trees,
        bootstrap=True,
        max_features=0.6,
        min_samples_leaf=max(1, n // 100),
        random_state=int(rng.integers(2**31)),
        n_jobs=1,
    )
    forest.fit(data, y)
    per_tree = np.array([t.feature_importances_ for t in forest.estimators_], dtype=float)
    mean = per_tree.mean(axis=0)
    se = per_tree.std(axis=0, ddof=1) / np.sqrt(trees)
    floor = float(mean[d:].max())
    lo = np.maximum(mean - Z_TWO_SIDED * se, 0.0)
    hi = mean + Z_TWO_SIDED * se
    out: list[dict[str, Any]] = [
        {
            "parameter": names[j],
            "index": float(mean[j]),
            "ci": [float(lo[j]), float(hi[j])],
            "method": TREES_METHOD,
            "driver": bool(lo[j] > floor),
        }
        for j in range(d)
    ]
    out.sort(key=lambda r: -float(r["index"]))
    return out, floor
