"""Errors that reach users: each names where the problem is and what was expected.

A :class:`Problem` carries the field path (``("concessions", 2, "flow", "USA")``) and, once
the file layer has mapped it, the file, line and column. Front ends print problems and exit
with code 2; no traceback ever reaches a user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

__all__ = ["DetenteError", "Problem", "ScenarioError", "UsageError", "did_you_mean", "format_loc"]

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """``("concessions", 2, "flow", "US")`` -> ``concessions[2].flow.US``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or an empty string when nothing is close."""
    options = [c for c in choices if isinstance(c, str)]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario: where, what was expected, what was found."""

    message: str
    loc: Loc = ()
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def at(self, file: str | None, line: int | None, column: int | None) -> Problem:
        return replace(self, file=file, line=line, column=column)

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        field = f"{format_loc(self.loc)}: " if self.loc else ""
        return f"{where}{field}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": format_loc(self.loc) if self.loc else None,
            "message": self.message,
        }


class DetenteError(Exception):
    """Base class of every error detente reports to a user (exit code 2)."""

    exit_code = 2


class UsageError(DetenteError):
    """A bad command-line or API argument (an unknown schedule, a bad --set, ...)."""


class ScenarioError(DetenteError):
    """A scenario that is not valid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.source}: " if self.source else ""
        n = len(self.problems)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''} found"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)
