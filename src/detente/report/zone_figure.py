"""The agreement zone as a picture (Vega-Lite, like :mod:`detente.report.figures`).

:func:`frontier_spec` draws the Pareto frontier of two parties' values relative to no deal
(one party per axis), the no-deal point (0, 0), the positions each side put forward (the
scenario's named schedules, filled when self-enforcing, hollow when not) and the fair and
fastest points. :func:`positions` computes those positions with the exact check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.scenario import Scenario
from .vega import WIDTH, finish, num

__all__ = ["frontier_spec", "positions"]

Spec = dict[str, Any]


def positions(scn: Scenario) -> list[dict[str, Any]]:
    """Each named schedule's values V_i(0) (relative to no deal) and whether it is self-enforcing."""
    from ..analysis.enforcement import check

    out = []
    for name, _ in scn.iter_schedules():
        rep = check(scn, name, explain=False)
        out.append({"name": name, "values": dict(rep.participation), "self_enforcing": bool(rep.self_enforcing)})
    return out


def frontier_spec(
    zone: Mapping[str, Any],
    named: Sequence[Mapping[str, Any]] = (),
    *,
    title: str = "Agreement zone",
) -> Spec:
    """The frontier figure from ``ZoneResult.to_dict()`` and :func:`positions` rows."""
    parties = list(zone.get("parties") or [])
    if len(parties) < 2:
        parties = [*parties, *parties][:2] or ["A", "B"]
    a, b = parties[0], parties[1]
    rows: list[dict[str, Any]] = []
    for p in zone.get("frontier") or []:
        rows.append({"x": num(p["values"][a]), "y": num(p["values"][b]), "kind": "frontier", "label": ""})
    rows.append({"x": 0.0, "y": 0.0, "kind": "no deal", "label": "no deal"})
    for key, label in (("fair", "fair (Nash)"), ("fastest", "fastest")):
        point = zone.get(key)
        if point:
            rows.append({"x": num(point["values"][a]), "y": num(point["values"][b]), "kind": label, "label": label})
    for pos in named:
        kind = "position (self-enforcing)" if pos["self_enforcing"] else "position (not self-enforcing)"
        rows.append(
            {"x": num(pos["values"].get(a)), "y": num(pos["values"].get(b)), "kind": kind, "label": pos["name"]}
        )
    kinds = [
        "frontier",
        "no deal",
        "fair (Nash)",
        "fastest",
        "position (self-enforcing)",
        "position (not self-enforcing)",
    ]
    colors = ["#555555", "#000000", "#2ca02c", "#ff7f0e", "#1f77b4", "#d62728"]
    shapes = ["circle", "cross", "diamond", "triangle-up", "square", "square"]
    x = {"field": "x", "type": "quantitative", "title": f"{a}'s value relative to no deal"}
    y = {"field": "y", "type": "quantitative", "title": f"{b}'s value relative to no deal"}
    color = {"field": "kind", "type": "nominal", "title": None, "scale": {"domain": kinds, "range": colors}}
    spec: Spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": WIDTH,
        "height": 360,
        "data": {"values": rows},
        "layer": [
            {
                "transform": [{"filter": "datum.kind == 'frontier'"}],
                "mark": {"type": "line", "point": True, "color": "#555555"},
                "encoding": {"x": x, "y": y, "order": {"field": "x"}},
            },
            {
                "transform": [{"filter": "datum.kind != 'frontier'"}],
                "mark": {"type": "point", "size": 110, "filled": True},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": color,
                    "shape": {"field": "kind", "type": "nominal", "scale": {"domain": kinds, "range": shapes}},
                    "tooltip": [
                        {"field": "label", "title": "point"},
                        {"field": "x", "title": a, "format": ".3f"},
                        {"field": "y", "title": b, "format": ".3f"},
                    ],
                },
            },
            {
                "transform": [{"filter": "datum.label != ''"}],
                "mark": {"type": "text", "align": "left", "dx": 7, "dy": -7, "fontSize": 10},
                "encoding": {"x": x, "y": y, "text": {"field": "label"}},
            },
        ],
    }
    sub = zone.get("message") or ""
    return finish(spec, title, sub if len(sub) < 160 else sub[:157] + "…")
