"""Classic repeated 2×2 games (the iterated prisoner's dilemma), vectorised over repetitions.

A match plays two strategies against each other for ``turns`` turns, ``repetitions`` times at
once: every array is shaped ``[repetitions]`` (histories ``[turns, repetitions]``) and the only
Python loop is over turns. A move is a boolean, ``True`` = cooperate (C), ``False`` = defect (D).

Conventions, chosen to agree exactly with the Axelrod library (4.13):

* **Noise** flips each *played* move independently with probability ε (``Match.simultaneous_play``
  flips both intended moves, then records the flipped ones). Histories hold what was actually
  played, so strategies react to the opponent's flipped moves and to their own (Alternator and
  Win-Stay-Lose-Shift look at their own last move). The first move is subject to noise too.
  This is THEORY.md 1.6's noise model: a reactive strategy (p, q) plays C after the opponent's
  C with probability p' = p(1-ε) + (1-p)ε, and likewise q'.
* **Strategies** follow Axelrod's definitions move for move (``axelrod_name`` names the class);
  without noise and with deterministic strategies the scores equal ``axelrod.Match(...)``'s.
  ``grit`` has no Axelrod counterpart (see :class:`Grit`).
* **Tournaments** are round robins that include every strategy against itself; a strategy's
  tournament score excludes its self-play match, as Axelrod's normalised score does.

Randomness: one child of ``SeedSequence(seed)`` per match, in a fixed enumeration of the pairs,
split again into three streams (noise, player A, player B). A match's numbers therefore depend
only on the seed and its position in the enumeration, never on the order matches are played
in, and the noise stream does not depend on how many draws the strategies make (two matches
with the same seed and position see the same noise: common random numbers). No global random
state is touched.

Strategies are stateless: everything a strategy may condition on is in the two
:class:`History` objects the engine passes, so one instance can play both sides of a match and
any number of matches. Users add strategies by subclassing :class:`ClassicStrategy` and
decorating the class with :func:`register`.

This module is the match and tournament engine; the games and strategies are in
:mod:`detente.simulation.classic_games`, the result types in
:mod:`detente.simulation.classic_results`, and every public name is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..core.errors import UsageError
from .classic_games import _REGISTRY as _REGISTRY
from .classic_games import CLASSIC_STRATEGIES as CLASSIC_STRATEGIES
from .classic_games import GAMES as GAMES
from .classic_games import PD as PD
from .classic_games import Alternator as Alternator
from .classic_games import ClassicStrategy as ClassicStrategy
from .classic_games import Cooperator as Cooperator
from .classic_games import Defector as Defector
from .classic_games import Game as Game
from .classic_games import GenerousTitForTat as GenerousTitForTat
from .classic_games import Grit as Grit
from .classic_games import Grudger as Grudger
from .classic_games import History as History
from .classic_games import SuspiciousTitForTat as SuspiciousTitForTat
from .classic_games import TitForTat as TitForTat
from .classic_games import TitForTwoTats as TitForTwoTats
from .classic_games import WinStayLoseShift as WinStayLoseShift
from .classic_games import get_game as get_game
from .classic_games import get_strategy as get_strategy
from .classic_games import gtft_q as gtft_q
from .classic_games import parse_strategy_list as parse_strategy_list
from .classic_games import register as register
from .classic_games import select_strategies as select_strategies
from .classic_results import MatchResult as MatchResult
from .classic_results import TournamentResult as TournamentResult
from .classic_results import _frozen

__all__ = [
    "CLASSIC_STRATEGIES",
    "GAMES",
    "PD",
    "Alternator",
    "ClassicStrategy",
    "Cooperator",
    "Defector",
    "Game",
    "GenerousTitForTat",
    "Grit",
    "Grudger",
    "History",
    "MatchResult",
    "SuspiciousTitForTat",
    "TitForTat",
    "TitForTwoTats",
    "TournamentResult",
    "WinStayLoseShift",
    "get_game",
    "get_strategy",
    "gtft_q",
    "match_pairs",
    "parse_strategy_list",
    "play_match",
    "register",
    "round_robin",
    "select_strategies",
]

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: What a strategy returns: one move per repetition, or one bool meaning "the same in all".
Move = BoolArray | bool
Seed = int | np.random.SeedSequence | None

#: Noise is drawn this many turn-repetition cells at a time (bounds memory on long matches).
_NOISE_BLOCK = 1 << 20


# --------------------------------------------------------------------------------------------
# Engine


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise UsageError(f"{name} must be a whole number >= 1, got {value!r}")
    if value < 1:
        raise UsageError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_noise(noise: Any) -> float:
    if isinstance(noise, bool) or not isinstance(noise, int | float | np.floating):
        raise UsageError(f"noise must be a probability in [0, 1], got {noise!r}")
    if not 0.0 <= float(noise) <= 1.0:  # also rejects nan
        raise UsageError(f"noise must be a probability in [0, 1], got {noise!r}")
    return float(noise)


def _seed_sequence(seed: Seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _provenance(ss: np.random.SeedSequence, **extra: Any) -> dict[str, Any]:
    """Enough to replay: ``SeedSequence(seed, spawn_key=spawn_key)`` gives the same stream."""
    return {
        "seed": ss.entropy,
        "spawn_key": list(ss.spawn_key),
        "version": __version__,
        "engine": "detente.simulation.classic",
        **extra,
    }


def _play(
    a: ClassicStrategy,
    b: ClassicStrategy,
    turns: int,
    repetitions: int,
    noise: float,
    ss: np.random.SeedSequence,
    game: Game,
) -> tuple[FloatArray, IntArray]:
    """The kernel: per-repetition totals [n, 2] and cooperation counts [n, 2]."""
    n = repetitions
    noise_ss, a_ss, b_ss = ss.spawn(3)
    noise_rng = np.random.default_rng(noise_ss)
    a_rng, b_rng = np.random.default_rng(a_ss), np.random.default_rng(b_ss)
    ha, hb = History(turns, n), History(turns, n)
    ma, mb, ca, cb = ha.moves, hb.moves, ha.cooperations, hb.cooperations
    act_a, act_b = a.act, b.act
    block = max(1, _NOISE_BLOCK // (2 * n))
    flips: BoolArray | None = None
    for t in range(turns):
        x = act_a(ha, hb, t, a_rng)
        y = act_b(hb, ha, t, b_rng)
        if noise > 0.0:
            k = t % block
            if k == 0:
                m = min(block, turns - t)
                flips = noise_rng.random((m, 2, n)) < noise
            assert flips is not None
            x = flips[k, 0] ^ x
            y = flips[k, 1] ^ y
        ma[t] = x
        mb[t] = y
        ca += x
        cb += y
    cc = np.count_nonzero(ma & mb, axis=0)
    cd = np.count_nonzero(ma & ~mb, axis=0)
    dc = np.count_nonzero(~ma & mb, axis=0)
    dd = turns - cc - cd - dc
    score_a = game.R * cc + game.S * cd + game.T * dc + game.P * dd
    score_b = game.R * cc + game.T * cd + game.S * dc + game.P * dd
    scores = np.stack([score_a, score_b], axis=1).astype(np.float64)
    coops = np.stack([ca, cb], axis=1).astype(np.int64)
    return _frozen(scores), _frozen(coops)


def play_match(
    a: str | ClassicStrategy,
    b: str | ClassicStrategy,
    turns: int,
    noise: float = 0.0,
    repetitions: int = 1,
    seed: Seed = None,
    game: str | Game = PD,
) -> MatchResult:
    """Play ``a`` (row player) against ``b`` for ``turns`` turns, ``repetitions`` times.

    ``seed`` is an int, a :class:`numpy.random.SeedSequence` (as spawned by
    :func:`round_robin`) or ``None`` for fresh entropy, which is then recorded in
    ``provenance["seed"]`` so the result can be replayed.
    """
    turns = _check_count("turns", turns)
    repetitions = _check_count("repetitions", repetitions)
    noise = _check_noise(noise)
    game = get_game(game)
    sa, sb = get_strategy(a), get_strategy(b)
    ss = _seed_sequence(seed)
    scores, coops = _play(sa.for_game(game), sb.for_game(game), turns, repetitions, noise, ss, game)
    return MatchResult(
        players=(sa.label, sb.label),
        game=game,
        turns=turns,
        repetitions=repetitions,
        noise=noise,
        scores=scores,
        cooperations=coops,
        provenance=MappingProxyType(_provenance(ss)),
    )


def match_pairs(k: int) -> list[tuple[int, int]]:
    """The round robin's pairs (i <= j) in the order of their seeds: pair m gets child m."""
    return [(i, j) for i in range(k) for j in range(i, k)]


def round_robin(
    strategies: Iterable[str | ClassicStrategy],
    turns: int,
    repetitions: int = 1,
    noise: float = 0.0,
    seed: Seed = None,
    game: str | Game = PD,
) -> TournamentResult:
    """Every strategy against every other and itself, each match repeated ``repetitions`` times.

    Match m of :func:`match_pairs` draws from child m of ``SeedSequence(seed)``, so any match
    can be replayed alone with ``play_match(..., seed=SeedSequence(seed).spawn(M)[m])``
    (``MatchResult.provenance`` records ``spawn_key``). Reordering the strategy list
    reassigns the children, so the numbers then change within their confidence intervals.
    """
    turns = _check_count("turns", turns)
    repetitions = _check_count("repetitions", repetitions)
    noise = _check_noise(noise)
    game = get_game(game)
    players = [get_strategy(s) for s in strategies]
    names = tuple(p.label for p in players)
    if len(players) < 2:
        raise UsageError(f"a round robin needs at least 2 strategies, got {len(players)}")
    seen: set[str] = set()
    for nm in names:
        if nm in seen:
            raise UsageError(f"strategy {nm!r} is listed twice")
        seen.add(nm)
    k = len(players)
    pairs = match_pairs(k)
    ss = _seed_sequence(seed)
    children = ss.spawn(len(pairs))
    bound = [p.for_game(game) for p in players]
    per_turn = np.zeros((k, k, repetitions))
    coop = np.zeros((k, k))
    matches = []
    for (i, j), child in zip(pairs, children, strict=True):
        scores, coops = _play(bound[i], bound[j], turns, repetitions, noise, child, game)
        matches.append(
            MatchResult(
                players=(names[i], names[j]),
                game=game,
                turns=turns,
                repetitions=repetitions,
                noise=noise,
                scores=scores,
                cooperations=coops,
                provenance=MappingProxyType(_provenance(child)),
            )
        )
        per_turn[i, j] = scores[:, 0] / turns
        per_turn[j, i] = scores[:, 1] / turns
        coop[i, j] = coops[:, 0].mean() / turns
        coop[j, i] = coops[:, 1].mean() / turns
    off_diagonal = ~np.eye(k, dtype=bool)
    normalised = np.stack([per_turn[i, off_diagonal[i]].mean(axis=0) for i in range(k)])
    return TournamentResult(
        names=names,
        game=game,
        turns=turns,
        repetitions=repetitions,
        noise=noise,
        score_matrix=_frozen(per_turn.mean(axis=2)),
        cooperation_matrix=_frozen(coop),
        normalised_scores=_frozen(normalised),
        matches=tuple(matches),
        provenance=MappingProxyType(_provenance(ss, pairs=[list(p) for p in pairs])),
    )
