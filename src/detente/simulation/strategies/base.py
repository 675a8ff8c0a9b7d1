"""The strategy contract, the registry, and the view of an episode batch that strategies get.

A strategy decides, for every episode of a batch at once, which of its party's due steps to
perform and which of its concessions to undo. It sees only what its party has observed
(:class:`View`), never the truth. Traits are data (``classifier``), as in the Axelrod library,
so collections can be filtered (``registry.select(side="sender")``). Users add strategies by
subclassing :class:`Strategy` and decorating the class with :func:`register`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ...core.errors import UsageError, did_you_mean

__all__ = ["REGISTRY", "Decision", "Strategy", "View", "make_strategy", "register", "strategy_names"]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class View:
    """What one party knows at the start of period ``t``, for every episode of a batch.

    Arrays are shaped [episodes, ...]. ``steps_*`` describe the schedule (one entry per step);
    ``own_steps``/``own_concessions`` mark this party's. Observations are those made by the end
    of period t - 1: ``seen_performed[e, s]`` (another party's step s has been seen done),
    ``breach_now[e, p]`` (a breach by party p is currently reported: an overdue step seen and
    not yet seen repaired, an undoing seen, or a false alarm this period) and
    ``breach_ever[e, p]`` (such a report has been received at some point).
    """

    t: int
    party: int
    n_episodes: int
    step_period: IntArray  # [S]
    step_concession: IntArray  # [S]
    step_giver: IntArray  # [S]
    step_amount: FloatArray  # [S]
    own_steps: BoolArray  # [S]
    own_concessions: BoolArray  # [K]
    reversible: BoolArray  # [K]
    fragile: BoolArray  # [K]
    due: BoolArray  # [E, S] scheduled at or before t and not yet performed
    in_force: FloatArray  # [E, K] amount in force at the start of t
    undone: BoolArray  # [E, K] an undoing has been decided
    seen_performed: BoolArray  # [E, S]
    breach_now: BoolArray  # [E, P]
    breach_ever: BoolArray  # [E, P]
    crisis: BoolArray  # [E]

    @property
    def others(self) -> BoolArray:
        """Mask over parties of everyone but this party."""
        mask = np.ones(self.breach_now.shape[1], dtype=bool)
        mask[self.party] = False
        return mask

    def others_breach_now(self) -> BoolArray:
        return np.asarray(self.breach_now[:, self.others].any(axis=1))

    def others_breach_ever(self) -> BoolArray:
        return np.asarray(self.breach_ever[:, self.others].any(axis=1))

    def own_due(self) -> BoolArray:
        """[E, S]: this party's steps that are due."""
        return np.asarray(self.due & self.own_steps[None, :])

    def own_due_on_time(self) -> BoolArray:
        """[E, S]: this party's steps scheduled exactly now and not yet performed."""
        return np.asarray(self.own_due() & (self.step_period == self.t)[None, :])

    def undo_fragile(self, who: BoolArray) -> BoolArray:
        """[E, K]: undo this party's fragile concessions in force, in the episodes ``who``."""
        can = self.own_concessions & self.fragile
        if not can.any() or not who.any():
            return np.zeros(self.undone.shape, bool)
        return who[:, None] & can[None, :] & (self.in_force > 0) & ~self.undone

    def undo_reversible(self, who: BoolArray) -> BoolArray:
        """[E, K]: undo every reversible concession of this party in force (fragile or not)."""
        can = self.own_concessions & self.reversible
        if not can.any() or not who.any():
            return np.zeros(self.undone.shape, bool)
        return who[:, None] & can[None, :] & (self.in_force > 0) & ~self.undone

    def nothing(self) -> tuple[BoolArray, BoolArray]:
        E = self.n_episodes
        return np.zeros((E, self.step_period.size), bool), np.zeros((E, self.fragile.size), bool)


Decision = tuple[BoolArray, BoolArray]


class Strategy:
    """Base class of simulation strategies; see the module docstring.

    Subclasses set ``name`` and ``classifier`` and implement :meth:`decide`. Per-batch state is
    created in :meth:`reset` (called before every batch of episodes), so one instance can be
    reused, copied and pickled. Random draws use only the Generator passed to ``reset``.
    """

    name: ClassVar[str] = ""
    classifier: ClassVar[dict[str, Any]] = {
        "stochastic": False,
        "memory_depth": math.inf,
        "side": "any",  # "any", "sender" (imposes sanctions) or "target"
        "reneges": False,  # may undo concessions without having seen a breach
    }
    #: Per-period growth of sanctions pressure while this strategy is played (maximum pressure).
    pressure_growth: float = 0.0

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.parameters())
        if unknown:
            name = sorted(unknown)[0]
            known = ", ".join(self.parameters()) or "none"
            raise UsageError(f"strategy {self.name!r} has no parameter {name!r} (parameters: {known})")
        for key, value in params.items():
            _check_param(self.name, key, value, self.parameters()[key])
        self.params = {**self.parameters(), **params}
        self.rng: np.random.Generator = np.random.default_rng(0)

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """Tunable parameters and their defaults."""
        return {}

    def reset(self, setup: Any, party: int, n_episodes: int, rng: np.random.Generator) -> None:
        """Prepare for a new batch of ``n_episodes`` episodes."""
        self.rng = rng

    def decide(self, view: View) -> Decision:
        """(perform[E, S], undo[E, K]) for this period; the engine masks them to what is allowed."""
        raise NotImplementedError

    def stationary_from(self, t: int) -> bool:
        """True when, from period ``t`` on, decisions depend only on what has been observed
        (not on the period itself). The engine then fast-forwards periods in which nothing can
        change any more. The default is the safe answer for user strategies: False."""
        return False

    def clone(self) -> Strategy:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if v != self.parameters()[k])
        return f"{self.name}({args})" if args else self.name


def _check_param(strategy: str, key: str, value: Any, default: Any) -> None:
    """A parameter must have its default's type: a whole number for an int, a finite number for a float."""
    where = f"strategy {strategy!r}: parameter {key!r}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UsageError(f"{where} expects true or false, found {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{where} expects a whole number, found {value!r}")
        if not 0 <= value <= 10**6:
            raise UsageError(f"{where} expects a whole number from 0 to 1,000,000, found {value}")
    elif isinstance(default, float) and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise UsageError(f"{where} expects a finite number, found {value!r}")


REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its ``name`` everywhere."""
    if not cls.name:
        raise ValueError("a registered strategy needs a name")
    merged = {**Strategy.classifier, **cls.classifier}
    cls.classifier = merged
    REGISTRY[cls.name] = cls
    return cls


def strategy_names(**traits: Any) -> list[str]:
    """Registered names whose classifier matches every given trait (``side="sender"``)."""
    out = []
    for name, cls in REGISTRY.items():
        if all(cls.classifier.get(k) == v or cls.classifier.get(k) == "any" for k, v in traits.items()):
            out.append(name)
    return out


def make_strategy(spec: str | Strategy) -> Strategy:
    """A strategy from its name, optionally with parameters: ``grit(k=4)`` or ``reciprocal``."""
    if isinstance(spec, Strategy):
        return spec.clone()
    text = spec.strip()
    params: dict[str, Any] = {}
    if "(" in text and text.endswith(")"):
        text, _, args = text[:-1].partition("(")
        for item in filter(None, (a.strip() for a in args.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"strategy {spec!r}: write parameters as name=value")
            params[key.strip()] = _parse_value(value.strip())
    cls = REGISTRY.get(text.strip())
    if cls is None:
        raise UsageError(
            f"unknown strategy {text!r}{did_you_mean(text, REGISTRY)} (registered: {', '.join(sorted(REGISTRY))})"
        )
    return cls(**params)


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def iter_registry() -> Iterator[tuple[str, type[Strategy]]]:
    yield from sorted(REGISTRY.items())


Factory = Callable[[], Strategy]
