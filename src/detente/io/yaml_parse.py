"""YAML text to plain data, recording the file position of every key and value.

YAML is composed into nodes with the safe loader (libyaml when available), then turned into
plain data by :func:`_to_data`, which records where every key and value stands. Only the
standard YAML tags are accepted (no Python tags); alias expansion is measured on the parser's
events before anything is built, so a billion-laughs file (or a recursive alias) is refused at
once. The size limits (:data:`MAX_BYTES`, :data:`MAX_VALUES`, :data:`MAX_NODES`) live here.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from ..core.errors import Loc, Problem, ScenarioError
from ..core.limits import MAX_ABS_NUMBER, MAX_INT_DIGITS
from .plain_yaml import read_plain

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


def _finish_parse(data: Any, out: _Located, source: str) -> tuple[Any, _Located]:
    if not isinstance(data, dict):
        message = (
            "expected a mapping of sections (name, parties, concessions, ...) at the top level, "
            f"found {_found(data, out.texts.get(()))}"
        )
        problems = [*out.problems, Problem(message, (), source, 1, 1)]
        raise ScenarioError(problems, source)
    return data, out
