"""The classic models of detente.theory: published numbers, equilibrium certificates, cross-checks.

Every model is checked three ways where it can be: the worked numbers in docs/theory.md
(table-driven), an independent code path (Dresher's recursion against its closed
form, Powell's simplified condition against the two war values it compares, the gradualism
path against the incentive constraints it must bind), and properties that truly hold.
"""

from __future__ import annotations

import doctest
import itertools
import json
import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import detente
from detente import theory
from detente.core.errors import UsageError
from detente.theory import DomainError
from detente.theory.dresher import EXACT_UP_TO
from detente.theory.gradualism import stage_payoff

FAST = settings(max_examples=60, deadline=None)
unit = st.floats(0.0, 1.0, allow_nan=False)
positive = st.floats(0.01, 10.0, allow_nan=False)


def test_package_is_exposed_and_its_examples_hold() -> None:
    assert detente.theory is theory
    failures, tried = doctest.testmod(theory, verbose=False)
    assert tried > 0
    assert failures == 0


# --- Dresher --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "expected"),
    [(3, 2, 0.142857), (5, 2, 0.375), (6, 3, 0.238095)] + [(n, 1, (n - 1) / (n + 1)) for n in range(1, 12)],
)
def test_dresher_reproduces_the_numbers_for_b_1(n: int, m: int, expected: float) -> None:
    assert theory.dresher(n, m, 1.0).value == pytest.approx(expected, abs=5e-7)
    assert theory.dresher_value_recursive(n, m, 1.0) == pytest.approx(expected, abs=5e-7)


@pytest.mark.parametrize("b", [0.25, 0.5, 1.0, 2.0, 3.7, 10.0])
def test_dresher_closed_form_agrees_with_the_recursion(b: float) -> None:
    for n in range(1, 13):
        for m in range(n + 1):
            closed = theory.dresher_value(n, m, b)
            assert theory.dresher_value_recursive(n, m, b) == pytest.approx(closed, rel=1e-12, abs=1e-15), (n, m)


def test_dresher_float_form_agrees_with_exact_arithmetic_beyond_the_exact_range() -> None:
    n, m, b = 500, EXACT_UP_TO + 3, 0.7
    exact = Fraction(math.comb(n - 1, m)) / sum(math.comb(n, i) * Fraction(b) ** (m - i) for i in range(m + 1))
    assert theory.dresher_value(n, m, b) == pytest.approx(float(exact), rel=1e-12)


@FAST
@given(st.integers(1, 40), st.data(), positive)
def test_dresher_value_is_a_probability_like_value_monotone_in_m_n_and_b(n: int, data, b: float) -> None:
    m = data.draw(st.integers(0, n))
    v = theory.dresher_value(n, m, b)
    assert 0.0 <= v <= 1.0
    if m < n:
        assert theory.dresher_value(n, m + 1, b) <= v + 1e-15  # one more inspection never helps the violator
    assert theory.dresher_value(n + 1, m, b) >= v - 1e-15  # one more period never hurts it
    assert theory.dresher_value(n, m, b * 1.5) <= v + 1e-15  # a harsher penalty never helps it


@FAST
@given(st.integers(2, 30), st.data(), positive)
def test_dresher_first_period_mixes_are_an_equilibrium(n: int, data, b: float) -> None:
    m = data.draw(st.integers(1, n - 1))
    r = theory.dresher(n, m, b)
    wait_in, wait_out = theory.dresher_value(n - 1, m - 1, b), theory.dresher_value(n - 1, m, b)
    x, y = r.violate_now, r.inspect_now
    assert 0.0 <= x <= 1.0
    assert 0.0 <= y <= 1.0
    # the inspectee's mix guarantees the value against both inspector actions, and vice versa
    assert x * -b + (1 - x) * wait_in >= r.value - 1e-12
    assert x * 1.0 + (1 - x) * wait_out >= r.value - 1e-12
    assert y * -b + (1 - y) * 1.0 <= r.value + 1e-12
    assert y * wait_in + (1 - y) * wait_out <= r.value + 1e-12


@FAST
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=4, max_size=4))
def test_solve_2x2_returns_an_equilibrium(entries: list[float]) -> None:
    a, b, c, d = entries
    value, x, y = theory.solve_2x2(((a, b), (c, d)))
    assert -1e-9 <= x <= 1 + 1e-9
    assert -1e-9 <= y <= 1 + 1e-9
    tol = 1e-9 * (1 + max(map(abs, entries)))
    assert x * a + (1 - x) * c >= value - tol
    assert x * b + (1 - x) * d >= value - tol
    assert y * a + (1 - y) * b <= value + tol
    assert y * c + (1 - y) * d <= value + tol


# --- The inspection game ----------------------------------------------------------


def test_inspection_reproduces_the_numbers() -> None:
    r = theory.inspection(g=1, f=3, d=0.8, c=0.2, a=2)
    assert r.q == pytest.approx(0.3125)
    assert r.p == pytest.approx(0.125)
    assert r.inspector_payoff == pytest.approx(-0.25)
    assert r.leader_payoff == pytest.approx(-0.0625)
    assert r.d_min == pytest.approx(0.25)
    assert r.deters


@pytest.mark.parametrize(
    ("args", "q", "p", "payoff", "leader_q", "leader_payoff", "deters"),
    [
        # detection too weak to deter (d < d_min = 0.5), but an inspection pays for itself: inspect, violate
        ((1, 1, 0.4, 0.1, 2), 1.0, 1.0, -1.3, 1.0, -1.3, False),
        # detection too weak and inspection too dear (c > d·a): nobody inspects
        ((1, 1, 0.4, 1.0, 2), 0.0, 1.0, -2.0, 0.0, -2.0, False),
        # an inspection never pays in the simultaneous game (p* = 2.5), yet committing deters at cost c·q*
        ((1, 3, 0.8, 2.0, 1), 0.0, 1.0, -1.0, 0.3125, -0.625, True),
        # deterring would cost c·q* = 1.25, more than the damage 1: commit to nothing
        ((1, 3, 0.8, 4.0, 1), 0.0, 1.0, -1.0, 0.0, -1.0, False),
    ],
)
def test_inspection_pure_regimes(args, q, p, payoff, leader_q, leader_payoff, deters) -> None:
    r = theory.inspection(*args)
    assert (r.q, r.p) == pytest.approx((q, p))
    assert r.inspector_payoff == pytest.approx(payoff)
    assert (r.leader_q, r.leader_payoff, r.deters) == (pytest.approx(leader_q), pytest.approx(leader_payoff), deters)


def _violation_gain(g: float, f: float, d: float, q: float) -> float:
    return q * (d * -f + (1 - d) * g) + (1 - q) * g


def _inspector(c: float, a: float, d: float, q: float, p: float) -> float:
    return q * (-c - p * (1 - d) * a) + (1 - q) * (-p * a)


@FAST
@given(positive, st.floats(0.0, 10.0), st.floats(0.01, 1.0), st.floats(0.0, 5.0), positive)
def test_inspection_equilibrium_is_mutual_best_replies(g: float, f: float, d: float, c: float, a: float) -> None:
    r = theory.inspection(g, f, d, c, a)
    tol = 1e-9 * (1 + g + f + c + a)
    gain = _violation_gain(g, f, d, r.q)  # against complying, which pays 0
    if 0 < r.p < 1:
        assert abs(gain) <= tol
    elif r.p == 1:
        assert gain >= -tol
    else:
        assert gain <= tol
    inspect, skip = _inspector(c, a, d, 1, r.p), _inspector(c, a, d, 0, r.p)
    if 0 < r.q < 1:
        assert abs(inspect - skip) <= tol
    elif r.q == 1:
        assert inspect >= skip - tol
    else:
        assert skip >= inspect - tol
    assert r.inspector_payoff == pytest.approx(_inspector(c, a, d, r.q, r.p), abs=tol)


@FAST
@given(positive, st.floats(0.0, 10.0), st.floats(0.01, 1.0), st.floats(0.0, 5.0), positive)
def test_leadership_is_the_best_commitment_and_never_hurts(g: float, f: float, d: float, c: float, a: float) -> None:
    r = theory.inspection(g, f, d, c, a)

    def leading(q: float) -> float:  # the inspectee complies when indifferent
        p = 1.0 if _violation_gain(g, f, d, q) > 1e-12 else 0.0
        return _inspector(c, a, d, q, p)

    tol = 1e-9 * (1 + c + a)
    assert r.leader_payoff == pytest.approx(leading(r.leader_q), abs=tol)
    assert all(leading(k / 400) <= r.leader_payoff + tol for k in range(401))
    assert r.leader_payoff >= r.inspector_payoff - tol
    if c * g / (d * (g + f)) <= a:  # deterring is worth its cost: it deters iff d >= d_min
        assert r.deters == (d >= r.d_min)


# --- Fearon -----------------------------------------------------------------------


def test_fearon_reproduces_the_range() -> None:
    r = theory.fearon(0.6, 0.1, 0.1)
    assert r.range == pytest.approx((0.5, 0.7))
    assert r.to_dict()["results"]["range"] == pytest.approx([0.5, 0.7])


@FAST
@given(unit, st.floats(0, 2), st.floats(0, 2), unit)
def test_fearon_range_is_exactly_the_divisions_both_prefer_to_war(p: float, ca: float, cb: float, x: float) -> None:
    r = theory.fearon(p, ca, cb)
    lo, hi = r.range
    assert 0.0 <= lo <= hi <= 1.0
    both_prefer = x >= p - ca and 1 - x >= 1 - p - cb - 1e-12
    if lo + 1e-9 < x < hi - 1e-9:
        assert both_prefer
    if x < lo - 1e-9 or x > hi + 1e-9:
        assert not both_prefer


# --- Powell ----------------------------------------------------------------------------------


def test_powell_worked_example() -> None:
    r = theory.powell(discount=0.9, p_now=0.3, p_next=0.6, cost_decliner=0.1, cost_riser=0.1)
    assert r.war
    assert r.threshold == pytest.approx(0.319 / 0.9)
    assert r.margin == pytest.approx(2.21)
    calm = theory.powell(discount=0.9, p_now=0.3, p_next=0.35, cost_decliner=0.1, cost_riser=0.1)
    assert not calm.war


@FAST
@given(st.floats(0.05, 0.95), unit, unit, st.floats(0, 3), st.floats(0, 3))
def test_powell_condition_compares_the_decliners_war_value_with_the_best_peace(
    delta: float, p0: float, p1: float, cd: float, cr: float
) -> None:
    r = theory.powell(delta, p0, p1, cd, cr)
    war_now = (1 - p0) / (1 - delta) - cd  # the decliner fights today
    best_peace = 1 + delta * ((1 - p1) / (1 - delta) + cr)  # today's pie, and all above the riser's war value
    assume(abs(war_now - best_peace) > 1e-9)
    assert r.war == (war_now > best_peace)
    assume(abs(p1 - r.threshold) > 1e-9)
    assert r.war == (p1 > r.threshold)


# --- Gradualism -------------------------------------------------------------------


def test_gradualism_reproduces_the_path_and_value() -> None:
    r = theory.gradualism(b=1, discount=0.9, periods=5)
    assert r.path == pytest.approx((0.45, 0.5625, 0.625781, 0.667557, 0.697573), abs=5e-7)
    assert r.value == pytest.approx(4.5)
    assert r.first_best_value == pytest.approx(5.0)
    assert r.ratio == pytest.approx(0.9)
    assert r.limit == pytest.approx(0.9)
    long = theory.gradualism_path(1, 0.9, 20_000)
    assert long[-1] < 0.9
    assert long[-1] == pytest.approx(0.9, abs=1e-3)


def _discounted(b: float, delta: float, path: tuple[float, ...]) -> list[float]:
    """W_t = sum_{s>=t} δ^(s-t) u(x_s, x_s) for each t, the tail beyond the path held at its last level."""
    w = stage_payoff(b, path[-1], path[-1]) / (1 - delta)
    out = []
    for x in reversed(path):
        w = stage_payoff(b, x, x) + delta * w
        out.append(w)
    return out[::-1]


@FAST
@given(st.floats(0.1, 5.0), st.floats(0.3, 0.95))
def test_every_incentive_constraint_binds_and_the_value_is_delta_times_first_best(b: float, delta: float) -> None:
    horizon = math.ceil(math.log(1e-14) / math.log(delta)) + 50
    path = theory.gradualism_path(b, delta, horizon)
    w = _discounted(b, delta, path)
    previous = (0.0, *path)
    scale = b * b / (1 - delta)
    for t in range(horizon // 2):  # far enough from the truncated tail
        deviation = stage_payoff(b, previous[t], path[t]) / (1 - delta)  # stay put while the other moves
        assert w[t] == pytest.approx(deviation, abs=1e-9 * scale), t
        if t + 1 < len(path):  # the two-period form of the binding constraint
            lhs = stage_payoff(b, previous[t], path[t])
            rhs = (1 - delta) * stage_payoff(b, path[t], path[t]) + delta * stage_payoff(b, path[t], path[t + 1])
            assert lhs == pytest.approx(rhs, abs=1e-12 * b * b)
    r = theory.gradualism(b, delta, 3)
    assert w[0] == pytest.approx(r.value, rel=1e-9)
    assert r.ratio == pytest.approx(delta)
    steps = [y - x for x, y in zip(previous, path, strict=False)]
    assert all(s > 0 for s in steps[:50])
    assert all(s2 <= s1 for s1, s2 in itertools.pairwise(steps[:50]))
    assert max(path) < b * delta < b


@pytest.mark.parametrize(("b", "delta"), [(1.0, 0.9), (2.0, 0.5), (0.5, 0.95)])
def test_the_first_step_is_the_largest_with_a_bounded_binding_path(b: float, delta: float) -> None:
    """Shooting: start the binding recursion a little above or below x_1 = bδ/2."""

    def shoot(x1: float, periods: int = 5000) -> float:
        before, x = 0.0, x1
        for _ in range(periods):
            before, x = x, x + (x * x - before * before) / (2 * b * delta)
            if x > 2 * b:
                break
        return x

    x1 = theory.gradualism_path(b, delta, 1)[0]
    assert x1 == pytest.approx(b * delta / 2)
    assert shoot(x1 * 1.01) > b  # too bold a start: the binding path runs past the first-best and explodes
    assert shoot(x1 * 0.99) < b * delta  # too timid: it settles below the efficient limit, with a lower value


# --- Kydd ------------------------------------------------------------------------------------


def test_trust_threshold_in_a_stag_hunt() -> None:
    assert theory.trust(R=4, T=3, P=2, S=0).threshold == pytest.approx(2 / 3)


@FAST
@given(st.floats(-5, 5), st.floats(0.01, 5), st.floats(-5, 5), st.floats(0.01, 5), unit)
def test_trust_threshold_is_where_cooperating_starts_to_pay(
    t: float, r_gap: float, s: float, p_gap: float, belief: float
) -> None:
    R, T, P, S = t + r_gap, t, s + p_gap, s
    tau = theory.trust(R, T, P, S).threshold
    assert 0 < tau < 1
    advantage = belief * (R - T) + (1 - belief) * (S - P)  # cooperate minus defect
    assume(abs(belief - tau) > 1e-9)
    assert (advantage > 0) == (belief > tau)


# --- Reactive strategies -------------------------------------------------------


def _markov_payoffs(p1: float, q1: float, p2: float, q2: float, eps: float, game=(3.0, 0.0, 5.0, 1.0)):
    """Long-run cooperation rates and payoffs from the stationary distribution of the joint-move chain."""
    import numpy as np

    R, S, T, P = game
    flip = lambda x: x * (1 - eps) + (1 - x) * eps  # noqa: E731
    a = {1: flip(p1), 0: flip(q1)}  # player 1's P(C) after player 2's last move
    b = {1: flip(p2), 0: flip(q2)}
    states = [(1, 1), (1, 0), (0, 1), (0, 0)]  # (player 1's move, player 2's move), 1 = C
    M = np.zeros((4, 4))
    for i, (x, y) in enumerate(states):
        for j, (x2, y2) in enumerate(states):
            M[i, j] = (a[y] if x2 else 1 - a[y]) * (b[x] if y2 else 1 - b[x])
    A = np.vstack([M.T - np.eye(4), np.ones(4)])
    pi = np.linalg.lstsq(A, np.r_[np.zeros(4), 1.0], rcond=None)[0]
    s1 = pi[0] + pi[1]
    s2 = pi[0] + pi[2]
    pay1 = pi @ np.array([R, S, T, P])
    pay2 = pi @ np.array([R, T, S, P])
    return s1, s2, pay1, pay2


def test_reactive_reproduces_the_numbers() -> None:
    assert theory.gtft_generosity(3, 0, 5, 1) == 1 / 3
    for eps in (0.001, 0.05, 0.3, 0.9):  # TFT against TFT under any noise: s = 1/2, payoff 2.25
        r = theory.reactive(1, 0, 1, 0, noise=eps)
        assert (r.s1, r.s2) == pytest.approx((0.5, 0.5))
        assert (r.payoff1, r.payoff2) == pytest.approx((2.25, 2.25))
    g = theory.reactive(1, 1 / 3, 1, 1 / 3, noise=0.01)
    assert g.s1 == pytest.approx(0.971154, abs=5e-7)
    assert g.payoff1 == pytest.approx(2.970322, abs=5e-7)


def test_gtft_generosity_agrees_with_the_simulations_gtft() -> None:
    from detente.simulation.classic import gtft_q

    for game in [(3, 0, 5, 1), (4, 0, 5, 1), (3, -1, 4, 0), (2.5, 0.5, 3.5, 1)]:
        assert theory.gtft_generosity(*game) == gtft_q(*game)


@FAST
@given(unit, unit, unit, unit, st.floats(0.01, 0.99))
def test_reactive_closed_form_agrees_with_the_markov_chain(p1: float, q1: float, p2: float, q2: float, eps) -> None:
    r = theory.reactive(p1, q1, p2, q2, noise=eps)
    s1, s2, pay1, pay2 = _markov_payoffs(p1, q1, p2, q2, eps)
    assert (r.s1, r.s2, r.payoff1, r.payoff2) == pytest.approx((s1, s2, pay1, pay2), abs=1e-9)


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: theory.dresher(3, 4, 1.0), "m"),
        (lambda: theory.dresher(0, 0, 1.0), "n"),
        (lambda: theory.dresher(3, 1, 0.0), "b"),
        (lambda: theory.dresher(3, 1, -1.0), "b"),
        (lambda: theory.inspection(1, 3, 1.2, 0.2, 2), "d"),
        (lambda: theory.inspection(1, 3, 0.0, 0.2, 2), "d"),
        (lambda: theory.inspection(0, 3, 0.5, 0.2, 2), "g"),
        (lambda: theory.inspection(1, -3, 0.5, 0.2, 2), "f"),
        (lambda: theory.inspection(1, 3, 0.5, -0.2, 2), "c"),
        (lambda: theory.inspection(1, 3, 0.5, 0.2, float("inf")), "a"),
        (lambda: theory.fearon(1.5, 0.1, 0.1), "p"),
        (lambda: theory.fearon(0.5, -0.1, 0.1), "cost_a"),
        (lambda: theory.fearon(0.5, 0.1, float("nan")), "cost_b"),
        (lambda: theory.powell(1.0, 0.3, 0.6, 0.1, 0.1), "discount"),
        (lambda: theory.powell(0.0, 0.3, 0.6, 0.1, 0.1), "discount"),
        (lambda: theory.powell(0.9, -0.1, 0.6, 0.1, 0.1), "p_now"),
        (lambda: theory.powell(0.9, 0.3, 1.1, 0.1, 0.1), "p_next"),
        (lambda: theory.powell(0.9, 0.3, 0.6, -1, 0.1), "cost_decliner"),
        (lambda: theory.powell(0.9, 0.3, 0.6, 0.1, -1), "cost_riser"),
        (lambda: theory.gradualism(0.0, 0.9, 5), "b"),
        (lambda: theory.gradualism(1.0, 1.0, 5), "discount"),
        (lambda: theory.gradualism(1.0, 0.9, 0), "periods"),
        (lambda: theory.trust(3, 5, 1, 0), "R"),  # a prisoner's dilemma has no assurance threshold
        (lambda: theory.trust(4, 3, 0, 1), "S"),
        (lambda: theory.reactive(1, 0, 1, 0, noise=0), "noise"),  # two tit-for-tats: the first moves decide
        (lambda: theory.reactive(1.2, 0, 1, 0, noise=0.1), "p1"),
        (lambda: theory.reactive(1, 0, 1, 0, noise=-0.1), "noise"),
    ],
)
def test_out_of_domain_inputs_name_the_input_and_its_range(call, name: str) -> None:
    with pytest.raises(DomainError) as info:
        call()
    assert isinstance(info.value, UsageError)
    assert info.value.name == name
    assert str(info.value).startswith(f"{name}=")
    assert "must be" in str(info.value)


any_float = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 1.0, 5e-324, 1e-300, 1e12, -1e12])


@FAST
@given(st.sampled_from(sorted(theory.MODELS)), st.lists(any_float, min_size=9, max_size=9), st.integers(-3, 70))
def test_any_input_gives_finite_results_or_one_usage_error(name: str, xs: list[float], k: int) -> None:
    """Fuzz: whatever the numbers, a model answers with finite results or refuses with a UsageError."""
    calls = {
        "inspection": lambda: theory.inspection(*xs[:5]),
        "dresher": lambda: theory.dresher(abs(k) + 1, k, xs[0]),
        "fearon": lambda: theory.fearon(*xs[:3]),
        "powell": lambda: theory.powell(*xs[:5]),
        "gradualism": lambda: theory.gradualism(xs[0], xs[1], k),
        "trust": lambda: theory.trust(*xs[:4]),
        "reactive": lambda: theory.reactive(*xs),
    }
    try:
        result = calls[name]()
    except UsageError:
        return
    data = result.to_dict()
    json.dumps(data, allow_nan=False)  # no NaN or infinity anywhere
