"""The page machinery of the report and of standalone figures: Jinja2 templates, filters, JSON.

Templates live in ``templates/``; every script and style is inlined from there, so a page
fetches nothing. :func:`json_safe` and the ``spec_json`` filter make strict JSON (NaN and
infinities become null, and no ``</script>`` can break out of an inline block).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from .vega import javascript_bundle

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Environment

__all__ = ["asset", "env", "fmt", "json_safe", "linkify", "standalone_figure_html"]


def fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if x != x:
            return "–"
        if x in (float("inf"), float("-inf")):
            return "∞" if x > 0 else "−∞"
        return f"{x:.{digits}g}".replace("-", "−")
    return str(x)


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:)]")


def linkify(text: str | None) -> Markup:
    """Escape ``text`` and turn bare URLs into links (they open only when clicked)."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for m in _URL.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        url = m.group(0)
        out.append(f'<a href="{escape(url)}" rel="noreferrer noopener" target="_blank">{escape(url)}</a>')
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def _spec_json(spec: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (no ``</script>`` breakout)."""
    text = json.dumps(spec, allow_nan=False, separators=(",", ":"), default=json_default)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def json_safe(data: Any) -> Any:
    """``data`` with NaN and infinities replaced by None (strict JSON); tuples become lists."""
    kind = type(data)
    if kind is float:
        return data if math.isfinite(data) else None
    if kind is str or kind is int or kind is bool or data is None:
        return data
    if kind is dict or isinstance(data, Mapping):
        return {k if type(k) is str else str(k): json_safe(v) for k, v in data.items()}
    if kind is list or kind is tuple:
        return [json_safe(v) for v in data]
    if isinstance(data, float):  # numpy floats
        value = float(data)
        return value if math.isfinite(value) else None
    return data


@lru_cache(maxsize=1)
def env() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("detente.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["fmt"] = fmt
    environment.filters["linkify"] = linkify
    environment.filters["spec_json"] = _spec_json
    return environment


def asset(name: str) -> str:
    from importlib.resources import files

    return files("detente.report").joinpath("templates", name).read_text(encoding="utf-8")


def standalone_figure_html(spec: Mapping[str, Any], title: str | None = None) -> str:
    """One figure as a self-contained interactive page (for ``detente figure ... --out x.html``)."""
    head = title or str((spec.get("title") or {}).get("text", "detente figure"))
    template = env().get_template("figure.html.j2")
    return template.render(
        title=head,
        spec=spec,
        bundle=Markup(javascript_bundle().replace("</script", "<\\/script")),
        init=Markup(asset("report.js")),
        style=Markup(asset("report.css")),
    )
