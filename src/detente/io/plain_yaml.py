"""A one-pass reader for plain YAML: the common case of a scenario file, read fast.

Composing a YAML document into nodes (``yaml.compose``) and then walking the nodes costs
several times more than parsing it: every node gets Python objects for itself and its marks.
Scenario files are nearly always *plain*: one document, no anchors or aliases, no explicit
tags, scalar keys written once. :func:`read_plain` builds the data and the positions straight
from the parser's events in one loop, without recursion, for such a document; for anything
else (an alias, a tag, a duplicate or empty key, a syntax error, too many values, deep
nesting) it returns None, and the caller takes the general path, which reports every
problem with its position. Both paths give the same data and positions for a plain document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import yaml

from ..core.errors import Loc

__all__ = ["Plain", "read_plain"]

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_INT = _TAG + "int"
_NULL = _TAG + "null"
_TIMESTAMP = _TAG + "timestamp"
#: Deeper documents take the general path (which reports "nested too deeply").
MAX_PLAIN_DEPTH = 64

Plain = tuple[Any, dict[Loc, tuple[int, int]], dict[Loc, tuple[int, int]], dict[Loc, str]]


class _NotPlain(Exception):
    pass


def read_plain(
    text: str,
    *,
    loader: type,
    constructor: yaml.constructor.SafeConstructor,
    standard_tags: set[str],
    max_values: int,
    max_int_digits: int,
    max_abs: float,
) -> Plain | None:
    """``(data, value positions, key positions, texts)`` of a plain document, else None.

    Positions are 1-based ``(line, column)`` by location; ``texts`` holds the source text of
    plain scalars that YAML read as something other than text (``NO`` read as false).
    """
    try:
        return _read(text, loader, constructor, standard_tags, max_values, max_int_digits, max_abs)
    except (_NotPlain, yaml.YAMLError):
        return None


def _read(
    text: str,
    loader: type,
    constructor: yaml.constructor.SafeConstructor,
    standard_tags: set[str],
    max_values: int,
    max_int_digits: int,
    max_abs: float,
) -> Plain:
    resolver = yaml.resolver.Resolver()
    # (text, implicit) -> (tag, value): scalars repeat (ids, keys, small numbers); values are immutable
    known: dict[tuple[str, tuple[bool, bool]], tuple[str, Any]] = {}
    values: dict[Loc, tuple[int, int]] = {}
    keys: dict[Loc, tuple[int, int]] = {}
    texts: dict[Loc, str] = {}
    # one frame per open collection: [container, its location, the pending key or None, is a mapping]
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0
    count = 0
    scalar_event = yaml.ScalarEvent
    mapping_start = yaml.MappingStartEvent
    sequence_start = yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    events: Iterable[Any] = yaml.parse(text, Loader=loader)
    for event in events:
        kind = type(event)
        if kind is scalar_event:
            count += 1
            if event.anchor is not None or event.tag is not None or not stack:
                raise _NotPlain  # an anchor, an explicit tag, or a bare scalar document
            raw = event.value
            memo = (raw, event.implicit)
            hit = known.get(memo)
            if hit is None:
                tag = resolver.resolve(yaml.ScalarNode, *memo)  # type: ignore[no-untyped-call]
                if tag not in standard_tags or (tag == _INT and len(raw) > max_int_digits):
                    raise _NotPlain  # a merge key, a custom tag, an integer over the size limit
                if tag in (_STR, _TIMESTAMP):
                    value: Any = raw
                else:
                    node = yaml.ScalarNode(tag, raw, event.start_mark, event.end_mark, event.style)
                    value = constructor.yaml_constructors[tag](constructor, node)
                    if (
                        isinstance(value, int | float)
                        and not isinstance(value, bool)
                        and math.isfinite(value)
                        and abs(value) > max_abs
                    ):
                        raise _NotPlain  # over the number-size limit: the general path says so
                hit = known[memo] = (tag, value)
            frame = stack[-1]
            mark = event.start_mark
            if frame[3] and frame[2] is None:  # a key
                if hit[0] == _NULL or raw in frame[0] or len(raw) > 1000:
                    raise _NotPlain  # an empty key or a duplicate: the general path says so
                frame[2] = raw
                keys[(*frame[1], raw)] = (mark.line + 1, mark.column + 1)
                continue
            value = hit[1]
            if frame[3]:
                loc = (*frame[1], frame[2])
                frame[0][frame[2]] = value
                frame[2] = None
            else:
                loc = (*frame[1], len(frame[0]))
                frame[0].append(value)
            values[loc] = (mark.line + 1, mark.column + 1)
            if not event.style and not isinstance(value, str):
                texts[loc] = raw
        elif kind is mapping_start or kind is sequence_start:
            count += 1
            if event.anchor is not None or event.tag is not None:
                raise _NotPlain
            is_map = kind is mapping_start
            container: Any = {} if is_map else []
            if stack:
                parent = stack[-1]
                if parent[3] and parent[2] is None:
                    raise _NotPlain  # a collection as a key
                loc = _add(parent, container)
            else:
                documents += 1
                if documents > 1:
                    raise _NotPlain
                loc = ()
                root = container
            mark = event.start_mark
            values[loc] = (mark.line + 1, mark.column + 1)
            stack.append([container, loc, None, is_map])
            if len(stack) > MAX_PLAIN_DEPTH:
                raise _NotPlain
        elif kind in ends:
            stack.pop()
        elif kind is yaml.AliasEvent:
            raise _NotPlain
        if count > max_values:
            raise _NotPlain
    if root is None:
        raise _NotPlain
    return root, values, keys, texts


def _add(frame: list[Any], value: Any) -> Loc:
    """Put ``value`` in the open collection ``frame``; its location."""
    container, loc, key, is_map = frame
    if is_map:
        container[key] = value
        frame[2] = None
        return (*loc, key)
    container.append(value)
    return (*loc, len(container) - 1)
