"""Writing a figure to a file: SVG, PNG or PDF through vl-convert (offline), a standalone
interactive HTML page, or the Vega-Lite JSON itself."""

from __future__ import annotations

import json
from pathlib import Path

from .pages import standalone_figure_html
from .vega import VEGA_LITE_VERSION, Spec, vl_convert

__all__ = ["EXPORT_FORMATS", "export"]

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
        out.write_text(standalone_figure_html(spec), encoding="utf-8")
        return out
    vlc = vl_convert()
    if suffix == "svg":
        out.write_text(vlc.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION), encoding="utf-8")
    elif suffix == "png":
        out.write_bytes(vlc.vegalite_to_png(spec, vl_version=VEGA_LITE_VERSION, scale=scale))
    else:
        out.write_bytes(vlc.vegalite_to_pdf(spec, vl_version=VEGA_LITE_VERSION))
    return out
