"""Parties' demands (the scenario's ``demands:``) as rows of the designer's master MILP.

A :class:`Rule` is one demand with its numbers resolved at the package's parameters and its
ids turned into indices. :func:`add_rule` writes it into a :class:`~detente.design.master.Master`
for horizon ``T`` (``X[k, t]`` tranches of k in force in t; everything in force from T on):

* ``after`` (party i waits for n = ⌈s·m_c⌉ tranches of the other side's c, verified ℓ_c later):
  a binary ``f[u]`` with ``n·f[u] ≤ X[c, u]``, and ``X[k, t] ≤ m_k · f[t − ℓ_c − 1]`` for each
  of i's concessions k (``X[k, t] = 0`` when ``t − ℓ_c − 1 < 0``);
* ``in_force`` (share s of k by t): ``X[k, t] ≥ ⌈s·m_k⌉`` (void when t ≥ T);
* ``no_irreversible_before`` t: ``X[k, t − 1] = 0`` for each irreversible k of i;
* ``value_at_least`` v: ``V_i(0) ≥ v``, V_i(0) being linear in X (:func:`comply_form`);
* ``completes_by`` t: ``X[k, t] = m_k`` for every k (void when t ≥ T).

Each row is exact on integer points: a schedule meets the demand if and only if it satisfies
the rows. :func:`holds` evaluates a demand on a schedule directly (from the counts and the
kernel's participation values), a second code path the tests hold the rows to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..core.demands import needed_tranches
from ..core.errors import UsageError, did_you_mean
from ..core.expr import Expr
from ..core.scenario import Scenario
from .forms import comply_form
from .master import Master
from .package import FEASIBILITY_TOL, Check, Package

__all__ = ["Rule", "add_rule", "compile_rules", "describe", "holds"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Rule:
    """One demand, resolved: ``level`` is its share, period or value (by form)."""

    id: str
    index: int  # position in the scenario's demands
    party: int
    form: str
    concession: int | None
    level: float
    period: int | None  # in_force: the period; otherwise None
    text: str | None

    def at(self, level: float) -> Rule:
        """The same demand with its share, period or value moved to ``level``."""
        return replace(self, level=level)


def _number(value: float | int | Expr | None, env: dict[str, float], default: float) -> float:
    if value is None:
        return default
    if isinstance(value, Expr):
        return float(value.evaluate(env))
    return float(value)


def compile_rules(pkg: Package, ids: Sequence[str] | None = None) -> list[Rule]:
    """The scenario's demands (only ``ids`` when given, in file order) as :class:`Rule` s."""
    scn: Scenario = pkg.scenario
    comp = pkg.comp
    env = scn.parameter_values(dict(comp.params))
    known = [d.id for d in scn.demands]
    if ids is not None:
        for name in ids:
            if name not in known:
                raise UsageError(
                    f"unknown demand {name!r}{did_you_mean(name, known)} (demands: {', '.join(known) or 'none'})"
                )
    rules = []
    for n, d in enumerate(scn.demands):
        if ids is not None and d.id not in ids:
            continue
        party = comp.party_ids.index(d.party)
        k = comp.concession_ids.index(d.concession) if d.concession is not None else None
        period: int | None = None
        if d.form in ("after",):
            level = _number(d.share, env, 1.0)
        elif d.form == "in_force":
            level = _number(d.share, env, 1.0)
            period = round(_number(d.period, env, 0.0))
        elif d.form == "value_at_least":
            level = _number(d.value, env, 0.0)
        else:
            level = float(round(_number(d.period, env, 0.0)))
        rules.append(Rule(d.id, n, party, d.form, k, level, period, d.text))
    return rules


def add_rule(master: Master, rule: Rule) -> None:
    """Write ``rule`` into ``master`` (see the module docstring)."""
    pkg = master.pkg
    comp = pkg.comp
    T = master.T
    m = pkg.m
    X = master.X
    own = [int(k) for k in np.nonzero(comp.giver == rule.party)[0]]
    if rule.form == "after":
        assert rule.concession is not None
        c = rule.concession
        n = needed_tranches(rule.level, int(m[c]))
        if n == 0:
            return
        lag = int(comp.lag[c])
        flags: dict[int, int] = {}
        for t in range(T + 1):
            u = t - lag - 1
            for k in own:
                if k == c:
                    continue
                if u < 0:
                    master.add_row({int(X[k, t]): 1.0}, -math.inf, 0.0)
                elif u < T:
                    if u not in flags:
                        f = master.add_var(0.0, 1.0, integer=True)
                        master.add_row({f: float(n), int(X[c, u]): -1.0}, -math.inf, 0.0)
                        flags[u] = f
                    master.add_row({int(X[k, t]): 1.0, flags[u]: -float(m[k])}, -math.inf, 0.0)
    elif rule.form == "in_force":
        assert rule.concession is not None
        assert rule.period is not None
        k = rule.concession
        n = needed_tranches(rule.level, int(m[k]))
        if n > 0 and rule.period < T:
            master.add_row({int(X[k, max(rule.period, 0)]): 1.0}, float(n), math.inf)
    elif rule.form == "no_irreversible_before":
        t = int(rule.level) - 1
        for k in own:
            if not comp.reversible[k] and t >= 0:
                master.add_row({int(X[k, min(t, T)]): 1.0}, -math.inf, 0.0)
    elif rule.form == "value_at_least":
        terms, const = master.form_terms(comply_form(comp, T, rule.party, 0))
        master.add_row(terms, rule.level - const - FEASIBILITY_TOL, math.inf)
    elif rule.form == "completes_by":
        t = int(rule.level)
        if t < T:
            for k in range(comp.n_concessions):
                master.add_row({int(X[k, max(t, 0)]): 1.0}, float(m[k]), math.inf)
    else:  # pragma: no cover - the scenario model admits only the forms above
        raise ValueError(f"unknown demand form {rule.form!r}")


def holds(pkg: Package, counts: IntArray, check: Check, rule: Rule) -> bool:
    """Whether the schedule ``counts`` meets ``rule``, evaluated directly on the schedule."""
    comp = pkg.comp
    m = pkg.m
    K, width = counts.shape

    def count(k: int, t: int) -> int:
        if t < 0:
            return 0
        return int(counts[k, min(t, width - 1)])

    own = [int(k) for k in np.nonzero(comp.giver == rule.party)[0]]
    if rule.form == "after":
        assert rule.concession is not None
        c = rule.concession
        n = needed_tranches(rule.level, int(m[c]))
        if n == 0:
            return True
        reached = [t for t in range(width) if counts[c, t] >= n]
        allowed_from = reached[0] + int(comp.lag[c]) + 1 if reached else math.inf
        first = [next((t for t in range(width) if counts[k, t] > 0), math.inf) for k in own if k != c]
        return all(f >= allowed_from for f in first)
    if rule.form == "in_force":
        assert rule.concession is not None
        assert rule.period is not None
        k = rule.concession
        return count(k, rule.period) >= needed_tranches(rule.level, int(m[k]))
    if rule.form == "no_irreversible_before":
        t = int(rule.level) - 1
        return all(count(k, t) == 0 for k in own if not comp.reversible[k])
    if rule.form == "value_at_least":
        return bool(check.participation[rule.party] >= rule.level - FEASIBILITY_TOL)
    if rule.form == "completes_by":
        t = int(rule.level)
        return all(count(k, t) >= int(m[k]) for k in range(K))
    raise ValueError(f"unknown demand form {rule.form!r}")  # pragma: no cover


def _share(x: float) -> str:
    return f"{x:.0%}" if x < 1.0 - 1e-12 else "all"


def describe(rule: Rule, pkg: Package, level: float | None = None) -> str:
    """The demand in words ("no US step before all of Yongbyon dismantlement is in force and verified")."""
    comp = pkg.comp
    scn = pkg.scenario
    word = scn.period
    who = comp.party_ids[rule.party]
    x = rule.level if level is None else level
    label = comp.labels[rule.concession] if rule.concession is not None else ""
    if rule.form == "after":
        return f"no {who} step before {_share(x)} of {label} is in force and verified"
    if rule.form == "in_force":
        return f"{_share(x)} of {label} in force by {word} {rule.period}"
    if rule.form == "no_irreversible_before":
        return f"no irreversible {who} step before {word} {x:g}"
    if rule.form == "value_at_least":
        return f"{who}'s value from the deal at least {x:.3g}"
    return f"the deal completes by {word} {x:g}"
