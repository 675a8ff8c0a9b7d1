"""Classic repeated games: exact agreement with the Axelrod library, THEORY.md's numbers, seeds.

Three oracles: the Axelrod library (deterministic matches must score identically); the exact
Markov chain of two memory-one strategies under noise (the expected finite-horizon score,
computed here by propagating the distribution over the four joint moves); and THEORY.md
section 1.6's closed forms (stationary payoffs). Statistical checks use fixed seeds, so they
are deterministic; the tolerance is the result's own 95 % interval unless stated.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle

import numpy as np
import pytest

from detente.core.errors import UsageError
from detente.simulation import classic
from detente.simulation.classic import (
    CLASSIC_STRATEGIES,
    PD,
    ClassicStrategy,
    History,
    get_game,
    get_strategy,
    gtft_q,
    match_pairs,
    parse_strategy_list,
    play_match,
    round_robin,
    select_strategies,
)

#: The eight deterministic strategies with an Axelrod counterpart.
DETERMINISTIC = select_strategies(axelrod=True, stochastic=False)

#: Memory-one strategies as (P(C|CC), P(C|CD), P(C|DC), P(C|DD)) from their own point of view
#: (own last move, opponent's last move), with their first move (True = C).
MEMORY_ONE = {
    "cooperator": ((1, 1, 1, 1), True),
    "defector": ((0, 0, 0, 0), False),
    "alternator": ((0, 0, 1, 1), True),
    "tit-for-tat": ((1, 0, 1, 0), True),
    "suspicious-tit-for-tat": ((1, 0, 1, 0), False),
    "win-stay-lose-shift": ((1, 0, 0, 1), True),
    "generous-tit-for-tat": ((1, 1 / 3, 1, 1 / 3), True),
}


def exact_per_turn(a: str, b: str, noise: float, turns: int) -> tuple[float, float]:
    """Expected payoff per turn of both players over ``turns`` turns (exact Markov chain)."""
    (va, fa), (vb, fb) = MEMORY_ONE[a], MEMORY_ONE[b]

    def noisy(p: float) -> float:
        return p * (1 - noise) + (1 - p) * noise

    swap = (0, 2, 1, 3)  # CC, CD, DC, DD seen from the other side
    pa, pb = noisy(float(fa)), noisy(float(fb))
    dist = np.array([pa * pb, pa * (1 - pb), (1 - pa) * pb, (1 - pa) * (1 - pb)])
    step = np.zeros((4, 4))
    for s in range(4):
        x, y = noisy(va[s]), noisy(vb[swap[s]])
        step[s] = [x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)]
    pay_a = np.array([PD.R, PD.S, PD.T, PD.P], dtype=float)
    pay_b = np.array([PD.R, PD.T, PD.S, PD.P], dtype=float)
    total_a = total_b = 0.0
    for _ in range(turns):
        total_a += float(dist @ pay_a)
        total_b += float(dist @ pay_b)
        dist = dist @ step
    return total_a / turns, total_b / turns


def within_ci(result: classic.MatchResult, player: int, value: float) -> bool:
    lo, hi = result.per_turn_summary(player)["ci95"]
    return bool(lo <= value <= hi)


# --------------------------------------------------------------------------------------------
# The Axelrod library, exactly


def test_the_eight_deterministic_strategies_are_the_axelrod_ones() -> None:
    assert sorted(DETERMINISTIC) == sorted(
        [
            "cooperator",
            "defector",
            "alternator",
            "tit-for-tat",
            "grudger",
            "tit-for-two-tats",
            "suspicious-tit-for-tat",
            "win-stay-lose-shift",
        ]
    )


@pytest.mark.parametrize(("a", "b"), list(itertools.product(DETERMINISTIC, repeat=2)))
def test_deterministic_match_scores_equal_axelrod(a: str, b: str) -> None:
    axl = pytest.importorskip("axelrod")
    players = (
        getattr(axl, CLASSIC_STRATEGIES[a].axelrod_name or "")(),
        getattr(axl, CLASSIC_STRATEGIES[b].axelrod_name or "")(),
    )
    match = axl.Match(players, turns=200)
    match.play()  # final_score() is None until the match has been played
    expected = match.final_score()
    ours = play_match(a, b, 200)
    assert tuple(ours.to_dict()["scores"]) == tuple(expected)
    expected_coop = match.cooperation()
    assert tuple(int(x) for x in ours.cooperations[0]) == tuple(expected_coop)


def test_noisy_matches_agree_with_axelrod_in_distribution() -> None:
    """Checks the noise convention (flip the played move; both sides see the flipped move,
    including their own) on pairs where it matters; two-sample |z| < 4."""
    axl = pytest.importorskip("axelrod")
    pairs = [
        ("alternator", "grudger"),
        ("win-stay-lose-shift", "tit-for-tat"),
        ("tit-for-two-tats", "suspicious-tit-for-tat"),
    ]
    for m, (a, b) in enumerate(pairs):
        players = (
            getattr(axl, CLASSIC_STRATEGIES[a].axelrod_name or "")(),
            getattr(axl, CLASSIC_STRATEGIES[b].axelrod_name or "")(),
        )
        match = axl.Match(players, turns=200, noise=0.1, seed=10 + m)
        theirs = []
        for _ in range(100):
            match.play()
            theirs.append(match.final_score_per_turn())
        t = np.array(theirs)
        ours = play_match(a, b, 200, noise=0.1, repetitions=4000, seed=m).scores / 200
        for p in range(2):
            se = math.hypot(t[:, p].std(ddof=1) / 10, ours[:, p].std(ddof=1) / math.sqrt(4000))
            assert abs(t[:, p].mean() - ours[:, p].mean()) < 4 * se, (a, b, p)


# --------------------------------------------------------------------------------------------
# THEORY.md, numbers to reproduce


def test_theory_item_4_tft_against_alld_and_itself() -> None:
    assert play_match("tit-for-tat", "defector", 200).to_dict()["scores"] == [199, 204]
    assert play_match("tit-for-tat", "tit-for-tat", 200).to_dict()["scores"] == [600, 600]


def test_theory_item_1_gtft_generosity_is_one_third_exactly() -> None:
    assert gtft_q(3, 0, 5, 1) == 1 / 3
    assert gtft_q(PD.R, PD.S, PD.T, PD.P) == 1 / 3
    assert gtft_q(3, 0, 4, 2) == 1 / 2  # min(2/3, 1/2): the other branch binds
    assert gtft_q(3, 0, 5, 2) == pytest.approx(1 / 3)  # min(1/3, 1/3)
    bound = get_strategy("generous-tit-for-tat").for_game(PD)
    assert bound.params["q"] == 1 / 3


def test_theory_item_2_tft_against_itself_under_noise_averages_2_25() -> None:
    # The stationary distribution is uniform over CC, CD, DC, DD for any 0 < eps < 1, but the
    # match starts at CC: the transient adds 32/9 in total (exact chain), 0.018 per turn over
    # 200 turns, so THEORY's 2.25 is checked on long matches.
    long = play_match("tft", "tft", 4000, noise=0.1, repetitions=1000, seed=1)
    for p in range(2):
        assert within_ci(long, p, 2.25)
        assert within_ci(long, p, exact_per_turn("tit-for-tat", "tit-for-tat", 0.1, 4000)[p])
    # At 200 turns the transient shows: the simulation agrees with the exact finite-horizon
    # expectation, and is clear of 2.25.
    short = play_match("tft", "tft", 200, noise=0.1, repetitions=20000, seed=2)
    exact = exact_per_turn("tit-for-tat", "tit-for-tat", 0.1, 200)
    assert exact[0] == pytest.approx(2.25 + 32 / 9 / 200)
    for p in range(2):
        assert within_ci(short, p, exact[p])
        assert not within_ci(short, p, 2.25)


def test_theory_item_3_gtft_against_itself_at_one_percent_noise() -> None:
    eps, q = 0.01, 1 / 3
    p1, q1 = 1 - eps, q * (1 - eps) + (1 - q) * eps
    r = p1 - q1
    s = q1 / (1 - r)  # Nowak-Sigmund with identical players
    payoff = PD.R * s * s + (PD.S + PD.T) * s * (1 - s) + PD.P * (1 - s) ** 2
    assert round(s, 6) == 0.971154
    assert round(payoff, 6) == 2.970322
    result = play_match("gtft", "gtft", 4000, noise=eps, repetitions=1000, seed=3)
    for p in range(2):
        assert within_ci(result, p, 2.970322)


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations_with_replacement(MEMORY_ONE, 2)))
def test_memory_one_pairs_match_the_exact_markov_chain(a: str, b: str) -> None:
    """Every memory-one pair under 5 % noise against the exact expectation (|z| < 3.3, 99.9 %:
    28 pairs × 2 players are checked at once)."""
    turns, n = 100, 4000
    result = play_match(a, b, turns, noise=0.05, repetitions=n, seed=11)
    exact = exact_per_turn(a, b, 0.05, turns)
    for p in range(2):
        x = result.scores[:, p] / turns
        se = x.std(ddof=1) / math.sqrt(n)
        assert abs(x.mean() - exact[p]) <= 3.3 * se + 1e-12, (a, b, p)


# --------------------------------------------------------------------------------------------
# Strategies: one contract for all, then each one's own cases


@pytest.mark.parametrize("name", list(CLASSIC_STRATEGIES))
def test_strategy_contract(name: str) -> None:
    strategy = get_strategy(name).for_game(PD)
    traits = strategy.traits
    assert {"memory_depth", "stochastic", "nice", "makes_use_of"} <= set(traits)
    assert get_strategy(strategy.label) == strategy
    assert pickle.loads(pickle.dumps(strategy)) == strategy
    # One move per repetition (or one bool for all), from the histories alone.
    n, turns = 64, 12
    rng = np.random.default_rng(0)
    own, other = History(turns, n), History(turns, n)
    other.moves[:] = rng.random((turns, n)) < 0.5
    own.moves[:] = rng.random((turns, n)) < 0.5
    for t in range(turns):
        other.cooperations[:] = other.moves[:t].sum(axis=0)
        own.cooperations[:] = own.moves[:t].sum(axis=0)
        move = np.broadcast_to(strategy.act(own, other, t, np.random.default_rng(t)), (n,))
        assert move.dtype == bool
        again = np.broadcast_to(strategy.act(own, other, t, np.random.default_rng(t)), (n,))
        np.testing.assert_array_equal(move, again)  # seeded: reproducible
    # "nice" = never the first to defect: against a cooperator without noise, all C.
    vs_allc = play_match(strategy, "cooperator", 50, repetitions=8, seed=0)
    assert (vs_allc.cooperation_rate[0] == 1.0) == traits["nice"]
    # Deterministic strategies give identical repetitions.
    if not traits["stochastic"]:
        result = play_match(strategy, "alternator", 30, repetitions=5, seed=0)
        assert (result.scores == result.scores[0]).all()


def test_registry_lookup_by_alias_and_traits() -> None:
    assert get_strategy("TFT").name == "tit-for-tat"
    assert get_strategy("pavlov").name == "win-stay-lose-shift"
    assert get_strategy("alld").name == "defector"
    assert "generous-tit-for-tat" in select_strategies(stochastic=True)
    assert "grit" in select_strategies(stochastic=False, axelrod=False)
    assert set(select_strategies(nice=False)) == {
        "defector",
        "alternator",
        "suspicious-tit-for-tat",
    }


def test_grit_concedes_k_turns_then_plays_tit_for_tat() -> None:
    for k in (0, 1, 5, 20):
        r = play_match(f"grit(k={k})", "defector", 200)
        concede = max(k, 1)  # the first move is C anyway
        assert r.to_dict()["scores"] == [200 - concede, 5 * concede + (200 - concede)]
        assert r.players[0] == ("grit" if k == 5 else f"grit(k={k})")
    assert get_strategy("grit", k=8).traits["memory_depth"] == 8
    np.testing.assert_array_equal(
        play_match("grit(k=0)", "alternator", 200).scores,
        play_match("tit-for-tat", "alternator", 200).scores,
    )
    assert play_match("grit", "suspicious-tit-for-tat", 200).to_dict()["scores"] == [597, 602]


def test_gtft_with_zero_generosity_is_tit_for_tat_and_bad_q_is_refused() -> None:
    np.testing.assert_array_equal(
        play_match("gtft(q=0)", "alternator", 100, noise=0.1, repetitions=50, seed=4).scores,
        play_match("tft", "alternator", 100, noise=0.1, repetitions=50, seed=4).scores,
    )
    with pytest.raises(UsageError, match=r"q must be in \[0, 1\], got 2"):
        get_strategy("gtft(q=2)")


def test_custom_strategy_plugs_in_through_the_registry() -> None:
    @classic.register()
    class TitForTatOnEvenTurns(ClassicStrategy):
        """Test-only: C on odd turns, tit-for-tat on even ones."""

        name = "test-even-tft"

        def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> bool:
            return bool(turn % 2 == 1 or turn == 0 or other.moves[turn - 1].all())

    try:
        assert play_match("test-even-tft", "cooperator", 10).to_dict()["scores"] == [30, 30]
        with pytest.raises(ValueError, match="already registered"):
            classic.register()(TitForTatOnEvenTurns)
    finally:
        classic._REGISTRY.pop("test-even-tft")


# --------------------------------------------------------------------------------------------
# Seeds and determinism


def test_same_seed_same_result_different_seed_different_result() -> None:
    one = play_match("gtft", "alternator", 200, noise=0.05, repetitions=30, seed=7)
    two = play_match("gtft", "alternator", 200, noise=0.05, repetitions=30, seed=7)
    three = play_match("gtft", "alternator", 200, noise=0.05, repetitions=30, seed=8)
    np.testing.assert_array_equal(one.scores, two.scores)
    assert not np.array_equal(one.scores, three.scores)
    t1 = round_robin(DETERMINISTIC, 200, 10, 0.05, seed=5).to_dict()
    t2 = round_robin(DETERMINISTIC, 200, 10, 0.05, seed=5).to_dict()
    assert t1 == t2


def test_unseeded_results_record_their_entropy_and_replay() -> None:
    first = play_match("gtft", "wsls", 100, noise=0.1, repetitions=20)
    replay = play_match("gtft", "wsls", 100, noise=0.1, repetitions=20, seed=first.provenance["seed"])
    np.testing.assert_array_equal(first.scores, replay.scores)


def test_round_robin_matches_do_not_depend_on_play_order() -> None:
    names = [*DETERMINISTIC, "generous-tit-for-tat", "grit"]
    result = round_robin(names, 100, 20, 0.05, seed=42)
    assert [list(m.players) for m in result.matches] == [[names[i], names[j]] for i, j in match_pairs(len(names))]
    children = np.random.SeedSequence(42).spawn(len(result.matches))
    for m in reversed(range(len(result.matches))):  # replay alone, in the opposite order
        match = result.matches[m]
        ss = np.random.SeedSequence(match.provenance["seed"], spawn_key=match.provenance["spawn_key"])
        alone = play_match(*match.players, 100, noise=0.05, repetitions=20, seed=ss)
        np.testing.assert_array_equal(alone.scores, match.scores)
        again = play_match(*match.players, 100, noise=0.05, repetitions=20, seed=children[m])
        np.testing.assert_array_equal(again.scores, match.scores)


def test_noise_stream_is_shared_across_strategies_with_the_same_seed() -> None:
    # Common random numbers: the flips come from their own stream, not from the one the
    # strategies draw from, so a cooperator's played moves (its flips) are the same whether
    # its opponent makes random draws (GTFT) or not.
    a = play_match("cooperator", "cooperator", 200, noise=0.05, repetitions=40, seed=9)
    b = play_match("cooperator", "gtft(q=0.5)", 200, noise=0.05, repetitions=40, seed=9)
    np.testing.assert_array_equal(a.cooperations[:, 0], b.cooperations[:, 0])


# --------------------------------------------------------------------------------------------
# Results


def test_match_and_tournament_json() -> None:
    match = play_match("tft", "alld", 200, repetitions=3, seed=1).to_dict()
    assert json.loads(json.dumps(match))["scores"] == [199, 204]
    assert match["per_turn"][0]["ci95"] == [0.995, 0.995]  # deterministic: zero width
    assert match["provenance"]["seed"] == 1
    result = round_robin(DETERMINISTIC, 200, 5, 0.05, seed=1)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["strategies"] == DETERMINISTIC
    assert sorted(data["ranking"]) == sorted(DETERMINISTIC)
    assert len(data["score_matrix"]) == 8
    best = data["ranking"][0]
    assert data["scores"][best]["mean"] == max(v["mean"] for v in data["scores"].values())
    assert data["mean_scores"][best] == data["scores"][best]["mean"]


def test_tournament_scores_exclude_self_play_like_axelrod() -> None:
    result = round_robin(["tft", "alld", "allc"], 200)
    m = result.score_matrix
    assert (m[0, 1], m[1, 0], m[0, 0]) == (199 / 200, 204 / 200, 3.0)
    assert result.mean_scores[0] == pytest.approx((m[0, 1] + m[0, 2]) / 2)
    assert result.ranking[0] == "defector"
    with pytest.raises(ValueError, match="read-only"):
        result.score_matrix[0, 0] = 0.0


# --------------------------------------------------------------------------------------------
# Bad input


def test_unknown_strategy_lists_registered_names_and_suggests() -> None:
    with pytest.raises(UsageError) as err:
        get_strategy("tit-for-tatt")
    msg = str(err.value)
    assert "did you mean 'tit-for-tat'?" in msg
    for name in CLASSIC_STRATEGIES:
        assert name in msg
    with pytest.raises(UsageError, match="did you mean 'grudger'"):
        play_match("grudgr", "tft", 10)
    with pytest.raises(UsageError, match="has no parameter 'K'; did you mean 'k'"):
        get_strategy("grit(K=3)")
    with pytest.raises(UsageError, match="k must be a whole number >= 0"):
        get_strategy("grit(k=-1)")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"turns": 0}, "turns must be >= 1, got 0"),
        ({"turns": -5}, "turns must be >= 1, got -5"),
        ({"turns": 2.5}, "turns must be a whole number >= 1, got 2.5"),
        ({"repetitions": 0}, "repetitions must be >= 1, got 0"),
        ({"noise": -0.1}, r"noise must be a probability in \[0, 1\], got -0.1"),
        ({"noise": 1.5}, r"noise must be a probability in \[0, 1\], got 1.5"),
        ({"noise": float("nan")}, r"noise must be a probability in \[0, 1\], got nan"),
        ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
        ({"game": "prisoner-dilemma"}, "did you mean 'prisoners-dilemma'"),
    ],
)
def test_bad_arguments_raise_usage_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"turns": 10, **kwargs}
    with pytest.raises(UsageError, match=message):
        play_match("tft", "alld", **args)
    rr_args = {"repetitions": 1, **args}
    with pytest.raises(UsageError, match=message):
        round_robin(["tft", "alld"], **rr_args)


def test_round_robin_needs_two_distinct_strategies() -> None:
    with pytest.raises(UsageError, match="at least 2 strategies"):
        round_robin(["tft"], 10)
    with pytest.raises(UsageError, match="'tit-for-tat' is listed twice"):
        round_robin(["tft", "tit-for-tat"], 10)


def test_strategy_list_parsing_keeps_parameters_together() -> None:
    got = parse_strategy_list("tft, gtft(q=0.1), grit(k=8),wsls")
    assert [s.label for s in got] == [
        "tit-for-tat",
        "generous-tit-for-tat(q=0.1)",
        "grit(k=8)",
        "win-stay-lose-shift",
    ]
    with pytest.raises(UsageError, match="no strategies"):
        parse_strategy_list(" , ")
    assert get_game("prisoners-dilemma") is PD
