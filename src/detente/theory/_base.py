"""What every theory model shares: domain checks on plain numbers and the JSON shape of a result.

Each model is a pure function of a few numbers. An input outside the model's domain raises
:class:`DomainError`, a :class:`~detente.core.errors.UsageError` that also carries the name of
the offending input and its allowed range, so a front end can name its own option for it.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..core.errors import UsageError

__all__ = ["MAX_MAGNITUDE", "DomainError", "TheoryResult", "check_int", "check_real"]

#: Largest magnitude of any real input: far beyond any meaningful payoff, and small enough that
#: no model's arithmetic overflows.
MAX_MAGNITUDE = 1e12


class DomainError(UsageError):
    """An input outside the model's domain; ``name`` is the input, ``allowed`` its range in words."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        shown = repr(float(value)) if isinstance(value, float) else repr(value)  # np.float64(2.0) -> 2.0
        super().__init__(f"{name}={shown}: must be {allowed}")


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

    ``lo_open``/``hi_open`` exclude the bound itself; ``None`` means bounded only by
    :data:`MAX_MAGNITUDE` on that side.
    """
    if lo is None:
        lo, lo_open = -MAX_MAGNITUDE, False
    if hi is None:
        hi, hi_open = MAX_MAGNITUDE, False
    allowed = _interval(lo, hi, lo_open, hi_open)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DomainError(name, value, allowed) from None
    if not math.isfinite(x):
        raise DomainError(name, value, allowed)
    if x < lo or (lo_open and x == lo):
        raise DomainError(name, value, allowed)
    if x > hi or (hi_open and x == hi):
        raise DomainError(name, value, allowed)
    return x


def check_int(name: str, value: int, *, lo: int, hi: int) -> int:
    """``value`` as an int if it is a whole number (any integral type) in ``[lo, hi]``, else :class:`DomainError`."""
    allowed = f"a whole number from {lo} to {hi}"
    if isinstance(value, bool):
        raise DomainError(name, value, allowed)
    try:
        n = operator.index(value)
    except TypeError:
        raise DomainError(name, value, allowed) from None
    if not lo <= n <= hi:
        raise DomainError(name, value, allowed)
    return n


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
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

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                raise UsageError(
                    f"{self.model}: the inputs are so extreme that {f.name} is not a finite number; "
                    "use less extreme values"
                )

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
