"""Figures of the simulations: outcome distributions per strategy profile and the tournament.

The data are the engines' JSON (:func:`quantile_row` summarises one distribution).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .vega import WIDTH, Spec, finish, num, party_scale

__all__ = ["outcomes_spec", "quantile_row", "tournament_spec"]


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
    # the labels name the strategies; an axis title would overlap the longest of them
    y = {"field": "label", "type": "nominal", "title": None, "sort": labels, "axis": {"labelLimit": 300}}
    tooltip = [
        {"field": "label", "title": "strategies"},
        {"field": "party"},
        {"field": "mean", "format": ".3g"},
        {"field": "p5", "title": "5 %", "format": ".3g"},
        {"field": "p50", "title": "median", "format": ".3g"},
        {"field": "p95", "title": "95 %", "format": ".3g"},
        {"field": "n", "title": "episodes"},
    ]
    color = {"field": "party", "type": "nominal", "scale": party_scale(parties), "legend": None}
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
    return finish(spec, title, "whiskers 5–95 %, box 25–75 %, tick median, dot mean")


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
    side = max(150, min(270, 30 * len(cols)))  # about 30 px a cell, so that its number fits
    for i, (name, grid, scheme, fmt, domain) in enumerate(metrics):
        # the row labels once, on the first panel: the three panels then fit a 1,280 px window
        row_axis: Spec = {} if i == 0 else {"axis": {"labels": False, "ticks": False}, "title": None}
        cells = []
        for r, rs in enumerate(rows_):
            for c, cs in enumerate(cols):
                value = num(grid[r][c])
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
                            "y": {"field": "row", "type": "nominal", "sort": rows_, "title": row_title, **row_axis},
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
    return finish(spec, head, f"mean over {result.get('episodes', '?')} episodes per pairing")
