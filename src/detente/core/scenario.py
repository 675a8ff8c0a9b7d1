"""The scenario model of docs/model.md §1, §2 and §6: parties, concessions, schedules.

The parts are defined in :mod:`detente.core.models` and re-exported here; this module adds
:class:`Scenario` itself: the semantic checks on construction, parameters and what-ifs.

Every class here is a frozen pydantic model. Construction checks types and shapes (pydantic),
then :func:`scenario_problems` (:mod:`detente.core.validation`) checks everything that needs
the whole scenario: references, prerequisite cycles, numeric ranges after resolving
expressions at the parameters' best values, and schedule totals. An invalid :class:`Scenario`
cannot exist: construction raises :class:`~detente.core.errors.ScenarioError` listing every
problem found.

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
from functools import cached_property
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from .errors import Loc, Problem, ScenarioError, UsageError, did_you_mean
from .expr import Expr
from .limits import MAX_HORIZON
from .models import DEMAND_FORMS as DEMAND_FORMS
from .models import EPS as EPS
from .models import Claim as Claim
from .models import Concession as Concession
from .models import Demand as Demand
from .models import DesignSpec as DesignSpec
from .models import Environment as Environment
from .models import Float as Float
from .models import FMap as FMap
from .models import FrozenDict as FrozenDict
from .models import Hazard as Hazard
from .models import Id as Id
from .models import Int as Int
from .models import Num as Num
from .models import Parameter as Parameter
from .models import Party as Party
from .models import Reversibility as Reversibility
from .models import Sanctions as Sanctions
from .models import ScenarioFields as ScenarioFields
from .models import Schedule as Schedule
from .models import Shock as Shock
from .models import Step as Step
from .models import Text as Text
from .models import Verification as Verification
from .outcome import outcome_problems
from .validation import LENIENT_CONTEXT as LENIENT_CONTEXT
from .validation import Lenient as Lenient
from .validation import semantic_problems

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


class Scenario(ScenarioFields):
    """A whole scenario: who, what, which agreements, and the parameters behind the numbers."""

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


def scenario_problems(scn: Scenario, lenient: Lenient | None = None) -> list[Problem]:
    """Every semantic problem of ``scn`` (references, cycles, ranges, schedule totals, outcome).

    ``lenient`` names values already known to be bad, whose checks are skipped.
    """
    return semantic_problems(scn, lenient) + outcome_problems(scn)
