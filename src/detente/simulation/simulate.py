"""``simulate``: strategies played against each other over many episodes, with summaries.

The result keeps one row per episode (never one per period), so a million episodes fit in
memory easily; summaries carry 95 % confidence intervals and the result records its
provenance (scenario hash, schedule, strategies, seed, version).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..core import limits as _limits
from ..core.errors import UsageError, did_you_mean
from ..core.results import report_html
from ..core.scenario import Scenario, Step
from .engine import BATCH, BatchOutput, batches, run_batch, run_no_deal_batch, spawn_generators
from .setup import SimSetup, build_setup
from .strategies import library as _library  # noqa: F401  (registers the built-in strategies)
from .strategies.base import Strategy, make_strategy

__all__ = ["MAX_EPISODES", "MAX_HORIZON", "NO_DEAL", "SimulationResult", "no_deal_values", "simulate", "summarise"]

#: What values are compared with, in words (printed with every value against no deal).
NO_DEAL = (
    "no deal: nobody performs any step; the status quo under sanctions (with their leakage) in the same "
    "environment, the domestic clock running and crisis possible, same seed"
)

#: Refused above these sizes (the table of every limit is in docs/limits.md).
MAX_EPISODES = _limits.MAX_EPISODES
MAX_HORIZON = _limits.MAX_SIM_HORIZON

FloatArray = NDArray[np.float64]


def _ci(values: FloatArray) -> dict[str, Any]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"mean": None, "ci95": [None, None], "sd": None, "n": 0}
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    half = 1.959963984540054 * sd / math.sqrt(v.size)
    return {"mean": mean, "ci95": [mean - half, mean + half], "sd": sd, "n": int(v.size)}


def _share_ci(flags: NDArray[np.bool_]) -> dict[str, Any]:
    n = flags.size
    p = float(flags.mean()) if n else 0.0
    # Wilson interval: well behaved at 0 and 1
    z = 1.959963984540054
    denom = 1 + z * z / n if n else 1.0
    centre = (p + z * z / (2 * n)) / denom if n else 0.0
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom if n else 0.0
    return {"mean": p, "ci95": [max(0.0, centre - half), min(1.0, centre + half)], "n": int(n)}


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-episode outcomes of a simulation, with summaries and provenance."""

    parties: tuple[str, ...]
    strategies: dict[str, str]
    episodes: int
    seed: int | None
    horizon: int
    value: FloatArray  # [E, P]
    package_in_force: FloatArray  # [E, P]
    crisis: NDArray[np.bool_]
    crisis_period: NDArray[np.int64]
    first_breach_period: NDArray[np.int64]
    first_breach_party: NDArray[np.int64]
    completion_period: NDArray[np.int64]
    provenance: dict[str, Any] = field(default_factory=dict)
    #: [E, P] each episode's value under no deal (same environment and seed); None when not run
    no_deal_value: FloatArray | None = None

    @property
    def crisis_rate(self) -> float:
        return float(self.crisis.mean())

    def summary(self) -> dict[str, Any]:
        """The JSON summary (the contract of ``detente simulate --json``)."""
        parties: dict[str, Any] = {}
        for i, pid in enumerate(self.parties):
            parties[pid] = {
                "strategy": self.strategies[pid],
                "value": _ci(self.value[:, i]),
                "package_in_force": _ci(self.package_in_force[:, i]),
                "first_breach_share": float((self.first_breach_party == i).mean()),
            }
            if self.no_deal_value is not None:
                parties[pid]["no_deal_value"] = _ci(self.no_deal_value[:, i])
                parties[pid]["value_vs_no_deal"] = _ci(self.value[:, i] - self.no_deal_value[:, i])
        completed = self.completion_period >= 0
        breached = self.first_breach_period >= 0
        crisis_when = self.crisis_period[self.crisis].astype(float)
        return {
            "episodes": self.episodes,
            "seed": self.seed,
            "horizon": self.horizon,
            "strategies": dict(self.strategies),
            "parties": parties,
            "crisis_rate": self.crisis_rate,
            "crisis": {**_share_ci(self.crisis), "mean_period": _ci(crisis_when)["mean"]},
            "completed": {
                **_share_ci(completed),
                "mean_period": _ci(self.completion_period[completed].astype(float))["mean"],
            },
            "breach": {
                **_share_ci(breached),
                "mean_period": _ci(self.first_breach_period[breached].astype(float))["mean"],
            },
            **({"no_deal": NO_DEAL} if self.no_deal_value is not None else {}),
            "provenance": dict(self.provenance),
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One tidy row per episode (``pandas.DataFrame(result.to_records())``)."""
        rows = []
        for e in range(self.episodes):
            row: dict[str, Any] = {"episode": e}
            for i, pid in enumerate(self.parties):
                row[f"value.{pid}"] = float(self.value[e, i])
                row[f"package_in_force.{pid}"] = float(self.package_in_force[e, i])
                if self.no_deal_value is not None:
                    row[f"value_vs_no_deal.{pid}"] = float(self.value[e, i] - self.no_deal_value[e, i])
            row["crisis"] = bool(self.crisis[e])
            row["crisis_period"] = int(self.crisis_period[e])
            fb = int(self.first_breach_party[e])
            row["first_breach_period"] = int(self.first_breach_period[e])
            row["first_breach_party"] = self.parties[fb] if fb >= 0 else None
            row["completion_period"] = int(self.completion_period[e])
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: :meth:`summary` (``detente simulate --json``)."""
        return self.summary()

    def _repr_html_(self) -> str:
        return report_html(self)

    def to_frame(self) -> Any:
        """A tidy pandas DataFrame, one row per episode.

        Columns: ``episode``; per party P ``value.P`` (discounted value), ``package_in_force.P``
        (share of P's package in force at the horizon) and, when no-deal values were run,
        ``value_vs_no_deal.P``; ``crisis``, ``crisis_period``, ``first_breach_period``,
        ``first_breach_party`` (None when nobody breached), ``completion_period`` (−1 when the
        schedule did not complete; likewise −1 for periods of events that did not happen).
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - depends on the environment
            raise UsageError("to_frame() needs pandas: pip install pandas") from None
        data: dict[str, Any] = {"episode": np.arange(self.episodes)}
        for i, pid in enumerate(self.parties):
            data[f"value.{pid}"] = self.value[:, i]
            data[f"package_in_force.{pid}"] = self.package_in_force[:, i]
            if self.no_deal_value is not None:
                data[f"value_vs_no_deal.{pid}"] = self.value[:, i] - self.no_deal_value[:, i]
        data["crisis"] = self.crisis
        data["crisis_period"] = self.crisis_period
        data["first_breach_period"] = self.first_breach_period
        data["first_breach_party"] = [self.parties[p] if p >= 0 else None for p in self.first_breach_party]
        data["completion_period"] = self.completion_period
        return pd.DataFrame(data)


def _strategy_map(scn: Scenario, strategies: Mapping[str, str | Strategy]) -> list[Strategy]:
    out = []
    for pid in strategies:
        if pid not in scn.party_ids:
            raise UsageError(
                f"--strategy {pid}=...: unknown party{did_you_mean(pid, scn.party_ids)} "
                f"(parties: {', '.join(scn.party_ids)})"
            )
    for i, pid in enumerate(scn.party_ids):
        spec = strategies.get(pid, "reciprocal")
        strat = make_strategy(spec)
        side = strat.classifier.get("side", "any")
        env = getattr(scn, "environment", None)
        target = env.sanctions.target if env is not None and env.sanctions is not None else None
        if side == "sender" and target == pid:
            raise UsageError(f"strategy {strat.name!r} is for the side that imposes sanctions; {pid} is their target")
        if side == "target" and target is not None and target != pid:
            raise UsageError(f"strategy {strat.name!r} is for the target of the sanctions ({target}), not {pid}")
        del i
        out.append(strat)
    return out


def simulate(
    scenario: Scenario,
    strategies: Mapping[str, str | Strategy],
    episodes: int = 10_000,
    seed: int | None = None,
    *,
    schedule: str | Sequence[Step] | None = None,
    horizon: int = 120,
    params: Mapping[str, float] | None = None,
    batch_size: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
    no_deal: bool = True,
    compiled: bool = False,
) -> SimulationResult:
    """Play one strategy per party (``{"US": "reciprocal", "DPRK": "hedger"}``; parties not
    named play ``reciprocal``) over ``episodes`` episodes of ``horizon`` periods.

    ``progress(done, total)`` is called after every batch with episode counts. With
    ``no_deal`` (the default) every episode is also played under no deal (:func:`no_deal_values`)
    with the same batch seeds, so the summary states each value against that baseline.
    ``compiled`` runs the batches through the numba kernel (:mod:`detente.simulation.kernel`):
    the same results, faster, after a one-time compilation cached on disk.
    """
    if episodes <= 0:
        raise UsageError(f"episodes must be at least 1, found {episodes}")
    if episodes > MAX_EPISODES:
        raise UsageError(f"episodes above {MAX_EPISODES:.0e} are refused, found {episodes}")
    if horizon <= 0 or horizon > MAX_HORIZON:
        raise UsageError(f"the horizon must be between 1 and {MAX_HORIZON}, found {horizon}")
    setup = build_setup(scenario, schedule, params)
    last = int(setup.step_period.max(initial=-1))
    if last >= horizon:
        raise UsageError(f"the schedule runs to period {last}; use a horizon above it (--horizon {last + 12})")
    strats = _strategy_map(scenario, strategies)
    sizes = batches(episodes, batch_size)
    entropy = _entropy(seed)  # shared with the no-deal run, also when seed is None
    rngs = spawn_generators(entropy, len(sizes))
    run = _compiled_run_batch() if compiled else run_batch
    outputs: list[BatchOutput] = []
    started = time.perf_counter()
    done = 0
    for size, rng in zip(sizes, rngs, strict=True):
        outputs.append(run(setup, [s.clone() for s in strats], size, horizon, rng))
        done += size
        if progress is not None:
            progress(done, episodes)
    baseline = _no_deal(setup, sizes, entropy, horizon) if no_deal else None
    elapsed = time.perf_counter() - started

    def cat(name: str) -> Any:
        return np.concatenate([getattr(o, name) for o in outputs])

    names = {pid: repr(s) for pid, s in zip(scenario.party_ids, strats, strict=True)}
    return SimulationResult(
        parties=scenario.party_ids,
        strategies=names,
        episodes=episodes,
        seed=seed,
        horizon=horizon,
        value=cat("value"),
        package_in_force=cat("package_in_force"),
        crisis=cat("crisis"),
        crisis_period=cat("crisis_period"),
        first_breach_period=cat("first_breach_period"),
        first_breach_party=cat("first_breach_party"),
        completion_period=cat("completion_period"),
        no_deal_value=baseline,
        provenance={
            "analysis": "simulate",
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash,
            "schedule": schedule if isinstance(schedule, str) or schedule is None else "custom",
            "parameters": dict(setup.comp.params),
            "seed": seed,
            "batch_size": batch_size,
            "version": __version__,
            "seconds": elapsed,
        },
    )


def _compiled_run_batch() -> Callable[..., BatchOutput]:
    """The compiled engine, imported on demand (numba's import and compilation are not free)."""
    from .kernel import run_batch_compiled

    return run_batch_compiled


def _entropy(seed: int | None) -> int:
    """``seed``, or fresh entropy when it is None (so that two runs can share it)."""
    if seed is not None:
        return seed
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)
    return entropy


def _no_deal(setup: SimSetup, sizes: Sequence[int], seed: int | None, horizon: int) -> FloatArray:
    rngs = spawn_generators(seed, len(sizes))
    return np.concatenate([run_no_deal_batch(setup, size, horizon, rng) for size, rng in zip(sizes, rngs, strict=True)])


def no_deal_values(
    scenario: Scenario,
    params: Mapping[str, float] | None = None,
    seed: int | None = None,
    *,
    episodes: int = 10_000,
    horizon: int = 120,
    batch_size: int = BATCH,
) -> dict[str, float]:
    """Each party's mean discounted value under no deal: nobody performs any step, in the
    scenario's environment at ``params`` (sanctions as in the status quo, shocks, the domestic
    clock running from period 0, crisis flows). Values are relative to the status quo, so
    without a hazard every value is 0.

    With the same ``seed``, ``episodes``, ``horizon`` and ``batch_size`` these are the means of
    the baseline that :func:`simulate` reports as ``no_deal_value``.
    """
    if episodes <= 0 or episodes > MAX_EPISODES:
        raise UsageError(f"episodes must be between 1 and {MAX_EPISODES:.0e}, found {episodes}")
    if horizon <= 0 or horizon > MAX_HORIZON:
        raise UsageError(f"the horizon must be between 1 and {MAX_HORIZON}, found {horizon}")
    setup = build_setup(scenario, (), params)
    values = _no_deal(setup, batches(episodes, batch_size), _entropy(seed), horizon)
    return {pid: float(values[:, i].mean()) for i, pid in enumerate(scenario.party_ids)}


def summarise(result: SimulationResult) -> dict[str, Any]:
    """Alias of :meth:`SimulationResult.summary`."""
    return result.summary()
