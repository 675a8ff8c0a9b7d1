"""Actor profiles: one set of sourced parameters per actor, shared by every case it is in.

A profile (``cases/actors/NAME.yaml``) carries an actor's parameters (discount, domestic
hazard, crisis cost, leakage where it is a sanctions leaker), each with a value, a range and
a source. A case names the profiles it uses in ``actors:`` (``{DPRK: dprk, US: us}``), and a
parameter of the case takes its value, range and source from a profile with
``{from: DPRK.discount}``. The case may override the profile's value or range there only with a
``reason`` that says what a source shows changed; the file layer (:mod:`detente.io.actors`)
refuses an override without one. This is what keeps a backtest from being tuned case by case.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .scenario import FMap, FrozenDict, Parameter

__all__ = ["OVERRIDABLE", "ActorProfile"]

_Id = Annotated[StrictStr, Field(min_length=1, max_length=200)]

#: The keys of a ``{from: ...}`` parameter that change the profile's numbers (need a reason).
OVERRIDABLE = ("value", "range", "distribution", "integer")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", revalidate_instances="never")


class ActorProfile(_Model):
    """One actor's parameters, with the sources they cite (keys of ``sources``)."""

    id: _Id
    name: StrictStr
    description: StrictStr | None = None
    sources: FMap[_Id, StrictStr] = Field(default_factory=FrozenDict)
    parameters: FMap[_Id, Parameter]
