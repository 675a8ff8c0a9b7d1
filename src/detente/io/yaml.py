"""Loading and dumping scenario files, with every error mapped to its file, line and column.

YAML is composed into nodes with the safe loader (libyaml when available), then turned into
plain data by :func:`_to_data`, which records where every key and value stands. Only the
standard YAML tags are accepted (no Python tags); alias expansion is measured on the node
graph before anything is built, so a billion-laughs file is refused at once; files over
:data:`MAX_BYTES` are refused before they are read. Validation problems from pydantic and
from the scenario's own checks are mapped back to lines through the recorded positions.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ValidationError

from ..core.errors import Loc, Problem, ScenarioError, UsageError, did_you_mean
from ..core.scenario import Scenario

__all__ = [
    "MAX_BYTES",
    "MAX_NODES",
    "builtin_cases",
    "case_path",
    "dump",
    "dumps",
    "load",
    "loads",
]

#: Files larger than this are refused before they are read.
MAX_BYTES = 10 * 1024 * 1024
#: Documents whose node graph expands (through aliases) beyond this are refused.
MAX_NODES = 2_000_000

try:  # libyaml is much faster; fall back to the pure-Python composer
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Positions = dict[Loc, tuple[int, int]]


class _Located:
    """Plain data plus where each key and value stands in the file."""

    def __init__(self) -> None:
        self.values: Positions = {}
        self.keys: Positions = {}
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


def _expanded_size(root: yaml.Node) -> int:
    """Number of nodes after expanding aliases, computed without expanding them."""
    memo: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in memo:
            continue
        if done:
            if isinstance(node, yaml.MappingNode):
                total = 1 + sum(memo[id(k)] + memo[id(v)] for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(memo[id(v)] for v in node.value)
            else:
                total = 1
            memo[id(node)] = min(total, MAX_NODES + 1)
            order.append(node)
            continue
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, False))
                stack.append((v, False))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, False) for v in node.value)
    return memo[id(root)]


def _scalar(node: yaml.ScalarNode, loc: Loc, out: _Located) -> Any:
    tag = node.tag
    if tag not in _STANDARD_TAGS:
        out.problems.append(
            Problem(
                f"the tag {tag!r} is not allowed; scenario files use plain YAML values",
                loc,
                line=_pos(node)[0],
                column=_pos(node)[1],
            )
        )
        return None
    if tag == "tag:yaml.org,2002:timestamp":
        return node.value
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)


def _to_data(node: yaml.Node, loc: Loc, out: _Located) -> Any:
    out.values[loc] = _pos(node)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, loc, out)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            out.problems.append(Problem(f"the tag {node.tag!r} is not allowed", loc, None, *_pos(node)))
        return [_to_data(item, (*loc, i), out) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            out.problems.append(Problem(f"the tag {node.tag!r} is not allowed", loc, None, *_pos(node)))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line, col = _pos(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                out.problems.append(
                    Problem("merge keys (<<) are not supported; write the keys out", loc, None, line, col)
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                out.problems.append(
                    Problem("expected a plain key, found a list or mapping", loc, None, line, col)
                )
                continue
            key = _scalar(key_node, loc, out)
            if not isinstance(key, str | int | float | bool) or key is None:
                continue
            if isinstance(key, bool | int | float):
                # ids such as NO or 1 are read as text: parties and parameters are names
                key = key_node.value
            if key in result:
                first = out.keys.get((*loc, key))
                where = f" (first at line {first[0]})" if first else ""
                out.problems.append(
                    Problem(f"duplicate key {key!r}{where}", (*loc, key), None, line, col)
                )
                continue
            out.keys[(*loc, key)] = (line, col)
            result[key] = _to_data(value_node, (*loc, key), out)
        return result
    raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover


def _parse(text: str, source: str) -> tuple[Any, _Located]:
    out = _Located()
    if not text.strip():
        raise ScenarioError([Problem("the file is empty; expected a scenario mapping", (), source)])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "not valid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ScenarioError([Problem(f"not valid YAML: {what}{ctx}", (), source, line, col)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(f"not valid YAML: {exc}", (), source)]) from None
    except RecursionError:
        raise ScenarioError([Problem("the YAML is nested too deeply", (), source)]) from None
    if root is None:
        raise ScenarioError([Problem("the file is empty; expected a scenario mapping", (), source)])
    if _expanded_size(root) > MAX_NODES:
        raise ScenarioError(
            [
                Problem(
                    f"the document expands to more than {MAX_NODES:,} values through aliases "
                    "(an alias bomb?); refused",
                    (),
                    source,
                    *_pos(root),
                )
            ]
        )
    try:
        data = _to_data(root, (), out)
    except RecursionError:
        raise ScenarioError([Problem("the YAML is nested too deeply", (), source)]) from None
    for i, p in enumerate(out.problems):
        out.problems[i] = Problem(p.message, p.loc, source, p.line, p.column)
    if out.problems:
        raise ScenarioError(out.problems, source)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"
        raise ScenarioError(
            [Problem(f"expected a mapping of sections (name, parties, concessions, ...) at the top level, found {kind}", (), source, 1, 1)]
        )
    return data, out


# --------------------------------------------------------------------------- error mapping


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that the mapping at ``loc`` is validated against."""
    import typing

    current: Any = Scenario

    def inner_models(tp: Any) -> list[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(tp):
            found += inner_models(arg)
        return found

    for part in loc:
        if current is None:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            if isinstance(part, int):
                return None
            field = current.model_fields.get(part)
            if field is None:
                return None
            models = inner_models(field.annotation)
            current = models[0] if models else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Loc:
    """Drop the parts of a pydantic location that are not keys or indexes of the data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str) and not part[:1].isupper():
            out.append(part)  # a missing key, or a key the model forbids
            node = None
    return tuple(out)


def _found(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) < 60 else value[:57] + "...")
    return repr(value)


def _problems_from_validation(exc: ValidationError, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            key = loc[-1] if loc else "?"
            model = _model_at(loc[:-1])
            choices = list(model.model_fields) if model else []
            hint = did_you_mean(str(key), choices)
            known = f" (known keys: {', '.join(choices)})" if choices and not hint else ""
            msg = f"unknown key {key!r}{hint}{known}"
        elif kind == "missing":
            msg = f"missing required key {loc[-1]!r}" if loc else "missing required key"
        elif kind in ("value_error", "assertion_error"):
            msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        else:
            text = str(err["msg"])
            expected = text[0].lower() + text[1:] if text else "a different value"
            expected = expected.replace("input should be", "expected")
            msg = f"{expected}, found {_found(value)}"
        problems.append(Problem(msg, loc))
    return problems


def _locate(problems: list[Problem], where: _Located | None, source: str | None) -> list[Problem]:
    out = []
    for p in problems:
        pos = where.find(p.loc, key=p.message.startswith(("unknown key", "duplicate key"))) if where else None
        out.append(Problem(p.message, p.loc, source, *(pos or (None, None))))
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0))


def scenario_from_data(data: Any, source: str | None = None, where: _Located | None = None) -> Scenario:
    """Validate plain data into a Scenario, mapping every problem to ``where``."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("expected a mapping at the top level", (), source)])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_locate(_problems_from_validation(exc, data), where, source), source) from None
    except ScenarioError as exc:
        raise ScenarioError(_locate(exc.problems, where, source), source) from None


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
            f"no file or built-in case named {name!r}{did_you_mean(name, names)}; "
            f"built-in cases: {', '.join(names)}"
        )
    return entry


def loads(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML text; problems name ``source`` and their lines."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise ScenarioError([Problem(f"the file is larger than {MAX_BYTES // 2**20} MB; refused", (), source)])
    data, where = _parse(text, source)
    return scenario_from_data(data, source, where)


def load(path_or_name: str | os.PathLike[str] | Scenario) -> Scenario:
    """Load a scenario from a file path or a built-in case name (``"hanoi-2019"``)."""
    if isinstance(path_or_name, Scenario):
        return path_or_name
    raw = os.fspath(path_or_name)
    path = Path(raw)
    if path.is_file():
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(
                [Problem(f"the file is {size / 2**20:.1f} MB, over the {MAX_BYTES // 2**20} MB limit; refused", (), raw)]
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{raw}: cannot read the file ({exc.strerror})") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                [Problem(f"the file is not UTF-8 text (byte {exc.start})", (), raw)]
            ) from None
        return loads(text, raw)
    if path.exists():
        raise UsageError(f"{raw}: not a file")
    looks_like_path = any(sep in raw for sep in ("/", os.sep)) or raw.endswith((".yaml", ".yml"))
    if looks_like_path:
        raise UsageError(f"{raw}: no such file")
    entry = case_path(raw)
    return loads(entry.read_text(encoding="utf-8"), f"{raw} (built-in)")


def dumps(scenario: Scenario) -> str:
    """The scenario as YAML text that :func:`loads` reads back to an equal scenario."""
    return cast(str, yaml.safe_dump(scenario.to_data(), sort_keys=False, allow_unicode=True, width=100))


def dump(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write the scenario to ``path`` as YAML; returns the path."""
    out = Path(path)
    out.write_text(dumps(scenario), encoding="utf-8")
    return out
