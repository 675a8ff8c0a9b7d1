"""The built-in strategy library (issue: simulate). Each class is vectorised over episodes.

Vocabulary used in the docstrings: a *breach* by another party is what this party has seen of
it (an overdue step, an undoing, or a false alarm); *fragile* concessions are those whose
undoing pays their giver on its own (docs/model.md §3), the only credible punishments.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Decision, Strategy, View, register

__all__ = [
    "DenuclearizationFirst",
    "Faithful",
    "Grim",
    "Grit",
    "Hedger",
    "MaximumPressure",
    "Opportunist",
    "Reciprocal",
    "VerifyFirst",
]


@register
class Faithful(Strategy):
    """Performs every step when due (late ones as soon as possible); never undoes anything."""

    name = "faithful"
    classifier: ClassVar[dict[str, Any]] = {"memory_depth": 0}

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        perform = view.own_due()
        return perform, np.zeros((view.n_episodes, view.fragile.size), bool)


@register
class Reciprocal(Strategy):
    """the punishment of docs/model.md §3: steps on time while no breach is seen; on a seen breach, halt and
    undo the fragile concessions. With ``forgiveness=True`` it resumes (late steps included)
    once no breach is reported any more."""

    name = "reciprocal"
    classifier: ClassVar[dict[str, Any]] = {"memory_depth": 1}

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"forgiveness": False}

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        angry = view.others_breach_now() if self.params["forgiveness"] else view.others_breach_ever()
        if not angry.any():
            return view.own_due(), np.zeros(view.undone.shape, bool)
        perform = view.own_due() & ~angry[:, None]
        return perform, view.undo_fragile(angry)


@register
class Grim(Strategy):
    """Grim trigger: after any reported breach (false alarms included) it stops for good and
    undoes every reversible concession, worth it or not."""

    name = "grim"

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        angry = view.others_breach_ever()
        return view.own_due() & ~angry[:, None], view.undo_reversible(angry)


@register
class VerifyFirst(Strategy):
    """Strict action for action: performs a step only once every step the others were due to
    take before it has been seen done, delaying its own; undoes its fragile concessions when it
    sees an undoing or a refusal."""

    name = "verify-first"
    classifier: ClassVar[dict[str, Any]] = {"memory_depth": 1}

    def reset(self, setup: Any, party: int, n_episodes: int, rng: np.random.Generator) -> None:
        super().reset(setup, party, n_episodes, rng)
        period = setup.step_period
        others = np.flatnonzero(setup.step_giver != party)
        self._others = others[np.argsort(period[others], kind="stable")]
        # own step s waits for the first _wait[s] of the others' steps (those scheduled before it)
        self._wait = np.searchsorted(period[self._others], period, side="left")

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        own_due = view.own_due()
        if own_due.any() and self._others.size:
            seen = np.logical_and.accumulate(view.seen_performed[:, self._others], axis=1)
            ready = np.ones(own_due.shape, bool)
            waiting = self._wait > 0
            ready[:, waiting] = seen[:, self._wait[waiting] - 1]
            own_due &= ready
        return own_due, view.undo_fragile(view.others_breach_ever())


@register
class DenuclearizationFirst(Strategy):
    """Performs none of its steps until all the others' steps have been seen done; punishes a
    seen breach like ``reciprocal``."""

    name = "denuclearization-first"

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        others = ~view.own_steps
        all_seen = (view.seen_performed | ~others[None, :]).all(axis=1)
        angry = view.others_breach_ever()
        perform = view.own_due() & (all_seen & ~angry)[:, None]
        return perform, view.undo_fragile(angry)


@register
class MaximumPressure(Strategy):
    """No concessions; sanctions pressure rises by ``rate`` (a share of the initial pressure)
    each period while it is played. Meaningful for the party imposing the sanctions."""

    name = "maximum-pressure"
    classifier: ClassVar[dict[str, Any]] = {"side": "sender", "memory_depth": 0}

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"rate": 0.02}

    @property
    def pressure_growth(self) -> float:  # type: ignore[override]
        return float(self.params["rate"])

    def decide(self, view: View) -> Decision:
        return view.nothing()


@register
class Grit(Strategy):
    """Osgood's GRIT: small unilateral steps (its reversible ones) for the first ``k`` periods
    whatever it sees, then reciprocal, performing late steps once no breach is seen."""

    name = "grit"

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {"k": 3}

    def stationary_from(self, t: int) -> bool:
        return t >= int(self.params["k"])

    def decide(self, view: View) -> Decision:
        if view.t < int(self.params["k"]):
            small = view.reversible[view.step_concession]
            return view.own_due() & small[None, :], np.zeros((view.n_episodes, view.fragile.size), bool)
        angry = view.others_breach_ever()
        return view.own_due() & ~angry[:, None], view.undo_fragile(angry)


@register
class Hedger(Strategy):
    """Performs only its reversible steps, never an irreversible one; punishes like reciprocal."""

    name = "hedger"

    def stationary_from(self, t: int) -> bool:
        return True

    def decide(self, view: View) -> Decision:
        angry = view.others_breach_ever()
        reversible = view.reversible[view.step_concession]
        perform = view.own_due() & reversible[None, :] & ~angry[:, None]
        return perform, view.undo_fragile(angry)


@register
class Opportunist(Strategy):
    """Deviates where the check says deviating pays: at the first period where its slack is
    negative it plays the check's best plan (halt, or halt and undo its fragile concessions),
    then undoes what is left at the check's response period. Where the check finds no
    temptation it plays ``reciprocal``."""

    name = "opportunist"
    classifier: ClassVar[dict[str, Any]] = {"reneges": True}

    def reset(self, setup: Any, party: int, n_episodes: int, rng: np.random.Generator) -> None:
        super().reset(setup, party, n_episodes, rng)
        self._plan = setup.temptation(party)  # (tau, plan, rho) or None

    def stationary_from(self, t: int) -> bool:
        return self._plan is None or t > self._plan[2]

    def decide(self, view: View) -> Decision:
        if self._plan is None:
            angry = view.others_breach_ever()
            return view.own_due() & ~angry[:, None], view.undo_fragile(angry)
        tau, plan, rho = self._plan
        everyone = np.ones(view.n_episodes, bool)
        if view.t < tau:
            angry = view.others_breach_ever()
            return view.own_due() & ~angry[:, None], view.undo_fragile(angry)
        perform = np.zeros_like(view.due)
        if (view.t == tau and plan == "halt_and_reverse") or view.t == rho:
            return perform, view.undo_fragile(everyone)
        return perform, np.zeros((view.n_episodes, view.fragile.size), bool)
