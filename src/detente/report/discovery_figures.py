"""Figures of scenario discovery (Vega-Lite, like :mod:`detente.report.figures`).

- :func:`tradeoff_spec`: PRIM's coverage-density trade-off curve, one point per peeling step,
  coloured by the number of bounding parameters, the chosen box ringed;
- :func:`box_spec`: the sample points on the box's two bounding parameters (the two that cut
  the most points off), coloured by whether the output is of interest, with the box drawn.

Both take the plain JSON of ``detente discover --json`` (and, for the box, the points), so that
they can be tested and fed without running an analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .vega import WIDTH
from .vega import finish as _finish
from .vega import num as _num

__all__ = ["box_spec", "tradeoff_spec"]

Spec = dict[str, Any]
#: At most this many points are drawn on the box figure (every k-th point beyond it).
MAX_POINTS = 2000


def tradeoff_spec(discovery: Mapping[str, Any], *, title: str | None = None) -> Spec:
    """Coverage (x) against density (y) along PRIM's peeling trajectory.

    ``discovery``: ``{"output", "tradeoff": [{"coverage", "density", "restricted"?}],
    "selected"?}``.
    """
    selected = discovery.get("selected")
    rows = [
        {
            "step": i,
            "coverage": _num(t.get("coverage")),
            "density": _num(t.get("density")),
            "restricted": int(t.get("restricted") or 0),
            "chosen": i == selected,
        }
        for i, t in enumerate(discovery.get("tradeoff") or [])
    ]
    tooltip = [
        {"field": "step", "title": "--box"},
        {"field": "coverage", "format": ".0%"},
        {"field": "density", "format": ".0%"},
        {"field": "restricted", "title": "bounding parameters"},
    ]
    x = {"field": "coverage", "type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    y = {"field": "density", "type": "quantitative", "scale": {"zero": False}, "axis": {"format": "%"}}
    spec: Spec = {
        "data": {"values": rows},
        "width": WIDTH - 160,
        "height": 260,
        "layer": [
            {
                "mark": {"type": "line", "color": "#bbb"},
                "encoding": {"x": x, "y": y, "order": {"field": "step"}},
            },
            {
                "mark": {"type": "circle", "size": 60, "opacity": 0.9},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "restricted",
                        "type": "ordinal",
                        "title": "bounding parameters",
                        "scale": {"scheme": "viridis"},
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "point", "size": 260, "color": "#d62728", "strokeWidth": 2},
                "transform": [{"filter": "datum.chosen"}],
                "encoding": {"x": x, "y": y, "tooltip": tooltip},
            },
        ],
    }
    head = title or f"Where is {discovery.get('output', 'the output')} {_what(discovery)}? PRIM's trade-off"
    return _finish(spec, head, "each point a box on the peeling trajectory; ringed: the chosen box (--box N)")


def _what(discovery: Mapping[str, Any]) -> str:
    return "true" if discovery.get("target", True) else "false"


def box_spec(
    discovery: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    *,
    box: int = 0,
    title: str | None = None,
) -> Spec | None:
    """The points on the two bounding parameters of box ``box`` with the box drawn; None when the
    box bounds no parameter (or there is no such box).

    ``points``: ``[{PARAMETER: value, ..., "interest": bool}]``; ``discovery["boxes"][box]`` has
    ``bounds: {parameter: [lo, hi]}`` (the parameters it restricts) and ``text``.
    """
    boxes = discovery.get("boxes") or []
    if box >= len(boxes):
        return None
    chosen = boxes[box]
    bounds: Mapping[str, Sequence[float]] = chosen.get("bounds") or {}
    if not bounds:
        return None

    def cut(name: str) -> int:
        lo, hi = bounds[name]
        return sum(1 for p in points if not lo <= float(p[name]) <= hi)

    names = sorted(bounds, key=lambda n: -cut(n))[:2]
    step = max(1, len(points) // MAX_POINTS)
    x_name = names[0]
    y_name = names[1] if len(names) > 1 else None
    rows = []
    for p in list(points)[::step]:
        row = {"x": _num(p[x_name]), "interest": "yes" if p.get("interest") else "no"}
        if y_name is not None:
            row["y"] = _num(p[y_name])
        rows.append(row)
    rect: Spec = {"x": _num(bounds[x_name][0]), "x2": _num(bounds[x_name][1])}
    if y_name is not None:
        rect |= {"y": _num(bounds[y_name][0]), "y2": _num(bounds[y_name][1])}
    what = _what(discovery)
    x = {"field": "x", "type": "quantitative", "title": x_name, "scale": {"zero": False}}
    y: Spec = (
        {"field": "y", "type": "quantitative", "title": y_name, "scale": {"zero": False}}
        if y_name is not None
        else {"datum": 0, "type": "quantitative", "axis": None}
    )
    box_enc: Spec = {
        "x": {"field": "x", "type": "quantitative"},
        "x2": {"field": "x2"},
    }
    if y_name is not None:
        box_enc |= {"y": {"field": "y", "type": "quantitative"}, "y2": {"field": "y2"}}
    spec: Spec = {
        "width": WIDTH - 160,
        "height": 300 if y_name is not None else 80,
        "layer": [
            {
                "data": {"values": rows},
                "mark": {"type": "circle", "size": 14, "opacity": 0.6},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "interest",
                        "type": "nominal",
                        "title": f"output {what}",
                        "scale": {"domain": ["yes", "no"], "range": ["#d62728", "#9ecae1"]},
                    },
                },
            },
            {
                "data": {"values": [rect]},
                "mark": {"type": "rect", "fillOpacity": 0.0, "stroke": "#333", "strokeWidth": 2},
                "encoding": box_enc,
            },
        ],
    }
    head = title or f"The box: {chosen.get('text', '')}"
    sub = (
        f"coverage {100 * float(chosen.get('coverage', 0)):.0f}%, density {100 * float(chosen.get('density', 0)):.0f}%;"
        f" points where {discovery.get('output', 'the output')} is {what} in red"
    )
    return _finish(spec, head, sub)
