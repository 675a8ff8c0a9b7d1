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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..core.errors import UsageError, did_you_mean

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
# Games


@dataclass(frozen=True)
class Game:
    """A symmetric 2×2 game by the row player's payoffs: R (C,C), S (C,D), T (D,C), P (D,D).

    Nothing requires the prisoner's-dilemma ordering T > R > P > S; only finite numbers are
    enforced, so stag hunts and chickens can be played too (GTFT's default generosity is then
    clipped to [0, 1], see :func:`gtft_q`).
    """

    R: float
    S: float
    T: float
    P: float
    name: str = "custom"

    def __post_init__(self) -> None:
        for key in ("R", "S", "T", "P"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(f"game payoff {key} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise UsageError(f"game payoff {key} must be finite, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "R": self.R, "S": self.S, "T": self.T, "P": self.P}


#: The standard prisoner's dilemma of Axelrod's tournaments, (R, S, T, P) = (3, 0, 5, 1).
PD = Game(R=3, S=0, T=5, P=1, name="prisoners-dilemma")
GAMES: Mapping[str, Game] = MappingProxyType({PD.name: PD})


def get_game(game: str | Game) -> Game:
    """A game by registry name (``"prisoners-dilemma"``), or the given :class:`Game`."""
    if isinstance(game, Game):
        return game
    found = GAMES.get(str(game).strip())
    if found is None:
        raise UsageError(f"unknown game {game!r}{did_you_mean(str(game), GAMES)} (known: {', '.join(GAMES)})")
    return found


def gtft_q(R: float, S: float, T: float, P: float) -> float:
    """Generous tit-for-tat's generosity q* = min(1 - (T-R)/(R-S), (R-P)/(T-P)).

    Nowak & Sigmund (1992), Molander (1985); the formula Axelrod's ``GTFT`` uses. Computed in
    exact rational arithmetic on the (binary) inputs and rounded once, so the standard payoffs
    give exactly ``1/3``. Not clipped: outside the prisoner's dilemma it can leave [0, 1].
    """
    r, s, t, p = (Fraction(x) for x in (R, S, T, P))
    if r == s or t == p:
        raise UsageError(f"gtft_q needs R != S and T != P, got R={R}, S={S}, T={T}, P={P}")
    return float(min(1 - (t - r) / (r - s), (r - p) / (t - p)))


# --------------------------------------------------------------------------------------------
# Strategies


class History:
    """The moves one player has actually played (after noise), for every repetition.

    ``moves[t]`` is turn t's move per repetition; only rows before the current turn are
    filled. ``cooperations`` counts, per repetition, the C's among them (kept up to date by the
    engine, so "has the opponent ever defected" costs O(repetitions), not O(turns)).
    """

    __slots__ = ("cooperations", "moves")

    def __init__(self, turns: int, repetitions: int) -> None:
        self.moves: BoolArray = np.zeros((turns, repetitions), dtype=bool)
        self.cooperations: IntArray = np.zeros(repetitions, dtype=np.int64)

    @property
    def repetitions(self) -> int:
        return int(self.moves.shape[1])


class ClassicStrategy:
    """Base class of classic-game strategies; see the module docstring for the contract.

    Subclasses set ``name``, ``classifier`` (traits as data: ``memory_depth``, ``stochastic``,
    ``nice`` = never the first to *intend* a defection, ``makes_use_of``) and implement
    :meth:`act`. Parameters are declared by :meth:`parameters` (name -> default) and are
    checked by :meth:`check_params`; instances are immutable once built.
    """

    name: ClassVar[str] = ""
    #: The equivalent Axelrod library class, ``None`` when there is none.
    axelrod_name: ClassVar[str | None] = None
    classifier: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {"memory_depth": math.inf, "stochastic": False, "nice": False, "makes_use_of": frozenset()}
    )

    def __init__(self, **params: Any) -> None:
        defaults = self.parameters()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            known = ", ".join(defaults) or "none"
            raise UsageError(
                f"strategy {self.name!r} has no parameter {unknown[0]!r}"
                f"{did_you_mean(unknown[0], defaults)} (parameters: {known})"
            )
        merged = {**defaults, **params}
        self.check_params(merged)
        self._params: dict[str, Any] = merged

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """Tunable parameters and their defaults."""
        return {}

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`UsageError` naming the parameter when a value is not allowed."""

    @property
    def params(self) -> Mapping[str, Any]:
        return MappingProxyType(self._params)

    @property
    def traits(self) -> Mapping[str, Any]:
        """This instance's classifier (parameters can change a class's traits, e.g. memory)."""
        return self.classifier

    def for_game(self, game: Game) -> ClassicStrategy:
        """The strategy to play in ``game``: ``self``, or a copy with game-derived defaults."""
        return self

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        """Intended moves at ``turn`` (0-based), before noise: a bool array [repetitions], or
        one bool meaning the same move in every repetition (cheaper for constant moves)."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """The name, with the parameters that differ from their defaults: ``grit(k=8)``."""
        defaults = self.parameters()
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items() if v != defaults[k])
        return f"{self.name}({args})" if args else self.name

    def __repr__(self) -> str:
        return self.label

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._params == other._params

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self._params.items()))))


_REGISTRY: dict[str, type[ClassicStrategy]] = {}
_ALIASES: dict[str, str] = {}
#: Registered classic strategies by name (read-only view; add with :func:`register`).
CLASSIC_STRATEGIES: Mapping[str, type[ClassicStrategy]] = MappingProxyType(_REGISTRY)

_S = TypeVar("_S", bound=type[ClassicStrategy])


def register(*aliases: str) -> Callable[[_S], _S]:
    """Class decorator: make a strategy available by its ``name`` (and short ``aliases``)."""

    def deco(cls: _S) -> _S:
        if not cls.name:
            raise ValueError("a registered strategy needs a name")
        taken = [n for n in (cls.name, *aliases) if n in _REGISTRY or n in _ALIASES]
        if taken:
            raise ValueError(f"strategy name {taken[0]!r} is already registered")
        cls.classifier = MappingProxyType({**ClassicStrategy.classifier, **cls.classifier})
        _REGISTRY[cls.name] = cls
        _ALIASES.update(dict.fromkeys(aliases, cls.name))
        return cls

    return deco


def select_strategies(**traits: Any) -> list[str]:
    """Registered names whose traits match every given one: ``select_strategies(stochastic=False)``.

    Besides the classifier keys, ``axelrod=True`` selects strategies with an Axelrod counterpart.
    """
    out = []
    for name, cls in _REGISTRY.items():
        data = {**cls.classifier, "axelrod": cls.axelrod_name is not None}
        if all(data.get(k) == v for k, v in traits.items()):
            out.append(name)
    return out


_SPEC = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def get_strategy(spec: str | ClassicStrategy, **params: Any) -> ClassicStrategy:
    """A strategy from a name or alias, with optional parameters: ``"grit(k=8)"``, ``"tft"``.

    Keyword ``params`` override those in the text. Unknown names raise :class:`UsageError`
    listing the registered names and the closest match.
    """
    if isinstance(spec, ClassicStrategy):
        return type(spec)(**{**spec.params, **params}) if params else spec
    if not isinstance(spec, str):
        raise UsageError(f"a strategy is a name or a ClassicStrategy, got {spec!r}")
    m = _SPEC.match(spec)
    if m is None:
        raise UsageError(f"cannot read strategy {spec!r}: write name or name(key=value, ...)")
    name, args = m.group(1), m.group(2)
    key = name.lower()
    cls = _REGISTRY.get(key) or _REGISTRY.get(_ALIASES.get(key, ""))
    if cls is None:
        raise UsageError(
            f"unknown strategy {name!r}{did_you_mean(key, [*_REGISTRY, *_ALIASES])} "
            f"(registered: {', '.join(_REGISTRY)})"
        )
    parsed: dict[str, Any] = {}
    for item in filter(None, (a.strip() for a in (args or "").split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"strategy {spec!r}: write parameters as key=value")
        parsed[k.strip()] = _parse_value(v.strip())
    return cls(**{**parsed, **params})


def parse_strategy_list(text: str) -> list[ClassicStrategy]:
    """``"tft,grudger,gtft(q=0.1)"`` -> strategies; commas inside parentheses do not split."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    names = [i.strip() for i in items if i.strip()]
    if not names:
        raise UsageError("no strategies given")
    return [get_strategy(n) for n in names]


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


@register("allc")
class Cooperator(ClassicStrategy):
    """Always C."""

    name = "cooperator"
    axelrod_name = "Cooperator"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 0, "nice": True}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        return True


@register("alld")
class Defector(ClassicStrategy):
    """Always D."""

    name = "defector"
    axelrod_name = "Defector"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 0}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        return False


@register()
class Alternator(ClassicStrategy):
    """C first, then the opposite of its *own* last played move (C, D, C, D, ... without noise)."""

    name = "alternator"
    axelrod_name = "Alternator"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 1}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        return True if turn == 0 else ~own.moves[turn - 1]


@register("tft")
class TitForTat(ClassicStrategy):
    """C first, then the opponent's last played move."""

    name = "tit-for-tat"
    axelrod_name = "TitForTat"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 1, "nice": True}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        return True if turn == 0 else other.moves[turn - 1]


@register("grim", "grim-trigger")
class Grudger(ClassicStrategy):
    """C until the opponent has played D once (noise included), then D for ever."""

    name = "grudger"
    axelrod_name = "Grudger"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": math.inf, "nice": True}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        clean: BoolArray = other.cooperations == turn
        return clean


@register("tf2t")
class TitForTwoTats(ClassicStrategy):
    """D only when the opponent's last two moves were both D (so C on the first two turns)."""

    name = "tit-for-two-tats"
    axelrod_name = "TitFor2Tats"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 2, "nice": True}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        if turn < 2:
            return True
        either: BoolArray = other.moves[turn - 1] | other.moves[turn - 2]
        return either


@register("stft")
class SuspiciousTitForTat(ClassicStrategy):
    """D first, then the opponent's last played move."""

    name = "suspicious-tit-for-tat"
    axelrod_name = "SuspiciousTitForTat"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 1}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        return False if turn == 0 else other.moves[turn - 1]


@register("wsls", "pavlov")
class WinStayLoseShift(ClassicStrategy):
    """C first; then C if both last moves were equal (CC or DD), else D (Pavlov).

    "Win" means the last payoff was R or T: keep the move; after S or P, switch it.
    """

    name = "win-stay-lose-shift"
    axelrod_name = "WinStayLoseShift"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": 1, "nice": True}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        if turn == 0:
            return True
        same: BoolArray = own.moves[turn - 1] == other.moves[turn - 1]
        return same


@register("gtft")
class GenerousTitForTat(ClassicStrategy):
    """C first; after the opponent's C, C; after its D, C with probability ``q`` (else D).

    ``q=None`` (the default) takes q* = :func:`gtft_q` of the game being played, clipped to
    [0, 1], as Axelrod's ``GTFT`` does; 1/3 for the standard prisoner's dilemma.
    ``q=0`` is tit-for-tat.
    """

    name = "generous-tit-for-tat"
    axelrod_name = "GTFT"
    classifier: ClassVar[Mapping[str, Any]] = {
        "memory_depth": 1,
        "stochastic": True,
        "nice": True,
        "makes_use_of": frozenset({"game"}),
    }

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"q": None}

    def check_params(self, params: Mapping[str, Any]) -> None:
        q = params["q"]
        if q is None:
            return
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
            raise UsageError(f"generous-tit-for-tat: q must be in [0, 1], got {q!r}")

    def for_game(self, game: Game) -> ClassicStrategy:
        if self.params["q"] is not None:
            return self
        q = min(1.0, max(0.0, gtft_q(game.R, game.S, game.T, game.P)))
        return GenerousTitForTat(q=q)

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        if turn == 0:
            return True
        q = self.params["q"]
        if q is None:  # pragma: no cover - the engine always calls for_game first
            raise UsageError("generous-tit-for-tat: q is unset; call for_game(game) first")
        last: BoolArray = other.moves[turn - 1]
        if q == 0:
            return last
        forgive: BoolArray = rng.random(last.shape[0]) < q
        return last | forgive


@register()
class Grit(ClassicStrategy):
    """Osgood's GRIT, reduced to the repeated game: C unilaterally for the first ``k`` turns
    whatever the opponent does, then tit-for-tat.

    GRIT has no canonical formal model (THEORY.md 1.2). This version keeps two of its features
    that a 2×2 game can express: unilateral concessions sustained for a while without
    reciprocation (patience ``k``), then proportionate reciprocity (one D for one D). The
    other features (announcement, capped concession size, invitation to reciprocate) need the
    agreement model; see the ``grit`` strategy of the agreement simulator. ``k=0`` is
    tit-for-tat. No Axelrod counterpart.
    """

    name = "grit"
    classifier: ClassVar[Mapping[str, Any]] = {"memory_depth": math.inf, "nice": True}

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"k": 5}

    def check_params(self, params: Mapping[str, Any]) -> None:
        k = params["k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise UsageError(f"grit: k must be a whole number >= 0, got {k!r}")

    @property
    def traits(self) -> Mapping[str, Any]:
        # Seeing whether fewer than k moves have been made needs a memory of k moves.
        return {**self.classifier, "memory_depth": max(1, int(self.params["k"]))}

    def act(self, own: History, other: History, turn: int, rng: np.random.Generator) -> Move:
        if turn < self.params["k"] or turn == 0:
            return True
        last: BoolArray = other.moves[turn - 1]
        return last


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
