"""What-if items ``NAME=VALUE`` as the command line (``--set``) and the web app (``set=``) take
them: one parser, so both refuse the same inputs with the same limits."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .errors import UsageError
from .limits import MAX_ABS_NUMBER

__all__ = ["parse_overrides"]


def parse_overrides(
    items: Iterable[str] | None, *, option: Callable[[str], str], example: str
) -> dict[str, float | str]:
    """``{NAME: value}`` from ``NAME=VALUE`` items: a number must be finite and within the
    number-size limit; anything else stays text (an expression or a name, checked later).
    ``option(x)`` names the item in a message (``--set x`` or ``set=x``); ``example`` shows one."""
    out: dict[str, float | str] = {}
    for item in items or []:
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key or not value:
            raise UsageError(f"{option(repr(item))}: expected NAME=VALUE, e.g. {example}")
        try:
            number = float(value)
        except ValueError:
            out[key] = value
            continue
        if not (math.isfinite(number) and abs(number) <= MAX_ABS_NUMBER):
            raise UsageError(
                f"{option(key)}: expected a finite number from {-MAX_ABS_NUMBER:g} to {MAX_ABS_NUMBER:g}, "
                f"found {value!r}"
            )
        out[key] = number
    return out
