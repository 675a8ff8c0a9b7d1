"""Results in Jupyter: the HTML behind every result's ``_repr_html_``.

A result's HTML is a heading, its one-line verdict or summary, its tidy table
(``to_frame()``, at most :data:`MAX_ROWS` rows shown) and, where the report draws one, the
report's figure rendered to inline SVG by ``vl-convert`` (offline, no JavaScript needed). A
result whose table is missing (a design that found no schedule) shows its message instead.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import DetenteError

__all__ = ["MAX_ROWS", "result_html"]

#: Rows of the table shown in a notebook (the frame itself is never cut).
MAX_ROWS = 40


def _table(result: Any) -> str:
    try:
        frame = result.to_frame()
    except DetenteError as exc:
        return f"<p><em>{html.escape(str(exc))}</em></p>"
    shown = frame.head(MAX_ROWS)
    text: str = shown.to_html(index=False, border=0, classes="detente-table", na_rep="")
    if len(frame) > MAX_ROWS:
        text += f"<p><small>{MAX_ROWS} of {len(frame)} rows shown; <code>.to_frame()</code> has all.</small></p>"
    return text


def _svg(spec: Mapping[str, Any] | None) -> str:
    if spec is None:
        return ""
    try:
        from .figures import to_svg

        return f'<div class="detente-figure">{to_svg(dict(spec))}</div>'
    except Exception as exc:  # a figure is an extra: the table still shows
        return f"<p><small>figure unavailable: {html.escape(type(exc).__name__)}</small></p>"


def _check(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    from .figures import slack_spec

    data = result.to_dict()
    spec = slack_spec(data, period_label=result.period_label) if data["constraints"] else None
    return "Self-enforcement check", result.summary(), spec


def _design(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    return "Design", result.message, None


def _simulation(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    from .figures import outcomes_spec, quantile_row

    label = ", ".join(f"{p}={s}" for p, s in result.strategies.items())
    rows = [quantile_row(label, p, result.value[:, i]) for i, p in enumerate(result.parties)]
    line = f"{result.episodes} episodes, crisis in {100 * result.crisis_rate:.1f}% of them."
    return "Simulation", line, outcomes_spec(rows)


def _tournament(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    from .figures import tournament_spec

    line = f"{len(result.rows)} × {len(result.columns)} strategies, {result.episodes} episodes each."
    return "Tournament", line, tournament_spec(result.to_dict())


def _claim(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    from .figures import claims_spec

    return f"Claim {result.id}", result.message, claims_spec([result.to_dict()])


def _sweep(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    line = f"{result.points} points ({result.computed} computed, {result.reused} reused)."
    return "Sweep", line, None


def _zone(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    return "Agreement zone", result.message, None


def _backtest(result: Any) -> tuple[str, str, Mapping[str, Any] | None]:
    return "Backtest", result.summary_line(), None


_VIEWS: dict[str, Callable[[Any], tuple[str, str, Mapping[str, Any] | None]]] = {
    "EnforcementReport": _check,
    "DesignResult": _design,
    "SimulationResult": _simulation,
    "TournamentResult": _tournament,
    "ClaimResult": _claim,
    "SweepResult": _sweep,
    "ZoneResult": _zone,
    "BacktestResult": _backtest,
}


def result_html(result: Any) -> str:
    """A detente result as HTML: heading, summary sentence, table and (where drawn) figure.

    Results without a view of their own (a new result type) show the generic heading and table.
    """
    view = _VIEWS.get(type(result).__name__)
    title, line, spec = view(result) if view else (type(result).__name__, "", None)
    parts = [f"<div class='detente-result'><h4>{html.escape(title)}</h4>"]
    if line:
        parts.append(f"<p>{html.escape(line)}</p>")
    parts.append(_table(result))
    parts.append(_svg(spec))
    parts.append("</div>")
    return "".join(parts)
