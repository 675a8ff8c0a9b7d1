"""The scenario model of MODEL.md sections 1, 2 and 6: parties, concessions, schedules.

Every class here is a frozen pydantic model. Construction checks types and shapes (pydantic),
then :func:`scenario_problems` checks everything that needs the whole scenario: references,
prerequisite cycles, numeric ranges after resolving expressions at the parameters' best
values, and schedule totals. An invalid :class:`Scenario` cannot exist: construction raises
:class:`~detente.core.errors.ScenarioError` listing every problem found.

Numbers may be written as expressions over ``parameters`` (``"pressure * (1 - leakage)"``).
They stay expressions in the model, so a scenario can be dumped back as written;
:meth:`Scenario.resolve` gives a copy with plain numbers for one assignment of the parameters.

A scenario is immutable all the way down: the models are frozen and their mappings are
:class:`FrozenDict`; what-ifs are copies (:meth:`Scenario.with_fields`, ``model_copy``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .errors import Loc, Problem, ScenarioError, UsageError, did_you_mean
from .expr import Expr, ExpressionError, parse_expression
from .limits import MAX_CONCESSIONS, MAX_DELAY, MAX_HORIZON, MAX_LAG, MAX_PARTIES
from .outcome import Kind, Outcome, outcome_problems

__all__ = [
    "DEMAND_FORMS",
    "LENIENT_CONTEXT",
    "MAX_HORIZON",
    "Concession",
    "Demand",
    "DesignSpec",
    "FrozenDict",
    "Lenient",
    "Parameter",
    "Party",
    "Reversibility",
    "Scenario",
    "Step",
    "Verification",
    "scenario_problems",
]

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
    """Something one party (``by``) does for the others; see MODEL.md section 1."""

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
    """Inputs for the schedule designer (MODEL.md section 4)."""

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
    party's domestic clock (MODEL.md section 5): the consecutive periods up to now in which it
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
    """What the simulation models outside the agreement (MODEL.md section 5)."""

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


class Scenario(_Model):
    """A whole scenario: who, what, which agreements, and the parameters behind the numbers."""

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

    @model_validator(mode="after")
    def _semantics(self, info: ValidationInfo) -> Scenario:
        context = info.context if isinstance(info.context, Mapping) else {}
        lenient = context.get(LENIENT_CONTEXT)
        problems = scenario_problems(self, lenient if isinstance(lenient, Lenient) else None)
        if self.demands:
            from .demands import demand_problems

            problems += demand_problems(self)
        if problems:
            raise ScenarioError(problems)
        return self

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

    # ---------------------------------------------------------------- parameters

    def parameter_values(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Best values of every parameter, with ``overrides`` applied."""
        values = {name: p.value for name, p in self.parameters.items()}
        for name, value in (overrides or {}).items():
            if name not in values:
                raise UsageError(
                    f"unknown parameter {name!r}{did_you_mean(name, values)}; parameters: {', '.join(values) or 'none'}"
                )
            values[name] = float(value)
        return values

    def resolve(self, overrides: Mapping[str, float | str] | None = None) -> Scenario:
        """A copy with every expression replaced by its number.

        ``overrides`` maps parameter names to values, or dotted field paths to values or
        expressions: ``{"leakage": 0.6, "DPRK.discount": 0.97, "relief.flow.DPRK": "2*x"}``.
        A field path starts with a party id, a concession id or a top-level key. The result
        is validated again, so an override that breaks the scenario raises ScenarioError.
        """
        params: dict[str, float] = {}
        fields: dict[str, float | str] = {}
        for key, value in (overrides or {}).items():
            if "." in key:
                fields[key] = value
            elif key in self.parameters:
                params[key] = _override_number(key, value)
            else:
                known = ", ".join(self.parameters) or "none"
                raise UsageError(
                    f"unknown parameter {key!r}{did_you_mean(key, self.parameters)} "
                    f"(parameters: {known}; a field is written PARTY.field or CONCESSION.field)"
                )
        base = self.with_fields(fields) if fields else self
        env = base.parameter_values(params)
        data = _resolve_tree(base, env)
        data["parameters"] = {
            name: {**p.model_dump(exclude_defaults=True), "value": env[name]} for name, p in base.parameters.items()
        }
        return Scenario.model_validate(data)

    def with_overrides(self, overrides: Mapping[str, float | str], flag: str = "--set") -> Scenario:
        """What-ifs as analysts write them, kept as a scenario (parameters stay parameters).

        ``NAME=VALUE`` sets a parameter's value (a value outside its range widens the range, so
        sweeps still cover it); ``PARTY.field`` or ``CONCESSION.field`` sets a field, which may be
        an expression. ``flag`` names the option in error messages (``--set``, ``set=``).
        """
        fields = {k: v for k, v in overrides.items() if "." in k}
        params = {k: v for k, v in overrides.items() if "." not in k}

        def where(key: str) -> str:
            return f"{flag}{key}" if flag.endswith("=") else f"{flag} {key}"

        for key, value in params.items():
            if key not in self.parameters:
                raise UsageError(
                    f"{where(key)}: unknown parameter{did_you_mean(key, self.parameters)} (parameters: "
                    f"{', '.join(self.parameters) or 'none'}; a field is written PARTY.field or CONCESSION.field)"
                )
            if isinstance(value, str):
                raise UsageError(f"{where(key)}: expected a number, found {value!r}")
        scn = self.with_fields(fields, flag) if fields else self
        if not params:
            return scn
        data = scn.to_data()
        for key, value in params.items():
            entry = data["parameters"][key]
            entry["value"] = value
            rng = entry.get("range")
            if rng is not None and not rng[0] <= float(value) <= rng[1]:
                entry["range"] = [min(rng[0], float(value)), max(rng[1], float(value))]
        return _revalidate(data, flag, list(overrides))

    def with_fields(self, fields: Mapping[str, float | str], flag: str = "--set") -> Scenario:
        """A copy with dotted field paths set (``DPRK.discount``, ``relief.flow.US``)."""
        data = self.to_data()
        for path, value in fields.items():
            _set_path(data, path, value, self)
        return _revalidate(data, flag, list(fields))

    @property
    def is_resolved(self) -> bool:
        return not any(True for _ in _iter_exprs(self))

    # ---------------------------------------------------------------- identity

    def to_data(self) -> dict[str, Any]:
        """Plain data as it would be written to a file (expressions as text)."""
        data = self.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        for c in data.get("concessions", ()):
            if c.get("reversible") == {}:
                c["reversible"] = True  # reads better than ``reversible: {}``
        return data

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the scenario: the provenance of every result."""
        blob = json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- resolution


def _revalidate(data: dict[str, Any], flag: str, keys: list[str]) -> Scenario:
    """``Scenario.model_validate(data)`` after what-ifs: a value the model refuses (an unknown
    field, an infinite number) is a :class:`UsageError` naming the option, never a traceback."""
    sep = "" if flag.endswith("=") else " "
    try:
        return Scenario.model_validate(data)
    except ScenarioError as exc:  # a semantic problem the what-if made (a lag over its limit, ...)
        tail = f" (after {flag}{sep}{', '.join(keys)})"
        problems = [Problem(p.message + tail, p.loc, p.file, p.line, p.column) for p in exc.problems]
        raise ScenarioError(problems, exc.source) from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(part) for part in err["loc"])
            if err["type"] == "extra_forbidden":
                what = f"unknown field {str(err['loc'][-1])!r}"
            else:
                what = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}: {what}")
        shown = "; ".join(lines[:5]) + (f" (and {len(lines) - 5} more)" if len(lines) > 5 else "")
        raise UsageError(f"{flag}{sep}{', '.join(keys)}: {shown}") from None


def _override_number(key: str, value: float | str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--set {key}: expected a number, found {value!r}") from None
    if not math.isfinite(number):
        raise UsageError(f"--set {key}: expected a finite number, found {value!r}")
    return number


def _resolve_tree(model: BaseModel, env: Mapping[str, float]) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, Expr):
            return float(value.evaluate(env))
        if isinstance(value, BaseModel):
            return {
                name: walk(getattr(value, name))
                for name in type(value).model_fields
                if name in value.model_fields_set or name == "reversible"
            }
        if isinstance(value, tuple | list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    out = walk(model)
    assert isinstance(out, dict)
    return out


def _iter_exprs(model: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Expr]]:
    """Every expression in ``model`` with its field path."""
    if isinstance(model, Expr):
        yield loc, model
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from _iter_exprs(getattr(model, name), (*loc, name))
    elif isinstance(model, tuple | list):
        for i, v in enumerate(model):
            yield from _iter_exprs(v, (*loc, i))
    elif isinstance(model, dict):
        for k, v in model.items():
            yield from _iter_exprs(v, (*loc, k))


def _set_path(data: dict[str, Any], path: str, value: float | str, scn: Scenario) -> None:
    parts = path.split(".")
    head, rest = parts[0], parts[1:]
    if head in scn.party_ids:
        node: Any = data["parties"][scn.party_ids.index(head)]
    elif head in scn.concession_ids:
        node = data["concessions"][scn.concession_ids.index(head)]
    elif head in Scenario.model_fields and rest:
        node, rest = data.setdefault(head, {}), rest
    else:
        choices = [*scn.party_ids, *scn.concession_ids]
        raise UsageError(
            f"--set {path}: {head!r} is not a party, a concession or a section{did_you_mean(head, choices)}"
        )
    if not rest:
        raise UsageError(f"--set {path}: name a field, e.g. {head}.discount or {head}.flow.X")
    for part in rest[:-1]:
        if not isinstance(node, dict):
            raise UsageError(f"--set {path}: {part!r} is not a section")
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if not isinstance(node, dict):
        raise UsageError(f"--set {path}: cannot set a field there")
    try:
        node[rest[-1]] = float(value)
    except (TypeError, ValueError):
        node[rest[-1]] = value


# --------------------------------------------------------------------------- semantics

#: Key of the pydantic validation context that carries a :class:`Lenient`.
LENIENT_CONTEXT = "detente.lenient"


@dataclass(frozen=True)
class Lenient:
    """What the semantic checks must not judge, because its value is already known to be bad.

    The file layer validates a scenario a second time after removing the values that failed
    their type checks, so that one bad number does not hide every other problem. Checks that
    would depend on a removed value are skipped rather than reported twice or wrongly.
    """

    #: Parameters whose value is unknown (expressions using them are not evaluated).
    params: frozenset[str] = frozenset()
    #: Every parameter is unknown (the ``parameters`` section itself was bad).
    all_params: bool = False
    #: Concessions with a removed field (their divisibility and prerequisites are unknown).
    concessions: frozenset[str] = frozenset()
    #: Steps to ignore, by location (``("schedule", 3)``), with their concession if known.
    steps: Mapping[Loc, str | None] = field(default_factory=dict)
    #: The ``dimensions`` list was bad: dimension names cannot be checked.
    dimensions: bool = False


class _Checker:
    """Collects every semantic problem of a scenario (see :func:`scenario_problems`)."""

    def __init__(self, scn: Scenario, lenient: Lenient | None = None) -> None:
        self.scn = scn
        self.lenient = lenient or Lenient()
        self.problems: list[Problem] = []
        self.env = {name: p.value for name, p in scn.parameters.items()}

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(message, loc))

    def number(self, value: float | int | Expr, loc: Loc) -> float | None:
        if not isinstance(value, Expr):
            return float(value)
        if self.lenient.all_params or value.names & self.lenient.params:
            return None
        unknown = sorted(value.names - self.env.keys())
        if unknown:
            name = unknown[0]
            known = ", ".join(self.env) or "none are defined"
            hint = did_you_mean(name, self.env)
            if value.source == name:
                message = f"expected a number or a parameter, found {name!r}, which is neither"
            else:
                message = f"unknown parameter {name!r} in {value.source!r}"
            self.add(loc, f"{message}{hint} (parameters: {known})")
            return None
        try:
            return float(value.evaluate(self.env))
        except ExpressionError as exc:
            self.add(loc, str(exc))
            return None

    def whole(self, value: int | Expr, loc: Loc, what: str, low: int = 0, high: int | None = None) -> int | None:
        number = self.number(value, loc)
        if number is None:
            return None
        if abs(number - round(number)) > EPS:
            self.add(loc, f"expected a whole number of periods for {what}, found {number:g}")
            return None
        if round(number) < low:
            self.add(loc, f"expected {what} >= {low}, found {number:g}")
            return None
        if high is not None and round(number) > high:
            self.add(loc, f"expected {what} of at most {high:,} (the limit), found {number:,.0f}")
            return None
        return round(number)

    def unknown_dimension(self, loc: Loc, dim: str, dims: set[str]) -> None:
        if dim in dims or self.lenient.dimensions:
            return
        self.add(
            loc,
            f"unknown dimension {dim!r}{did_you_mean(dim, dims)} "
            f"(dimensions: {', '.join(sorted(dims)) or 'none declared'})",
        )

    def run(self) -> list[Problem]:
        scn = self.scn
        self.check_parameters()
        dims = set(scn.dimensions)
        self.unique(scn.dimensions, ("dimensions",), "dimension")
        party_ids = [p.id for p in scn.parties]
        conc_ids = [c.id for c in scn.concessions]
        if not scn.parties:
            self.add(("parties",), "expected at least one party, found none")
        if not scn.concessions:
            self.add(("concessions",), "expected at least one concession, found none")
        if len(scn.concessions) > MAX_CONCESSIONS:
            self.add(
                ("concessions",), f"expected at most {MAX_CONCESSIONS:,} concessions, found {len(scn.concessions):,}"
            )
        if len(scn.parties) > MAX_PARTIES:
            self.add(("parties",), f"expected at most {MAX_PARTIES} parties, found {len(scn.parties):,}")
        self.unique(party_ids, ("parties",), "party id", "id")
        self.unique(conc_ids, ("concessions",), "concession id", "id")
        for i, cid in enumerate(conc_ids):
            if cid in party_ids:
                self.add(("concessions", i, "id"), f"{cid!r} is already a party id; use another id")
        for i, p in enumerate(scn.parties):
            d = self.number(p.discount, ("parties", i, "discount"))
            if d is not None and not 0.0 < d < 1.0:
                self.add(("parties", i, "discount"), f"expected a discount in (0, 1), found {d:g}")
            for dim, w in p.weights.items():
                self.unknown_dimension(("parties", i, "weights", dim), dim, dims)
                self.number(w, ("parties", i, "weights", dim))
        pset = set(party_ids)
        cset = set(conc_ids)  # built once: a set per concession made validation quadratic
        for i, c in enumerate(scn.concessions):
            self.check_concession(i, c, pset, dims, cset)
        self.check_cycles()
        if scn.schedule is not None:
            self.check_schedule(scn.schedule, ("schedule",))
            if "default" in scn.schedules:
                self.add(
                    ("schedules", "default"),
                    "the name 'default' belongs to the 'schedule:' section; rename this schedule",
                )
        for name, sched in scn.schedules.items():
            self.check_schedule(sched, ("schedules", name))
        if scn.design is not None:
            self.check_design(scn.design)
        if scn.environment is not None:
            self.check_environment(scn.environment, pset)
        self.unique([c.id for c in scn.claims], ("claims",), "claim id", "id")
        return self.problems

    def check_environment(self, env: Environment, parties: set[str]) -> None:
        def party(loc: Loc, pid: str) -> None:
            if pid not in parties:
                self.add(
                    loc, f"unknown party {pid!r}{did_you_mean(pid, parties)} (parties: {', '.join(sorted(parties))})"
                )

        def probability(loc: Loc, value: float | int | Expr) -> None:
            p = self.number(value, loc)
            if p is not None and not 0.0 <= p <= 1.0:
                self.add(loc, f"expected a probability in [0, 1], found {p:g}")

        if env.sanctions is not None:
            sanc = env.sanctions
            party(("environment", "sanctions", "target"), sanc.target)
            if sanc.sender is not None:
                party(("environment", "sanctions", "sender"), sanc.sender)
                if sanc.sender == sanc.target:
                    self.add(("environment", "sanctions", "sender"), "the sender cannot be the target")
            pressure = self.number(sanc.pressure, ("environment", "sanctions", "pressure"))
            if pressure is not None and pressure < 0:
                self.add(("environment", "sanctions", "pressure"), f"expected a pressure >= 0, found {pressure:g}")
            probability(("environment", "sanctions", "leakage"), sanc.leakage)
        for pid, hz in env.hazard.items():
            party(("environment", "hazard", pid), pid)
            probability(("environment", "hazard", pid, "base"), hz.base)
            growth = self.number(hz.growth, ("environment", "hazard", pid, "growth"))
            if growth is not None and growth < 0:
                self.add(("environment", "hazard", pid, "growth"), f"expected a growth >= 0, found {growth:g}")
            if hz.enough is not None:
                enough = self.number(hz.enough, ("environment", "hazard", pid, "enough"))
                if enough is not None and enough <= 0:
                    self.add(("environment", "hazard", pid, "enough"), f"expected an enough > 0, found {enough:g}")
        for pid, value in env.crisis.items():
            party(("environment", "crisis", pid), pid)
            self.number(value, ("environment", "crisis", pid))
        for i, shock in enumerate(env.shocks):
            loc: Loc = ("environment", "shocks", i)
            if (shock.at is None) == (shock.probability is None):
                self.add(loc, "a shock needs exactly one of 'at' (a period) or 'probability' (per period)")
            if shock.at is not None:
                self.whole(shock.at, (*loc, "at"), "a period")
            if shock.probability is not None:
                probability((*loc, "probability"), shock.probability)
            for name, value in shock.set.items():
                if name not in self.env:
                    self.add((*loc, "set", name), f"unknown parameter {name!r}{did_you_mean(name, self.env)}")
                self.number(value, (*loc, "set", name))
        if len(env.shocks) > 4:
            self.add(("environment", "shocks"), f"at most 4 shocks are supported, found {len(env.shocks)}")

    def unique(self, ids: Any, loc: Loc, what: str, key: str | None = None) -> None:
        seen: dict[str, int] = {}
        for i, x in enumerate(ids):
            if x in seen:
                where = (*loc, i, key) if key else (*loc, i)
                self.add(where, f"duplicate {what} {x!r} (first at {loc[0]}[{seen[x]}])")
            else:
                seen[x] = i

    def check_parameters(self) -> None:
        for name, p in self.scn.parameters.items():
            loc: Loc = ("parameters", name)
            if not name.isidentifier() or name in ("min", "max"):
                self.add(loc, f"parameter name {name!r} must be a plain identifier (letters, _)")
            if p.integer and not float(p.value).is_integer():
                self.add(
                    (*loc, "value"),
                    f"expected a whole number (integer: true), found {p.value:g}",
                )
            if p.range is not None:
                lo, hi = p.range
                if not lo <= p.value <= hi:
                    self.add(
                        (*loc, "value"),
                        f"expected the value inside its range [{lo:g}, {hi:g}], found {p.value:g}",
                    )

    def check_concession(self, i: int, c: Concession, parties: set[str], dims: set[str], concs: set[str]) -> None:
        loc: Loc = ("concessions", i)
        listed = f" (parties: {', '.join(sorted(parties))})"
        if c.by not in parties:
            self.add((*loc, "by"), f"unknown party {c.by!r}{did_you_mean(c.by, parties)}{listed}")
        for key in ("flow", "once"):
            for pid, v in getattr(c, key).items():
                if pid not in parties:
                    hint = did_you_mean(pid, parties)
                    self.add((*loc, key, pid), f"unknown party {pid!r}{hint}{listed}")
                self.number(v, (*loc, key, pid))
        for pid, effects in c.effects.items():
            if pid not in parties:
                hint = did_you_mean(pid, parties)
                self.add((*loc, "effects", pid), f"unknown party {pid!r}{hint}{listed}")
            if pid in c.flow:
                self.add(
                    (*loc, "effects", pid),
                    f"party {pid!r} has both a flow and effects; give one or the other",
                )
            for dim, v in effects.items():
                self.unknown_dimension((*loc, "effects", pid, dim), dim, dims)
                self.number(v, (*loc, "effects", pid, dim))
        if c.reversible is not None:
            self.whole(c.reversible.delay, (*loc, "reversible", "delay"), "a delay", high=MAX_DELAY)
            cost = self.number(c.reversible.cost, (*loc, "reversible", "cost"))
            if cost is not None and cost < 0:
                self.add((*loc, "reversible", "cost"), f"expected a cost >= 0, found {cost:g}")
        lag = self.whole(c.verification_lag, (*loc, "verification_lag"), "a verification lag", high=MAX_LAG)
        if c.verification is not None:
            v = c.verification
            vlag = self.whole(v.lag, (*loc, "verification", "lag"), "a verification lag", high=MAX_LAG)
            explicit = "lag" in v.model_fields_set and "verification_lag" in c.model_fields_set
            if explicit and lag is not None and vlag is not None and lag != vlag:
                self.add(
                    (*loc, "verification", "lag"),
                    f"expected the same lag as verification_lag ({lag}), found {vlag}; give the lag in one place only",
                )
            for key in ("detect", "false_alarm"):
                prob = self.number(getattr(v, key), (*loc, "verification", key))
                if prob is not None and not 0.0 <= prob <= 1.0:
                    self.add(
                        (*loc, "verification", key),
                        f"expected a probability in [0, 1], found {prob:g}",
                    )
        for j, req in enumerate(c.requires):
            if req == c.id:
                self.add((*loc, "requires", j), f"{c.id!r} cannot require itself")
            elif req not in concs:
                self.add(
                    (*loc, "requires", j),
                    f"unknown concession {req!r}{did_you_mean(req, concs)}",
                )

    def check_cycles(self) -> None:
        """Report each prerequisite cycle once, by an iterative depth-first search (a chain of
        any length uses no recursion)."""
        graph = {c.id: [r for r in c.requires if r != c.id] for c in self.scn.concessions}
        index = {c.id: i for i, c in enumerate(self.scn.concessions)}
        state: dict[str, int] = {}  # 1: on the current path, 2: finished
        reported: set[frozenset[str]] = set()
        for root in graph:
            if root in state:
                continue
            path: list[str] = [root]
            on_path: dict[str, int] = {root: 0}
            todo: list[Iterator[str]] = [iter(graph[root])]
            state[root] = 1
            while todo:
                nxt = next(todo[-1], None)
                if nxt is None:
                    done = path.pop()
                    del on_path[done]
                    todo.pop()
                    state[done] = 2
                    continue
                if nxt not in graph:
                    continue
                if state.get(nxt) == 1:
                    cycle = [*path[on_path[nxt] :], nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.add(("concessions", index[nxt], "requires"), "prerequisite cycle: " + " -> ".join(cycle))
                elif nxt not in state:
                    state[nxt] = 1
                    on_path[nxt] = len(path)
                    path.append(nxt)
                    todo.append(iter(graph[nxt]))

    def check_schedule(self, steps: Schedule, loc: Loc) -> None:
        concs = {c.id: c for c in self.scn.concessions}
        loose = self.lenient.concessions
        # concessions whose timing in this schedule is unknown: prerequisites are not judged
        unsure: set[str | None] = {cid for sloc, cid in self.lenient.steps.items() if sloc[:-1] == loc}
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        periods: dict[str, list[tuple[int, float]]] = {}
        for j, step in enumerate(steps):
            sloc = (*loc, j)
            if sloc in self.lenient.steps:
                continue
            c = concs.get(step.concession)
            if c is None:
                self.add(
                    (*sloc, "concession"),
                    f"unknown concession {step.concession!r}{did_you_mean(step.concession, concs)}",
                )
            period = self.whole(step.period, (*sloc, "period"), "a period")
            if period is not None and period > MAX_HORIZON:
                self.add((*sloc, "period"), f"expected a period <= {MAX_HORIZON}, found {period}")
            amount = self.number(step.amount, (*sloc, "amount"))
            if amount is not None and not 0.0 < amount <= 1.0 + EPS:
                self.add((*sloc, "amount"), f"expected an amount in (0, 1], found {amount:g}")
                amount = None
            if c is None:
                continue
            if amount is None or period is None:
                unsure.add(c.id)
                continue
            partial_ok = c.divisible or c.id in loose
            if not partial_ok and abs(amount - 1.0) > EPS:
                self.add(
                    (*sloc, "amount"),
                    f"{c.id!r} is not divisible: expected amount 1 (the whole concession), found {amount:g}",
                )
            totals[c.id] = totals.get(c.id, 0.0) + amount
            counts[c.id] = counts.get(c.id, 0) + 1
            periods.setdefault(c.id, []).append((period, amount))
            if totals[c.id] > 1.0 + EPS:
                self.add(
                    (*sloc, "amount"),
                    f"expected the amounts of {c.id!r} to add up to at most 1, found {totals[c.id]:g}",
                )
            elif not partial_ok and counts[c.id] > 1:
                n = counts[c.id]
                self.add(sloc, f"{c.id!r} is not divisible: expected one step, found {n}")
        # prerequisites: every step of k comes after each prerequisite is complete
        if None in unsure:
            return
        for j, step in enumerate(steps):
            c = concs.get(step.concession)
            if c is None or not c.requires or c.id in loose or (*loc, j) in self.lenient.steps:
                continue
            period = _plain_whole(step.period, self.env)
            if period is None:
                continue
            for req in c.requires:
                if req in unsure or req not in concs:
                    continue
                done = _completion(periods.get(req, []))
                if done is None or done >= period:
                    when = "never complete" if done is None else f"complete only in period {done}"
                    self.add(
                        (*loc, j),
                        f"{c.id!r} requires {req!r} fully in force in an earlier period: "
                        f"expected {req!r} complete before period {period}, found it {when}",
                    )

    def check_design(self, design: DesignSpec) -> None:
        if design.horizon is not None:
            h = self.whole(design.horizon, ("design", "horizon"), "the horizon")
            if h is not None and h > MAX_HORIZON:
                self.add(("design", "horizon"), f"expected a horizon <= {MAX_HORIZON}, found {h}")
        concs = {c.id: c for c in self.scn.concessions}
        for cid, m in design.tranches.items():
            loc: Loc = ("design", "tranches", cid)
            c = concs.get(cid)
            if c is None:
                self.add(loc, f"unknown concession {cid!r}{did_you_mean(cid, concs)}")
            elif not c.divisible and m != 1 and cid not in self.lenient.concessions:
                self.add(
                    loc,
                    f"{cid!r} is not divisible: expected 1 tranche, found {m} (mark it 'divisible: true' to split it)",
                )
            if m < 1:
                self.add(loc, f"expected at least 1 tranche, found {m}")
            elif m > 64:
                self.add(loc, f"expected at most 64 tranches, found {m}")
        for cid, gap in design.pace.items():
            loc = ("design", "pace", cid)
            if cid not in concs:
                self.add(loc, f"unknown concession {cid!r}{did_you_mean(cid, concs)}")
            if gap < 1 or gap > MAX_HORIZON:
                self.add(loc, f"expected a pace of 1 to {MAX_HORIZON} periods between tranches, found {gap}")


def _plain_whole(value: int | Expr, env: Mapping[str, float]) -> int | None:
    """``value`` as a whole number, or None when it cannot be evaluated (reported elsewhere)."""
    if not isinstance(value, Expr):
        return int(value)
    try:
        number = float(value.evaluate(env))
    except ExpressionError:
        return None
    return round(number) if abs(number - round(number)) <= EPS else None


def _completion(steps: list[tuple[int, float]]) -> int | None:
    total = 0.0
    for period, amount in sorted(steps):
        total += amount
        if total >= 1.0 - EPS:
            return period
    return None


def scenario_problems(scn: Scenario, lenient: Lenient | None = None) -> list[Problem]:
    """Every semantic problem of ``scn`` (references, cycles, ranges, schedule totals).

    ``lenient`` names values already known to be bad, whose checks are skipped.
    """
    return _Checker(scn, lenient).run() + outcome_problems(scn)
