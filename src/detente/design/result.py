"""What the designer returns: a frozen :class:`DesignResult` that records how it was made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.results import missing_part, pandas, report_html

__all__ = ["BindingConstraint", "DesignResult", "Provenance", "SidePayment", "Status"]

#: ``optimal``: the completion period is proved smallest (or, when ``feasible`` is false,
#: no schedule within the horizon is self-enforcing). ``time_limit`` / ``solver_error``:
#: neither was proved; ``schedule`` is the best self-enforcing schedule found, if any.
Status = Literal["optimal", "infeasible", "time_limit", "solver_error"]


@dataclass(frozen=True)
class BindingConstraint:
    """A self-enforcement constraint at (or, when infeasible, beyond) its limit.

    ``slack`` is V − D of ``party`` deviating at ``period`` with ``plan`` (a participation
    constraint has ``plan == "participation"`` and ``slack == V_i(0)``), in the party's
    own units; ``normalised`` divides it by the party's stake (see
    :mod:`detente.design.package`). ``concession`` is the concession whose term contributes
    most to the temptation (the most negative term of the slack split by concession): the
    step the deviator saves, the concession it grabs back, or the others' concession whose
    loss fails to deter it.
    """

    party: str
    period: int
    plan: str
    slack: float
    normalised: float
    concession: str | None
    response_period: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "period": self.period,
            "plan": self.plan,
            "slack": self.slack,
            "normalised_slack": self.normalised,
            "concession": self.concession,
            "response_period": self.response_period,
        }


@dataclass(frozen=True)
class SidePayment:
    """The smallest constant per-period payment from a third party that makes a schedule exist.

    Escrow semantics (see docs/design.md): ``party`` receives ``amount`` (in its own utility
    units) in every period from 0 on, for as long as it complies; from the period in which it
    deviates it receives nothing more. The payment therefore raises each of that party's
    slacks and its participation value by ``amount / (1 − δ)`` and changes nobody else's.
    ``by_party`` gives the smallest payment for each party that could receive it (``None``:
    no payment to that party alone helps); ``schedule`` is the fastest schedule that the
    payment makes self-enforcing, with ``completion_period`` its last period.
    """

    party: str
    amount: float
    by_party: Mapping[str, float | None]
    schedule: tuple[tuple[int, str, float], ...]
    completion_period: int
    binding: tuple[BindingConstraint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "amount": self.amount,
            "by_party": dict(self.by_party),
            "completion_period": self.completion_period,
            "schedule": [{"period": t, "concession": c, "amount": a} for t, c, a in self.schedule],
            "binding": [b.to_dict() for b in self.binding],
        }


@dataclass(frozen=True)
class Provenance:
    """How a result was made: which scenario, inputs, parameters and package version."""

    scenario_hash: str
    scenario_name: str
    horizon: int
    tranches: Mapping[str, int]
    params: Mapping[str, float]
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario_hash": self.scenario_hash,
            "scenario_name": self.scenario_name,
            "horizon": self.horizon,
            "tranches": dict(self.tranches),
            "params": dict(self.params),
            "version": self.version,
        }


@dataclass(frozen=True)
class DesignResult:
    """The fastest self-enforcing schedule of a package, or why there is none.

    ``schedule`` holds (period, concession id, amount) steps sorted by period; tranches of a
    concession that share a period are merged into one step. ``min_slack`` is the smallest
    normalised slack of ``schedule`` (the secondary objective, maximised among the fastest
    schedules), ``binding`` the constraints that attain it, or, when no schedule exists, those
    the side payment has to cover. ``lower_bound`` is the earliest completion period not
    ruled out (equal to ``completion_period`` when optimal). ``stats`` carries solver figures
    (iterations, cuts, MILP solves) for benchmarks.
    """

    feasible: bool
    status: Status
    completion_period: int | None
    schedule: tuple[tuple[int, str, float], ...]
    min_slack: float | None
    binding: tuple[BindingConstraint, ...]
    side_payment: SidePayment | None
    solve_time: float
    method: str
    provenance: Provenance
    lower_bound: int
    message: str
    stats: Mapping[str, Any] = field(default_factory=dict)
    #: What was optimised (``fastest``, ``deepest``, ``fair``, ``robust-slack``; see
    #: :mod:`detente.design.objectives`) and its value at ``schedule`` (``fastest``: the
    #: completion period; ``deepest``: the depth; ``fair``: Σ_i log V_i(0); ``robust-slack``:
    #: the minimum normalised slack); ``demands``: the scenario demands the schedule meets.
    objective: str = "fastest"
    objective_value: float | None = None
    demands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The docs/model.md §7 contract plus the diagnostics (JSON-ready)."""
        return {
            "feasible": self.feasible,
            "completion_period": self.completion_period,
            "schedule": [{"period": t, "concession": c, "amount": a} for t, c, a in self.schedule],
            "status": self.status,
            "min_slack": self.min_slack,
            "binding": [b.to_dict() for b in self.binding],
            "side_payment": self.side_payment.to_dict() if self.side_payment else None,
            "lower_bound": self.lower_bound,
            "message": self.message,
            "solve_time": self.solve_time,
            "method": self.method,
            "provenance": self.provenance.to_dict(),
            "stats": dict(self.stats),
            "objective": self.objective,
            "objective_value": self.objective_value,
            "demands": list(self.demands),
        }

    def to_frame(self) -> Any:
        """One row per step of the schedule found: ``period``, ``concession``, ``amount``.

        A design that found no schedule (infeasible, or stopped before it found one) raises a
        :class:`~detente.core.errors.UsageError` naming the status; its ``binding`` and
        ``side_payment`` say why.
        """
        if not self.feasible:
            raise missing_part("DesignResult", "schedule", f"status {self.status!r}: {self.message}")
        rows = [{"period": t, "concession": c, "amount": a} for t, c, a in self.schedule]
        return pandas().DataFrame(rows, columns=["period", "concession", "amount"])

    def _repr_html_(self) -> str:
        return report_html(self)
