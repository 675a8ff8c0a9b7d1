"""Strategy tournaments on a scenario: every strategy of one side against every strategy of
the other, each pairing simulated over the same number of episodes with its own seed, and
every value also stated against no deal under the same environment and seed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import UsageError
from ..core.results import pandas, report_html
from ..core.scenario import Scenario, Step
from .simulate import NO_DEAL, simulate
from .strategies.base import REGISTRY, make_strategy

__all__ = ["TournamentResult", "default_pool", "tournament"]


def default_pool(scn: Scenario, party: str) -> list[str]:
    """Every registered strategy that ``party`` may play (by the ``side`` trait)."""
    env = getattr(scn, "environment", None)
    target = env.sanctions.target if env is not None and env.sanctions is not None else None
    pool = []
    for name, cls in sorted(REGISTRY.items()):
        side = cls.classifier.get("side", "any")
        if side == "sender" and (target is None or target == party):
            continue
        if side == "target" and target != party:
            continue
        pool.append(name)
    return pool


@dataclass(frozen=True)
class TournamentResult:
    """Outcome matrices: rows are the first side's strategies, columns the second's."""

    sides: tuple[str, str]
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    schedule: str | None
    value: dict[str, list[list[float]]]  # party -> [row][column] mean discounted value
    package_in_force: dict[str, list[list[float]]]
    crisis_rate: list[list[float]]
    episodes: int
    seed: int | None
    provenance: dict[str, Any] = field(default_factory=dict)
    #: party -> [row][column] mean value minus the mean value under no deal (same seed)
    value_vs_no_deal: dict[str, list[list[float]]] = field(default_factory=dict)
    #: party -> mean value under no deal, pooled over every pairing's baseline episodes
    no_deal_value: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sides": list(self.sides),
            "rows": list(self.rows),
            "columns": list(self.columns),
            "schedule": self.schedule,
            "value": self.value,
            "package_in_force": self.package_in_force,
            "crisis_rate": self.crisis_rate,
            "value_vs_no_deal": self.value_vs_no_deal,
            "no_deal_value": self.no_deal_value,
            "no_deal": NO_DEAL,
            "episodes": self.episodes,
            "seed": self.seed,
            "provenance": dict(self.provenance),
        }

    def to_frame(self) -> Any:
        """One row per pairing: ``row`` (first side's strategy), ``column`` (second side's), then
        per party P ``value.P``, ``package_in_force.P`` and, when run, ``value_vs_no_deal.P``
        (means over the episodes), and ``crisis_rate``."""
        rows = []
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.columns):
                row: dict[str, Any] = {"row": r, "column": c}
                for party, matrix in self.value.items():
                    row[f"value.{party}"] = matrix[i][j]
                    row[f"package_in_force.{party}"] = self.package_in_force[party][i][j]
                    if party in self.value_vs_no_deal:
                        row[f"value_vs_no_deal.{party}"] = self.value_vs_no_deal[party][i][j]
                row["crisis_rate"] = self.crisis_rate[i][j]
                rows.append(row)
        return pandas().DataFrame(rows)

    def _repr_html_(self) -> str:
        return report_html(self)


def tournament(
    scenario: Scenario,
    pools: Mapping[str, Sequence[str]] | None = None,
    episodes: int = 1000,
    seed: int | None = None,
    *,
    schedule: str | Sequence[Step] | None = None,
    horizon: int = 120,
    params: Mapping[str, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TournamentResult:
    """Play every strategy in the first party's pool against every one in the second's.

    Parties beyond the first two play ``reciprocal``. Pools default to every strategy a party
    may play; each pairing gets its own child of ``SeedSequence(seed)``.
    """
    if len(scenario.parties) < 2:
        raise UsageError("a tournament needs at least two parties")
    a, b = scenario.party_ids[0], scenario.party_ids[1]
    pools = dict(pools or {})
    for pid in pools:
        if pid not in (a, b):
            raise UsageError(f"pools are for the first two parties ({a}, {b}), not {pid!r}")
    rows = list(pools.get(a) or default_pool(scenario, a))
    cols = list(pools.get(b) or default_pool(scenario, b))
    for name in rows + cols:
        make_strategy(name)  # validates names with "did you mean"
    seeds = np.random.SeedSequence(seed).spawn(len(rows) * len(cols))
    P = scenario.party_ids
    value = {pid: [[0.0] * len(cols) for _ in rows] for pid in P}
    pif = {pid: [[0.0] * len(cols) for _ in rows] for pid in P}
    crisis = [[0.0] * len(cols) for _ in rows]
    vs = {pid: [[0.0] * len(cols) for _ in rows] for pid in P}
    nd_sum = np.zeros(len(P))
    total = len(rows) * len(cols)
    for r, sa in enumerate(rows):
        for c, sb in enumerate(cols):
            child = seeds[r * len(cols) + c]
            sub_seed = int(child.generate_state(1, dtype=np.uint64)[0] >> 1)
            res = simulate(
                scenario,
                {a: sa, b: sb},
                episodes,
                sub_seed,
                schedule=schedule,
                horizon=horizon,
                params=params,
            )
            for i, pid in enumerate(P):
                value[pid][r][c] = float(res.value[:, i].mean())
                share = res.package_in_force[:, i]
                pif[pid][r][c] = float(np.nanmean(share)) if np.isfinite(share).any() else float("nan")
            crisis[r][c] = res.crisis_rate
            assert res.no_deal_value is not None
            nd = res.no_deal_value.mean(axis=0)
            nd_sum += nd
            for i, pid in enumerate(P):
                vs[pid][r][c] = value[pid][r][c] - float(nd[i])
            if progress is not None:
                progress(r * len(cols) + c + 1, total)
    return TournamentResult(
        sides=(a, b),
        rows=tuple(rows),
        columns=tuple(cols),
        schedule=schedule if isinstance(schedule, str) or schedule is None else "custom",
        value=value,
        package_in_force=pif,
        crisis_rate=crisis,
        value_vs_no_deal=vs,
        no_deal_value={pid: float(nd_sum[i] / total) for i, pid in enumerate(P)},
        episodes=episodes,
        seed=seed,
        provenance={
            "analysis": "tournament",
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash,
            "version": __version__,
            "horizon": horizon,
            "parameters": dict(params or {}),
        },
    )
