"""Vega-Lite plumbing shared by every figure: the house style and the offline renderer.

The figure modules (:mod:`.figures_schedule`, :mod:`.figures_simulation`,
:mod:`.figures_uncertainty`) build specifications with :func:`finish` and the colours here;
``vl-convert`` (which embeds its own JavaScript engine and fonts: no browser, no network)
renders them to SVG and supplies the Vega, Vega-Lite and vega-embed script that the report
and the web page inline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

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

CONFIG: Spec = {
    "font": "Liberation Sans, Arial, Helvetica, sans-serif",
    "view": {"stroke": "#ddd"},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eee"},
    "header": {"labelFontSize": 12, "labelFontWeight": "bold", "titleFontSize": 12},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "top"},
    "title": {"fontSize": 14, "anchor": "start", "subtitleFontSize": 11, "subtitleColor": "#555"},
}


def finish(spec: Spec, title: str, subtitle: str | Sequence[str] | None = None) -> Spec:
    """``spec`` with its title (and subtitle lines), the house style, a white background and padding."""
    head: Spec = {"text": title}
    if subtitle:
        head["subtitle"] = subtitle
    out: Spec = {"title": head, **spec}
    out["config"] = CONFIG
    out.setdefault("background", "white")
    out.setdefault("padding", 8)
    return out


def num(x: Any) -> float | None:
    """A JSON-safe float (None for NaN, infinities and None)."""
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def party_scale(parties: Sequence[str]) -> Spec:
    return {"domain": list(parties), "range": [PARTY_COLORS[i % len(PARTY_COLORS)] for i in range(len(parties))]}


def short(text: str, n: int = 140) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def vl_convert() -> Any:
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - a runtime dependency
        from ..core.errors import UsageError

        raise UsageError("figures need vl-convert-python: pip install vl-convert-python") from None
    return vl_convert


def to_svg(spec: Spec) -> str:
    """``spec`` rendered to an SVG document (offline)."""
    text: str = vl_convert().vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)
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

    vlc = vl_convert()
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
