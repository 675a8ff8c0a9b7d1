"""Pydantic validation errors and scenario problems mapped back to file positions.

:func:`_problems_from_validation` turns each pydantic error into one :class:`Problem` naming the
field in the reader's words (expected type, the value found, a did-you-mean for unknown keys);
:func:`_locate` attaches the line and column recorded while parsing (see
:mod:`detente.io.yaml_parse`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import Loc, Problem, did_you_mean
from ..core.scenario import Scenario
from .yaml_parse import _found, _Located


def _strip(tp: Any) -> list[Any]:
    """The alternatives of a type: ``Annotated`` and ``None`` removed, unions split."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _strip(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [a for arg in typing.get_args(tp) for a in _strip(arg) if a is not type(None)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_at(loc: Loc) -> list[Any]:
    """The types that the value at ``loc`` is validated against (empty when unknown)."""
    current: list[Any] = [Scenario]
    for part in loc:
        following: list[Any] = []
        for tp in current:
            origin = typing.get_origin(tp)
            args = typing.get_args(tp)
            if _is_model(tp) and isinstance(part, str):
                field = tp.model_fields.get(part)
                if field is not None:
                    following += _strip(field.annotation)
            elif origin in (tuple, list) and isinstance(part, int) and args:
                following += _strip(args[0])
            elif origin is dict and isinstance(part, str) and len(args) == 2:
                following += _strip(args[1])
        current = following
        if not current:
            break
    return current


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that the mapping at ``loc`` is validated against."""
    for tp in _type_at(loc):
        if _is_model(tp):
            return typing.cast(type[BaseModel], tp)
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Loc:
    """Drop the parts of a pydantic location that are not keys or indexes of the data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str):
            model = _model_at(tuple(out))
            if model is not None and part in model.model_fields:
                out.append(part)  # a missing key
                node = None
    return tuple(out)


#: What a required key holds, for "missing required key" messages.
_REQUIRED = {
    "parties": "a list of parties, e.g. [{id: US, discount: 0.9}]",
    "concessions": "a list of concessions, e.g. [{id: relief, by: US, flow: {US: -1}}]",
    "id": "an id",
    "by": "the id of the party that makes the concession",
    "discount": "a discount factor in (0, 1)",
    "period": "a period (0, 1, 2, ...)",
    "concession": "a concession id",
    "value": "a number (the best value)",
}

_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "iterable_type": "a list",
    "dict_type": "a mapping (key: value)",
    "mapping_type": "a mapping (key: value)",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_too_short": "a non-empty text",
    "string_too_long": "a text of at most 200 characters",
}


def _expected_model(model: type[BaseModel]) -> str:
    keys = ", ".join(model.model_fields)
    if model.__name__ == "Reversibility":
        return f"true, false or a mapping with the keys {keys}"
    return f"a mapping with the keys {keys}"


def _unknown_key(key: str, parent: Loc) -> tuple[str, str | None]:
    """The message for an unknown key, and the key it was probably meant to be."""
    model = _model_at(parent)
    choices = list(model.model_fields) if model else []
    hint = did_you_mean(key, choices)
    if hint:
        return f"unknown key {key!r}{hint}", hint.split("'")[1]
    known = f" (expected one of: {', '.join(choices)})" if choices else ""
    return f"unknown key {key!r}{known}", None


def _problems_from_validation(
    exc: ValidationError, data: Any, where: _Located | None = None
) -> tuple[list[Problem], list[tuple[Loc, str]], dict[tuple[Loc, str], str]]:
    """Problems for a pydantic error, the (location, error type) pairs, and likely renames."""
    problems: list[Problem] = []
    errors: list[tuple[Loc, str]] = []
    guesses: dict[tuple[Loc, str], str] = {}
    missing: set[Loc] = set()
    texts = where.texts if where else {}
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        kind = err["type"]
        value = err.get("input")
        errors.append((loc, kind))
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            msg, guess = _unknown_key(key, loc[:-1])
            if guess is not None:
                guesses[(loc[:-1], key)] = guess
        elif kind == "missing":
            key = str(loc[-1]) if loc else "?"
            what = _REQUIRED.get(key)
            msg = f"missing required key {key!r}" + (f": expected {what}" if what else "")
            missing.add(loc)
        elif kind in ("value_error", "assertion_error"):
            msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind in ("model_type", "model_attributes_type") and _model_at(loc) is not None:
            model = _model_at(loc)
            assert model is not None
            msg = f"expected {_expected_model(model)}, found {_found(value, texts.get(loc))}"
        elif kind == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", ""))
            options = [part.strip(" '") for part in expected.replace(" or ", ",").split(",")]
            hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
            msg = f"expected {expected}, found {_found(value, texts.get(loc))}{hint}"
        else:
            words = _TYPE_WORDS.get(kind)
            if words is None:
                text = str(err["msg"])
                words = (text[0].lower() + text[1:]) if text else "a different value"
                words = words.removeprefix("input should be ")
            expected = words
            msg = f"expected {expected}, found {_found(value, texts.get(loc))}"
            if kind == "string_type" and loc in texts and not isinstance(value, str):
                msg += f"; write '{texts[loc]}' in quotes to make it text"
        problems.append(Problem(msg, loc))
    # "unknown key 'concesions'; did you mean 'concessions'?" explains the missing key
    renames = {k: new for k, new in guesses.items() if (*k[0], new) in missing}
    explained = {(*parent, new) for (parent, _), new in renames.items()}
    problems = [p for p in problems if p.loc not in explained or not p.message.startswith("missing")]
    return problems, errors, renames


def _locate(problems: list[Problem], where: _Located | None, source: str | None) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[Loc, str]] = set()
    for p in problems:
        if (p.loc, p.message) in seen:
            continue
        seen.add((p.loc, p.message))
        is_key = p.message.startswith(("unknown key", "duplicate key"))
        pos = where.find(p.loc, key=is_key) if where else None
        out.append(Problem(p.message, p.loc, source, *(pos or (None, None))))
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0))
