"""The designer's master problem: a MILP over tranche counts, with lazily added checks.

Variables, for a horizon ``T`` (all integer; see docs/design.md for the full formulation):

* ``X[k, t] ∈ {0..m_k}``: tranches of concession ``k`` in force in period ``t``, non-decreasing
  in ``t``, ``X[k, T] = m_k``;
* ``s[k, t] ∈ {0, 1}``: a step of ``k`` happens in ``t`` (``s ≤ X[t] − X[t−1] ≤ m·s``);
* ``b[k, t] ∈ {0, 1}`` for fragile ``k``: something of ``k`` is in force in ``t``;
* ``f[r, t] ∈ {0, 1}`` for prerequisites ``r``: ``r`` is complete in ``t``
  (``X[k, t] ≤ m_k · f[r, t−1]`` when ``k`` requires ``r``);
* ``g`` per cut and an optional continuous ``η`` (max-min slack) or ``π`` (side payment).

A *cut* is a key ``(i, τ, plan, d)``: "if party ``i``'s deviation at ``τ`` with ``plan`` is
seen exactly at ``d``, its slack with the response at ``ρ = d + 1`` is at least ``η``". The
slack is linear once ρ is fixed (:mod:`detente.design.forms`); "seen exactly at d" is a
disjunction over the deviator's steps and reversals that would be seen at ``d`` (``g`` is
forced to 1 by any of them) and a big-M relaxation by every one seen earlier. The keys are
generated lazily from the exact kernel: solve, check the schedule, add the keys of the
violated constraints, solve again. The master is a relaxation of the true problem, so an
infeasible master proves that no schedule exists, and a master solution that passes the
kernel is an exact answer.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from .forms import Form, comply_form, slack_form
from .package import Package

__all__ = ["ETA_MAX", "CutKey", "Master", "SolveOutcome"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: (party, τ, plan, period in which the deviation is seen)
CutKey = tuple[int, int, int, int]
Objective = Literal["feasible", "maxmin", "payment"]

#: Normalised slacks lie in [−2, 2] (see :mod:`detente.design.package`); η is capped there.
ETA_MAX = 2.0
_CONST = -1  # marks an indicator that is the constant 1
#: A max-min master solved by CP-SAT counts as optimal when its schedule's η is within this
#: of the bound CP-SAT proved (one step of η's unit, :data:`detente.design.cpsat.ETA_UNIT`,
#: plus rounding); HiGHS's own test is a gap of 1e-6 (``mip_abs_gap``) or 1e-6 relative.
CP_MAXMIN_GAP = 2e-6
#: Bits per row added for CP-SAT's second try when rounding left the first beyond the gap.
FINER_BITS = 3
#: HiGHS's ``mip_heuristic_effort`` (default 0.05) when the master only has to find a schedule.
FEASIBILITY_HEURISTIC_EFFORT = 0.3


@contextmanager
def _solver_output_to_stderr() -> Iterator[None]:
    """Send anything the solver's C++ code prints to stdout to stderr instead.

    HiGHS occasionally prints a diagnostic line straight to the C ``stdout`` even with
    logging off, which would corrupt ``detente design --json``. File descriptor 1 is pointed
    at 2 for the duration of a solve (C buffers are flushed before it is restored). Where the
    descriptors cannot be duplicated the solve runs unchanged.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        with suppress(OSError, AttributeError, TypeError):  # no libc: nothing to flush
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class SolveOutcome:
    """One MILP solve: ``status`` in {"optimal", "infeasible", "time_limit", "error"}."""

    status: str
    counts: IntArray | None
    objective: float | None
    message: str
    bound: float | None = None  # the solver's dual bound on the objective
    values: FloatArray | None = None  # every variable's value (None when there is no point)


class Master:
    """The master MILP for horizon ``T`` (see the module docstring).

    ``objective`` ``"feasible"`` finds any schedule; ``"maxmin"`` maximises η, a lower bound
    on every normalised slack and participation value (``eta_lb`` may be negative: the
    schedule closest to self-enforcing); ``"payment"`` minimises the per-period payment π to
    party ``payer`` (see :class:`detente.design.result.SidePayment`), at most ``pi_max``.
    """

    def __init__(
        self,
        pkg: Package,
        T: int,
        objective: Objective = "feasible",
        *,
        payer: int | None = None,
        eta_lb: float = 0.0,
        eta_ub: float = ETA_MAX,
        pi_max: float | None = None,
        solver: str = "highs",
    ) -> None:
        self.pkg = pkg
        self.solver = solver  # "cpsat": CP-SAT where it applies (see solve), else HiGHS
        self.solved_by = ""  # the solver of the last solve
        self.T = T
        self.objective = objective
        self.payer = payer
        self.eta_lb = eta_lb
        self.eta_ub = max(eta_ub, eta_lb)
        comp = pkg.comp
        K = comp.n_concessions
        m = pkg.m
        self._lb: list[float] = []
        self._ub: list[float] = []
        self._int: list[int] = []
        self._rows_i: list[list[int]] = []
        self._rows_v: list[list[float]] = []
        self._rows_lo: list[float] = []
        self._rows_hi: list[float] = []
        self.cuts: dict[CutKey, float] = {}  # key -> margin in force
        self.cost: dict[int, float] = {}  # extra objective terms (minimised), see add_var
        self.trivially_infeasible = False

        earliest = self._earliest_start()
        self.X = np.empty((K, T + 1), dtype=np.int64)
        self.S = np.empty((K, T + 1), dtype=np.int64)
        for k in range(K):
            for t in range(T + 1):
                lo = float(m[k]) if t == T else 0.0
                hi = 0.0 if t < earliest[k] else float(m[k])
                self.X[k, t] = self._var(lo, hi, 1)
        for k in range(K):
            for t in range(T + 1):
                self.S[k, t] = self._var(0.0, 0.0 if t < earliest[k] else 1.0, 1)
                prev = [] if t == 0 else [int(self.X[k, t - 1])]
                step_i = [int(self.X[k, t]), *prev, int(self.S[k, t])]
                if t > 0:
                    self._row([int(self.X[k, t]), int(self.X[k, t - 1])], [1.0, -1.0], 0.0, math.inf)
                # s <= X[t] - X[t-1] <= m s
                self._row(step_i, [1.0, *([-1.0] * len(prev)), -1.0], 0.0, math.inf)
                self._row(step_i, [1.0, *([-1.0] * len(prev)), -float(m[k])], -math.inf, 0.0)
        fragile = comp.fragile
        self.B: dict[int, list[int]] = {}
        for kk in np.nonzero(fragile)[0]:
            k = int(kk)
            col = []
            for t in range(T):
                v = self._var(0.0, 0.0 if t < earliest[k] else 1.0, 1)
                self._row([int(self.X[k, t]), v], [1.0, -1.0], 0.0, math.inf)
                self._row([int(self.X[k, t]), v], [1.0, -float(m[k])], -math.inf, 0.0)
                col.append(v)
            self.B[int(k)] = col
        prereqs = sorted({r for reqs in comp.requires for r in reqs})
        F: dict[int, list[int]] = {}
        for r in prereqs:
            col = []
            for t in range(T):
                v = self._var(0.0, 1.0, 1)
                self._row([int(self.X[r, t]), v], [1.0, -float(m[r])], 0.0, math.inf)
                col.append(v)
            F[r] = col
        for k, reqs in enumerate(comp.requires):
            for r in reqs:
                for t in range(1, T + 1):
                    self._row([int(self.X[k, t]), F[r][t - 1]], [1.0, -float(m[k])], -math.inf, 0.0)
        # pace: at most one tranche of k in any window of pace[k] periods
        pace = pkg.pace if pkg.pace is not None else np.zeros(K, dtype=np.int64)
        for kk in np.nonzero((pace > 0) & (m > 1))[0]:
            k, gap = int(kk), int(pace[kk])
            for t in range(T + 1):
                if t - gap >= 0:
                    self._row([int(self.X[k, t]), int(self.X[k, t - gap])], [1.0, -1.0], -math.inf, 1.0)
                else:
                    self._row([int(self.X[k, t])], [1.0], -math.inf, 1.0)
        self.eta = -1
        self.pi = -1
        if objective == "maxmin":
            self.eta = self._var(eta_lb, self.eta_ub, 0)
        elif objective == "payment":
            if payer is None:
                raise ValueError("a payment objective needs a payer")
            d = float(comp.discount[payer])
            cap = 2.0 * ETA_MAX * float(pkg.stake[payer]) * (1.0 - d)
            self.pi = self._var(0.0, cap if pi_max is None else min(cap, pi_max), 0)
        for i in range(comp.n_parties):
            self._participation(i)

    # ------------------------------------------------------------------ building blocks

    def _earliest_start(self) -> IntArray:
        comp = self.pkg.comp
        K = comp.n_concessions
        depth = np.zeros(K, dtype=np.int64)
        done = [False] * K

        def visit(k: int) -> int:
            if not done[k]:
                depth[k] = 1 + max((visit(r) for r in comp.requires[k]), default=-1)
                done[k] = True
            return int(depth[k])

        for k in range(K):
            visit(k)
        return depth

    def _var(self, lo: float, hi: float, integer: int) -> int:
        self._lb.append(lo)
        self._ub.append(hi)
        self._int.append(integer)
        return len(self._lb) - 1

    def _row(self, idx: list[int], val: list[float], lo: float, hi: float) -> None:
        self._rows_i.append(idx)
        self._rows_v.append(val)
        self._rows_lo.append(lo)
        self._rows_hi.append(hi)

    def _form_terms(self, form: Form, scale: float) -> tuple[dict[int, float], float, float]:
        """X-coefficients, constant and box minimum of ``form / scale``."""
        m = self.pkg.m
        coef = form.coef / (m[:, None] * scale)
        const = float(form.const.sum()) / scale
        terms: dict[int, float] = {}
        K, T = coef.shape
        for k in range(K):
            for t in range(T):
                c = float(coef[k, t])
                if c != 0.0:
                    terms[int(self.X[k, t])] = c
        # x[k, ·] is non-decreasing in [0, 1]: its minimum puts x = 1 from some period on
        tails = np.cumsum((coef * m[:, None])[:, ::-1], axis=1)
        low = const + float(np.minimum(tails.min(axis=1, initial=0.0), 0.0).sum())
        return terms, const, low

    def _bonus(self, i: int) -> dict[int, float]:
        """Objective variable terms of party i's normalised rows (−η, or +π for the payer)."""
        if self.objective == "maxmin":
            return {self.eta: -1.0}
        if self.objective == "payment" and i == self.payer:
            d = float(self.pkg.comp.discount[i])
            return {self.pi: 1.0 / ((1.0 - d) * float(self.pkg.stake[i]))}
        return {}

    def _participation(self, i: int) -> None:
        form = comply_form(self.pkg.comp, self.T, i, 0)
        terms, const, _ = self._form_terms(form, float(self.pkg.stake[i]))
        terms.update(self._bonus(i))
        if not terms:
            if const < -1e-12:
                self.trivially_infeasible = True
            return
        self._row(list(terms), list(terms.values()), -const, math.inf)

    # ------------------------------------------------------------------ extensions

    def add_var(self, lo: float, hi: float, integer: bool = False, cost: float = 0.0) -> int:
        """A new variable with objective coefficient ``cost`` (the master minimises)."""
        var = self._var(lo, hi, int(integer))
        if cost:
            self.cost[var] = cost
        return var

    def add_row(self, terms: dict[int, float], lo: float, hi: float) -> None:
        """``lo <= Σ terms[var] · var <= hi`` (an empty row that fails makes the master infeasible)."""
        terms = {v: c for v, c in terms.items() if c != 0.0}
        if not terms:
            if lo > 1e-12 or hi < -1e-12:
                self.trivially_infeasible = True
            return
        self._row(list(terms), list(terms.values()), lo, hi)

    def form_terms(self, form: Form, scale: float = 1.0) -> tuple[dict[int, float], float]:
        """X-variable coefficients and constant of ``form / scale`` (a value as a linear form)."""
        terms, const, _ = self._form_terms(form, scale)
        return terms, const

    # ------------------------------------------------------------------ cuts

    def add_cuts(self, keys: Iterable[CutKey]) -> int:
        return sum(self.add_cut(key) for key in keys)

    def add_cut(self, key: CutKey, margin: float = 0.0) -> bool:
        """Add the cut ``key`` (see the module docstring); False when nothing was added."""
        if key in self.cuts and self.cuts[key] >= margin:
            return False
        self.cuts[key] = margin
        i, tau, plan, d = key
        comp = self.pkg.comp
        T = self.T
        arrivals: list[int] = []
        earlier: list[int] = []
        for k in np.nonzero(comp.giver == i)[0]:
            lag = int(comp.lag[k])
            ta = d - lag
            if tau <= ta <= T:
                arrivals.append(int(self.S[k, ta]))
            for t in range(tau, min(T, d - lag - 1) + 1):
                earlier.append(int(self.S[k, t]))
        if plan == 1 and tau >= 1:
            for k in np.nonzero((comp.giver == i) & comp.fragile)[0]:
                when = tau + int(comp.delay[k]) + int(comp.lag[k])
                var = self.B[int(k)][tau - 1] if tau - 1 < T else _CONST
                if when == d:
                    arrivals.append(var)
                elif when < d:
                    earlier.append(var)
        if not arrivals or _CONST in earlier:
            return False  # this (τ, d) can never be the moment the deviation is seen
        form = slack_form(comp, T, i, tau, plan, d + 1)
        terms, const, low = self._form_terms(form, float(self.pkg.stake[i]))
        top = self.eta_ub if self.objective == "maxmin" else 0.0
        if low >= top + margin:
            return False  # holds for every schedule
        big_m = top + margin - low + 1e-6
        for var, c in self._bonus(i).items():
            terms[var] = terms.get(var, 0.0) + c
        for var in earlier:
            terms[var] = terms.get(var, 0.0) + big_m
        rhs = margin - const
        if _CONST not in arrivals:
            g = self._var(0.0, 1.0, 1)
            for a in set(arrivals):
                self._row([g, a], [1.0, -1.0], 0.0, math.inf)
            terms[g] = terms.get(g, 0.0) - big_m
            rhs -= big_m
        if not terms:
            if rhs > 1e-12:
                self.trivially_infeasible = True
            return True
        self._row(list(terms), list(terms.values()), rhs, math.inf)
        return True

    # ------------------------------------------------------------------ solving

    def solve(self, time_limit: float | None) -> SolveOutcome:
        """Solve the master: with CP-SAT when ``solver`` is ``"cpsat"`` and the master only asks
        whether a schedule exists, or is a max-min with η as its only continuous variable
        (:meth:`_solve_cp`), else (and whenever CP-SAT cannot settle it) with HiGHS."""
        if self.trivially_infeasible:
            return SolveOutcome("infeasible", None, None, "a constant constraint fails")
        if self.solver == "cpsat":
            started = time.perf_counter()
            found = self._solve_cp(time_limit)
            if found is not None:
                self.solved_by = "cpsat"
                return found
            if time_limit is not None:
                time_limit -= time.perf_counter() - started
                if time_limit <= 0:
                    return SolveOutcome("time_limit", None, None, "CP-SAT used the time")
        self.solved_by = "highs"
        return self._solve_highs(time_limit)

    def _cp_fixed(self) -> dict[int, float] | None:
        """The continuous variables CP-SAT may treat as constants, or None when it does not apply.

        A feasibility master has none. A max-min master whose η is held within
        2 × 1e-7 of its upper bound (the first try of the tie-break) asks only whether some
        schedule reaches ``eta_lb``: η enters every row with a negative coefficient on the
        ``≥`` side, so η = ``eta_lb`` is the loosest choice.
        """
        if self.cost:
            return None
        fixed: dict[int, float] = {}
        if self.objective == "maxmin":
            if self.eta_ub - self.eta_lb > 2e-7:
                return None
            fixed[self.eta] = self.eta_lb
        elif self.objective != "feasible":
            return None
        continuous = [j for j, integer in enumerate(self._int) if not integer]
        if any(j not in fixed for j in continuous) or any(lo < 0 for lo in self._lb):
            return None
        return fixed

    def cp_maxmin(self) -> bool:
        """Whether :meth:`solve` gives this master to CP-SAT as a max-min
        (:func:`~detente.design.cpsat.solve_maxmin`): η free in a range is its only continuous
        variable, there are no cost terms and every other variable is non-negative."""
        if self.solver != "cpsat" or self.objective != "maxmin" or self.cost or self._cp_fixed() is not None:
            return False
        continuous = [j for j, integer in enumerate(self._int) if not integer]
        return continuous == [self.eta] and all(lo >= 0 for j, lo in enumerate(self._lb) if j != self.eta)

    def _solve_cp_maxmin(self, time_limit: float | None) -> SolveOutcome | None:
        """The max-min master by CP-SAT; None when it does not apply or its answer is not
        within :data:`CP_MAXMIN_GAP` of its proved bound (HiGHS then takes the master).

        The rounding of a row loses up to about one unit of its scale per variable; when that
        leaves the answer further than the gap from the bound, CP-SAT solves once more with
        :data:`FINER_BITS` more bits per row, starting from the first answer."""
        from .cpsat import MAXMIN_ROW_BITS, solve_maxmin

        rows = list(zip(self._rows_i, self._rows_v, self._rows_lo, self._rows_hi, strict=True))
        hint: dict[int, int] | None = None
        started = time.perf_counter()
        for bits in (MAXMIN_ROW_BITS, MAXMIN_ROW_BITS + FINER_BITS):
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            if left is not None and left <= 0:
                return SolveOutcome("time_limit", None, None, "CP-SAT used the time")
            out = solve_maxmin(
                self._lb, self._ub, rows, self.eta, self.eta_lb, self.eta_ub, left, hint, self._int, bits
            )
            if out is None or out.status == "error":
                return None
            if out.status == "infeasible":
                return SolveOutcome("infeasible", None, None, f"CP-SAT: {out.message}")
            if out.x is None or out.eta is None:
                return SolveOutcome("time_limit", None, None, f"CP-SAT: {out.message}")
            if out.eta < self.eta_lb - 1e-9:
                return None  # the point is within rounding of the master, not in it
            message = f"CP-SAT: {out.message}"
            if out.status != "optimal" or out.bound is None:
                return SolveOutcome("time_limit", self._counts(out.x), -out.eta, message, None, out.x)
            if out.bound - out.eta <= CP_MAXMIN_GAP:
                return SolveOutcome("optimal", self._counts(out.x), -out.eta, message, -out.bound, out.x)
            hint = {j: round(float(out.x[j])) for j in range(len(self._lb)) if j != self.eta}
        return None

    def _solve_cp(self, time_limit: float | None) -> SolveOutcome | None:
        """The master by CP-SAT (:mod:`detente.design.cpsat`); None when it does not apply or
        cannot settle the question."""
        fixed = self._cp_fixed()
        if fixed is None:
            return self._solve_cp_maxmin(time_limit) if self.cp_maxmin() else None
        from .cpsat import solve_feasibility

        keep = [j for j in range(len(self._lb)) if j not in fixed]
        where = {j: n for n, j in enumerate(keep)}
        rows: list[tuple[list[int], list[float], float, float]] = []
        for idx, val, lo, hi in zip(self._rows_i, self._rows_v, self._rows_lo, self._rows_hi, strict=True):
            shift = sum(v * fixed[j] for j, v in zip(idx, val, strict=True) if j in fixed)
            terms = [(where[j], v) for j, v in zip(idx, val, strict=True) if j not in fixed and v != 0.0]
            lo, hi = lo - shift, hi - shift
            if not terms:
                if lo > 1e-9 or hi < -1e-9:
                    return SolveOutcome("infeasible", None, None, "a constant constraint fails")
                continue
            rows.append(([t[0] for t in terms], [t[1] for t in terms], lo, hi))
        out = solve_feasibility([self._lb[j] for j in keep], [self._ub[j] for j in keep], rows, time_limit)
        if out is None:
            return None
        if out.status != "optimal" or out.x is None:
            return SolveOutcome(out.status, None, None, f"CP-SAT: {out.message}")
        x = np.zeros(len(self._lb))
        x[keep] = out.x
        for j, v in fixed.items():
            x[j] = v
        objective = -self.eta_lb if self.objective == "maxmin" else 0.0
        return SolveOutcome("optimal", self._counts(x), objective, f"CP-SAT: {out.message}", None, x)

    def _solve_highs(self, time_limit: float | None) -> SolveOutcome:
        n = len(self._lb)
        c = np.zeros(n)
        if self.objective == "maxmin":
            c[self.eta] = -1.0
        elif self.objective == "payment":
            c[self.pi] = 1.0
        for var, cost in self.cost.items():
            c[var] += cost
        indptr = np.zeros(len(self._rows_i) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in self._rows_i])
        indices = np.fromiter((j for r in self._rows_i for j in r), dtype=np.int64, count=int(indptr[-1]))
        data = np.fromiter((v for r in self._rows_v for v in r), dtype=np.float64, count=int(indptr[-1]))
        A = csr_array((data, indices, indptr), shape=(len(self._rows_i), n))
        options: dict[str, float | bool] = {
            "disp": False,
            "mip_rel_gap": 1e-6,
            "mip_feasibility_tolerance": 1e-9,
            "primal_feasibility_tolerance": 1e-9,
        }
        if self.objective == "feasible" and not self.cost:
            # a pure feasibility master stops at its first schedule: let HiGHS look harder
            # for one (measured on the harder generator: finding a schedule at the optimal
            # period about twice as fast, proofs of infeasibility about as fast)
            options["mip_heuristic_effort"] = FEASIBILITY_HEURISTIC_EFFORT
        if time_limit is not None:
            options["time_limit"] = max(0.01, float(time_limit))
        with warnings.catch_warnings(), _solver_output_to_stderr():
            warnings.simplefilter("ignore", RuntimeWarning)  # options passed to HiGHS verbatim
            res = milp(
                c,
                integrality=np.array(self._int),
                bounds=Bounds(np.array(self._lb), np.array(self._ub)),
                constraints=[LinearConstraint(A, np.array(self._rows_lo), np.array(self._rows_hi))],
                options=options,
            )
        counts = None
        if res.x is not None:
            counts = self._counts(np.asarray(res.x))
        fun = None if res.fun is None else float(res.fun)
        bound = None if res.get("mip_dual_bound") is None else float(res.mip_dual_bound)
        values = None if res.x is None else np.asarray(res.x, dtype=np.float64)
        if res.status == 0:
            return SolveOutcome("optimal", counts, fun, str(res.message), bound, values)
        if res.status == 2:
            return SolveOutcome("infeasible", None, None, str(res.message))
        if res.status == 1:
            return SolveOutcome("time_limit", counts, fun, str(res.message), None, values)
        return SolveOutcome("error", counts, fun, str(res.message))

    def _counts(self, x: FloatArray) -> IntArray:
        counts = np.rint(x[self.X]).astype(np.int64)
        counts = np.maximum.accumulate(np.clip(counts, 0, self.pkg.m[:, None]), axis=1)
        counts[:, -1] = self.pkg.m
        return counts
