"""Where a request's scenario comes from: a YAML body or a built-in case, with what-ifs.

The server never opens a path the client names: ``?case=NAME`` picks a built-in case by name
only, and an upload's ``?source=`` is a display label. Parsed scenarios are cached by the hash
of their text (they are immutable).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..core.errors import ScenarioError
from ..core.overrides import parse_overrides
from .errors import HTTPProblem

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario

__all__ = ["apply_overrides", "builtin_names", "case_text", "parse_yaml", "scenario_from"]


_SAFE_SOURCE = re.compile(r"[^A-Za-z0-9._ -]+")


def _source_label(source: str | None) -> str:
    """A display name for an uploaded file: its base name, tame characters only (never opened)."""
    if not source:
        return "scenario.yaml"
    base = source.replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_SOURCE.sub("_", base).strip(" .")[:80]
    return base or "scenario.yaml"


@lru_cache(maxsize=64)
def _parse_cached(digest: str, text: str, source: str) -> Scenario:
    del digest  # part of the cache key only
    from ..io.yaml import loads

    return loads(text, source)


def parse_yaml(text: str, source: str) -> Scenario:
    """Parse scenario YAML (parsed scenarios are cached: they are immutable)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _parse_cached(digest, text, source)


@lru_cache(maxsize=16)
def _case_text(name: str) -> str:
    from ..io.yaml import case_path

    text: str = case_path(name).read_text(encoding="utf-8")
    return text


def builtin_names() -> dict[str, str]:
    from ..io.yaml import builtin_cases

    return builtin_cases()


def case_text(name: str) -> str:
    """The YAML of built-in case ``name``; 404 for any other name (paths included)."""
    names = builtin_names()
    if name not in names:
        from ..core.errors import did_you_mean

        raise HTTPProblem(
            404, f"no built-in case named {name!r}{did_you_mean(name, names)}; built-in cases: {', '.join(names)}"
        )
    return _case_text(name)


def _decode(body: bytes, source: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        from ..core.errors import Problem

        raise ScenarioError(
            [Problem(f"expected UTF-8 text, found the byte 0x{body[exc.start]:02x}", (), source, line, col)], source
        ) from None


def _parse_sets(items: list[str]) -> dict[str, float | str]:
    return parse_overrides(items, option=lambda x: f"set={x}", example="set=leakage=0.6")


def apply_overrides(scn: Scenario, items: list[str]) -> Scenario:
    """What-ifs as on the command line: ``NAME=VALUE`` for parameters (a value outside the
    range widens it), ``PARTY.field=VALUE`` or ``CONCESSION.field=VALUE`` for fields."""
    overrides = _parse_sets(items)
    return scn.with_overrides(overrides, "set=") if overrides else scn


async def scenario_from(request: Request, case: str | None, source: str | None, sets: list[str]) -> Scenario:
    """The request's scenario: the YAML body, or the built-in ``case``; with what-ifs applied."""
    body = await request.body()
    if case:
        if body.strip():
            raise HTTPProblem(422, "send either a YAML body or ?case=NAME, not both")
        text, label = case_text(case), f"{case} (built-in)"
    else:
        if not body.strip():
            raise HTTPProblem(
                422, "no scenario: send it as YAML in the request body, or name a built-in case with ?case=NAME"
            )
        label = _source_label(source)
        text = _decode(body, label)

    def work() -> Scenario:
        return apply_overrides(parse_yaml(text, label), sets)

    result: Scenario = await run_in_threadpool(work)
    return result
