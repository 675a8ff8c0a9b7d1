"""Text renderings of a design result for the command line and reports."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import yaml

from ..core.scenario import Scenario
from .result import DesignResult

__all__ = ["roadmap_lines", "to_schedule_yaml"]


def _share(amount: float) -> str:
    """``1.0`` -> ``""``; ``0.25`` -> ``"25 % of "``; ``1/3`` -> ``"33.3 % of "``."""
    if abs(amount - 1.0) < 1e-9:
        return ""
    pct = 100.0 * amount
    text = f"{pct:.0f}" if abs(pct - round(pct)) < 1e-6 else f"{pct:.1f}"
    return f"{text} % of "


def _phase_lines(steps: Sequence[tuple[int, str, float]], scenario: Scenario, indent: str = "") -> list[str]:
    word = scenario.period
    by_period: dict[int, list[tuple[str, float]]] = {}
    for t, cid, amount in steps:
        by_period.setdefault(t, []).append((cid, amount))
    lines = []
    for phase, t in enumerate(sorted(by_period), start=1):
        by_party: dict[str, list[str]] = {}
        for cid, amount in by_period[t]:
            c = scenario.concession(cid)
            by_party.setdefault(c.by, []).append(f"{_share(amount)}{c.label}")
        parts = [f"{party} {', '.join(items)}" for party, items in by_party.items()]
        lines.append(f"{indent}Phase {phase}, {word} {t}: {'; '.join(parts)}")
    return lines


def roadmap_lines(result: DesignResult, scenario: Scenario) -> list[str]:
    """The roadmap by phase, one line per period with steps, then what binds.

    ``Phase 1, month 0: DPRK test moratorium, dismantlement; US 50 % of sanctions relief``.
    The period word is ``scenario.period`` and concessions are named by their labels.
    When no schedule exists the lines say so, name the binding constraints and give the
    side payment with the schedule it buys.
    """
    word = scenario.period
    lines: list[str] = []
    if result.feasible:
        lines.append(result.message)
        lines += _phase_lines(result.schedule, scenario)
        if result.min_slack is not None:
            lines.append(f"Smallest normalised slack: {result.min_slack:.4g}.")
    else:
        lines.append(result.message)
        if result.side_payment is not None:
            side = result.side_payment
            lines.append(
                f"With that payment to {side.party}, this schedule completes in {word} {side.completion_period}:"
            )
            lines += _phase_lines(side.schedule, scenario, indent="  ")
    if result.binding:
        lines.append("Binding constraints:")
        for b in result.binding:
            what = "participation" if b.plan == "participation" else f"{b.plan.replace('_', ' ')} at {word} {b.period}"
            tempt = ""
            if b.concession is not None:
                tempt = f"; temptation: {scenario.concession(b.concession).label}"
            lines.append(f"  {b.party}: {what}, slack {b.slack:.4g}{tempt}")
    if result.status in ("time_limit", "solver_error"):
        lines.append(f"Status: {result.status.replace('_', ' ')}; the result is not proved optimal.")
    return lines


def _plain_amount(amount: float) -> float | int:
    if abs(amount - 1.0) < 1e-12:
        return 1
    frac = Fraction(amount).limit_denominator(64)
    if abs(float(frac) - amount) < 1e-12:
        return float(frac)
    return amount


def to_schedule_yaml(result: DesignResult) -> str:
    """The schedule as a YAML list of ``{period, concession, amount}`` for ``schedule:``.

    Amounts are written with full precision (a third stays 0.3333333333333333), so the
    tranches of a concession add up to 1 within the scenario's tolerance. An infeasible
    result gives an empty list (``[]``).
    """
    rows = [{"period": int(t), "concession": cid, "amount": _plain_amount(a)} for t, cid, a in result.schedule]
    text: str = yaml.safe_dump(rows, sort_keys=False, default_flow_style=None, width=100)
    return text
