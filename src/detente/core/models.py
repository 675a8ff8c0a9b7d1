"""The parts of a scenario (docs/model.md §1, §2 and §6) as frozen pydantic models.

The number types (a number or an expression over ``parameters``), the parts (parties,
concessions, schedules, environment, claims, demands) and :class:`ScenarioFields`, the fields
and lookups of a whole scenario. Construction here checks types and shapes only; the checks
that need the whole scenario are in :mod:`detente.core.validation`, and
:class:`detente.core.scenario.Scenario` runs them whenever a scenario is built.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    field_validator,
)

from .errors import UsageError, did_you_mean
from .expr import Expr, ExpressionError, parse_expression
from .outcome import Kind, Outcome

#: Tolerance when comparing totals of amounts and integrality of resolved expressions.
EPS = 1e-9


# --------------------------------------------------------------------------- number types


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    return repr(value)


class _NotFinite(ValueError):
    """A number that is NaN, infinite or too large for a float."""


def _finite_float(value: int | float | str) -> float:
    """``float(value)``, refusing NaN, infinities and integers too large for a float.

    Raises :class:`_NotFinite` for those, and a plain ValueError for text that is no number.
    """
    try:
        number = float(value)
    except OverflowError:
        raise _NotFinite(f"expected a finite number, found {_kind(value)}") from None
    if not math.isfinite(number):
        shown = repr(value) if isinstance(value, str) else str(value)
        raise _NotFinite(f"expected a finite number, found {shown}")
    return number


def _to_num(value: object) -> float | Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number or an expression, found {_kind(value)}")
    if isinstance(value, int | float):
        return _finite_float(value)
    if isinstance(value, str):
        try:
            return _finite_float(value)
        except _NotFinite:
            raise
        except ValueError:
            pass  # not a number: an expression
        try:
            return parse_expression(value)
        except ExpressionError as exc:
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise ValueError(f"expected a number or an arithmetic expression, found {shown!r}: {exc}") from None
    raise ValueError(f"expected a number or an expression, found {_kind(value)}")


def _to_int(value: object) -> int | Expr:
    if isinstance(value, float) and math.isfinite(value) and value != int(value):
        raise ValueError(f"expected a whole number, found {value:g}")
    result = _to_num(value)
    if isinstance(result, Expr):
        return result
    if result != int(result):
        raise ValueError(f"expected a whole number, found {value!r}")
    return int(result)


def _to_float(value: object) -> float:
    """A plain finite number (a parameter's value or bound): no expressions, no booleans."""
    if isinstance(value, bool) or value is None or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, found {_kind(value)}")
    try:
        return _finite_float(value)
    except _NotFinite:
        raise
    except ValueError:
        raise ValueError(f"expected a number, found {_kind(value)}") from None


def _to_range(value: object) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        found = f"a list of {len(value)}" if isinstance(value, list | tuple) else _kind(value)
        raise ValueError(f"expected a range [low, high], found {found}")
    lo, hi = (_to_float(v) for v in value)
    if lo > hi:
        raise ValueError(f"expected a range [low, high] with low <= high, found [{lo:g}, {hi:g}]")
    return (lo, hi)


def _to_count(value: object) -> int:
    """A plain whole number (a number of tranches): no expressions, no booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a whole number, found {_kind(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"expected a whole number, found {value:g}")
    return int(value)


def _serialize_num(value: float | int | Expr) -> float | int | str:
    if isinstance(value, Expr):
        return value.source
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


_NUM_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "description": "an expression over parameters, e.g. 'a * (1 - b)'"},
    ]
}
_INT_SCHEMA = {
    "anyOf": [
        {"type": "integer"},
        {"type": "string", "description": "an expression over parameters"},
    ]
}

#: A real number or an expression over parameters.
Num = Annotated[
    float | Expr,
    PlainValidator(_to_num),
    PlainSerializer(_serialize_num),
    WithJsonSchema(_NUM_SCHEMA),
]
#: A whole number or an expression over parameters that must resolve to one.
Int = Annotated[
    int | Expr,
    PlainValidator(_to_int),
    PlainSerializer(_serialize_num),
    WithJsonSchema(_INT_SCHEMA),
]
#: A plain finite number (no expression).
Float = Annotated[float, PlainValidator(_to_float), WithJsonSchema({"type": "number"})]
Id = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Text = StrictStr

_K = TypeVar("_K")
_V = TypeVar("_V")


class FrozenDict(dict[_K, _V]):
    """A ``dict`` that refuses changes: the mappings inside a frozen scenario.

    It pickles, copies and compares like a dict, and hashes by its items.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            "a scenario cannot be changed in place; make a modified copy with "
            "Scenario.with_fields(...) or model_copy(update=...)"
        )

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _freeze(value: dict[_K, _V]) -> dict[_K, _V]:
    return FrozenDict(value)


#: A mapping that is read-only once validated.
FMap = Annotated[dict[_K, _V], AfterValidator(_freeze)]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        arbitrary_types_allowed=True,
        str_strip_whitespace=False,
        revalidate_instances="never",
    )


# --------------------------------------------------------------------------- the parts


class Parameter(_Model):
    """A named input with a best value, a plausible range and where it comes from.

    ``distribution`` shapes sampling over ``range``: ``uniform`` (default); ``triangular``
    with its mode at ``value``; ``normal`` with mean ``value`` and standard deviation a
    quarter of the range, truncated to the range. ``integer: true`` marks a count of periods
    (a lag, a delay): its value must be whole, and scans and samples take whole values only.
    """

    value: Float
    range: Annotated[tuple[float, float], BeforeValidator(_to_range)] | None = None
    distribution: Literal["uniform", "triangular", "normal"] = "uniform"
    integer: StrictBool = False
    unit: Text | None = None
    source: Text | None = None
    description: Text | None = None


class Party(_Model):
    """An actor that makes and receives concessions."""

    id: Id
    name: Text | None = None
    discount: Num
    weights: FMap[Id, Num] = Field(default_factory=FrozenDict)
    description: Text | None = None
    source: Text | None = None


class Reversibility(_Model):
    """How a concession is undone: decided at t, effective at t + delay, cost per unit."""

    delay: Int = 0
    cost: Num = 0.0


class Verification(_Model):
    """Imperfect observation: the check reads ``lag`` and ``detect``, the simulation all three."""

    lag: Int = 0
    detect: Num = 1.0
    false_alarm: Num = 0.0


def _reversible(value: object) -> object:
    if value is False or value is None:
        return None
    if value is True:
        return {}
    return value


class Concession(_Model):
    """Something one party (``by``) does for the others; see docs/model.md §1."""

    id: Id
    by: Id
    name: Text | None = None
    description: Text | None = None
    source: Text | None = None
    flow: FMap[Id, Num] = Field(default_factory=FrozenDict)
    once: FMap[Id, Num] = Field(default_factory=FrozenDict)
    effects: FMap[Id, FMap[Id, Num]] = Field(default_factory=FrozenDict)
    reversible: Reversibility | None = None
    verification_lag: Int = 0
    verification: Verification | None = None
    divisible: StrictBool = False
    requires: tuple[Id, ...] = ()
    #: What sort of step this is, from a fixed vocabulary (case library; see core/outcome.py).
    kind: Kind | None = None

    @field_validator("reversible", mode="before")
    @classmethod
    def _reversible_flag(cls, value: object) -> object:
        return _reversible(value)

    @property
    def label(self) -> str:
        """The human name when given, else the id."""
        return self.name or self.id

    @property
    def lag(self) -> Int:
        """The verification lag the check uses (``verification.lag`` when given)."""
        if self.verification is not None and "lag" in self.verification.model_fields_set:
            return self.verification.lag
        return self.verification_lag


class Step(_Model):
    """One step of a schedule: ``amount`` of ``concession`` implemented in ``period``."""

    period: Int
    concession: Id
    amount: Num = 1.0


class DesignSpec(_Model):
    """Inputs for the schedule designer (docs/model.md §4)."""

    horizon: Int | None = None
    tranches: FMap[Id, Annotated[int, PlainValidator(_to_count), WithJsonSchema({"type": "integer"})]] = Field(
        default_factory=FrozenDict
    )
    #: How fast a divisible concession can physically be carried out: the designer places its
    #: tranches at least this many periods apart (dismantling missiles takes time).
    pace: FMap[Id, Annotated[int, PlainValidator(_to_count), WithJsonSchema({"type": "integer"})]] = Field(
        default_factory=FrozenDict
    )


Schedule = tuple[Step, ...]


class Sanctions(_Model):
    """A sanctions regime on ``target``: its status-quo flow is ``-pressure * (1 - leakage)``.

    ``leakage`` in [0, 1] is the share of the bite a third party offsets (busting). ``sender``
    is the party that imposes the regime (``maximum-pressure`` is its strategy).
    """

    target: Id
    sender: Id | None = None
    pressure: Num = 1.0
    leakage: Num = 0.0


class Hazard(_Model):
    """Per-period probability of walking away into crisis: ``base + growth * n``, where n is the
    party's domestic clock (docs/model.md §5): the consecutive periods up to now in which it
    received nothing new from the process. A period resets the clock when another party
    performs a step that benefits it, or when the benefit in force from the others'
    concessions (their positive per-period flows to it) is at least ``enough``; without
    ``enough`` only new steps reset it."""

    base: Num = 0.0
    growth: Num = 0.0
    enough: Num | None = None


class Shock(_Model):
    """An event that sets parameters from a period on: at a date (``at``) or at random
    (``probability`` per period)."""

    name: Id
    at: Int | None = None
    probability: Num | None = None
    set: FMap[Id, Num] = Field(default_factory=FrozenDict)
    description: Text | None = None


class Environment(_Model):
    """What the simulation models outside the agreement (docs/model.md §5)."""

    sanctions: Sanctions | None = None
    hazard: FMap[Id, Hazard] = Field(default_factory=FrozenDict)
    crisis: FMap[Id, Num] = Field(default_factory=FrozenDict)
    shocks: tuple[Shock, ...] = ()


class Claim(_Model):
    """A statement to evaluate across the parameters' ranges (see docs/uncertainty.md).

    ``text`` says it in words, ``claim`` in the claim language; ``expect`` is what the source
    asserts (reports say plainly when the model disagrees); ``samples`` overrides the sample size.
    """

    id: Id
    text: Text
    claim: Text
    expect: StrictBool = True
    samples: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    source: Text | None = None


# --------------------------------------------------------------------------- demands

#: The forms a party's demand may take (see docs/zone.md).
DEMAND_FORMS = ("after", "in_force", "no_irreversible_before", "value_at_least", "completes_by")


class Demand(_Model):
    """A party's red line for the agreement zone (docs/zone.md), one of :data:`DEMAND_FORMS`:

    * ``after``: none of ``party``'s steps before ``share`` (default 1) of the other side's
      ``concession`` is in force and verified;
    * ``in_force``: at least ``share`` of ``concession`` in force by ``period``;
    * ``no_irreversible_before``: no irreversible step of ``party`` before ``period``;
    * ``value_at_least``: ``party``'s value from the deal, relative to no deal, at least ``value``;
    * ``completes_by``: the deal's last step at or before ``period``.
    """

    id: Id
    party: Id
    form: Literal["after", "in_force", "no_irreversible_before", "value_at_least", "completes_by"]
    concession: Id | None = None
    share: Num | None = None
    period: Int | None = None
    value: Num | None = None
    text: Text | None = None
    source: Text | None = None


class ScenarioFields(_Model):
    """The fields and lookups of a whole scenario, before its semantic checks (see :class:`Scenario`)."""

    name: Text = "untitled"
    description: Text | None = None
    period: Text = "period"
    sources: FMap[Id, Text] = Field(default_factory=FrozenDict)
    parameters: FMap[Id, Parameter] = Field(default_factory=FrozenDict)
    dimensions: tuple[Id, ...] = ()
    parties: tuple[Party, ...]
    concessions: tuple[Concession, ...]
    schedule: Schedule | None = None
    schedules: FMap[Id, Schedule] = Field(default_factory=FrozenDict)
    design: DesignSpec | None = None
    environment: Environment | None = None
    claims: tuple[Claim, ...] = ()
    demands: tuple[Demand, ...] = ()
    #: What happened (case library): read only by the backtest (see core/outcome.py).
    outcome: Outcome | None = None

    # ---------------------------------------------------------------- lookups

    @cached_property
    def party_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parties)

    @cached_property
    def concession_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.concessions)

    def party(self, pid: str) -> Party:
        for p in self.parties:
            if p.id == pid:
                return p
        raise UsageError(f"unknown party {pid!r}{did_you_mean(pid, self.party_ids)}")

    def concession(self, cid: str) -> Concession:
        for c in self.concessions:
            if c.id == cid:
                return c
        raise UsageError(f"unknown concession {cid!r}{did_you_mean(cid, self.concession_ids)}")

    @property
    def schedule_names(self) -> tuple[str, ...]:
        """The names of the schedules this scenario carries (``schedule`` is ``default``)."""
        names = list(self.schedules)
        if self.schedule is not None:
            names.insert(0, "default")
        return tuple(names)

    def get_schedule(self, name: str | None = None) -> Schedule:
        """The schedule called ``name``; without a name, the only one (or ``schedule:``)."""
        if name is None:
            if self.schedule is not None:
                return self.schedule
            if len(self.schedules) == 1:
                return next(iter(self.schedules.values()))
            if not self.schedules:
                raise UsageError(
                    f"scenario {self.name!r} has no schedule to check; add a 'schedule:' or "
                    "'schedules:' section, or let `detente design` find one"
                )
            raise UsageError(
                f"scenario {self.name!r} has several schedules; choose one with --schedule "
                f"NAME: {', '.join(self.schedules)}"
            )
        if name == "default" and self.schedule is not None:
            return self.schedule
        if name in self.schedules:
            return self.schedules[name]
        known = ", ".join(self.schedule_names) or "none"
        hint = did_you_mean(name, self.schedule_names)
        raise UsageError(f"no schedule named {name!r}{hint} (schedules: {known})")

    def iter_schedules(self) -> Iterator[tuple[str, Schedule]]:
        if self.schedule is not None:
            yield "default", self.schedule
        yield from self.schedules.items()
