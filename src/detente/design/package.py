"""The package a designer schedules: concessions cut into tranches, a horizon, a check.

Everything the MILP and the brute-force oracle share lives here:

* :func:`build_package` validates the designer's inputs (horizon, tranches) and compiles the
  scenario once;
* a schedule is held as *cumulative tranche counts* ``X[k, t]`` (how many of the ``m_k``
  tranches of concession ``k`` are in force in period ``t``), an integer matrix over periods
  ``0..T`` whose last column is ``m``; :func:`steps_of` and :func:`amounts_of` turn it into
  the steps and the amounts matrix the kernel reads;
* :func:`check_counts` runs the exact check of docs/model.md §3
  (:func:`detente.analysis.kernel.run_kernel`) and reduces it to the numbers the designer
  needs: pass or fail, the minimum normalised slack, and every constraint with its slack.

Normalisation of slacks. Parties value things in their own units, so a slack of 1 for one
party and 1 for another are not comparable. The designer divides party ``i``'s slacks by its
*stake* ``n_i = Σ_k (|flow_ik| / (1 − δ_i) + |once_ik|) + Σ_{k given by i, reversible} cost_k``:
the discounted value, in absolute terms, of the whole package to ``i`` if everything were in
force from period 0 for ever, plus what undoing all of it could cost ``i``. It depends only on
the scenario (never on the schedule), so scaling all of one party's values by ``c > 0`` leaves
its normalised slacks unchanged; and every compliance or deviation value of ``i`` is at most
``n_i`` in absolute value, so a normalised slack lies in [−2, 2] (the MILP's big-M constants
rely on that). A party with no stake at all gets ``n_i = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..analysis.kernel import PLANS, KernelResult, run_kernel
from ..core.compiled import Compiled, compile_scenario, schedule_from_steps
from ..core.errors import UsageError, did_you_mean
from ..core.expr import Expr
from ..core.scenario import MAX_HORIZON, Scenario

__all__ = [
    "FEASIBILITY_TOL",
    "MAX_TRANCHES",
    "Check",
    "Package",
    "build_package",
    "check_counts",
    "default_horizon",
    "longest_chain",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The check's tolerance (docs/model.md §3): a slack or participation value >= -1e-9 passes.
FEASIBILITY_TOL = 1e-9
#: The most tranches one concession may be cut into (as the scenario schema allows).
MAX_TRANCHES = 64


@dataclass(frozen=True, eq=False)
class Package:
    """A compiled scenario with the designer's inputs: ``m[k]`` tranches, horizon ``T``."""

    scenario: Scenario
    comp: Compiled
    m: IntArray  # [K] tranches per concession (1 for an indivisible one)
    horizon: int
    tranches: Mapping[str, int]  # the tranches actually used, by concession id (all of them)
    stake: FloatArray  # [P] n_i, the normaliser of party i's slacks (see the module docstring)
    lower_bound: int  # no schedule can complete before this period (requires chain, pace)
    pace: IntArray | None = None  # [K] tranches of k at least pace[k] periods apart (0: no limit)

    @property
    def n_tranches(self) -> int:
        return int(self.m.sum())


def longest_chain(comp: Compiled) -> int:
    """Length minus one of the longest ``requires`` chain: the earliest possible completion.

    A concession that requires another must start in a period after the prerequisite is
    complete, so a chain of ``c`` concessions needs at least ``c`` distinct periods.
    """
    K = comp.n_concessions
    depth: dict[int, int] = {}

    def visit(k: int) -> int:
        if k not in depth:
            depth[k] = 1 + max((visit(r) for r in comp.requires[k]), default=-1)
        return depth[k]

    return max((visit(k) for k in range(K)), default=0)


def default_horizon(n_tranches: int, chain: int) -> int:
    """The horizon used when neither the call nor the scenario gives one.

    One tranche per period (``n_tranches − 1``), and never less than the longest
    prerequisite chain, capped at :data:`~detente.core.scenario.MAX_HORIZON`.
    """
    return min(MAX_HORIZON, max(n_tranches - 1, chain))


def _stake(comp: Compiled) -> FloatArray:
    per = np.abs(comp.flow) / (1.0 - comp.discount)[None, :] + np.abs(comp.once)
    stake = per.sum(axis=0)
    undo_cost = np.where(comp.reversible, comp.cost, 0.0)
    np.add.at(stake, comp.giver, undo_cost)
    return np.where(stake > 0.0, stake, 1.0)


def build_package(
    scenario: Scenario,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    params: Mapping[str, float] | None = None,
) -> Package:
    """Validate the designer's inputs and compile ``scenario`` at ``params``.

    ``tranches`` given here override the scenario's ``design.tranches`` concession by
    concession; a concession named in neither is one tranche. ``horizon`` defaults to
    ``design.horizon``, then to :func:`default_horizon`. Raises
    :class:`~detente.core.errors.UsageError` for a horizon outside 0..240, an unknown
    concession, a split indivisible concession or a tranche count outside 1..64.
    """
    comp = compile_scenario(scenario, params)
    ids = comp.concession_ids
    if comp.uncertain:
        # the designer's cuts assume that a breach is seen when it becomes observable: it designs
        # for verification that always comes (detect = 1); `check --verification` then shows how
        # much the schedule relies on it (docs/design.md)
        comp = replace(comp, detect=np.ones_like(comp.detect))
    spec = scenario.design
    merged: dict[str, int] = dict(spec.tranches) if spec is not None else {}
    for cid, count in (tranches or {}).items():
        if cid not in ids:
            raise UsageError(
                f"tranches: unknown concession {cid!r}{did_you_mean(cid, ids)} (concessions: {', '.join(ids)})"
            )
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            raise UsageError(f"tranches: expected a whole number of tranches for {cid!r}, found {count!r}")
        merged[cid] = int(count)
    m = np.ones(len(ids), dtype=np.int64)
    for cid, count in merged.items():
        k = ids.index(cid)
        if count < 1 or count > MAX_TRANCHES:
            raise UsageError(f"tranches: expected 1 to {MAX_TRANCHES} tranches for {cid!r}, found {count}")
        if count != 1 and not comp.divisible[k]:
            raise UsageError(
                f"tranches: {cid!r} is not divisible, so it cannot be split into {count} tranches "
                "(mark it 'divisible: true' in the scenario, or drop it from tranches)"
            )
        m[k] = count
    chain = longest_chain(comp)
    pace = np.zeros(len(ids), dtype=np.int64)
    for cid, gap in (spec.pace if spec is not None else {}).items():
        pace[ids.index(cid)] = int(gap)
    chain = max(chain, int(((m - 1) * pace).max(initial=0)))
    if horizon is None and spec is not None and spec.horizon is not None:
        given = spec.horizon
        if isinstance(given, Expr):  # an expression over parameters: resolve it at params
            horizon = round(float(given.evaluate(scenario.parameter_values(params))))
        else:
            horizon = int(given)
    if horizon is None:
        horizon = default_horizon(int(m.sum()), chain)
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
        raise UsageError(f"horizon: expected a whole number of periods, found {horizon!r}")
    if not 0 <= horizon <= MAX_HORIZON:
        raise UsageError(f"horizon: expected a whole number from 0 to {MAX_HORIZON}, found {horizon}")
    return Package(
        scenario=scenario,
        comp=comp,
        m=m,
        horizon=int(horizon),
        tranches={cid: int(m[k]) for k, cid in enumerate(ids)},
        stake=_stake(comp),
        lower_bound=chain,
        pace=pace,
    )


# --------------------------------------------------------------------------- schedules


def steps_of(counts: IntArray, m: IntArray) -> list[tuple[int, int, float]]:
    """(period, concession index, amount) steps of cumulative counts ``X[k, t]``."""
    K, width = counts.shape
    out: list[tuple[int, int, float]] = []
    prev = np.zeros(K, dtype=np.int64)
    for t in range(width):
        delta = counts[:, t] - prev
        for k in np.nonzero(delta)[0]:
            out.append((t, int(k), float(delta[k]) / float(m[k])))
        prev = counts[:, t]
    return out


def amounts_of(counts: IntArray, m: IntArray) -> FloatArray:
    """The kernel's amounts matrix [K, H + 1] of ``counts``, trimmed at the last step H."""
    return schedule_from_steps(len(m), steps_of(counts, m)).amounts


def completion_of(counts: IntArray) -> int:
    """The last period in which some tranche is implemented (-1 for nothing)."""
    K = counts.shape[0]
    prev = np.concatenate([np.zeros((K, 1), dtype=np.int64), counts[:, :-1]], axis=1)
    moved = np.nonzero((counts != prev).any(axis=0))[0]
    return int(moved.max()) if moved.size else -1


def requires_ok(counts: IntArray, pkg: Package) -> bool:
    """True when every step of k comes after each prerequisite of k is complete, and the
    tranches of every paced concession are at least its pace apart."""
    comp = pkg.comp
    if pkg.pace is not None:
        for paced in np.nonzero(pkg.pace > 0)[0]:
            gap = int(pkg.pace[paced])
            row = counts[paced]
            earlier = (
                np.concatenate([np.zeros(gap, dtype=row.dtype), row[:-gap]]) if gap < row.size else np.zeros_like(row)
            )
            if (row - earlier > 1).any():
                return False
    for k, reqs in enumerate(comp.requires):
        if not reqs:
            continue
        started = np.nonzero(counts[k] > 0)[0]
        if started.size == 0:
            continue
        first = int(started[0])
        for r in reqs:
            done = np.nonzero(counts[r] >= pkg.m[r])[0]
            if done.size == 0 or int(done[0]) >= first:
                return False
    return True


@dataclass(frozen=True, eq=False)
class Check:
    """The exact check of one schedule, reduced for the designer.

    ``slack[P, τ]`` is V − D for the best plan (NaN where no plan exists); ``plan_slack[2, P,
    τ]`` per plan (NaN where the plan does not exist); ``norm`` divides by the stakes.
    """

    kernel: KernelResult
    ok: bool
    participation: FloatArray  # [P]  V_i(0)
    slack: FloatArray  # [P, Tn]
    plan_slack: FloatArray  # [2, P, Tn]
    min_norm_slack: float  # min of every slack and participation value over the party's stake

    def violations(self, tol: float = FEASIBILITY_TOL) -> list[tuple[int, int, int, int]]:
        """(party, τ, plan, seen) of every plan whose slack is below −tol."""
        out = []
        k = self.kernel
        bad = np.argwhere(k.exists & (self.plan_slack < -tol))
        for p, i, tau in bad:
            out.append((int(i), int(tau), int(p), int(k.seen[p, i, tau])))
        return out


def check_amounts(pkg: Package, amounts: FloatArray) -> Check:
    """Run the kernel on ``amounts[k, t]`` and reduce it (see :class:`Check`)."""
    r = run_kernel(pkg.comp, amounts)
    plan_slack = np.where(r.exists, r.comply[None, :, :] - r.deviate, np.nan)
    slack = np.where(r.any_plan, r.comply - r.best_deviate, np.nan)
    participation = r.comply[:, 0].copy()
    norm = slack / pkg.stake[:, None]
    min_norm = float(np.nanmin(np.concatenate([norm.ravel(), participation / pkg.stake])))
    ok = bool((participation >= -FEASIBILITY_TOL).all() and not (r.any_plan & ~(slack >= -FEASIBILITY_TOL)).any())
    return Check(
        kernel=r,
        ok=ok,
        participation=participation,
        slack=slack,
        plan_slack=plan_slack,
        min_norm_slack=min_norm,
    )


def check_counts(pkg: Package, counts: IntArray) -> Check:
    """:func:`check_amounts` of cumulative tranche counts."""
    return check_amounts(pkg, amounts_of(counts, pkg.m))


assert PLANS == ("halt", "halt_and_reverse")
