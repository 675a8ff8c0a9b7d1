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

This module holds the second pass and the public API (loading, dumping, the case library);
parsing with positions is in :mod:`detente.io.yaml_parse` and the mapping of errors to
positions in :mod:`detente.io.yaml_problems`. Every public name is importable from here.
"""

from __future__ import annotations

import copy
import importlib.resources
import os
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..core.errors import Loc, Problem, ScenarioError, UsageError, did_you_mean
from ..core.scenario import LENIENT_CONTEXT, Lenient, Scenario
from .actors import expand_actors, uses_actors
from .yaml_parse import _CONSTRUCTOR as _CONSTRUCTOR
from .yaml_parse import _STANDARD_TAGS as _STANDARD_TAGS
from .yaml_parse import MAX_BYTES as MAX_BYTES
from .yaml_parse import MAX_NODES as MAX_NODES
from .yaml_parse import MAX_VALUES as MAX_VALUES
from .yaml_parse import _compose as _compose
from .yaml_parse import _found, _Located, _parse, _refuse
from .yaml_parse import _Loader as _Loader
from .yaml_problems import _locate, _problems_from_validation

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
