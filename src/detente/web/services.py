"""The analyses the web app runs: pure functions from a scenario and arguments to JSON-safe data.

They know nothing about HTTP requests; the routes validate arguments, then call them (in a
worker, with a time limit). :func:`job_work` builds the work function of a background job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import UsageError
from ..core.limits import MAX_SEED
from .errors import HTTPProblem, cap
from .jobs import Report

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario
    from .limits import Limits

__all__ = ["JOB_KINDS", "job_work", "run_check", "run_design", "run_simulate", "scenario_summary"]

JOB_KINDS = ("design", "simulate", "tournament", "claims", "report")

#: The modules the analyses use, imported once in the server before any computation forks:
#: a forked child then starts with them loaded instead of importing them on every request.
PRELOAD = (
    "detente.analysis.enforcement",
    "detente.analysis.tipping",
    "detente.design.milp",
    "detente.report.figures",
    "detente.report.html",
    "detente.simulation.simulate",
    "detente.simulation.strategies.library",
    "detente.simulation.tournament",
    "detente.sweeps.claims",
    "detente.sweeps.executors",
    "detente.sweeps.sensitivity",
)


def no_report(fraction: float, message: str) -> None:
    """A progress report that goes nowhere (direct requests show no progress)."""


def preload() -> None:
    """Import :data:`PRELOAD` (a module that cannot be imported is left to the request)."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - an optional dependency is missing
            continue


def schedule_or_none(scn: Scenario, schedule: str | None) -> str | None:
    if schedule:
        scn.get_schedule(schedule)
    return schedule or None


def scenario_summary(scn: Scenario) -> dict[str, Any]:
    """What the page needs to build its forms: parties, schedules, parameters, strategies."""
    from ..simulation.tournament import default_pool

    params = []
    for name, p in scn.parameters.items():
        params.append(
            {
                "name": name,
                "value": p.value,
                "range": list(p.range) if p.range else None,
                "integer": p.integer,
                "unit": p.unit,
                "source": p.source,
            }
        )
    return {
        "valid": True,
        "name": scn.name,
        "hash": scn.content_hash,
        "period": scn.period,
        "parties": list(scn.party_ids),
        "concessions": list(scn.concession_ids),
        "schedules": list(scn.schedule_names),
        "parameters": params,
        "strategies": {pid: default_pool(scn, pid) for pid in scn.party_ids},
        "design": {
            "horizon": scn.design.horizon if scn.design is not None else None,
            "tranches": dict(scn.design.tranches) if scn.design is not None else {},
        },
    }


def run_check(scn: Scenario, schedule: str | None, *, leverage: bool, figures: bool, tipping: bool) -> dict[str, Any]:
    from ..analysis.enforcement import check
    from ..report import figures as F

    names: list[str | None] = [schedule] if schedule else (list(scn.schedule_names) or [None])
    if names == [None]:
        scn.get_schedule(None)  # raises "no schedule; see design"
    payloads = {}
    for name in names:
        report = check(scn, name, leverage=leverage or figures)
        data = report.to_dict()
        if tipping:
            from ..analysis.tipping import tipping_points

            data["tipping_points"] = [t.to_dict() for t in tipping_points(scn, name)]
        if figures:
            data["figures"] = {
                "timeline": F.timeline_spec(
                    F.timeline_rows(scn, name=name),
                    parties=scn.party_ids,
                    period_label=scn.period,
                    title=f"Schedule {name!r}" if name else "Schedule",
                ),
                "slack": F.slack_spec(data, period_label=scn.period),
                "leverage": F.leverage_spec(data, period_label=scn.period),
            }
        if not leverage:
            data.pop("leverage", None)
        payloads[str(name)] = data
    if len(payloads) == 1:
        return next(iter(payloads.values()))
    return {"schedules": payloads}


def parse_tranches(items: list[str]) -> dict[str, int] | None:
    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            count = int(value)
        except ValueError:
            count = -1
        if not sep or not key.strip() or count < 1 or count > 64:
            raise UsageError(f"tranches={item!r}: expected CONCESSION=N with N from 1 to 64, e.g. relief=4")
        out[key.strip()] = count
    return out


def run_design(
    scn: Scenario, horizon: int | None, tranches: list[str], time_limit: float, *, figures: bool
) -> dict[str, Any]:
    from ..core.scenario import Step
    from ..design.milp import design
    from ..report import figures as F
    from ..report.html import _roadmap_lines, json_safe

    result = design(scn, horizon, parse_tranches(tranches), time_limit=time_limit)
    data = result.to_dict()
    data["roadmap"] = _roadmap_lines(result, scn)
    if figures and result.schedule:
        steps = [Step(period=t, concession=k, amount=a) for t, k, a in result.schedule]
        data["figures"] = {
            "timeline": F.timeline_spec(
                F.timeline_rows(scn, steps),
                parties=scn.party_ids,
                period_label=scn.period,
                title="The designed roadmap",
            )
        }
    out: dict[str, Any] = json_safe(data)
    return out


def parse_strategies(scn: Scenario, items: list[str]) -> dict[str, str]:
    """``strategy=PARTY=SPEC`` items; each spec is built once, so a bad name or parameter
    (``grit(k=x)``) is a 422 naming the argument before anything runs."""
    from ..simulation.strategies import library as _library  # noqa: F401  (registers the built-in strategies)
    from ..simulation.strategies.base import make_strategy

    out: dict[str, str] = {}
    for item in items:
        party, sep, name = (s.strip() for s in item.partition("="))
        if not sep or not party or not name:
            raise UsageError(f"strategy={item!r}: expected PARTY=STRATEGY, e.g. strategy=US=reciprocal")
        try:
            make_strategy(name)
        except UsageError as exc:
            raise UsageError(f"strategy={item!r}: {exc}") from None
        out[party] = name
    return out


def run_simulate(
    scn: Scenario,
    strategies: dict[str, str],
    episodes: int,
    seed: int | None,
    schedule: str | None,
    horizon: int,
    report: Report,
    *,
    figures: bool,
) -> dict[str, Any]:
    from ..report import figures as F
    from ..report.html import json_safe
    from ..simulation.simulate import simulate

    if schedule is None and len(scn.schedule_names) > 1:
        raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")
    result = simulate(
        scn,
        strategies,
        episodes,
        seed,
        schedule=schedule,
        horizon=horizon,
        progress=lambda done, total: report(done / total, f"{done:,} of {total:,} episodes"),
    )
    data = result.summary()
    if figures:
        label = ", ".join(f"{p}={s}" for p, s in result.strategies.items())
        rows = [F.quantile_row(label, pid, result.value[:, i]) for i, pid in enumerate(result.parties)]
        data["figures"] = {"outcomes": F.outcomes_spec(rows, title="Discounted value per party")}
    out: dict[str, Any] = json_safe(data)
    return out


def design_args(lim: Limits, horizon: int | None, time_limit: float | None, most: float) -> tuple[int | None, float]:
    """The design horizon and solver time limit, checked against ``lim`` (at most ``most`` seconds)."""
    if horizon is not None:
        cap("horizon", horizon, 0, lim.max_design_horizon)
    limit = most if time_limit is None else time_limit
    if not (math.isfinite(limit) and 0 < limit <= most):
        raise HTTPProblem(422, f"time_limit must be more than 0 and at most {most:g} seconds, found {limit}")
    return horizon, limit


def check_seed(seed: int | None) -> None:
    """A 422 unless ``seed`` is None or in 0 .. 2**63 - 1."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise HTTPProblem(422, f"seed must be between 0 and 2**63 - 1, found {seed}")


def job_work(
    lim: Limits,
    kind: str,
    scn: Scenario,
    schedule: str | None,
    strategy: list[str],
    episodes: int | None,
    seed: int | None,
    horizon: int | None,
    tranches: list[str],
    samples: int | None,
) -> tuple[Callable[[Report], Any], str]:
    """The work function of a ``kind`` job and its description (arguments checked here)."""
    if kind == "design":
        hz, limit = design_args(lim, horizon, None, min(lim.job_timeout, 120.0))
        parse_tranches(tranches)

        def design_job(report: Report) -> Any:
            report(0.05, "solving")
            return run_design(scn, hz, tranches, limit, figures=True)

        return design_job, f"design {scn.name}"
    if kind == "simulate":
        n = cap("episodes", 10_000 if episodes is None else episodes, 1, lim.max_episodes)
        hz_sim = cap("horizon", 120 if horizon is None else horizon, 1, lim.max_sim_horizon)
        strategies = parse_strategies(scn, strategy)
        if schedule is None and len(scn.schedule_names) > 1:
            raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")

        def simulate_job(report: Report) -> Any:
            return run_simulate(scn, strategies, n, seed, schedule, hz_sim, report, figures=True)

        return simulate_job, f"simulate {n:,} episodes"
    if kind == "tournament":
        n = cap("episodes", 200 if episodes is None else episodes, 1, lim.max_tournament_episodes)
        if schedule is None and len(scn.schedule_names) > 1:
            raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")

        def tournament_job(report: Report) -> Any:
            from ..report import figures as F
            from ..report.html import json_safe
            from ..simulation.tournament import tournament

            res = tournament(
                scn, None, n, seed, schedule=schedule, progress=lambda d, t: report(d / t, f"{d} of {t} pairings")
            ).to_dict()
            res["figures"] = {"tournament": F.tournament_spec(res)}
            return json_safe(res)

        return tournament_job, f"tournament, {n:,} episodes per pairing"
    if kind == "claims":
        m = cap("samples", 8 if samples is None else samples, 1, lim.max_samples)

        def claims_job(report: Report) -> Any:
            from ..report import figures as F
            from ..report.html import claims_data, sensitivity_data

            report(0.0, "evaluating the claims")
            claims, reason = claims_data(
                scn, m, seed or 0, lambda d, t: report(0.7 * d / max(1, t), f"claims: {d:,} of {t:,} points")
            )
            target = schedule
            if target is None:
                from ..report.html import check_section, pick_simulation_schedule

                target = pick_simulation_schedule(
                    scn, [check_section(scn, n, tipping=False) for n in scn.schedule_names]
                )
            report(0.7, "global sensitivity")
            sobol, why = sensitivity_data(
                scn,
                target,
                m,
                seed or 0,
                lambda d, t: report(0.7 + 0.3 * d / max(1, t), f"Sobol: {d:,} of {t:,} points"),
            )
            out: dict[str, Any] = {
                "claims": claims,
                "claims_reason": reason or None,
                "sobol": sobol,
                "sobol_reason": why or None,
                "figures": {},
            }
            if claims:
                out["figures"]["claims"] = F.claims_spec(claims)
            if sobol:
                out["figures"]["sobol"] = F.sobol_spec(sobol)
            return out

        return claims_job, f"claims over {m} samples"
    # report
    n = cap("episodes", 200 if episodes is None else episodes, 1, lim.max_tournament_episodes)
    m = cap("samples", 8 if samples is None else samples, 1, lim.max_samples)

    def report_job(report: Report) -> Any:
        from ..report.html import ReportOptions, report_html

        opts = ReportOptions(
            episodes=n,
            seed=seed or 0,
            samples=m,
            simulate_schedule=schedule,
            design_time_limit=min(60.0, lim.job_timeout / 3),
        )
        html = report_html(scn, opts, source=scn.name, progress=report)
        return {"html": html}

    return report_job, f"report on {scn.name}"
