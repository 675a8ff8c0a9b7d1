"""Seeded random packages for the designer's tests and benchmarks.

:func:`random_package` draws a scenario the way a modeller would write one: every party gives
some concessions and receives others', a giver's own flow is usually a cost, the others usually
gain (but not always), some concessions are reversible, lagged, divisible or require an
earlier one. :func:`phased_package` draws a larger, *balanced* package (each party's gains
from the others outweigh its own costs) of the kind the designer is built for: a deal exists
but must be phased. Both take a :class:`numpy.random.Generator` and touch no global state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.kernel import run_kernel
from ..core.compiled import compile_scenario
from ..core.scenario import Scenario

__all__ = ["phased_package", "random_package"]


def _r(x: float) -> float:
    return float(round(x, 3))


def random_package(
    rng: np.random.Generator,
    *,
    n_parties: int | None = None,
    n_concessions: int | None = None,
    max_tranches_total: int = 6,
    horizon: int = 4,
    p_reversible: float = 0.6,
) -> Scenario:
    """A small random package (2-3 parties, at most ``max_tranches_total`` tranches).

    A giver's own flow is a cost 85 % of the time (else a small gain); each other party
    gains from it 75 % of the time, loses a little 10 % of the time, and is indifferent
    otherwise. The gains are then scaled so that each party's total gain is 1.5 to 6 times
    its total cost (discounts 0.8 to 0.98), which gives a mix of packages with no deal, a deal at once and a deal that
    must be phased. Reversibility (``p_reversible``, usually free), lags, one-time costs, divisibility and ``requires``
    are drawn at random. The scenario carries ``design: {horizon, tranches}``; values are
    rounded to 3 decimals so that a failing case can be written down and replayed.
    """
    P = int(n_parties if n_parties is not None else rng.integers(2, 4))
    K = int(n_concessions if n_concessions is not None else rng.integers(2, 5))
    K = max(1, min(K, max_tranches_total))
    party_ids = [f"P{i}" for i in range(P)]
    parties = [{"id": p, "discount": _r(rng.uniform(0.8, 0.98))} for p in party_ids]
    givers = [k % P if k < P else int(rng.integers(P)) for k in range(K)]
    own = np.where(rng.random(K) < 0.85, -rng.uniform(0.1, 2.0, K), rng.uniform(0.0, 0.5, K))
    gain = np.zeros((K, P))
    for k in range(K):
        for p in range(P):
            if p == givers[k]:
                continue
            u = rng.random()
            if u < 0.75:
                gain[k, p] = rng.uniform(0.1, 1.0)
            elif u < 0.85:
                gain[k, p] = -rng.uniform(0.0, 0.3)
    costs = np.array([sum(-own[k] for k in range(K) if givers[k] == p and own[k] < 0) for p in range(P)])
    positive = np.clip(gain, 0.0, None).sum(axis=0)
    target = np.maximum(costs, 0.2) * rng.uniform(1.5, 6.0, P)
    scale = np.where(positive > 0, target / np.where(positive > 0, positive, 1.0), 1.0)
    gain = np.where(gain > 0, gain * scale[None, :], gain)
    budget = max_tranches_total - K  # extra tranches beyond one per concession
    concessions: list[dict[str, Any]] = []
    tranches: dict[str, int] = {}
    for k in range(K):
        giver = party_ids[givers[k]]
        flow: dict[str, float] = {giver: _r(own[k])}
        for p in range(P):
            if p != givers[k] and gain[k, p] != 0.0:
                flow[party_ids[p]] = _r(gain[k, p])
        c: dict[str, Any] = {"id": f"c{k}", "by": giver, "flow": flow}
        if rng.random() < 0.2:
            c["once"] = {giver: _r(-rng.uniform(0.0, 2.0))}
        if rng.random() < p_reversible:
            cost = _r(rng.uniform(0.0, 3.0)) if rng.random() < 0.3 else 0.0
            c["reversible"] = {"delay": int(rng.integers(0, 3)), "cost": cost}
        if rng.random() < 0.5:
            c["verification_lag"] = int(rng.integers(0, 3))
        if rng.random() < 0.45:
            c["divisible"] = True
            extra = int(rng.integers(0, min(2, budget) + 1)) if budget > 0 else 0
            if extra:
                tranches[c["id"]] = 1 + extra
                budget -= extra
        if k > 0 and rng.random() < 0.2:
            c["requires"] = [f"c{int(rng.integers(k))}"]
        concessions.append(c)
    data = {
        "name": "random package",
        "parties": parties,
        "concessions": concessions,
        "design": {"horizon": horizon, "tranches": tranches},
    }
    return Scenario.model_validate(data)


def phased_package(
    rng: np.random.Generator,
    *,
    n_parties: int = 3,
    n_concessions: int = 20,
    max_tranches: int = 4,
    horizon: int = 24,
    discount: tuple[float, float] = (0.88, 0.97),
    gain_ratio: tuple[float, float] = (1.3, 1.8),
    max_draws: int = 200,
) -> Scenario:
    """A larger balanced package: each party gains more from the others than it gives.

    Costs are drawn per concession, benefits are spread over the receivers and then scaled so
    that every party's total gain is ``gain_ratio`` (1.3 to 1.8) times its total cost; a third of the
    concessions are reversible, a third lagged, half divisible (2 to ``max_tranches``
    tranches), and a few require an earlier concession of another party. Draws whose
    *completed* deal is unstable (some party gains by reversing its part after the end, so no
    schedule at any horizon is self-enforcing) are rejected: a modeller would not pose them.
    """
    for _ in range(max_draws):
        scn = _phased_draw(rng, n_parties, n_concessions, max_tranches, horizon, discount, gain_ratio)
        comp = compile_scenario(scn)
        done = run_kernel(comp, np.ones((n_concessions, 1)))
        stationary = done.comply[:, 1] - done.best_deviate[:, 1]
        if not (done.any_plan[:, 1] & (stationary < 0.0)).any():
            return scn
    raise RuntimeError(f"no stable package in {max_draws} draws")


def _phased_draw(
    rng: np.random.Generator,
    P: int,
    K: int,
    max_tranches: int,
    horizon: int,
    discount: tuple[float, float],
    gain_ratio: tuple[float, float],
) -> Scenario:
    party_ids = [f"P{i}" for i in range(P)]
    parties = [{"id": p, "discount": _r(rng.uniform(*discount))} for p in party_ids]
    givers = [k % P for k in range(K)]
    rng.shuffle(givers)
    cost = rng.uniform(0.2, 2.0, size=K)
    benefit = np.zeros((K, P))
    for k in range(K):
        for p in range(P):
            if p != givers[k] and rng.random() < 0.8:
                benefit[k, p] = rng.uniform(0.2, 1.0) * cost[k]
    gain = benefit.sum(axis=0)
    spent = np.array([cost[[k for k in range(K) if givers[k] == p]].sum() for p in range(P)])
    target = spent * rng.uniform(*gain_ratio, size=P)
    scale = np.where(gain > 0, target / np.where(gain > 0, gain, 1.0), 0.0)
    benefit *= scale[None, :]
    concessions: list[dict[str, Any]] = []
    tranches: dict[str, int] = {}
    for k in range(K):
        g = party_ids[givers[k]]
        flow = {g: _r(-cost[k])}
        for p in range(P):
            if benefit[k, p] > 0:
                flow[party_ids[p]] = _r(benefit[k, p])
        c: dict[str, Any] = {"id": f"c{k}", "by": g, "flow": flow}
        if rng.random() < 0.33:
            c["reversible"] = {"delay": int(rng.integers(0, 3)), "cost": _r(rng.uniform(0.0, 0.5))}
        if rng.random() < 0.33:
            c["verification_lag"] = int(rng.integers(1, 3))
        if rng.random() < 0.5:
            c["divisible"] = True
            tranches[c["id"]] = int(rng.integers(2, max_tranches + 1))
        if k > 2 and rng.random() < 0.15:
            r = int(rng.integers(k))
            if givers[r] != givers[k]:
                c["requires"] = [f"c{r}"]
        concessions.append(c)
    data = {
        "name": "phased package",
        "parties": parties,
        "concessions": concessions,
        "design": {"horizon": horizon, "tranches": tranches},
    }
    return Scenario.model_validate(data)
