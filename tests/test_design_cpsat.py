"""CP-SAT for the designer's feasibility masters (detente.design.cpsat).

The rounding of a real row to integers must go the right way: the relaxed model keeps every
point of the real row (so its "infeasible" is a proof), the restricted model keeps only points
of the real row (so its schedules are schedules). The designer with CP-SAT must agree with
the designer on HiGHS alone, and fall back to HiGHS when CP-SAT cannot settle a master.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.design import cpsat, search
from detente.design.instances import phased_package, random_package
from detente.design.master import Master
from detente.design.milp import design
from detente.design.package import build_package

coefs = st.lists(
    st.one_of(st.floats(-5.0, 5.0, allow_nan=False), st.integers(-4, 4).map(float)), min_size=1, max_size=8
).filter(lambda c: max(abs(v) for v in c) > 1e-12)


def _meets(ints: list[int], lo: int | None, hi: int | None, w: list[int]) -> bool:
    value = sum(a * b for a, b in zip(ints, w, strict=True))
    return (lo is None or value >= lo) and (hi is None or value <= hi)


@settings(max_examples=300, deadline=None)
@given(coefs, st.data())
def test_the_relaxed_row_keeps_every_point_of_the_real_row(coef: list[float], data: st.DataObject) -> None:
    w = data.draw(st.lists(st.integers(0, 4), min_size=len(coef), max_size=len(coef)))
    value = math.fsum(a * b for a, b in zip(coef, w, strict=True))
    lo = data.draw(st.one_of(st.just(-math.inf), st.floats(value - 40.0, value, allow_nan=False)))
    hi = data.draw(st.one_of(st.just(math.inf), st.floats(value, value + 40.0, allow_nan=False)))
    for ints, lo_i, hi_i in cpsat.scaled_row(coef, lo, hi, relaxed=True):
        assert _meets(ints, lo_i, hi_i, w)


@settings(max_examples=300, deadline=None)
@given(coefs, st.data())
def test_a_point_of_the_restricted_row_meets_the_real_row(coef: list[float], data: st.DataObject) -> None:
    w = data.draw(st.lists(st.integers(0, 4), min_size=len(coef), max_size=len(coef)))
    lo = data.draw(st.one_of(st.just(-math.inf), st.floats(-40.0, 40.0, allow_nan=False)))
    hi = data.draw(st.one_of(st.just(math.inf), st.floats(-40.0, 40.0, allow_nan=False)))
    rows = cpsat.scaled_row(coef, lo, hi, relaxed=False)
    if all(_meets(ints, lo_i, hi_i, w) for ints, lo_i, hi_i in rows):
        value = math.fsum(a * b for a, b in zip(coef, w, strict=True))
        assert lo <= value <= hi


def test_a_row_too_wide_for_64_bits_goes_to_highs() -> None:
    with pytest.raises(cpsat.Unrepresentable):
        cpsat.scaled_row([1e-300, 1e-300], 1.0, math.inf, relaxed=True)
    assert cpsat.solve_feasibility([0, 0], [1, 1], [([0, 1], [1e-300, 1e-300], 0.25, math.inf)], None) is None


def test_what_cpsat_cannot_take_goes_to_highs() -> None:
    # a whole bound beyond 62 bits, a model CP-SAT calls invalid, an empty integer domain
    assert cpsat.solve_feasibility([0, 0], [5, 5], [([0], [1.0], 1e19, math.inf)], None) is None
    assert cpsat.solve_feasibility([0], [5], [([0], [2.0**61], 1.0, math.inf)], None) is None
    assert cpsat.solve_feasibility([0.5], [0.7], [([0], [1.0], 0.0, math.inf)], None) is None


def test_whole_rows_pass_unchanged() -> None:
    assert cpsat.scaled_row([1.0, -1.0, -3.0], 0.0, math.inf, relaxed=True) == [([1, -1, -3], 0, None)]
    assert cpsat.scaled_row([1.0, -1.0, -3.0], 0.0, math.inf, relaxed=False) == [([1, -1, -3], 0, None)]


def test_a_small_program_solved_and_refuted() -> None:
    # 0.3 a + 0.7 b >= 0.95 over a, b in {0, 1}: only a = b = 1
    out = cpsat.solve_feasibility([0, 0], [1, 1], [([0, 1], [0.3, 0.7], 0.95, math.inf)], None)
    assert out is not None
    assert out.status == "optimal"
    assert out.x is not None
    assert list(out.x) == [1.0, 1.0]
    none = cpsat.solve_feasibility([0, 0], [1, 1], [([0, 1], [0.3, 0.7], 1.01, math.inf)], None)
    assert none is not None
    assert none.status == "infeasible"
    # within rounding of feasible: the relaxed model accepts a = b = 1, which misses the real
    # row by 1e-6, and the restricted model has no point: HiGHS must decide
    assert cpsat.solve_feasibility([0, 0], [1, 1], [([0, 1], [0.3, 0.7], 1.0 + 1e-6, math.inf)], None) is None


def _with_solver(monkeypatch: pytest.MonkeyPatch, solver: str) -> None:
    monkeypatch.setattr(search, "SOLVER", solver)


@pytest.mark.parametrize("seed", range(40))
def test_cpsat_and_highs_design_the_same(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7000 + seed)
    scn = random_package(rng, max_tranches_total=7, horizon=int(rng.integers(1, 5)))
    with monkeypatch.context() as m:
        _with_solver(m, "highs")
        plain = design(scn)
    fast = design(scn)
    assert fast.feasible == plain.feasible
    assert fast.completion_period == plain.completion_period
    if fast.feasible:
        assert fast.stats["cp_solves"] >= 1
        assert fast.min_slack is not None
        assert plain.min_slack is not None
        assert fast.min_slack == pytest.approx(plain.min_slack, abs=1e-7)
    else:
        assert plain.stats["cp_solves"] == 0


def test_a_hard_package_is_settled_by_cpsat() -> None:
    """Seed 2 of the harder generator: HiGHS alone needs about a second, CP-SAT settles
    every feasibility master (and the tie-break's first try) itself."""
    scn = phased_package(np.random.default_rng(2), discount=(0.8, 0.9), gain_ratio=(1.2, 1.5))
    r = design(scn)
    assert r.status == "optimal"
    assert r.completion_period == 4
    assert r.stats["cp_solves"] >= 4


def test_highs_takes_over_when_cpsat_cannot_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    scn = random_package(np.random.default_rng(11), max_tranches_total=6, horizon=3)
    want = design(scn)
    monkeypatch.setattr(cpsat, "solve_feasibility", lambda *a, **k: None)
    got = design(scn)
    assert got.stats["cp_solves"] == 0
    assert got.completion_period == want.completion_period
    assert got.feasible == want.feasible


def test_only_feasibility_questions_go_to_cpsat() -> None:
    pkg = build_package(phased_package(np.random.default_rng(1)))
    assert Master(pkg, 3, "feasible", solver="cpsat")._cp_fixed() == {}
    at_top = Master(pkg, 3, "maxmin", eta_lb=0.1 - 1e-7, eta_ub=0.1, solver="cpsat")
    assert at_top._cp_fixed() == {at_top.eta: 0.1 - 1e-7}
    assert Master(pkg, 3, "maxmin", eta_lb=0.0, eta_ub=0.1, solver="cpsat")._cp_fixed() is None
    assert Master(pkg, 3, "payment", payer=0, solver="cpsat")._cp_fixed() is None
    master = Master(pkg, 3, "feasible", solver="cpsat")
    master.add_var(0.0, 1.0, cost=1.0)
    assert master._cp_fixed() is None
