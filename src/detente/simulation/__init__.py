"""Monte Carlo simulation of strategies under imperfect verification, and classic repeated games.

``detente.simulation.no_deal_values`` (each party's value under no deal, the baseline that
``simulate`` reports values against) is imported on first use, so importing the package stays
cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["no_deal_values"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import simulate as _module

        return getattr(_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
