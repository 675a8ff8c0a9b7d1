"""What happened to a historical agreement: the ``outcome:`` block of a case file.

An outcome is data for the backtest only (:mod:`detente.sweeps.backtest`); no analysis reads
it. It records whether the agreement's schedule was completed, who breached it first, at which
step (a concession id) and when, who exited and when, with sources. Dates are calendar dates;
the period of an event is the number of whole months from ``start`` (the month of period 0),
so a case's periods must be months.

:func:`outcome_problems` checks an outcome against its scenario: the schedule, parties, steps
and source keys it names must exist, and its dates must be in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from .errors import Loc, Problem, did_you_mean

__all__ = ["KINDS", "Breach", "Exit", "Kind", "Outcome", "months_between", "outcome_problems"]

#: The fixed vocabulary of concession kinds (``kind:`` on a concession).
Kind = Literal[
    "freeze",
    "moratorium",
    "declaration",
    "inspection",
    "disablement",
    "dismantlement",
    "removal",
    "relief",
    "aid",
    "security-assurance",
    "normalization",
    "reactor",
    "other",
]
KINDS: tuple[str, ...] = get_args(Kind)

_Id = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", revalidate_instances="never")


def months_between(start: dt.date, date: dt.date) -> int:
    """Whole calendar months from ``start``'s month to ``date``'s month (the period of ``date``)."""
    return (date.year - start.year) * 12 + (date.month - start.month)


class Breach(_Model):
    """The first breach of the schedule: ``party`` withheld or undid its step ``step`` on ``date``."""

    party: _Id
    date: dt.date
    step: _Id
    description: StrictStr | None = None
    source: StrictStr | None = None


class Exit(_Model):
    """A party leaving the agreement (or the process) for good."""

    party: _Id
    date: dt.date
    description: StrictStr | None = None
    source: StrictStr | None = None


class Outcome(_Model):
    """The recorded outcome of a case; see the module docstring.

    ``schedule`` names the schedule that was agreed (or, for talks that failed, the proposal the
    outcome is about); ``start`` is the month of period 0; ``signed`` the date of agreement;
    ``ended`` the date the process ended, when it has. ``judgement`` states, in words, any part
    of the record that is a reading rather than a fact (for example what counts as the breach).
    """

    schedule: _Id | None = None
    signed: dt.date | None = None
    start: dt.date
    completed: StrictBool
    first_breach: Breach | None = None
    exit: Exit | None = None
    ended: dt.date | None = None
    summary: StrictStr | None = None
    judgement: StrictStr | None = None
    sources: tuple[_Id, ...] = ()

    def period(self, date: dt.date) -> int:
        """The period (month) of ``date``."""
        return months_between(self.start, date)


class _Step(Protocol):
    """What :func:`outcome_problems` reads of a concession."""

    @property
    def id(self) -> str: ...
    @property
    def by(self) -> str: ...


class _Case(Protocol):
    """What :func:`outcome_problems` reads of a scenario (a :class:`~detente.core.scenario.Scenario`
    satisfies it; typing against this keeps the scenario module free to import this one)."""

    @property
    def outcome(self) -> Outcome | None: ...
    @property
    def party_ids(self) -> tuple[str, ...]: ...
    @property
    def concessions(self) -> Sequence[_Step]: ...
    @property
    def period(self) -> str: ...
    @property
    def schedule_names(self) -> tuple[str, ...]: ...
    @property
    def sources(self) -> Mapping[str, str]: ...


def outcome_problems(scn: _Case) -> list[Problem]:
    """Every problem of ``scn.outcome`` against the rest of ``scn`` (none without an outcome)."""
    out = scn.outcome
    if out is None:
        return []
    problems: list[Problem] = []

    def add(loc: Loc, message: str) -> None:
        problems.append(Problem(message, ("outcome", *loc)))

    parties = set(scn.party_ids)
    concessions = {c.id: c for c in scn.concessions}
    if scn.period != "month":
        problems.append(
            Problem(
                f"a case with an outcome counts periods in months: expected 'month', found {scn.period!r}", ("period",)
            )
        )
    if out.schedule is not None and out.schedule not in scn.schedule_names:
        known = ", ".join(scn.schedule_names) or "none"
        add(
            ("schedule",),
            f"unknown schedule {out.schedule!r}{did_you_mean(out.schedule, scn.schedule_names)} (schedules: {known})",
        )
    elif out.schedule is None and len(scn.schedule_names) != 1:
        add(
            ("schedule",),
            f"name the schedule the outcome is about (schedules: {', '.join(scn.schedule_names) or 'none'})",
        )
    for key, event in (("first_breach", out.first_breach), ("exit", out.exit)):
        if event is None:
            continue
        if event.party not in parties:
            listed = ", ".join(sorted(parties))
            add(
                (key, "party"), f"unknown party {event.party!r}{did_you_mean(event.party, parties)} (parties: {listed})"
            )
        if event.date < out.start:
            add((key, "date"), f"expected a date on or after the start ({out.start}), found {event.date}")
        if out.ended is not None and event.date > out.ended:
            add((key, "date"), f"expected a date on or before the end ({out.ended}), found {event.date}")
    if out.first_breach is not None:
        step = out.first_breach.step
        conc = concessions.get(step)
        if conc is None:
            add(
                ("first_breach", "step"),
                f"unknown step {step!r}{did_you_mean(step, concessions)} (concessions: {', '.join(concessions)})",
            )
        elif out.first_breach.party in parties and conc.by != out.first_breach.party:
            add(
                ("first_breach", "step"),
                f"the breaching party withholds or undoes its own step: expected a concession by "
                f"{out.first_breach.party}, found {step!r}, which is by {conc.by}",
            )
        if out.exit is not None and out.exit.date < out.first_breach.date:
            add(
                ("exit", "date"),
                f"expected the exit on or after the first breach ({out.first_breach.date}), found {out.exit.date}",
            )
    if out.signed is not None and months_between(out.signed, out.start) < 0:
        add(("start",), f"expected the start on or after the signature ({out.signed}), found {out.start}")
    if out.ended is not None and out.ended < out.start:
        add(("ended",), f"expected the end on or after the start ({out.start}), found {out.ended}")
    for i, key in enumerate(out.sources):
        if key not in scn.sources:
            add(("sources", i), f"unknown source {key!r}{did_you_mean(key, scn.sources)}: add it to 'sources'")
    return problems
