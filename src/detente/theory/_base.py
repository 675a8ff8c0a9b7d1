"""What every theory model shares: domain checks on plain numbers and the JSON shape of a result.

Each model is a pure function of a few numbers. An input outside the model's domain raises
:class:`DomainError`, a :class:`~detente.core.errors.UsageError` that also carries the name of
the offending input and its allowed range, so a front end can name its own option for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..core.errors import UsageError

__all__ = ["DomainError", "TheoryResult", "check_int", "check_real"]


class DomainError(UsageError):
    """An input outside the model's domain; ``name`` is the input, ``allowed`` its range in words."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name}={value!r}: must be {allowed}")


def check_real(
    name: str,
    value: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """``value`` as a float if it is finite and within the bounds, else :class:`DomainError`.

    ``lo_open``/``hi_open`` exclude the bound itself; ``None`` means unbounded on that side.
    """
    allowed = _interval(lo, hi, lo_open, hi_open)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DomainError(name, value, allowed) from None
    if not math.isfinite(x):
        raise DomainError(name, value, allowed)
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise DomainError(name, value, allowed)
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise DomainError(name, value, allowed)
    return x


def check_int(name: str, value: int, *, lo: int, hi: int) -> int:
    """``value`` if it is a whole number in ``[lo, hi]``, else :class:`DomainError`."""
    allowed = f"a whole number from {lo} to {hi}"
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise DomainError(name, value, allowed)
    return value


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return "a finite number"
    if hi is None:
        return f"a finite number {'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"a finite number {'<' if hi_open else '<='} {hi:g}"
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f"a number in {left}{lo:g}, {hi:g}{right}"


@dataclass(frozen=True)
class TheoryResult:
    """Base of every model's result: its fields are the inputs followed by the results.

    Subclasses set ``model`` (the name used on the command line) and ``inputs`` (the names of
    the fields that are inputs); every other field is a result.
    """

    model: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """``{"model": name, "inputs": {...}, "results": {...}}``, ready for ``json.dumps``."""
        values = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        return {
            "model": self.model,
            "inputs": {k: values[k] for k in self.inputs},
            "results": {k: v for k, v in values.items() if k not in self.inputs},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
