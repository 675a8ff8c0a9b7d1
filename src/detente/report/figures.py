"""Figures as Vega-Lite specifications: one stack for the report, the web page and papers.

Every figure is a pure function from plain data (lists and dicts, the JSON the engines
already produce) to a Vega-Lite specification, itself a plain dict. The same dict is
rendered interactively in the browser by vega-embed (inlined in the report, served by the web
app) and exported to SVG, PNG or PDF by ``vl-convert`` (:func:`export`), which embeds its own
JavaScript engine and fonts: no browser, no network. Why Vega-Lite and not Plotly is said in
``docs/web.md``.

The ``*_spec`` functions take plain data so that they can be tested (and fed by other tools)
without running an analysis; the ``*_rows`` helpers build that data from detente objects.

=============  =====================================================  ====================
kind           what it shows                                          data
=============  =====================================================  ====================
timeline       the schedule per party, reversible vs irreversible     :func:`timeline_rows`
slack          the slack profile per party, violations marked         ``check(...).to_dict()``
leverage       exposure and leverage per party over time              ``check(..., leverage=True)``
outcomes       distribution of discounted values per strategy         :func:`quantile_row`
tournament     the strategy tournament as heat maps                   ``tournament(...).to_dict()``
sobol          first- and total-order Sobol indices                   ``{"parameters": [...]}``
tornado        one-at-a-time swings of the check's margin             :func:`tornado_data`
claims         the share of the parameter space where claims hold     ``[{"id", "holds_share", ...}]``
=============  =====================================================  ====================
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario, Step

__all__ = [
    "FIGURE_KINDS",
    "VEGA_LITE_VERSION",
    "claims_spec",
    "export",
    "javascript_bundle",
    "leverage_spec",
    "outcomes_spec",
    "quantile_row",
    "slack_spec",
    "sobol_spec",
    "timeline_rows",
    "timeline_spec",
    "tornado_data",
    "tornado_spec",
    "tournament_spec",
]

Spec = dict[str, Any]

#: The Vega-Lite version the specs are written for (and exported with).
VEGA_LITE_VERSION = "6.4"

#: Figure kinds, in the order the report shows them.
FIGURE_KINDS = ("timeline", "slack", "leverage", "outcomes", "tournament", "sobol", "tornado", "claims")

#: Width of one panel in pixels (the report's column is about 760 px wide).
WIDTH = 560

IRREVERSIBLE_COLOR = "#b2182b"
REVERSIBLE_COLOR = "#2166ac"
VIOLATION_COLOR = "#d6191b"
PARTY_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

_CONFIG: Spec = {
    "font": "Liberation Sans, Arial, Helvetica, sans-serif",
    "view": {"stroke": "#ddd"},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eee"},
    "header": {"labelFontSize": 12, "labelFontWeight": "bold", "titleFontSize": 12},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "top"},
    "title": {"fontSize": 14, "anchor": "start", "subtitleFontSize": 11, "subtitleColor": "#555"},
}


def _finish(spec: Spec, title: str, subtitle: str | Sequence[str] | None = None) -> Spec:
    head: Spec = {"text": title}
    if subtitle:
        head["subtitle"] = subtitle
    out: Spec = {"title": head, **spec}
    out["config"] = _CONFIG
    out.setdefault("background", "white")
    out.setdefault("padding", 8)
    return out


def _num(x: Any) -> float | None:
    """A JSON-safe float (None for NaN, infinities and None)."""
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _party_scale(parties: Sequence[str]) -> Spec:
    return {"domain": list(parties), "range": [PARTY_COLORS[i % len(PARTY_COLORS)] for i in range(len(parties))]}


# --------------------------------------------------------------------------- timeline


def timeline_rows(scn: Scenario, steps: Sequence[Step] | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """One row per stretch of time in which a concession's amount in force is constant.

    Rows carry the giver, the concession, its kind (``reversible`` or ``irreversible``), the
    stretch ``[start, end)``, the amount in force, the step that began it, and the
    concession's verification lag and source, for tooltips.
    """
    from ..core.compiled import compile_scenario, compile_schedule

    if steps is None:
        steps = scn.get_schedule(name)
    comp = compile_scenario(scn)
    sched = compile_schedule(scn, list(steps))
    last = max((t for t, _, _ in sched.steps), default=0)
    end = last + 2
    first_period: dict[int, int] = {}
    by_concession: dict[int, list[tuple[int, float]]] = {}
    for t, k, a in sched.steps:
        by_concession.setdefault(k, []).append((t, a))
        first_period.setdefault(k, t)
    rows: list[dict[str, Any]] = []
    order = sorted(by_concession, key=lambda k: (first_period[k], k))
    for rank, k in enumerate(order):
        conc = scn.concessions[k]
        merged: dict[int, float] = {}
        for t, a in by_concession[k]:
            merged[t] = merged.get(t, 0.0) + a
        periods = sorted(merged)
        level = 0.0
        for i, t in enumerate(periods):
            level = min(1.0, level + merged[t])
            stop = periods[i + 1] if i + 1 < len(periods) else end
            if conc.reversible is None:
                kind, undo = "irreversible", "cannot be undone"
            else:
                delay, cost = comp.delay[k], comp.cost[k]
                kind = "reversible"
                undo = f"can be undone after {delay} {scn.period}(s) at a cost of {cost:g}"
                if not comp.fragile[k]:
                    undo += " (not worth undoing)"
            rows.append(
                {
                    "party": comp.party_ids[comp.giver[k]],
                    "concession": conc.id,
                    "label": conc.label,
                    "order": rank,
                    "kind": kind,
                    "start": t,
                    "end": stop,
                    "step_amount": round(merged[t], 6),
                    "in_force": round(level, 6),
                    "in_force_text": f"{level:.0%}",
                    "undo": undo,
                    "verification_lag": int(comp.lag[k]),
                    "source": conc.source or "",
                }
            )
    return rows


def timeline_spec(
    rows: Sequence[Mapping[str, Any]],
    *,
    parties: Sequence[str] | None = None,
    period_label: str = "period",
    title: str = "Schedule",
) -> Spec:
    """The schedule as a timeline, one panel per party: bars for what is in force when.

    Irreversible steps are solid red, reversible ones blue with a dashed outline; the bar's
    opacity is the share in force, and a tick marks each step with its amount.
    """
    data = [dict(r) for r in rows]
    if parties is None:
        parties = list(dict.fromkeys(r["party"] for r in data))
    kind_scale = {"domain": ["irreversible", "reversible"], "range": [IRREVERSIBLE_COLOR, REVERSIBLE_COLOR]}
    tooltip = [
        {"field": "label", "title": "concession"},
        {"field": "party", "title": "by"},
        {"field": "kind"},
        {"field": "start", "title": f"from {period_label}"},
        {"field": "in_force_text", "title": "in force"},
        {"field": "undo", "title": "undoing"},
        {"field": "verification_lag", "title": f"seen after ({period_label}s)"},
        {"field": "source"},
    ]
    y = {
        "field": "label",
        "type": "nominal",
        "title": None,
        "sort": {"field": "order", "op": "min"},
        "axis": {"labelLimit": 220},
    }
    x_max = max((int(r["end"]) for r in data), default=1)
    x = {
        "field": "start",
        "type": "quantitative",
        "title": period_label,
        "scale": {"domain": [0, x_max], "nice": False},
        "axis": {"tickMinStep": 1, "format": "d"},
    }
    spec: Spec = {
        "data": {"values": data},
        "facet": {"row": {"field": "party", "type": "nominal", "title": None, "sort": list(parties)}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": WIDTH,
            "layer": [
                {
                    "mark": {"type": "bar", "height": {"band": 0.7}, "strokeWidth": 1.5},
                    "encoding": {
                        "y": y,
                        "x": x,
                        "x2": {"field": "end"},
                        "color": {"field": "kind", "type": "nominal", "scale": kind_scale, "title": None},
                        "stroke": {"field": "kind", "type": "nominal", "scale": kind_scale, "legend": None},
                        "strokeDash": {
                            "field": "kind",
                            "type": "nominal",
                            "scale": {"domain": ["irreversible", "reversible"], "range": [[1, 0], [4, 2]]},
                            "legend": None,
                        },
                        "fillOpacity": {
                            "field": "in_force",
                            "type": "quantitative",
                            "scale": {"domain": [0, 1], "range": [0.15, 0.9]},
                            "legend": None,
                        },
                        "tooltip": tooltip,
                    },
                },
                {
                    "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10, "color": "#222"},
                    "encoding": {"y": y, "x": x, "text": {"field": "in_force_text"}, "tooltip": tooltip},
                },
            ],
        },
    }
    return _finish(
        spec,
        title,
        "bars: what is in force, darker = more of it; red = irreversible, blue dashed = reversible",
    )


# --------------------------------------------------------------------------- slack


def _short(text: str, n: int = 140) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def slack_spec(report: Mapping[str, Any], *, period_label: str = "period", title: str | None = None) -> Spec:
    """The slack profile per party (comply − deviate at each period), violations marked.

    ``report`` is :meth:`EnforcementReport.to_dict` (the MODEL.md §7 JSON).
    """
    rows = []
    for c in report.get("constraints", []):
        slack = _num(c.get("slack"))
        if slack is None:
            continue
        violated = slack < -1e-9
        rows.append(
            {
                "party": c["party"],
                "period": c["period"],
                "slack": slack,
                "comply": _num(c.get("comply")),
                "deviate": _num(c.get("deviate")),
                "plan": c.get("plan", ""),
                "status": "violated" if violated else "holds",
                "explanation": _short(c.get("explanation") or ("holds" if not violated else "")),
            }
        )
    parties = list(report.get("participation", {})) or list(dict.fromkeys(r["party"] for r in rows))
    name = report.get("schedule_name")
    verdict = "self-enforcing" if report.get("self_enforcing") else "NOT self-enforcing"
    head = title or f"Slack per party{f' — {name}' if name else ''}: {verdict}"
    tooltip = [
        {"field": "party"},
        {"field": "period", "title": period_label},
        {"field": "slack", "format": ".3g"},
        {"field": "comply", "format": ".3g"},
        {"field": "deviate", "format": ".3g"},
        {"field": "plan", "title": "best deviation"},
        {"field": "explanation"},
    ]
    x = {"field": "period", "type": "quantitative", "title": period_label, "axis": {"tickMinStep": 1, "format": "d"}}
    spec: Spec = {
        "data": {"values": rows},
        "facet": {"row": {"field": "party", "type": "nominal", "title": None, "sort": parties}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": WIDTH,
            "height": 140,
            "layer": [
                {
                    "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#555"},
                    "encoding": {"y": {"datum": 0, "type": "quantitative"}},
                },
                {
                    "mark": {"type": "line", "interpolate": "step-after", "color": "#666"},
                    "encoding": {"x": x, "y": {"field": "slack", "type": "quantitative", "title": "slack"}},
                },
                {
                    "mark": {"type": "point", "filled": True, "size": 60},
                    "encoding": {
                        "x": x,
                        "y": {"field": "slack", "type": "quantitative"},
                        "color": {
                            "field": "status",
                            "type": "nominal",
                            "title": None,
                            "scale": {"domain": ["holds", "violated"], "range": ["#4d4d4d", VIOLATION_COLOR]},
                        },
                        "shape": {
                            "field": "status",
                            "type": "nominal",
                            "scale": {"domain": ["holds", "violated"], "range": ["circle", "cross"]},
                            "legend": None,
                        },
                        "size": {
                            "field": "status",
                            "type": "ordinal",
                            "sort": ["holds", "violated"],
                            "scale": {"domain": ["holds", "violated"], "range": [40, 160]},
                            "legend": None,
                        },
                        "tooltip": tooltip,
                    },
                },
            ],
        },
    }
    sub = "slack = value of complying − value of the best deviation; below the dashed line a party gains by cheating"
    return _finish(spec, head, sub)


# --------------------------------------------------------------------------- leverage


def leverage_spec(report: Mapping[str, Any], *, period_label: str = "period", title: str | None = None) -> Spec:
    """Exposure (what a party could lose if another cheated now) and leverage (what it could
    take by cheating) per party over time; ``report`` from ``check(..., leverage=True)``."""
    rows = []
    for r in report.get("leverage") or []:
        src = r.get("exposure_from")
        rows.append(
            {
                "party": r["party"],
                "period": r["period"],
                "measure": "exposure",
                "value": _num(r.get("exposure")),
                "detail": f"if {src} cheated" if src else "",
            }
        )
        rows.append(
            {
                "party": r["party"],
                "period": r["period"],
                "measure": "leverage",
                "value": _num(r.get("leverage")),
                "detail": "",
            }
        )
    parties = list(report.get("participation", {})) or list(dict.fromkeys(r["party"] for r in rows))
    name = report.get("schedule_name")
    x = {"field": "period", "type": "quantitative", "title": period_label, "axis": {"tickMinStep": 1, "format": "d"}}
    spec: Spec = {
        "data": {"values": rows},
        "facet": {"row": {"field": "party", "type": "nominal", "title": None, "sort": parties}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": WIDTH,
            "height": 130,
            "mark": {"type": "line", "interpolate": "step-after", "point": True, "strokeWidth": 2},
            "encoding": {
                "x": x,
                "y": {"field": "value", "type": "quantitative", "title": "value at stake"},
                "color": {
                    "field": "measure",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["exposure", "leverage"], "range": ["#e66101", "#1a9641"]},
                },
                "tooltip": [
                    {"field": "party"},
                    {"field": "period", "title": period_label},
                    {"field": "measure"},
                    {"field": "value", "format": ".3g"},
                    {"field": "detail"},
                ],
            },
        },
    }
    head = title or f"Exposure and leverage over time{f' — {name}' if name else ''}"
    return _finish(
        spec, head, "exposure: what a party loses if another cheats now; leverage: what it gains by cheating now"
    )


# --------------------------------------------------------------------------- outcomes


def quantile_row(label: str, party: str, values: Sequence[float] | Any, *, metric: str = "value") -> dict[str, Any]:
    """Summary of one distribution (5/25/50/75/95 % quantiles and mean) for :func:`outcomes_spec`."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"label": label, "party": party, "metric": metric, "n": 0}
    q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "label": label,
        "party": party,
        "metric": metric,
        "n": int(v.size),
        "p5": float(q[0]),
        "p25": float(q[1]),
        "p50": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
        "mean": float(v.mean()),
    }


def outcomes_spec(rows: Sequence[Mapping[str, Any]], *, title: str = "Outcomes per strategy") -> Spec:
    """Box plots of the discounted value per strategy profile, one panel per party.

    ``rows`` come from :func:`quantile_row`: whiskers span 5–95 %, the box 25–75 %, the tick is
    the median and the dot the mean.
    """
    data = [dict(r) for r in rows if r.get("n")]
    parties = list(dict.fromkeys(r["party"] for r in data))
    labels = list(dict.fromkeys(r["label"] for r in data))
    y = {"field": "label", "type": "nominal", "title": "strategies", "sort": labels, "axis": {"labelLimit": 260}}
    tooltip = [
        {"field": "label", "title": "strategies"},
        {"field": "party"},
        {"field": "mean", "format": ".3g"},
        {"field": "p5", "title": "5 %", "format": ".3g"},
        {"field": "p50", "title": "median", "format": ".3g"},
        {"field": "p95", "title": "95 %", "format": ".3g"},
        {"field": "n", "title": "episodes"},
    ]
    color = {"field": "party", "type": "nominal", "scale": _party_scale(parties), "legend": None}
    xq = {"type": "quantitative", "title": "discounted value (status quo = 0)"}
    spec: Spec = {
        "data": {"values": data},
        "facet": {"column": {"field": "party", "type": "nominal", "title": None, "sort": parties}},
        "resolve": {"scale": {"x": "independent"}},
        "spec": {
            "width": max(180, WIDTH // max(1, len(parties)) - 40),
            "layer": [
                {
                    "mark": {"type": "rule"},
                    "encoding": {"y": y, "x": {**xq, "field": "p5"}, "x2": {"field": "p95"}, "color": color},
                },
                {
                    "mark": {"type": "bar", "height": {"band": 0.55}, "opacity": 0.45},
                    "encoding": {
                        "y": y,
                        "x": {**xq, "field": "p25"},
                        "x2": {"field": "p75"},
                        "color": color,
                        "tooltip": tooltip,
                    },
                },
                {
                    "mark": {"type": "tick", "thickness": 2, "color": "black"},
                    "encoding": {"y": y, "x": {**xq, "field": "p50"}},
                },
                {
                    "mark": {"type": "point", "filled": True, "size": 50},
                    "encoding": {"y": y, "x": {**xq, "field": "mean"}, "color": color, "tooltip": tooltip},
                },
            ],
        },
    }
    return _finish(spec, title, "whiskers 5–95 %, box 25–75 %, tick median, dot mean")


# --------------------------------------------------------------------------- tournament


def tournament_spec(result: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """The strategy tournament as heat maps: each party's mean value and the crisis rate.

    ``result`` is :meth:`TournamentResult.to_dict`: ``rows`` are the first side's strategies,
    ``columns`` the second's, ``value[party][r][c]`` and ``crisis_rate[r][c]``.
    """
    sides = list(result.get("sides") or [])
    rows_ = list(result["rows"])
    cols = list(result["columns"])
    row_title = f"{sides[0]} plays" if sides else "row strategy"
    col_title = f"{sides[1]} plays" if len(sides) > 1 else "column strategy"
    panels: list[Spec] = []
    metrics: list[tuple[str, list[list[Any]], str, str, list[float] | None]] = [
        (f"value to {pid}", grid, "blues", ".3g", None) for pid, grid in result.get("value", {}).items()
    ]
    if result.get("crisis_rate") is not None:
        metrics.append(("crisis rate", result["crisis_rate"], "reds", ".0%", [0.0, 1.0]))
    side = max(150, min(260, 28 * len(cols)))
    for name, grid, scheme, fmt, domain in metrics:
        cells = []
        for r, rs in enumerate(rows_):
            for c, cs in enumerate(cols):
                value = _num(grid[r][c])
                cells.append({"row": rs, "column": cs, "value": value})
        panels.append(
            {
                "title": name,
                "width": side,
                "height": side,
                "data": {"values": cells},
                "layer": [
                    {
                        "mark": "rect",
                        "encoding": {
                            "y": {"field": "row", "type": "nominal", "sort": rows_, "title": row_title},
                            "x": {"field": "column", "type": "nominal", "sort": cols, "title": col_title},
                            "color": {
                                "field": "value",
                                "type": "quantitative",
                                "scale": {"scheme": scheme, **({"domain": domain} if domain else {})},
                                "legend": {"orient": "bottom", "title": None, "format": fmt, "gradientLength": 120},
                            },
                            "tooltip": [
                                {"field": "row", "title": row_title},
                                {"field": "column", "title": col_title},
                                {"field": "value", "title": name, "format": fmt},
                            ],
                        },
                    },
                    {
                        "mark": {"type": "text", "fontSize": 9},
                        "encoding": {
                            "y": {"field": "row", "type": "nominal", "sort": rows_},
                            "x": {"field": "column", "type": "nominal", "sort": cols},
                            "text": {"field": "value", "format": fmt},
                        },
                    },
                ],
            }
        )
    spec: Spec = {"hconcat": panels, "resolve": {"scale": {"color": "independent"}}}
    sched = result.get("schedule")
    head = title or f"Strategy tournament{f' — {sched}' if sched else ''}"
    return _finish(spec, head, f"mean over {result.get('episodes', '?')} episodes per pairing")


# --------------------------------------------------------------------------- sensitivity


def _ci_pair(value: Any, centre: float | None) -> tuple[float | None, float | None]:
    """A confidence interval given as [low, high] or as a half-width around ``centre``."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return _num(value[0]), _num(value[1])
    half = _num(value)
    if half is None or centre is None:
        return None, None
    return centre - half, centre + half


def sobol_spec(result: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """First- and total-order Sobol indices per parameter, largest total order first.

    ``result``: ``{"output": str, "parameters": [{"parameter", "first_order", "total_order",
    "first_order_ci"?, "total_order_ci"?}]}``; a CI is ``[low, high]`` or a half-width.
    """
    rows = []
    for p in result.get("parameters", []):
        for key, label in (("first_order", "first order"), ("total_order", "total order")):
            value = _num(p.get(key))
            lo, hi = _ci_pair(p.get(f"{key}_ci"), value)
            rows.append({"parameter": p["parameter"], "index": label, "value": value, "lo": lo, "hi": hi})
    order = [
        p["parameter"] for p in sorted(result.get("parameters", []), key=lambda p: -(_num(p.get("total_order")) or 0.0))
    ]
    y = {"field": "parameter", "type": "nominal", "sort": order, "title": None}
    color = {
        "field": "index",
        "type": "nominal",
        "title": None,
        "scale": {"domain": ["first order", "total order"], "range": ["#92c5de", "#0571b0"]},
    }
    spec: Spec = {
        "data": {"values": rows},
        "width": WIDTH - 120,
        "height": {"step": 12},
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index", "sort": ["first order", "total order"]},
                    "x": {
                        "field": "value",
                        "type": "quantitative",
                        "title": "Sobol index",
                        "scale": {"domain": [0, 1]},
                    },
                    "color": color,
                    "tooltip": [
                        {"field": "parameter"},
                        {"field": "index"},
                        {"field": "value", "format": ".3f"},
                        {"field": "lo", "title": "95 % low", "format": ".3f"},
                        {"field": "hi", "title": "95 % high", "format": ".3f"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "#333"},
                "transform": [{"filter": "datum.lo != null"}],
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index", "sort": ["first order", "total order"]},
                    "x": {"field": "lo", "type": "quantitative"},
                    "x2": {"field": "hi"},
                },
            },
        ],
    }
    head = title or f"Global sensitivity of {result.get('output', 'the output')}"
    return _finish(
        spec, head, "share of the output's variance due to each parameter (total order includes interactions)"
    )


def tornado_spec(result: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """One-at-a-time swings: the output at each end of a parameter's range, widest first.

    ``result``: ``{"output": str, "baseline": float, "threshold": float | None, "rows":
    [{"parameter", "low", "high", "output_low", "output_high"}]}``.
    """
    base = _num(result.get("baseline")) or 0.0
    rows = []
    swing: dict[str, float] = {}
    for r in result.get("rows", []):
        lo_out, hi_out = _num(r.get("output_low")), _num(r.get("output_high"))
        for end, out, at in (("low end", lo_out, r.get("low")), ("high end", hi_out, r.get("high"))):
            if out is None:
                continue
            rows.append({"parameter": r["parameter"], "end": end, "at": _num(at), "output": out, "baseline": base})
        swing[r["parameter"]] = abs((hi_out or base) - (lo_out or base))
    order = sorted(swing, key=lambda p: -swing[p])
    y = {"field": "parameter", "type": "nominal", "sort": order, "title": None}
    layers: list[Spec] = [
        {
            "mark": {"type": "bar", "opacity": 0.85},
            "encoding": {
                "y": y,
                "x": {"field": "baseline", "type": "quantitative", "title": result.get("output", "output")},
                "x2": {"field": "output"},
                "color": {
                    "field": "end",
                    "type": "nominal",
                    "title": "parameter at its",
                    "scale": {"domain": ["low end", "high end"], "range": ["#5e3c99", "#fdb863"]},
                },
                "tooltip": [
                    {"field": "parameter"},
                    {"field": "end", "title": "at its"},
                    {"field": "at", "title": "value", "format": ".4g"},
                    {"field": "output", "format": ".4g"},
                    {"field": "baseline", "format": ".4g"},
                ],
            },
        },
        {"mark": {"type": "rule", "color": "#333"}, "encoding": {"x": {"datum": base, "type": "quantitative"}}},
    ]
    threshold = _num(result.get("threshold"))
    if threshold is not None:
        layers.append(
            {
                "mark": {"type": "rule", "color": VIOLATION_COLOR, "strokeDash": [4, 3]},
                "encoding": {"x": {"datum": threshold, "type": "quantitative"}},
            }
        )
    spec: Spec = {"data": {"values": rows}, "width": WIDTH - 120, "height": {"step": 16}, "layer": layers}
    sub = f"each parameter moved to the ends of its range, the others at their best values (baseline {base:.3g})"
    if threshold is not None:
        sub += "; left of the red line the verdict flips"
    head = title or f"Tornado: what moves {result.get('output', 'the output')}"
    return _finish(spec, head, sub)


def tornado_data(scn: Scenario, schedule: str | Sequence[Step] | None = None) -> dict[str, Any]:
    """One-at-a-time swings of the check's margin (smallest slack or participation) for
    :func:`tornado_spec`: each ranged parameter at the ends of its range."""
    from ..analysis.enforcement import check_params

    points: list[dict[str, float]] = [{}]
    names = []
    for name, p in scn.parameters.items():
        if p.range is None or p.range[1] <= p.range[0]:
            continue
        names.append((name, p.range))
        points += [{name: p.range[0]}, {name: p.range[1]}]
    results = check_params(scn, points, schedule)
    base = float(results[0]["margin"])
    rows = []
    for i, (name, (lo, hi)) in enumerate(names):
        rows.append(
            {
                "parameter": name,
                "low": lo,
                "high": hi,
                "output_low": float(results[1 + 2 * i]["margin"]),
                "output_high": float(results[2 + 2 * i]["margin"]),
            }
        )
    label = schedule if isinstance(schedule, str) else None
    return {
        "output": f"margin of {label!r}" if label else "margin",
        "baseline": base,
        "threshold": 0.0,
        "rows": rows,
    }


# --------------------------------------------------------------------------- claims


def claims_spec(claims: Sequence[Mapping[str, Any]], *, title: str = "How robust are the claims?") -> Spec:
    """The share of the plausible parameter space where each claim holds, with its 95 % CI.

    ``claims``: ``[{"id", "statement", "holds_share", "ci95": [low, high], "drivers":
    [{"parameter", "index"}]}]`` (the JSON of ``detente claims``).
    """
    rows = []
    for c in claims:
        share = _num(c.get("holds_share"))
        ci = c.get("ci95") or [None, None]
        drivers = ", ".join(
            f"{d.get('parameter')} ({_num(d.get('index', d.get('total_order'))) or 0:.2f})"
            for d in (c.get("drivers") or [])[:3]
        )
        if share is None:
            verdict = "not evaluated"
        elif share >= 0.9:
            verdict = "holds almost everywhere"
        elif share <= 0.1:
            verdict = "rarely holds"
        else:
            verdict = "depends on the parameters"
        rows.append(
            {
                "id": str(c.get("id")),
                "statement": _short(str(c.get("statement", "")), 200),
                "holds_share": share,
                "lo": _num(ci[0]) if len(ci) > 0 else None,
                "hi": _num(ci[1]) if len(ci) > 1 else None,
                "verdict": verdict,
                "drivers": drivers or "-",
            }
        )
    order = [r["id"] for r in rows]
    y = {"field": "id", "type": "nominal", "sort": order, "title": None, "axis": {"labelLimit": 200}}
    tooltip = [
        {"field": "id", "title": "claim"},
        {"field": "statement"},
        {"field": "holds_share", "title": "holds in", "format": ".0%"},
        {"field": "lo", "title": "95 % low", "format": ".0%"},
        {"field": "hi", "title": "95 % high", "format": ".0%"},
        {"field": "drivers", "title": "driven by"},
    ]
    x = {"type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    spec: Spec = {
        "data": {"values": rows},
        "width": WIDTH - 120,
        "height": {"step": 26},
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.6}},
                "encoding": {
                    "y": y,
                    "x": {
                        **x,
                        "field": "holds_share",
                        "title": "share of the plausible parameter space where it holds",
                    },
                    "color": {
                        "field": "verdict",
                        "type": "nominal",
                        "title": None,
                        "scale": {
                            "domain": [
                                "holds almost everywhere",
                                "depends on the parameters",
                                "rarely holds",
                                "not evaluated",
                            ],
                            "range": ["#1a9641", "#fdae61", "#d7191c", "#bbbbbb"],
                        },
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "rule", "color": "#222", "strokeWidth": 1.5},
                "transform": [{"filter": "datum.lo != null"}],
                "encoding": {"y": y, "x": {**x, "field": "lo"}, "x2": {"field": "hi"}},
            },
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#777"}, "encoding": {"x": {"datum": 0.5}}},
        ],
    }
    return _finish(spec, title, "bars: share of sampled parameter points where the claim holds; lines: 95 % interval")


# --------------------------------------------------------------------------- export


def _vl_convert() -> Any:
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - a runtime dependency
        from ..core.errors import UsageError

        raise UsageError("figures need vl-convert-python: pip install vl-convert-python") from None
    return vl_convert


EXPORT_FORMATS = ("svg", "png", "pdf", "html", "json")


def export(spec: Spec, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write ``spec`` to ``path``; the format is the suffix: .svg, .png, .pdf, .html or .json.

    SVG, PNG and PDF are rendered by vl-convert, offline; .html is a standalone page with the
    JavaScript inline; .json is the Vega-Lite specification itself.
    """
    out = Path(path)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in EXPORT_FORMATS:
        from ..core.errors import UsageError

        raise UsageError(f"{out}: unknown figure format {suffix!r}; use one of .{', .'.join(EXPORT_FORMATS)}")
    if suffix == "json":
        out.write_text(json.dumps(spec, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return out
    if suffix == "html":
        from .html import standalone_figure_html

        out.write_text(standalone_figure_html(spec), encoding="utf-8")
        return out
    vlc = _vl_convert()
    if suffix == "svg":
        out.write_text(vlc.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION), encoding="utf-8")
    elif suffix == "png":
        out.write_bytes(vlc.vegalite_to_png(spec, vl_version=VEGA_LITE_VERSION, scale=scale))
    else:
        out.write_bytes(vlc.vegalite_to_pdf(spec, vl_version=VEGA_LITE_VERSION))
    return out


def to_svg(spec: Spec) -> str:
    """``spec`` rendered to an SVG document (offline)."""
    text: str = _vl_convert().vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)
    return text


def _bundle_cache_path(key: str) -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "detente" / f"vega-bundle-{key}.js"


@lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from vl-convert; no network).

    Building it takes a few seconds, so it is cached in memory and under the user's cache
    directory, keyed by the library versions.
    """
    import os

    vlc = _vl_convert()
    key = f"{vlc.get_vega_version()}-{VEGA_LITE_VERSION}-{vlc.get_vega_embed_version()}"
    path = _bundle_cache_path(key)
    try:
        text = path.read_text(encoding="utf-8")
        if text.rstrip().endswith(";") and "vegaEmbed" in text:
            return text
    except OSError:
        pass
    text = str(vlc.javascript_bundle(vl_version=VEGA_LITE_VERSION))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only home: the memory cache still helps
        pass
    return text
