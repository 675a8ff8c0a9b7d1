"""The classic repeated 2×2 games and their strategies (see :mod:`detente.simulation.classic`).

The payoff tables (:class:`Game`), the histories a strategy sees (:class:`History`), the
strategy base class and its registry, and the built-in strategies, each following Axelrod's
definition move for move (``grit`` has no Axelrod counterpart). A move is a boolean,
``True`` = cooperate (C), ``False`` = defect (D), vectorised over repetitions.

Strategies are stateless: everything a strategy may condition on is in the two
:class:`History` objects the engine passes, so one instance can play both sides of a match and
any number of matches. Users add strategies by subclassing :class:`ClassicStrategy` and
decorating the class with :func:`register`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError, did_you_mean

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: What a strategy returns: one move per repetition, or one bool meaning "the same in all".
Move = BoolArray | bool
Seed = int | np.random.SeedSequence | None


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
