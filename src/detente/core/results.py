"""The protocol every result object follows: a tidy table, the JSON contract, and HTML.

Every analysis returns an object with three views:

``to_frame()``
    a tidy :class:`pandas.DataFrame` (one row per observation, documented columns). A result
    that lacks the part a table is made of (a design that found no schedule, an interrupted
    sweep with no rows) raises :class:`~detente.core.errors.UsageError` naming the missing part.
``to_dict()``
    the JSON contract (docs/model.md §7 for the check and the designer), JSON-ready.
``_repr_html_()``
    the report's own HTML for the result (a table and, where the report has one, a figure), so
    a result shows itself in Jupyter.

The HTML lives in :mod:`detente.report.notebook`, a front end the engines may not import (the
import-linter layers): :func:`report_html` loads it by name at call time, so an engine module
never imports the report layer and ``import detente`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from .errors import UsageError

__all__ = ["ResultProtocol", "missing_part", "pandas", "report_html"]

#: The module that renders results as HTML (loaded by name: engines never import front ends).
HTML_MODULE = "detente.report.notebook"


@runtime_checkable
class ResultProtocol(Protocol):
    """What every detente result offers (check, design, zone, simulate, tournament, claims, sweep, backtest)."""

    def to_frame(self) -> Any:
        """A tidy pandas DataFrame with the columns documented on the result class."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of the result (plain lists, dicts, numbers, strings, None)."""

    def _repr_html_(self) -> str:
        """The report's HTML for the result: a table and, where there is one, a figure."""


def pandas() -> Any:
    """The pandas module, or a clear :class:`UsageError` when it is not installed."""
    try:
        return import_module("pandas")
    except ImportError:  # pragma: no cover - pandas is a dependency
        raise UsageError("to_frame() needs pandas: pip install pandas") from None


def missing_part(result: str, part: str, why: str) -> UsageError:
    """The error of ``to_frame()`` on a failed or partial result: which part is missing and why."""
    return UsageError(f"{result}.to_frame(): this result has no {part} ({why}); nothing to tabulate")


def report_html(result: object) -> str:
    """The report's HTML for ``result`` (see :func:`detente.report.notebook.result_html`)."""
    html: str = import_module(HTML_MODULE).result_html(result)
    return html
