"""Figures of one schedule and its check: the timeline, the slack profile, exposure and leverage.

Each ``*_spec`` is a pure function from plain data (the JSON the check already produces) to a
Vega-Lite specification; :func:`timeline_rows` builds the timeline's data from a scenario.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .vega import IRREVERSIBLE_COLOR, REVERSIBLE_COLOR, VIOLATION_COLOR, WIDTH, Spec, finish, num, short

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario, Step

__all__ = ["leverage_spec", "slack_spec", "timeline_rows", "timeline_spec"]


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
    data = sorted((dict(r) for r in rows), key=lambda r: r.get("order", 0))  # the y axis follows this order
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
        # the rows come in schedule order; sorting by a field would make Vega-Lite union sorted
        # domains from the two layers' separate sources (a console warning per panel)
        "sort": None,
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
    layers: list[Spec] = [
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
    ]
    # one chart per party, stacked (a facet with independent y scales makes Vega-Lite warn in
    # the console for every panel); each chart lists only its party's concessions
    panels: list[Spec] = [
        {
            "title": {"text": party, "fontSize": 12, "anchor": "start"},
            "width": WIDTH,
            "transform": [{"filter": {"field": "party", "equal": party}}],
            "layer": layers,
        }
        for party in parties
        if any(r["party"] == party for r in data)
    ]
    spec: Spec = {"data": {"values": data}, "vconcat": panels, "resolve": {"scale": {"y": "independent"}}}
    return finish(
        spec,
        title,
        "bars: what is in force, darker = more of it; red = irreversible, blue dashed = reversible",
    )


def slack_spec(report: Mapping[str, Any], *, period_label: str = "period", title: str | None = None) -> Spec:
    """The slack profile per party (comply − deviate at each period), violations marked.

    ``report`` is :meth:`EnforcementReport.to_dict` (the docs/model.md §7 JSON).
    """
    rows = []
    for c in report.get("constraints", []):
        slack = num(c.get("slack"))
        if slack is None:
            continue
        violated = slack < -1e-9
        rows.append(
            {
                "party": c["party"],
                "period": c["period"],
                "slack": slack,
                "comply": num(c.get("comply")),
                "deviate": num(c.get("deviate")),
                "plan": c.get("plan", ""),
                "status": "violated" if violated else "holds",
                "explanation": short(c.get("explanation") or ("holds" if not violated else "")),
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
    return finish(spec, head, sub)


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
                "value": num(r.get("exposure")),
                "detail": f"if {src} cheated" if src else "",
            }
        )
        rows.append(
            {
                "party": r["party"],
                "period": r["period"],
                "measure": "leverage",
                "value": num(r.get("leverage")),
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
    return finish(
        spec, head, "exposure: what a party loses if another cheats now; leverage: what it gains by cheating now"
    )
