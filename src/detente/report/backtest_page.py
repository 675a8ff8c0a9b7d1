"""The backtest page of the report (``detente report --backtest``) and its figure.

:func:`breakdown_spec` draws, per case, the recorded month of the first breach against the
predicted one, with the timing window around the record; :func:`backtest_html` renders the
whole page (table, summary, figure, one paragraph per case) as one self-contained file that
works offline. Both take the plain data of :meth:`BacktestResult.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import figures as F

__all__ = ["backtest_html", "breakdown_rows", "breakdown_spec"]


def breakdown_rows(cases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per case and source (recorded, predicted) with the month of the first breach."""
    rows = []
    for c in cases:
        for which, block in (("recorded", c["outcome"]), ("predicted", c["predicted"])):
            fb = block.get("first_breach")
            rows.append(
                {
                    "case": c["case"],
                    "which": which,
                    "month": fb["period"] if fb else None,
                    "party": fb["party"] if fb else None,
                    "step": fb["step"] if fb else None,
                    "kind": fb["kind"] if fb else None,
                    "breach": "yes" if fb else "none",
                }
            )
    return rows


def breakdown_spec(
    cases: Sequence[Mapping[str, Any]], *, window: int = 12, title: str = "Predicted and recorded breakdown"
) -> dict[str, Any]:
    """Per case, the month of the first breach as recorded and as predicted at the best values.

    A grey bar spans the recorded month plus or minus ``window`` (a prediction inside it
    matches on timing). Cases with no breach on one side show no mark there.
    """
    rows = [r for r in breakdown_rows(cases) if r["month"] is not None]
    bands = [
        {"case": c["case"], "lo": max(0, fb["period"] - window), "hi": fb["period"] + window}
        for c in cases
        if (fb := c["outcome"].get("first_breach"))
    ]
    order = [c["case"] for c in cases]
    y = {"field": "case", "type": "nominal", "sort": order, "title": None}
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": 560,
        "height": {"step": 26},
        "layer": [
            {
                "data": {"values": bands},
                "mark": {"type": "bar", "color": "#ddd", "height": 12},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "lo",
                        "type": "quantitative",
                        "title": "month of the first breach (period 0 = start)",
                    },
                    "x2": {"field": "hi"},
                },
            },
            {
                "data": {"values": rows},
                "mark": {"type": "point", "filled": True, "size": 90},
                "encoding": {
                    "y": y,
                    "x": {"field": "month", "type": "quantitative"},
                    "color": {
                        "field": "which",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["recorded", "predicted"], "range": ["#222", "#d62728"]},
                    },
                    "shape": {
                        "field": "which",
                        "type": "nominal",
                        "scale": {"domain": ["recorded", "predicted"], "range": ["circle", "diamond"]},
                    },
                    "tooltip": [
                        {"field": "case"},
                        {"field": "which"},
                        {"field": "month"},
                        {"field": "party"},
                        {"field": "step"},
                        {"field": "kind"},
                    ],
                },
            },
        ],
        "title": {
            "text": title,
            "subtitle": f"grey: the recorded month plus or minus {window} months; no mark: no breach on that side",
            "anchor": "start",
        },
    }
    return spec


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("detente.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    from importlib.resources import files

    return files("detente.report").joinpath("templates", name).read_text(encoding="utf-8")


def backtest_html(data: Mapping[str, Any], *, bundle: str | None = None) -> str:
    """The backtest page: ``data`` is :meth:`BacktestResult.to_dict`."""
    import json

    from markupsafe import Markup

    summary = data["summary"]
    spec = breakdown_spec(data["cases"], window=summary["window"])
    script = bundle if bundle is not None else F.javascript_bundle().replace("</script", "<\\/script")
    return str(
        _env()
        .get_template("backtest.html.j2")
        .render(
            cases=data["cases"],
            summary=summary,
            spec=Markup(json.dumps(spec).replace("</", "<\\/")),
            machine=Markup(json.dumps(data, default=str).replace("</", "<\\/")),
            bundle=Markup(script),
            style=Markup(_asset("report.css")),
            init=Markup(_asset("report.js")),
        )
    )
