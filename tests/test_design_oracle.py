"""The designer against the brute-force oracle on seeded random packages (docs/model.md §4).

On each instance the two must agree on feasibility, on the optimal completion period, on the
largest minimum normalised slack among the fastest schedules, and, when no schedule exists,
on the smallest side payment and the completion period of the fastest schedule it buys. Every
schedule the designer returns must pass the exact kernel check.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from detente.analysis.kernel import run_kernel
from detente.core.compiled import schedule_from_steps
from detente.core.errors import UsageError
from detente.core.scenario import Scenario
from detente.design.bruteforce import brute_force_design, schedules
from detente.design.instances import random_package
from detente.design.milp import design
from detente.design.package import build_package
from detente.design.result import DesignResult


def _kernel_ok(scn: Scenario, result: DesignResult) -> bool:
    ids = scn.concession_ids
    pkg = build_package(scn, result.provenance.horizon, result.provenance.tranches)
    amounts = schedule_from_steps(len(ids), [(t, ids.index(c), a) for t, c, a in result.schedule]).amounts
    r = run_kernel(pkg.comp, amounts)
    return bool(((r.comply - r.best_deviate)[r.any_plan] >= -1e-9).all() and (r.comply[:, 0] >= -1e-9).all())


def _payment_ok(scn: Scenario, result: DesignResult) -> bool:
    """The side payment's schedule passes once the payment is added to its party's values."""
    side = result.side_payment
    assert side is not None
    ids = scn.concession_ids
    pkg = build_package(scn, result.provenance.horizon, result.provenance.tranches)
    amounts = schedule_from_steps(len(ids), [(t, ids.index(c), a) for t, c, a in side.schedule]).amounts
    r = run_kernel(pkg.comp, amounts)
    j = scn.party_ids.index(side.party)
    lift = np.zeros(len(scn.parties))
    lift[j] = side.amount / (1.0 - float(pkg.comp.discount[j]))
    slack = r.comply - r.best_deviate + lift[:, None]
    return bool((slack[r.any_plan] >= -1e-7).all() and (r.comply[:, 0] + lift >= -1e-7).all())


def _agree(scn: Scenario, a: DesignResult, b: DesignResult) -> None:
    assert a.feasible == b.feasible
    assert a.completion_period == b.completion_period
    assert a.status == b.status == ("optimal" if a.feasible else "infeasible")
    if a.feasible:
        assert _kernel_ok(scn, a)
        assert a.min_slack == pytest.approx(b.min_slack, abs=1e-6)
    else:
        sa, sb = a.side_payment, b.side_payment
        assert (sa is None) == (sb is None)
        if sa is not None and sb is not None:
            assert _payment_ok(scn, a)
            assert sa.amount == pytest.approx(sb.amount, rel=1e-6, abs=1e-9)
            assert sa.completion_period == sb.completion_period
            for party, amount in sb.by_party.items():
                other = sa.by_party[party]
                assert (other is None) == (amount is None)
                if amount is not None and other is not None:
                    assert other == pytest.approx(amount, rel=1e-6, abs=1e-9)


def _instances(seed: int, n: int, max_tranches: int, max_horizon: int) -> Iterator[Scenario]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield random_package(
            rng,
            max_tranches_total=max_tranches,
            horizon=int(rng.integers(0, max_horizon + 1)),
            p_reversible=float(rng.uniform(0.5, 1.0)),
        )


def test_designer_equals_oracle_on_240_random_packages() -> None:
    feasible = phased = 0
    for scn in _instances(20240601, 240, max_tranches=5, max_horizon=3):
        a, b = design(scn), brute_force_design(scn)
        _agree(scn, a, b)
        feasible += a.feasible
        phased += bool(a.feasible and a.completion_period)
    # the generator must exercise every branch: no deal, a deal at once, a phased deal
    assert 40 <= feasible <= 200
    assert phased >= 15


@pytest.mark.slow
def test_designer_equals_oracle_on_larger_packages() -> None:
    for scn in _instances(7, 100, max_tranches=6, max_horizon=3):
        _agree(scn, design(scn), brute_force_design(scn))


def test_oracle_enumerates_every_schedule_once() -> None:
    m = np.array([1, 2, 3], dtype=np.int64)
    seen = {s.tobytes() for s in schedules(m, 2)}
    # 3 * C(4, 2) * C(5, 3) placements of the tranches in periods 0..2
    assert len(seen) == 3 * 6 * 10


def test_oracle_refuses_large_packages() -> None:
    rng = np.random.default_rng(0)
    scn = random_package(rng, n_concessions=4, max_tranches_total=8, horizon=2)
    with pytest.raises(UsageError, match="horizon"):
        brute_force_design(scn, horizon=7)
    many = {c.id: 3 for c in scn.concessions if c.divisible}
    if sum(many.values()) + len(scn.concessions) - len(many) > 7:
        with pytest.raises(UsageError, match="tranches"):
            brute_force_design(scn, tranches=many)
