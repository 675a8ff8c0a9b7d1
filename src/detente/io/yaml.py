"""Loading and dumping scenario files, with every error mapped to its file, line and column.

YAML is composed into nodes with the safe loader (libyaml when available), then turned into
plain data by :func:`_to_data`, which records where every key and value stands. Only the
standard YAML tags are accepted (no Python tags); alias expansion is measured on the parser's
events before anything is built, so a billion-laughs file (or a recursive alias) is refused at
once; files over :data:`MAX_BYTES` are refused before they are read. Validation problems
from pydantic and from the scenario's own checks are mapped back to lines through the
recorded positions.

Every problem is reported at once. When some values fail their type checks, the scenario is
validated a second time without them (see :func:`_salvage`), so that the reference, range
and schedule checks still run on everything else.
"""

from __future__ import annotations

import copy
import importlib.resources
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..core.errors import Loc, Problem, ScenarioError, UsageError, did_you_mean
from ..core.limits import MAX_ABS_NUMBER, MAX_INT_DIGITS
from ..core.scenario import LENIENT_CONTEXT, Lenient, Scenario
from .actors import expand_actors, uses_actors
from .plain_yaml import read_plain

__all__ = [
    "MAX_BYTES",
    "MAX_NODES",
    "MAX_VALUES",
    "builtin_cases",
    "case_path",
    "dump",
    "dumps",
    "load",
    "loads",
    "scenario_from_data",
]

#: Files larger than this are refused before they are read.
MAX_BYTES = 10 * 1024 * 1024
#: Documents that write more values than this are refused before they are composed (a
#: scenario with 200 concessions and 500 steps has about 8,000).
MAX_VALUES = 200_000
#: Documents that expand (through aliases) to more values than this are refused.
MAX_NODES = 1_000_000

try:  # libyaml is much faster; fall back to the pure-Python composer
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_YAML_TAG = "tag:yaml.org,2002:"
_STANDARD_TAGS = {
    _YAML_TAG + "str",
    _YAML_TAG + "int",
    _YAML_TAG + "float",
    _YAML_TAG + "bool",
    _YAML_TAG + "null",
    _YAML_TAG + "timestamp",
}
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Positions = dict[Loc, tuple[int, int]]


class _Located:
    """Plain data plus where each key and value stands in the file."""

    def __init__(self) -> None:
        self.values: Positions = {}
        self.keys: Positions = {}
        #: The text of plain scalars that YAML read as something else (``NO`` -> false).
        self.texts: dict[Loc, str] = {}
        self.problems: list[Problem] = []

    def find(self, loc: Loc, *, key: bool = False) -> tuple[int, int] | None:
        """The position of ``loc``, or of its closest ancestor that has one."""
        if key and loc in self.keys:
            return self.keys[loc]
        for n in range(len(loc), -1, -1):
            pos = self.values.get(loc[:n])
            if pos is not None:
                return pos
        return None


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


#: Where an alias could start (``*name`` after a space or ``[{,:``); ``a * b`` does not match.
_MAYBE_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[^\s\[\]{},]")


def _mark(event: yaml.Event) -> tuple[int | None, int | None]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _measure(text: str, source: str) -> None:
    """Refuse a document that is too big to compose, before composing it.

    One pass over the parser's events counts the values written and, through the anchors'
    sizes, the values the document expands to, without expanding anything: an alias bomb
    (a billion laughs in a few lines), a recursive alias (an anchor used inside itself,
    which never ends) or hundreds of thousands of values are refused at once. Text without
    aliases and shorter than :data:`MAX_VALUES` characters cannot be too big, and is not
    measured. Syntax errors are left to the composer, which reports them with positions.
    """
    if len(text) <= MAX_VALUES and not _MAYBE_ALIAS.search(text):
        return
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    open_anchors: list[str | None] = []  # anchors of the collections being read
    totals: list[int] = []  # values so far in each collection being read
    written = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                open_anchors.append(event.anchor)
                totals.append(1)
                size = 0
            elif isinstance(event, yaml.CollectionEndEvent):
                size = totals.pop()
                anchor = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = size
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise _refuse(
                        "expected a finite document, found a recursive alias "
                        f"(*{event.anchor} is used inside &{event.anchor} itself); refused",
                        source,
                        *_mark(event),
                    )
                # an unknown anchor counts 1: the composer reports it
                size = sizes.get(event.anchor, 1) if event.anchor is not None else 1
            else:
                continue
            if not isinstance(event, yaml.CollectionEndEvent):
                written += 1
                if written > MAX_VALUES:
                    raise _refuse(
                        f"expected at most {MAX_VALUES:,} values in a scenario file, found more; refused",
                        source,
                        *_mark(event),
                    )
            if totals and size:
                totals[-1] += size
                if totals[-1] > MAX_NODES:
                    raise _refuse(
                        f"expected at most {MAX_NODES:,} values once aliases are expanded, found "
                        "more (an alias bomb?); refused",
                        source,
                        *_mark(event),
                    )
    except yaml.YAMLError:
        return


def _tag_problem(tag: str, loc: Loc, node: yaml.Node) -> Problem:
    return Problem(
        f"expected a plain YAML value, found the tag {_show_tag(tag)!r} "
        "(scenario files use no tags: no Python objects, sets, binary data or custom types)",
        loc,
        None,
        *_pos(node),
    )


def _scalar(node: yaml.ScalarNode, loc: Loc, out: _Located, *, key: bool = False) -> Any:
    tag = node.tag
    if tag not in _STANDARD_TAGS:
        out.problems.append(_tag_problem(tag, loc, node))
        return None
    if tag == _YAML_TAG + "timestamp":
        return node.value
    if tag == _YAML_TAG + "int" and len(node.value) > MAX_INT_DIGITS:
        # Python refuses to convert more than 4,300 digits; any this long is over the size limit
        out.problems.append(
            Problem(
                f"expected a finite number of magnitude at most {MAX_ABS_NUMBER:g} (the number-size limit), "
                f"found a {sum(ch.isdigit() for ch in node.value)}-digit number",
                loc,
                None,
                *_pos(node),
            )
        )
        return None
    value = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
    if not key and _over_size_limit(value):
        out.problems.append(Problem(_too_big_message(value), loc, None, *_pos(node)))
        return None
    if not key and not isinstance(value, str) and not node.style:
        out.texts[loc] = node.value
    return value


def _over_size_limit(value: Any) -> bool:
    """A finite number over the number-size limit (non-finite ones are the model's to refuse)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) > MAX_ABS_NUMBER
    )


def _too_big_message(value: float) -> str:
    return (
        f"expected a finite number of magnitude at most {MAX_ABS_NUMBER:g} (the number-size limit: larger "
        f"values overflow the analyses), found {value:g}"
    )


def _to_data(node: yaml.Node, loc: Loc, out: _Located) -> Any:
    out.values[loc] = _pos(node)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, loc, out)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _YAML_TAG + "seq":
            out.problems.append(_tag_problem(node.tag, loc, node))
        return [_to_data(item, (*loc, i), out) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        if node.tag != _YAML_TAG + "map":
            out.problems.append(_tag_problem(node.tag, loc, node))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line, col = _pos(key_node)
            if key_node.tag == _YAML_TAG + "merge":
                message = "merge keys (<<) are not supported; write the keys out"
                out.problems.append(Problem(message, loc, None, line, col))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                found = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                out.problems.append(Problem(f"expected a plain key, found {found}", loc, None, line, col))
                continue
            key = _scalar(key_node, loc, out, key=True)
            if key is None:
                if key_node.tag in _STANDARD_TAGS:  # an empty or ~ key (a bad tag is reported)
                    message = "expected a key, found nothing (an empty or null key)"
                    out.problems.append(Problem(message, loc, None, line, col))
                continue
            if not isinstance(key, str):
                # ids such as NO or 1 are read as text: parties and parameters are names
                key = key_node.value
            if key in result:
                first = out.keys.get((*loc, key))
                where = f" (first at line {first[0]})" if first else ""
                out.problems.append(
                    Problem(
                        f"duplicate key {key!r}{where}; each key may appear once",
                        (*loc, key),
                        None,
                        line,
                        col,
                    )
                )
                continue
            out.keys[(*loc, key)] = (line, col)
            result[key] = _to_data(value_node, (*loc, key), out)
        return result
    raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover


def _refuse(message: str, source: str, line: int | None = None, col: int | None = None) -> ScenarioError:
    return ScenarioError([Problem(message, (), source, line, col)], source)


def _parse(text: str, source: str) -> tuple[Any, _Located]:
    out = _Located()
    if not text.strip():
        raise _refuse("expected a scenario (a mapping of sections), found an empty file", source, 1, 1)
    plain = read_plain(
        text,
        loader=_Loader,
        constructor=_CONSTRUCTOR,
        standard_tags=_STANDARD_TAGS,
        max_values=MAX_VALUES,
        max_int_digits=MAX_INT_DIGITS,
        max_abs=MAX_ABS_NUMBER,
    )
    if plain is not None:  # the common case, read in one pass
        data, out.values, out.keys, out.texts = plain
    else:
        data = _compose(text, source, out)
    out.problems = [Problem(p.message, p.loc, source, p.line, p.column) for p in out.problems]
    return _finish_parse(data, out, source)


def _compose(text: str, source: str, out: _Located) -> Any:
    """The general path: measure, compose into nodes, walk them (every problem with its position)."""
    _measure(text, source)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "not valid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise _refuse(f"not valid YAML: {what}{ctx}", source, line, col) from None
    except yaml.YAMLError as exc:
        raise _refuse(f"not valid YAML: {exc}", source) from None
    except RecursionError:
        raise _refuse("not valid YAML: nested too deeply", source) from None
    if root is None:
        raise _refuse("expected a scenario (a mapping of sections), found only comments", source, 1, 1)
    try:
        return _to_data(root, (), out)
    except RecursionError:
        raise _refuse("not valid YAML: nested too deeply", source) from None


def _finish_parse(data: Any, out: _Located, source: str) -> tuple[Any, _Located]:
    if not isinstance(data, dict):
        message = (
            "expected a mapping of sections (name, parties, concessions, ...) at the top level, "
            f"found {_found(data, out.texts.get(()))}"
        )
        problems = [*out.problems, Problem(message, (), source, 1, 1)]
        raise ScenarioError(problems, source)
    return data, out


# --------------------------------------------------------------------------- error mapping


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


def _found(value: Any, text: str | None = None) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, dict):
        return "a mapping"
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, str):
        return repr(value if len(value) < 60 else value[:57] + "...")
    elif isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    else:
        shown = repr(value)
    if text is not None and text.lower() != shown.lower():
        return f"{text} (which YAML reads as {shown})"
    return shown


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


# --------------------------------------------------------------------------- second pass


def _get(data: Any, loc: Loc) -> Any:
    node = data
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _delete(data: Any, loc: Loc) -> None:
    parent = _get(data, loc[:-1])
    if isinstance(parent, dict):
        parent.pop(loc[-1], None)


def _replace(data: Any, loc: Loc, value: Any) -> None:
    parent = _get(data, loc[:-1])
    key = loc[-1]
    in_list = isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent)
    if in_list or isinstance(parent, dict):
        typing.cast(Any, parent)[key] = value


def _salvage(
    data: dict[str, Any],
    errors: list[tuple[Loc, str]],
    renames: dict[tuple[Loc, str], str],
    where: _Located | None,
) -> list[Problem]:
    """The semantic problems of ``data`` once the values that failed validation are removed.

    Values with a type error are removed (or, when required, replaced by a stand-in), and
    every check that could depend on them is skipped: problems inside a damaged party,
    concession, step or parameter are not reported, references to them still resolve.
    Returns [] when too much is missing to say anything more.
    """
    fixed = copy.deepcopy(data)
    for (parent, old), new in renames.items():
        node = _get(fixed, parent)
        if isinstance(node, dict) and old in node and new not in node:
            node[new] = node.pop(old)
    renamed = {(*parent, old) for parent, old in renames} | {(*parent, new) for (parent, _), new in renames.items()}
    hidden: set[Loc] = set()  # problems at or under these locations are not reported
    items: set[Loc] = set()  # damaged parties and concessions
    steps: dict[Loc, str | None] = {}
    params: set[str] = set()
    all_params = dims = False
    for loc, kind in errors:
        if loc in renamed and kind in ("extra_forbidden", "missing"):
            continue
        if not loc:
            return []
        head = loc[0]
        if head in ("parties", "concessions"):
            if len(loc) < 2 or not isinstance(loc[1], int):
                return []
            items.add(loc[:2])
            if len(loc) >= 3:
                _delete(fixed, loc[:3])
            else:
                _replace(fixed, loc, {})
        elif head in ("schedule", "schedules"):
            depth = 2 if head == "schedule" else 3
            if len(loc) < depth:
                _delete(fixed, loc)
                hidden.add(loc)
                continue
            step = loc[:depth]
            concession = _get(data, (*step, "concession"))
            steps[step] = concession if isinstance(concession, str) else None
            _replace(fixed, step, {"period": 0, "concession": "?"})
        elif head == "parameters":
            if len(loc) < 2:
                all_params = True
                _delete(fixed, loc)
            else:
                params.add(str(loc[1]))
                _delete(fixed, loc[:2])
            hidden.add(loc[:2])
        elif head == "dimensions":
            dims = True
            _delete(fixed, ("dimensions",))
            hidden.add(("dimensions",))
        elif head in ("design", "sources"):
            part = loc[:3] if len(loc) >= 3 and loc[1] == "tranches" else loc[:2]
            _delete(fixed, part)
            hidden.add(part)
        else:  # name, period, description, or an unknown top-level key
            _delete(fixed, loc[:1])
            hidden.add(loc[:1])
    if not (isinstance(fixed.get("parties"), list) and isinstance(fixed.get("concessions"), list)):
        return []
    party_ids = [p["id"] for p in fixed["parties"] if isinstance(p, dict) and isinstance(p.get("id"), str)]
    damaged: set[str] = set()
    for section, index in sorted(items):
        assert isinstance(section, str)
        assert isinstance(index, int)
        node = _get(fixed, (section, index))
        if not isinstance(node, dict):
            return []
        if not isinstance(node.get("id"), str):
            # a stand-in id, so that references to the item still resolve
            item = _get(data, (section, index))
            raw = item.get("id") if isinstance(item, dict) else item
            text = where.texts.get((section, index, "id")) if where else None
            if isinstance(raw, str | int | float):
                node["id"] = text or str(raw)
            else:
                node["id"] = f"<{section.rstrip('s')} {index + 1}>"
        if section == "parties":
            node.setdefault("discount", 0.5)
        else:
            damaged.add(node["id"])
            if "by" not in node:
                if not party_ids:
                    return []
                node["by"] = party_ids[0]
        hidden.add((section, index))
    lenient = Lenient(
        params=frozenset(params),
        all_params=all_params,
        concessions=frozenset(damaged),
        steps=steps,
        dimensions=dims,
    )
    hidden |= set(steps)
    try:
        Scenario.model_validate(fixed, context={LENIENT_CONTEXT: lenient})
    except ScenarioError as exc:
        found = exc.problems
    except Exception:  # best effort: the first pass has already found real problems
        return []
    else:
        return []
    back = {(*parent, new): (*parent, old) for (parent, old), new in renames.items()}
    out: list[Problem] = []
    for problem in found:
        loc = problem.loc
        if any(loc[: len(h)] == h for h in hidden):
            continue
        for new_loc, old_loc in back.items():
            if loc[: len(new_loc)] == new_loc:
                loc = (*old_loc, *loc[len(new_loc) :])
        out.append(Problem(problem.message, loc))
    return out


def scenario_from_data(data: Any, source: str | None = None, where: _Located | None = None) -> Scenario:
    """Validate plain data into a Scenario, mapping every problem to ``where``."""
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(f"expected a mapping at the top level, found {_found(data)}", (), source)],
            source,
        )
    # a case's actor profiles become parameters first (see io/actors.py)
    actor_problems: list[Problem] = []
    context: dict[str, Lenient] = {}
    if uses_actors(data):
        data = dict(data)
        before = set(data["parameters"]) if isinstance(data.get("parameters"), dict) else set()
        actor_problems = expand_actors(data)
        after = set(data["parameters"]) if isinstance(data.get("parameters"), dict) else set()
        if before - after:  # parameters whose profile is missing: their uses are not judged
            context = {LENIENT_CONTEXT: Lenient(params=frozenset(str(n) for n in before - after))}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        problems, errors, renames = _problems_from_validation(exc, data, where)
        problems += _salvage(data, errors, renames, where)
        raise ScenarioError(_locate(actor_problems + problems, where, source), source) from None
    except ScenarioError as exc:
        raise ScenarioError(_locate(actor_problems + exc.problems, where, source), source) from None
    if actor_problems:
        raise ScenarioError(_locate(actor_problems, where, source), source)
    return scenario


# --------------------------------------------------------------------------- public API


def builtin_cases() -> dict[str, str]:
    """Built-in case names mapped to their one-line titles."""
    root = importlib.resources.files("detente.cases")
    cases = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            title = ""
            for line in entry.read_text(encoding="utf-8").splitlines():
                if line.startswith("name:"):
                    title = line.split(":", 1)[1].strip().strip("'\"")
                    break
            cases[entry.name[: -len(".yaml")]] = title
    return cases


def case_path(name: str) -> Any:
    """The packaged file of built-in case ``name`` (a Traversable)."""
    entry = importlib.resources.files("detente.cases").joinpath(f"{name}.yaml")
    if not entry.is_file():
        names = builtin_cases()
        raise UsageError(
            f"no file or built-in case named {name!r}{did_you_mean(name, names)}; built-in cases: {', '.join(names)}"
        )
    return entry


def _too_big(size: int, source: str) -> ScenarioError:
    return _refuse(
        f"expected a file of at most {MAX_BYTES // 2**20} MB, found {size / 2**20:.1f} MB; refused without reading it",
        source,
    )


def loads(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML text; problems name ``source`` and their lines."""
    if len(text) * 4 > MAX_BYTES:  # only then can the UTF-8 size be over the limit
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > MAX_BYTES:
            raise _too_big(size, source)
    data, where = _parse(text, source)
    if not where.problems:
        return scenario_from_data(data, source, where)
    # YAML-level problems (tags, duplicate keys, ...): report them with everything else
    problems = list(where.problems)
    try:
        scenario_from_data(data, source, where)
    except ScenarioError as exc:
        reported = [p.loc for p in problems]
        problems += [p for p in exc.problems if not any(p.loc[: len(r)] == r for r in reported)]
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    raise ScenarioError(problems, source)


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise _refuse(
            f"expected UTF-8 text, found the byte 0x{data[exc.start]:02x} (save the file as UTF-8)",
            source,
            line,
            col,
        ) from None


def load(path_or_name: str | os.PathLike[str] | Scenario) -> Scenario:
    """Load a scenario from a file path or a built-in case name (``"hanoi-2019"``)."""
    if isinstance(path_or_name, Scenario):
        return path_or_name
    raw = os.fspath(path_or_name)
    path = Path(raw)
    if path.is_file():
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _too_big(size, raw)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{raw}: cannot read the file ({exc.strerror})") from None
        if len(data) > MAX_BYTES:  # it grew since stat()
            raise _too_big(len(data), raw)
        return loads(_decode(data, raw), raw)
    if path.exists():
        raise UsageError(f"{raw}: not a file")
    looks_like_path = any(sep in raw for sep in ("/", os.sep)) or raw.endswith((".yaml", ".yml"))
    if looks_like_path:
        raise UsageError(f"{raw}: no such file")
    entry = case_path(raw)
    return loads(entry.read_text(encoding="utf-8"), f"{raw} (built-in)")


def dumps(scenario: Scenario) -> str:
    """The scenario as YAML text that :func:`loads` reads back to an equal scenario."""
    text: str = yaml.safe_dump(scenario.to_data(), sort_keys=False, allow_unicode=True, width=100)
    return text


def dump(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write the scenario to ``path`` as YAML; returns the path."""
    out = Path(path)
    out.write_text(dumps(scenario), encoding="utf-8")
    return out
