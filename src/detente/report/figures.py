"""Figures as Vega-Lite specifications: one stack for the report, the web page and papers.

Every figure is a pure function from plain data (lists and dicts, the JSON the engines
already produce) to a Vega-Lite specification, itself a plain dict. The same dict is
rendered interactively in the browser by vega-embed (inlined in the report, served by the web
app) and exported to SVG, PNG or PDF by ``vl-convert`` (:func:`export`), which embeds its own
JavaScript engine and fonts: no browser, no network.

This module is the figures' one front door; the work is split by responsibility:
:mod:`.vega` (house style, rendering), :mod:`.figures_schedule`, :mod:`.figures_simulation`,
:mod:`.figures_uncertainty` (the specs) and :mod:`.export` (files). Why Vega-Lite and not Plotly is said in
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

from .export import EXPORT_FORMATS, export
from .figures_schedule import leverage_spec, slack_spec, timeline_rows, timeline_spec
from .figures_simulation import outcomes_spec, quantile_row, tournament_spec
from .figures_uncertainty import claims_spec, sobol_spec, tornado_data, tornado_spec
from .vega import FIGURE_KINDS, VEGA_LITE_VERSION, WIDTH, Spec, javascript_bundle, to_svg

__all__ = [
    "EXPORT_FORMATS",
    "FIGURE_KINDS",
    "VEGA_LITE_VERSION",
    "WIDTH",
    "Spec",
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
    "to_svg",
    "tornado_data",
    "tornado_spec",
    "tournament_spec",
]
