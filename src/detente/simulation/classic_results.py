"""The results of classic matches and tournaments: scores, summaries and their JSON form.

Summaries give a mean and a 95% confidence interval (Student's t) over repetitions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .classic_games import Game

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: What a strategy returns: one move per repetition, or one bool meaning "the same in all".
Move = BoolArray | bool
Seed = int | np.random.SeedSequence | None


# --------------------------------------------------------------------------------------------
# Results


def _t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def _summary(values: FloatArray) -> dict[str, Any]:
    """Mean, 95 % CI (Student t over repetitions), sd and n; CI is null for n = 1."""
    n = int(values.size)
    mean = float(values.mean())
    if n < 2:
        return {"mean": mean, "ci95": [None, None], "sd": None, "n": n}
    sd = float(values.std(ddof=1))
    half = _t975(n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "ci95": [mean - half, mean + half], "sd": sd, "n": n}


def _num(x: float) -> int | float:
    """Integral floats as ints, so exact scores print as ``199`` in JSON."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class MatchResult:
    """One match, repeated: per-repetition totals plus summaries and provenance.

    ``scores[r]`` holds both players' total payoffs in repetition r; ``cooperations[r]`` their
    number of played C's (after noise). Arrays are read-only. Summaries are per turn, over
    repetitions (which are independent), with a Student-t 95 % interval.
    """

    players: tuple[str, str]
    game: Game
    turns: int
    repetitions: int
    noise: float
    scores: FloatArray  # [repetitions, 2]
    cooperations: IntArray  # [repetitions, 2]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mean_scores(self) -> FloatArray:
        """Mean total per player over repetitions, shape [2]."""
        return np.asarray(self.scores.mean(axis=0), dtype=np.float64)

    @property
    def mean_per_turn(self) -> FloatArray:
        """Mean payoff per turn per player, shape [2]."""
        return np.asarray(self.scores.mean(axis=0) / self.turns, dtype=np.float64)

    def per_turn_summary(self, player: int) -> dict[str, Any]:
        """Mean payoff per turn of player 0 or 1, 95 % CI (``ci95`` null for 1 repetition)."""
        return _summary(self.scores[:, player] / self.turns)

    @property
    def cooperation_rate(self) -> FloatArray:
        """Share of turns each player played C, over all repetitions, shape [2]."""
        return np.asarray(self.cooperations.mean(axis=0) / self.turns, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``detente match --json``.

        ``scores`` is ``[total_A, total_B]`` (the mean over repetitions when there are several;
        exact integers for integer payoffs); ``scores_per_repetition`` lists every repetition.
        """
        return {
            "game": self.game.to_dict(),
            "players": list(self.players),
            "turns": self.turns,
            "repetitions": self.repetitions,
            "noise": self.noise,
            "scores": [_num(x) for x in self.mean_scores],
            "scores_per_repetition": [[_num(x) for x in row] for row in self.scores],
            "per_turn": [self.per_turn_summary(i) for i in range(2)],
            "cooperation_rate": [float(x) for x in self.cooperation_rate],
            "provenance": _jsonable(self.provenance),
        }


@dataclass(frozen=True, eq=False)
class TournamentResult:
    """A round robin (every pair once, self-play included), each match repeated.

    ``score_matrix[i, j]`` is strategy i's mean payoff per turn against j (self-play on the
    diagonal); ``cooperation_matrix`` likewise. ``normalised_scores[i, r]`` is Axelrod's
    normalised score: i's payoff per turn in repetition r averaged over its opponents
    *excluding itself*. Strategies are ranked by the mean of that over repetitions (Axelrod
    ranks by the median; the mean is what the 95 % interval is about), ties in input order.
    """

    names: tuple[str, ...]
    game: Game
    turns: int
    repetitions: int
    noise: float
    score_matrix: FloatArray  # [k, k]
    cooperation_matrix: FloatArray  # [k, k]
    normalised_scores: FloatArray  # [k, repetitions]
    matches: tuple[MatchResult, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mean_scores(self) -> FloatArray:
        """Each strategy's mean normalised score per turn, shape [k]."""
        return np.asarray(self.normalised_scores.mean(axis=1), dtype=np.float64)

    @property
    def ranking(self) -> tuple[str, ...]:
        """Names from best to worst by mean normalised score."""
        order = sorted(range(len(self.names)), key=lambda i: -self.mean_scores[i])
        return tuple(self.names[i] for i in order)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``detente tournament --game ... --json``.

        ``mean_scores`` maps each name to its mean normalised score per turn; ``scores`` adds
        the 95 % interval, sd, n and median over repetitions; matrices are row vs column.
        """
        return {
            "game": self.game.to_dict(),
            "strategies": list(self.names),
            "turns": self.turns,
            "repetitions": self.repetitions,
            "noise": self.noise,
            "ranking": list(self.ranking),
            "mean_scores": {name: float(m) for name, m in zip(self.names, self.mean_scores, strict=True)},
            "scores": {
                name: {
                    **_summary(self.normalised_scores[i]),
                    "median": float(np.median(self.normalised_scores[i])),
                }
                for i, name in enumerate(self.names)
            },
            "score_matrix": self.score_matrix.tolist(),
            "cooperation_matrix": self.cooperation_matrix.tolist(),
            "provenance": _jsonable(self.provenance),
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj
