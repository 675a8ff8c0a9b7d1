"""How much verification is enough? Per concession, the weakest verification that still holds.

For each concession of a schedule, with every other concession's verification held at its
value in the scenario, :func:`verification_needed` finds

* the smallest detection probability q (docs/model.md §3 "Verification that may miss") at which the
  schedule stays self-enforcing: q runs over a grid of :data:`DETECT_GRID` values in [0, 1] in one
  batch of the kernel, and the first failure met coming down from q = 1 is located by bisection
  to :data:`DETECT_TOL`. The answer is the smallest q such that every grid value from it up to 1
  holds (the margin need not be monotone in q, so holding below a failure does not count);
* the longest lag ℓ such that every lag 0, 1, …, ℓ holds, scanned exhaustively up to
  :data:`LAG_CAP` periods, in a few batches that stop at the first failure (``lag_capped``
  when even the cap holds).

A concession whose schedule fails at q = 1 (or at lag 0) has no answer (``None``): no
verification of it alone makes the schedule hold. The concession that most needs better
verification is the one with the largest smallest q (ties: the shortest longest lag).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.compiled import Compiled, CompiledSchedule, compile_scenario
from ..core.scenario import Scenario
from .enforcement import TOLERANCE, ScheduleLike, _resolve_schedule, refuse_overflow
from .kernel import run_kernel_batch

__all__ = ["DETECT_GRID", "DETECT_TOL", "LAG_CAP", "VerificationNeed", "VerificationReport", "verification_needed"]

#: Detection probabilities scanned in one batch before bisection.
DETECT_GRID = 65
#: Bisection on the detection probability stops at this width.
DETECT_TOL = 1e-6
#: The longest verification lag scanned, in periods (the designer's horizon limit).
LAG_CAP = 240


@dataclass(frozen=True)
class VerificationNeed:
    """The weakest verification of one concession at which the schedule still holds."""

    concession: str
    label: str
    detect: float  # the scenario's value
    lag: int  # the scenario's value
    detect_needed: float | None  # smallest q that holds (None: even q = 1 fails)
    lag_allowed: int | None  # longest lag that holds (None: even lag 0 fails)
    lag_capped: bool  # lag_allowed is LAG_CAP and longer lags were not scanned

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.concession,
            "detect": self.detect,
            "lag": self.lag,
            "verification_needed": {"detect": self.detect_needed, "lag": self.lag_allowed},
            "lag_capped": self.lag_capped,
        }


@dataclass(frozen=True)
class VerificationReport:
    """Per scheduled concession, the verification it needs; and which needs it most."""

    needs: tuple[VerificationNeed, ...]
    period_label: str
    holds: bool  # the schedule is self-enforcing with the verification as it is

    @property
    def most_needed(self) -> VerificationNeed | None:
        """The concession with the largest smallest detection probability (ties: shortest lag)."""
        if not self.holds:
            return None
        ranked = [n for n in self.needs if n.detect_needed is not None and n.detect_needed > 0.0]
        if not ranked:
            return None
        return max(ranked, key=lambda n: (n.detect_needed or 0.0, -(n.lag_allowed or 0)))

    def sentences(self) -> list[str]:
        """The answer in words: the step that most needs verification, and those that need none."""
        p = self.period_label
        out: list[str] = []
        if not self.holds:
            rescue = [n for n in self.needs if n.detect_needed is not None or n.lag_allowed is not None]
            if not rescue:
                out.append(
                    "The schedule is not self-enforcing, and better verification of any one concession alone "
                    "(certain detection, or no lag) does not rescue it."
                )
                return out
            for n in rescue:
                parts = []
                if n.detect_needed is not None:
                    parts.append(
                        f"a breach of it is seen with probability at least {n.detect_needed:.3g} (now {n.detect:g})"
                    )
                if n.lag_allowed is not None:
                    parts.append(f"its lag is at most {n.lag_allowed} {p}s (now {n.lag})")
                out.append(f"The schedule would hold if {' and '.join(parts)} for {n.label}.")
            return out
        top = self.most_needed
        if top is None:
            out.append("The schedule holds even if no breach is ever seen: no step needs verification.")
            return out
        if top.lag_allowed == 0:
            lag = "and only with no verification lag"
        else:
            lag = f"and within {top.lag_allowed} {p}s" + (" or more" if top.lag_capped else "") + f" (now {top.lag})"
        out.append(
            f"{top.label} most needs better verification: the schedule holds only if a breach of it is seen "
            f"with probability at least {top.detect_needed:.3g} in each {p} once observable "
            f"(now {top.detect:g}), {lag}."
        )
        free = [n.label for n in self.needs if n.detect_needed == 0.0]
        if free:
            names = free[0] if len(free) == 1 else ", ".join(free[:-1]) + " or " + free[-1]
            out.append(f"It holds even if a breach of {names} is never seen.")
        return out

    def to_dict(self) -> dict[str, Any]:
        top = self.most_needed
        return {
            "concessions": [n.to_dict() for n in self.needs],
            "most_needed": top.concession if top is not None and self.holds else None,
            "verification_summary": " ".join(self.sentences()),
        }


def _margins(comp: Compiled, amounts: np.ndarray, lag: np.ndarray, detect: np.ndarray) -> np.ndarray:
    """Margins of one schedule under B verification settings ([B, K] lags and detects)."""
    B = lag.shape[0]
    batch_amounts = np.broadcast_to(amounts[None], (B, *amounts.shape))
    with np.errstate(over="ignore", invalid="ignore"):
        res = run_kernel_batch(comp, np.ascontiguousarray(batch_amounts), lag=lag, detect=detect)
    refuse_overflow(comp, res.comply, res.deviate, res.exists)
    out: np.ndarray = res.margins()
    return out


def _smallest_detect(comp: Compiled, amounts: np.ndarray, k: int) -> float | None:
    sure = comp.detect.copy()
    sure[k] = 1.0
    if _margins(comp, amounts, comp.lag[None, :], sure[None, :])[0] < -TOLERANCE:
        return None  # even certain detection of k fails: no need to scan
    grid = np.linspace(0.0, 1.0, DETECT_GRID)
    detect = np.tile(comp.detect, (grid.size, 1))
    detect[:, k] = grid
    lag = np.tile(comp.lag, (grid.size, 1))
    holds = _margins(comp, amounts, lag, detect) >= -TOLERANCE
    if not holds[-1]:
        return None
    failing = np.flatnonzero(~holds)
    if failing.size == 0:
        return 0.0
    lo, hi = float(grid[failing[-1]]), float(grid[failing[-1] + 1])  # fails at lo, holds at hi
    one_lag = comp.lag[None, :]
    while hi - lo > DETECT_TOL:
        mid = 0.5 * (lo + hi)
        d = comp.detect.copy()
        d[k] = mid
        if _margins(comp, amounts, one_lag, d[None, :])[0] >= -TOLERANCE:
            hi = mid
        else:
            lo = mid
    return hi


#: The lag scan runs in these chunks, stopping at the first chunk with a failure.
_LAG_CHUNKS = ((0, 8), (9, 32), (33, 96), (97, LAG_CAP))


def _longest_lag(comp: Compiled, amounts: np.ndarray, k: int) -> tuple[int | None, bool]:
    for lo, hi in _LAG_CHUNKS:
        lags = np.arange(lo, hi + 1)
        lag = np.tile(comp.lag, (lags.size, 1))
        lag[:, k] = lags
        detect = np.tile(comp.detect, (lags.size, 1))
        failing = np.flatnonzero(_margins(comp, amounts, lag, detect) < -TOLERANCE)
        if failing.size:
            first = int(lags[failing[0]])
            return (first - 1 if first > 0 else None), False
    return LAG_CAP, True


def verification_needed(
    scenario: Scenario,
    schedule: ScheduleLike = None,
    *,
    params: Mapping[str, float] | None = None,
) -> VerificationReport:
    """The weakest verification of each scheduled concession that keeps ``schedule`` self-enforcing."""
    comp = compile_scenario(scenario, params)
    sched, _name = _resolve_schedule(scenario, schedule, params)
    return _needs(comp, sched)


def _needs(comp: Compiled, sched: CompiledSchedule) -> VerificationReport:
    amounts = np.asarray(sched.amounts, dtype=np.float64)
    scheduled = sorted({k for _t, k, _a in sched.steps})
    needs = []
    for k in scheduled:
        q = _smallest_detect(comp, amounts, k)
        lag, capped = _longest_lag(comp, amounts, k)
        needs.append(
            VerificationNeed(
                concession=comp.concession_ids[k],
                label=comp.labels[k],
                detect=float(comp.detect[k]),
                lag=int(comp.lag[k]),
                detect_needed=q,
                lag_allowed=lag,
                lag_capped=capped,
            )
        )
    holds = bool(_margins(comp, amounts, comp.lag[None, :], comp.detect[None, :])[0] >= -TOLERANCE)
    return VerificationReport(needs=tuple(needs), period_label=comp.period_label, holds=holds)
