"""The environment a simulation runs in (MODEL.md section 5): sanctions, hazard, crisis, shocks.

All values may be numbers or expressions over parameters. The check of section 3 ignores the
environment; the simulation reads it. ``sanctions`` describes a regime on a ``target`` whose
bite a third party can leak: the target's status-quo flow is ``-pressure * (1 - leakage)`` and a
relief concession can refer to the same parameters. ``hazard`` gives each party a per-period
probability of walking away into crisis that starts at ``base`` and rises by ``growth`` for each
period without a net gain (the regime's domestic clock). ``crisis`` gives each party's
per-period flow once the crisis has begun. ``shocks`` change parameters from a period on, at a
fixed date (``at``) or at random (``probability`` per period).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .expr import Expr

__all__ = ["Environment", "Hazard", "Sanctions", "Shock"]


def _num_type() -> object:
    from .scenario import Num

    return Num


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


# The number types live in scenario.py; importing them here at module level would be circular,
# so the models below are completed by scenario.py (see ``_complete``).
NumT = Annotated[float | Expr, "num"]


class Sanctions(_Model):
    """A sanctions regime on ``target``; ``pressure * (1 - leakage)`` is what it bites."""

    target: StrictStr
    sender: StrictStr | None = None
    pressure: NumT = 1.0
    leakage: NumT = 0.0


class Hazard(_Model):
    """Per-period probability of walking away: ``base + growth * periods without a net gain``."""

    base: NumT = 0.0
    growth: NumT = 0.0


class Shock(_Model):
    """An event that sets parameters from a period on: dated (``at``) or random (``probability``)."""

    name: StrictStr
    at: int | None = None
    probability: NumT | None = None
    set: dict[StrictStr, NumT] = Field(default_factory=dict)
    description: StrictStr | None = None


class Environment(_Model):
    """Everything outside the agreement that the simulation models."""

    sanctions: Sanctions | None = None
    hazard: dict[StrictStr, Hazard] = Field(default_factory=dict)
    crisis: dict[StrictStr, NumT] = Field(default_factory=dict)
    shocks: tuple[Shock, ...] = ()
    pressure_growth: NumT = 0.0
