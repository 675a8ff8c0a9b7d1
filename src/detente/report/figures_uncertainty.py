"""Figures of the uncertainty analyses: Sobol indices, one-at-a-time tornado, robustness of claims.

:func:`tornado_data` runs the one-at-a-time check; the ``*_spec`` functions take plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .vega import VIOLATION_COLOR, WIDTH, Spec, finish, num, short

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario, Step

__all__ = ["claims_spec", "sobol_spec", "tornado_data", "tornado_spec"]


def _ci_pair(value: Any, centre: float | None) -> tuple[float | None, float | None]:
    """A confidence interval given as [low, high] or as a half-width around ``centre``."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return num(value[0]), num(value[1])
    half = num(value)
    if half is None or centre is None:
        return None, None
    return centre - half, centre + half


def _unit(x: float | None) -> float | None:
    """``x`` clamped to [0, 1], the range a Sobol index is drawn in."""
    return None if x is None else min(1.0, max(0.0, x))


def sobol_spec(result: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """First- and total-order Sobol indices per parameter, largest total order first.

    ``result``: ``{"output": str, "parameters": [{"parameter", "first_order", "total_order",
    "first_order_ci"?, "total_order_ci"?}]}``; a CI is ``[low, high]`` or a half-width.
    """
    rows = []
    for p in result.get("parameters", []):
        for key, label in (("first_order", "first order"), ("total_order", "total order")):
            value = num(p.get(key))
            lo, hi = _ci_pair(p.get(f"{key}_ci"), value)
            rows.append(
                {
                    "parameter": p["parameter"],
                    "index": label,
                    "value": value,
                    "lo": lo,
                    "hi": hi,
                    # drawn within the axis: small samples give estimates and intervals beyond [0, 1],
                    # which would otherwise widen the figure and strike through the labels
                    "bar": _unit(value),
                    "lo_drawn": _unit(lo),
                    "hi_drawn": _unit(hi),
                }
            )
    order = [
        p["parameter"] for p in sorted(result.get("parameters", []), key=lambda p: -(num(p.get("total_order")) or 0.0))
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
                "mark": {"type": "bar", "clip": True},
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index", "sort": ["first order", "total order"]},
                    "x": {
                        "field": "bar",
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
                "mark": {"type": "rule", "color": "#333", "clip": True},
                "transform": [{"filter": "datum.lo != null"}],
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index", "sort": ["first order", "total order"]},
                    "x": {"field": "lo_drawn", "type": "quantitative"},
                    "x2": {"field": "hi_drawn"},
                },
            },
        ],
    }
    head = title or f"Global sensitivity of {result.get('output', 'the output')}"
    return finish(
        spec,
        head,
        [
            "share of the output's variance due to each parameter (total order includes interactions);",
            "lines: 95 % intervals, drawn within [0, 1] (the tooltip gives the estimates as computed)",
        ],
    )


def tornado_spec(result: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """One-at-a-time swings: the output at each end of a parameter's range, widest first.

    ``result``: ``{"output": str, "baseline": float, "threshold": float | None, "rows":
    [{"parameter", "low", "high", "output_low", "output_high"}]}``.
    """
    base = num(result.get("baseline")) or 0.0
    rows = []
    swing: dict[str, float] = {}
    for r in result.get("rows", []):
        lo_out, hi_out = num(r.get("output_low")), num(r.get("output_high"))
        for end, out, at in (("low end", lo_out, r.get("low")), ("high end", hi_out, r.get("high"))):
            if out is None:
                continue
            rows.append({"parameter": r["parameter"], "end": end, "at": num(at), "output": out, "baseline": base})
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
    threshold = num(result.get("threshold"))
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
    return finish(spec, head, sub)


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


def claims_spec(claims: Sequence[Mapping[str, Any]], *, title: str = "How robust are the claims?") -> Spec:
    """The share of the plausible parameter space where each claim holds, with its 95 % CI.

    ``claims``: ``[{"id", "statement", "holds_share", "ci95": [low, high], "drivers":
    [{"parameter", "index"}]}]`` (the JSON of ``detente claims``).
    """
    rows = []
    for c in claims:
        share = num(c.get("holds_share"))
        ci = c.get("ci95") or [None, None]
        drivers = ", ".join(
            f"{d.get('parameter')} ({num(d.get('index', d.get('total_order'))) or 0:.2f})"
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
                "statement": short(str(c.get("statement", "")), 200),
                "holds_share": share,
                "lo": num(ci[0]) if len(ci) > 0 else None,
                "hi": num(ci[1]) if len(ci) > 1 else None,
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
                "mark": {"type": "rule", "color": "#222", "strokeWidth": 1.5, "clip": True},
                "transform": [{"filter": "datum.lo != null"}],
                "encoding": {"y": y, "x": {**x, "field": "lo"}, "x2": {"field": "hi"}},
            },
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#777"}, "encoding": {"x": {"datum": 0.5}}},
        ],
    }
    return finish(spec, title, "bars: share of sampled parameter points where the claim holds; lines: 95 % interval")
