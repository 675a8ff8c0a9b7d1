"""The HTML report: a scenario's whole story on one self-contained page that works offline.

:func:`build_report` runs the analyses (the check of every named schedule with its tipping
points and tornado, the designer, a strategy tournament and outcome distributions, the claims
and global sensitivity when :mod:`detente.sweeps` is installed) and gathers their results as
plain data; :func:`render_report` turns that data into HTML with a Jinja2 template. Every
script and style is inline (Vega, Vega-Lite and vega-embed come from ``vl-convert``), so the
page fetches nothing: it can be mailed, archived and opened without a network.

Each section records its own time and inputs in the provenance table; a section whose
engine fails or is missing says so on the page ("not available: ...") instead of failing
the whole report.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .. import __version__
from . import figures as F
from .pages import asset, env, fmt, json_default, json_safe, linkify, standalone_figure_html

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario

__all__ = [
    "Progress",
    "ReportCancelled",
    "ReportOptions",
    "build_report",
    "claims_data",
    "json_dumps",
    "json_safe",
    "linkify",
    "pick_simulation_schedule",
    "render_report",
    "report_html",
    "scenario_data",
    "sensitivity_data",
    "standalone_figure_html",
]


#: ``progress(fraction_done, message)``; it may raise to stop the build (the web app's cancel).
Progress = Callable[[float, str], None]


class ReportCancelled(Exception):
    """Raised by a progress callback to stop building a report."""


@dataclass(frozen=True)
class ReportOptions:
    """What the report runs. The defaults build the Hanoi report in a few seconds."""

    schedules: tuple[str, ...] | None = None  #: named schedules to check (default: all)
    simulate_schedule: str | None = None  #: the schedule the strategies play (default: see docs)
    tipping: bool = True
    design: bool = True
    horizon: int | None = None
    design_time_limit: float = 60.0
    tournament: bool = True
    episodes: int = 200  #: per tournament pairing and per outcome profile
    seed: int = 0
    claims: bool = True
    samples: int = 8  #: Saltelli base size N for Sobol indices (N * (d + 2) points)
    claim_samples: int = 256  #: one Sobol' sample of this many points for the claims (drivers, failure boxes)
    sensitivity: bool = True


# --------------------------------------------------------------------------- helpers


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 3)


def _unavailable(exc: BaseException) -> str:
    from ..core.errors import DetenteError

    if isinstance(exc, DetenteError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- scenario


def _num_text(value: Any) -> str:
    from ..core.expr import Expr

    if isinstance(value, Expr):
        return value.source
    return fmt(value)


def _number(scn: Scenario, value: Any, env: Mapping[str, float]) -> dict[str, Any]:
    """A number as written, its value, and the parameters (hence sources) behind it."""
    from ..core.expr import Expr

    if isinstance(value, Expr):
        resolved = float(value.evaluate(env))
        return {
            "text": value.source,
            "value": fmt(resolved),
            "parameters": sorted(value.names),
            "literal": False,
        }
    return {"text": fmt(value), "value": fmt(value), "parameters": [], "literal": True}


def scenario_data(scn: Scenario) -> dict[str, Any]:
    """Parties, concessions and parameters as plain data, every number with its source."""
    from ..core.compiled import compile_scenario

    env = scn.parameter_values()
    comp = compile_scenario(scn)
    used_by: dict[str, list[str]] = {name: [] for name in scn.parameters}

    def note(nums: list[dict[str, Any]], where: str) -> None:
        for n in nums:
            for p in n["parameters"]:
                used_by.setdefault(p, []).append(where)

    parties = []
    for party in scn.parties:
        d = _number(scn, party.discount, env)
        note([d], f"{party.id}.discount")
        parties.append({"id": party.id, "name": party.name or "", "discount": d, "source": party.source or ""})
    concessions = []
    for k, c in enumerate(scn.concessions):
        flows = []
        for pid, v in c.flow.items():
            n = _number(scn, v, env)
            n["party"] = pid
            flows.append(n)
        once = []
        for pid, v in c.once.items():
            n = _number(scn, v, env)
            n["party"] = pid
            once.append(n)
        note(flows + once, c.id)
        rev: dict[str, Any] | None = None
        if c.reversible is not None:
            delay = _number(scn, c.reversible.delay, env)
            cost = _number(scn, c.reversible.cost, env)
            note([delay, cost], c.id)
            rev = {"delay": delay, "cost": cost, "fragile": bool(comp.fragile[k])}
        lag = _number(scn, c.lag, env)
        note([lag], c.id)
        source_key = c.source or ""
        concessions.append(
            {
                "id": c.id,
                "name": c.name or "",
                "by": c.by,
                "description": c.description or "",
                "flows": flows,
                "once": once,
                "reversible": rev,
                "lag": lag,
                "divisible": c.divisible,
                "requires": list(c.requires),
                "source_key": source_key if source_key in scn.sources else "",
                "source_text": scn.sources.get(source_key, source_key),
            }
        )
    parameters = []
    for name, p in scn.parameters.items():
        parameters.append(
            {
                "name": name,
                "value": fmt(p.value),
                "range": f"[{fmt(p.range[0])}, {fmt(p.range[1])}]" if p.range else "–",
                "unit": p.unit or "",
                "source": p.source or "",
                "judgement": (p.source or "").lower().startswith("judgement"),
                "used_by": sorted(set(used_by.get(name, []))),
            }
        )
    return {
        "name": scn.name,
        "description": (scn.description or "").strip(),
        "period": scn.period,
        "hash": scn.content_hash,
        "parties": parties,
        "concessions": concessions,
        "parameters": parameters,
        "sources": dict(scn.sources),
    }


# --------------------------------------------------------------------------- sections


def check_section(scn: Scenario, name: str, *, tipping: bool = True) -> dict[str, Any]:
    """The verdict on one named schedule: summary, violations, tipping points and figures."""
    from ..analysis.enforcement import check

    report = check(scn, name, leverage=True)
    data = report.to_dict()
    tight = min(report.constraints, key=lambda c: c.slack, default=None)
    section: dict[str, Any] = {
        "name": name,
        "self_enforcing": report.self_enforcing,
        "summary": report.summary(),
        "min_slack": fmt(report.min_slack),
        "participation": {k: fmt(v) for k, v in report.participation.items()},
        "violations": [
            {"party": c.party, "period": c.period, "slack": fmt(c.slack), "explanation": c.explanation}
            for c in report.violations
        ],
        "tightest": None
        if tight is None
        else {"party": tight.party, "period": tight.period, "slack": fmt(tight.slack)},
        "steps": len(report.schedule),
        "result": json_safe(data),
        "figures": {
            "timeline": F.timeline_spec(
                F.timeline_rows(scn, name=name),
                parties=scn.party_ids,
                period_label=scn.period,
                title=f"Schedule {name!r}: who does what, when",
            ),
            "slack": F.slack_spec(data, period_label=scn.period),
            "leverage": F.leverage_spec(data, period_label=scn.period),
        },
        "tipping": [],
    }
    if tipping:
        from ..analysis.tipping import tipping_points

        section["tipping"] = [t.sentence() for t in tipping_points(scn, name)]
    section["figures"]["tornado"] = F.tornado_spec(F.tornado_data(scn, name))
    return section


def _roadmap_lines(result: Any, scn: Scenario) -> list[str]:
    try:
        from ..design.render import roadmap_lines  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the renderer lands with the design issue
        lines = [result.message]
        for t, k, a in result.schedule:
            amount = "" if abs(a - 1.0) < 1e-9 else f" ({a:.0%})"
            lines.append(f"{scn.period} {t}: {scn.concession(k).label}{amount} by {scn.concession(k).by}")
        return lines
    return list(roadmap_lines(result, scn))


_PHASE = re.compile(r"^Phase (\d+), (.*)$")


def roadmap_parts(lines: Sequence[str]) -> dict[str, Any]:
    """The roadmap's lines as what they are: the headline, the phases (numbered by their own
    numbers) and the notes after them (a line ending in ':' heads the indented lines below it)."""
    head = lines[0] if lines else ""
    phases: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for line in lines[1:]:
        m = _PHASE.match(line)
        if m and not notes:
            phases.append({"number": int(m.group(1)), "text": m.group(2)})
        elif line.startswith((" ", "\t")) and notes:
            notes[-1]["items"].append(line.strip())
        else:
            notes.append({"text": line.strip(), "items": []})
    return {"headline": head, "phases": phases, "notes": notes}


def design_section(scn: Scenario, options: ReportOptions) -> dict[str, Any]:
    """The designed roadmap: the fastest self-enforcing schedule, or why there is none."""
    from ..analysis.enforcement import check
    from ..core.quiet import c_output_silenced
    from ..core.scenario import Step
    from ..design.milp import design

    horizon = options.horizon
    if horizon is None and (scn.design is None or scn.design.horizon is None):
        horizon = 24
    with c_output_silenced():  # HiGHS prints debug lines from C
        result = design(scn, horizon, None, time_limit=options.design_time_limit)
    data = result.to_dict()
    section: dict[str, Any] = {
        "available": True,
        "feasible": result.feasible,
        "status": result.status,
        "completion_period": result.completion_period,
        "message": result.message,
        "roadmap": _roadmap_lines(result, scn),
        **roadmap_parts(_roadmap_lines(result, scn)),
        "result": json_safe(data),
        "figures": {},
    }
    if result.schedule:
        steps = [Step(period=t, concession=k, amount=a) for t, k, a in result.schedule]
        rep = check(scn, steps, leverage=True).to_dict()
        rep["schedule_name"] = "designed"
        section["summary"] = rep["summary"].replace("The schedule", "The designed schedule")
        section["figures"] = {
            "timeline": F.timeline_spec(
                F.timeline_rows(scn, steps),
                parties=scn.party_ids,
                period_label=scn.period,
                title="The designed roadmap",
            ),
            "slack": F.slack_spec(rep, period_label=scn.period),
        }
    return section


#: Frontier points the report's zone figure asks for (the command line's default is 12).
REPORT_ZONE_POINTS = 8


def zone_section(scn: Scenario) -> dict[str, Any]:
    """The agreement zone under the scenario's demands (docs/zone.md): verdict, conflict,
    and the frontier figure (of the zone itself, or, when it is empty, of the zone once the
    fewest demands are dropped)."""
    from ..design.zone import zone
    from .zone_figure import frontier_spec, positions

    if not scn.demands:
        return {"available": False, "reason": "the scenario states no demands (see docs/zone.md)"}
    z = zone(scn, points=REPORT_ZONE_POINTS)
    section: dict[str, Any] = {
        "available": True,
        "empty": z.empty,
        "message": z.message,
        "conflict": [c.text for c in z.conflict],
        "drop": list(z.drop),
        "result": z.to_dict(),
        "figures": {},
    }
    shown = z
    if z.empty and z.drop:
        shown = zone(scn, [d.id for d in scn.demands if d.id not in z.drop], points=REPORT_ZONE_POINTS)
        section["opened"] = shown.message
    if not shown.empty:
        title = "Agreement zone" if shown is z else f"Agreement zone without {', '.join(z.drop)}"
        section["figures"]["frontier"] = frontier_spec(shown.to_dict(), positions(scn), title=title)
    return section


def pick_simulation_schedule(scn: Scenario, checks: Sequence[Mapping[str, Any]]) -> str | None:
    """The schedule strategies play: the self-enforcing named schedule with the most steps
    (the largest deal that holds), else the first named schedule."""
    holding = [c for c in checks if c.get("self_enforcing")]
    if holding:
        return str(max(holding, key=lambda c: c.get("steps", 0))["name"])
    names = list(scn.schedule_names)
    return names[0] if names else None


def tournament_section(
    scn: Scenario, schedule: str | None, options: ReportOptions, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Every strategy of one side against every strategy of the other, as heat maps."""
    from ..simulation.tournament import tournament

    res = tournament(scn, None, options.episodes, options.seed, schedule=schedule, progress=progress).to_dict()
    return {
        "available": True,
        "schedule": schedule,
        "episodes": options.episodes,
        "result": json_safe(res),
        "figure": F.tournament_spec(res),
        "best": _best_replies(res),
    }


def _best_replies(res: Mapping[str, Any]) -> list[str]:
    """Plain sentences: each side's best reply to the other's reciprocal strategy, with its value
    against no deal when the tournament states it, and what no deal is."""
    sides = res.get("sides") or []
    rows, cols = list(res["rows"]), list(res["columns"])
    vs = res.get("value_vs_no_deal") or {}
    out = []

    def told(pid: str, r: int, c: int) -> str:
        value = fmt(res["value"][pid][r][c])
        if pid in vs:
            return f"{value}; {fmt(vs[pid][r][c])} against no deal"
        return value

    if len(sides) == 2 and "reciprocal" in cols:
        c = cols.index("reciprocal")
        vals = [res["value"][sides[0]][r][c] for r in range(len(rows))]
        best = max(range(len(rows)), key=lambda r: vals[r] if vals[r] is not None else float("-inf"))
        out.append(
            f"Against a reciprocal {sides[1]}, {sides[0]} does best with {rows[best]} ({told(sides[0], best, c)})."
        )
    if len(sides) == 2 and "reciprocal" in rows:
        r = rows.index("reciprocal")
        vals = [res["value"][sides[1]][r][c] for c in range(len(cols))]
        best = max(range(len(cols)), key=lambda c: vals[c] if vals[c] is not None else float("-inf"))
        out.append(
            f"Against a reciprocal {sides[0]}, {sides[1]} does best with {cols[best]} ({told(sides[1], r, best)})."
        )
    if vs and res.get("no_deal"):
        worth = ", ".join(f"{pid} {fmt(v)}" for pid, v in (res.get("no_deal_value") or {}).items())
        out.append(f"Values against no deal subtract the value of {res['no_deal']} (no deal is worth {worth}).")
    return out


def outcome_rows(
    scn: Scenario, schedule: str | None, options: ReportOptions, progress: Callable[[int, int], None] | None = None
) -> list[dict[str, Any]]:
    """Outcome distributions: each strategy of one side against a reciprocal other side."""
    from ..simulation.simulate import simulate
    from ..simulation.tournament import default_pool

    a, b = scn.party_ids[0], scn.party_ids[1]
    profiles: list[dict[str, str]] = [{a: s, b: "reciprocal"} for s in default_pool(scn, a)]
    profiles += [{a: "reciprocal", b: s} for s in default_pool(scn, b) if s != "reciprocal"]
    rows = []
    for i, profile in enumerate(profiles):
        res = simulate(scn, profile, options.episodes, options.seed + i, schedule=schedule)
        label = ", ".join(f"{p}={s}" for p, s in profile.items())
        for j, pid in enumerate(res.parties):
            rows.append(F.quantile_row(label, pid, res.value[:, j]))
        if progress is not None:
            progress(i + 1, len(profiles))
    return rows


def _to_plain(obj: Any) -> Any:
    for attr in ("to_dict", "model_dump"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            return fn()
    if isinstance(obj, list | tuple):
        return [_to_plain(o) for o in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj


def claims_data(
    scn: Scenario,
    samples: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    max_scans: int = 3,
) -> tuple[list[dict[str, Any]] | None, str]:
    """The claims of ``scn`` (its ``claims:`` section) evaluated by :mod:`detente.sweeps`, or why not.

    Returns ``(claims, "")`` or ``(None, reason)``; each claim is the JSON of ``detente claims``
    (``id``, ``statement``, ``holds_share``, ``holds_ci``, ``drivers``, ``failure_box``,
    ``tipping_points``, ...) over one sample of ``samples`` points (at least 50, what the drivers
    and failure boxes need: a smaller number is raised to it); ``max_scans`` tipping scans per
    claim (0: none). Nothing is written to the run store.
    """
    try:
        from ..sweeps.claims import MIN_TREE_SAMPLES, claims_from_scenario, evaluate_claims
    except ImportError as exc:
        return None, f"claims need detente.sweeps and its dependencies ({exc})"
    try:
        specs = claims_from_scenario(scn)
        if not specs:
            return None, "this scenario states no claims (see the claims: section in docs/uncertainty.md)"
        from ..sweeps.executors import LocalExecutor

        samples = max(samples, MIN_TREE_SAMPLES)
        with LocalExecutor() as pool:  # every core: the sample points are independent
            results, _ = evaluate_claims(
                scn, specs, samples=samples, seed=seed, executor=pool, progress=progress, max_scans=max_scans
            )
    except (ReportCancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        if type(exc).__name__ in ("JobCancelled", "JobTimedOut"):
            raise
        return None, _unavailable(exc)
    claims = [dict(_to_plain(c)) for c in results]
    return json_safe(claims), ""


def _sobol_from(raw: Any) -> dict[str, Any] | None:
    """Sobol indices in the shape of :func:`figures.sobol_spec` (from ``SensitivityResult``)."""
    raw = _to_plain(raw)
    if not isinstance(raw, Mapping):
        return None
    rows = raw.get("indices")
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) and "total_order" in rows[0]:
        return {"output": raw.get("output", "output"), "parameters": [dict(r) for r in rows]}
    return None


def sensitivity_data(
    scn: Scenario,
    schedule: str | None,
    samples: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any] | None, str]:
    """Sobol indices of the check's margin on ``schedule`` from :mod:`detente.sweeps`, or why not.

    The output is ``check[SCHEDULE].margin`` (smallest slack or participation; the verdict
    holds when it is at least 0). Nothing is written to the run store.
    """
    if schedule is None:
        return None, "no schedule to analyse"
    if not any(p.range is not None and p.range[1] > p.range[0] for p in scn.parameters.values()):
        return None, "no parameter has a range to vary"
    try:
        from ..sweeps.sensitivity import sensitivity
    except ImportError as exc:
        return None, f"Sobol indices need detente.sweeps and its dependencies ({exc})"
    try:
        raw = sensitivity(
            scn, f"check[{schedule}].margin", samples=samples, seed=seed, tornado=False, progress=progress
        )
    except (ReportCancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        if type(exc).__name__ in ("JobCancelled", "JobTimedOut"):
            raise
        return None, _unavailable(exc)
    data = _sobol_from(raw)
    if data is None:
        return None, "the sensitivity result has no Sobol indices"
    return json_safe(data), ""


# --------------------------------------------------------------------------- the report


def _versions() -> dict[str, str]:
    import numpy as np
    import scipy

    out = {"detente": __version__, "python": platform.python_version(), "numpy": np.__version__}
    out["scipy"] = scipy.__version__
    try:
        import vl_convert as vlc

        out["vega"] = vlc.get_vega_version()
        out["vega-lite"] = F.VEGA_LITE_VERSION
    except ImportError:  # pragma: no cover
        pass
    return out


def build_report(
    scn: Scenario,
    options: ReportOptions | None = None,
    *,
    source: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the analyses and gather the report's data (plain, JSON-ready apart from specs).

    ``progress(fraction, message)`` is called between and inside sections; if it raises
    (:class:`ReportCancelled`, say) the build stops with that exception.
    """
    opts = options or ReportOptions()
    timings: dict[str, float] = {}
    started = _dt.datetime.now(_dt.UTC)

    def tell(frac: float, message: str) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, frac)), message)

    def sub(lo: float, hi: float, message: str) -> Callable[[int, int], None]:
        def cb(done: int, total: int) -> None:
            tell(lo + (hi - lo) * done / max(1, total), message)

        return cb

    tell(0.0, "reading the scenario")
    with _timed(timings, "scenario"):
        scenario = scenario_data(scn)

    names = list(opts.schedules) if opts.schedules is not None else list(scn.schedule_names)
    for name in names:
        scn.get_schedule(name)  # an unknown name fails now, with "did you mean"
    checks = []
    with _timed(timings, "check"):
        for i, name in enumerate(names):
            tell(0.05 + 0.25 * i / max(1, len(names)), f"checking {name}")
            checks.append(check_section(scn, name, tipping=opts.tipping))

    design: dict[str, Any] = {"available": False, "reason": "not requested"}
    if opts.design:
        tell(0.3, "designing the fastest self-enforcing schedule")
        with _timed(timings, "design"):
            try:
                design = design_section(scn, opts)
            except Exception as exc:
                design = {"available": False, "reason": _unavailable(exc)}

    zone_data: dict[str, Any] = {"available": False, "reason": "not requested"}
    if opts.design:
        tell(0.4, "the agreement zone")
        with _timed(timings, "zone"):
            try:
                zone_data = zone_section(scn)
            except Exception as exc:
                zone_data = {"available": False, "reason": _unavailable(exc)}

    sim_schedule = opts.simulate_schedule or pick_simulation_schedule(scn, checks)
    tourney: dict[str, Any] = {"available": False, "reason": "not requested"}
    outcomes: dict[str, Any] = {"available": False, "reason": "not requested"}
    if opts.tournament:
        if len(scn.parties) < 2:
            tourney = outcomes = {"available": False, "reason": "a tournament needs two parties"}
        elif sim_schedule is None and not scn.schedule_names:
            tourney = outcomes = {"available": False, "reason": "no schedule to play"}
        else:
            tell(0.45, "playing the strategy tournament")
            with _timed(timings, "tournament"):
                try:
                    tourney = tournament_section(scn, sim_schedule, opts, sub(0.45, 0.65, "tournament"))
                except (ReportCancelled, KeyboardInterrupt):
                    raise
                except Exception as exc:
                    tourney = {"available": False, "reason": _unavailable(exc)}
            tell(0.65, "simulating outcome distributions")
            with _timed(timings, "outcomes"):
                try:
                    rows = outcome_rows(scn, sim_schedule, opts, sub(0.65, 0.75, "outcomes"))
                    outcomes = {
                        "available": True,
                        "schedule": sim_schedule,
                        "rows": rows,
                        "figure": F.outcomes_spec(
                            rows, title=f"Outcomes per strategy — {sim_schedule or 'the schedule'}"
                        ),
                    }
                except (ReportCancelled, KeyboardInterrupt):
                    raise
                except Exception as exc:
                    outcomes = {"available": False, "reason": _unavailable(exc)}

    claims: dict[str, Any] = {"available": False, "reason": "not requested"}
    if opts.claims:
        tell(0.75, "evaluating the claims")
        with _timed(timings, "claims"):
            rows_c, reason = claims_data(scn, opts.claim_samples, opts.seed, sub(0.75, 0.88, "claims"), max_scans=0)
        claims = (
            {"available": True, "rows": rows_c, "figure": F.claims_spec(rows_c)}
            if rows_c
            else {"available": False, "reason": reason}
        )
    sobol: dict[str, Any] = {"available": False, "reason": "not requested"}
    if opts.sensitivity:
        tell(0.88, "global sensitivity")
        with _timed(timings, "sensitivity"):
            data, reason = sensitivity_data(scn, sim_schedule, opts.samples, opts.seed, sub(0.88, 0.97, "sensitivity"))
        sobol = (
            {"available": True, "figure": F.sobol_spec(data), "result": data}
            if data
            else {"available": False, "reason": reason}
        )
    tell(0.97, "writing the page")
    options_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items()}
    return {
        "title": f"detente report: {scn.name}",
        "scenario": scenario,
        "checks": checks,
        "design": design,
        "zone": zone_data,
        "simulation_schedule": sim_schedule,
        "tournament": tourney,
        "outcomes": outcomes,
        "claims": claims,
        "sobol": sobol,
        "provenance": {
            "generated": started.isoformat(timespec="seconds"),
            "source": source or scn.name,
            "scenario_hash": scn.content_hash,
            "seed": opts.seed,
            "options": options_dict,
            "versions": _versions(),
            "platform": platform.platform(terse=True),
            "timings": timings,
        },
    }


def _collect_specs(data: Mapping[str, Any]) -> dict[str, Any]:
    """Give every figure an id; the template places ``<div data-spec=ID>`` where it belongs."""
    specs: dict[str, Any] = {}

    def add(spec: Any, prefix: str) -> str:
        key = f"{prefix}-{len(specs)}"
        specs[key] = spec
        return key

    for c in data["checks"]:
        c["figure_ids"] = {k: add(v, f"check-{k}") for k, v in c["figures"].items()}
    for name in ("design", "zone"):
        if name not in data:
            continue
        sec = data[name]
        sec["figure_ids"] = {k: add(v, f"{name}-{k}") for k, v in (sec.get("figures") or {}).items()}
    for name in ("tournament", "outcomes", "claims", "sobol"):
        sec = data[name]
        if sec.get("figure") is not None:
            sec["figure_id"] = add(sec["figure"], name)
    return specs


def render_report(data: dict[str, Any], *, bundle: str | None = None) -> str:
    """The report's HTML: one page, every script and style inline."""
    specs = _collect_specs(data)
    machine = {
        "checks": {c["name"]: c["result"] for c in data["checks"]},
        "design": data["design"].get("result"),
        "tournament": data["tournament"].get("result"),
        "claims": data["claims"].get("rows"),
        "sobol": data["sobol"].get("result"),
        "provenance": data["provenance"],
    }
    template = env().get_template("report.html.j2")
    return template.render(
        r=data,
        specs=specs,
        machine=machine,
        bundle=Markup(bundle if bundle is not None else F.javascript_bundle().replace("</script", "<\\/script")),
        style=Markup(asset("report.css")),
        init=Markup(asset("report.js")),
    )


def report_html(
    scn: Scenario,
    options: ReportOptions | None = None,
    *,
    source: str | None = None,
    progress: Progress | None = None,
) -> str:
    """:func:`build_report` then :func:`render_report`."""
    return render_report(build_report(scn, options, source=source, progress=progress))


def json_dumps(data: Any) -> str:
    """Strict JSON of report data (NaN and infinities as null)."""
    return json.dumps(json_safe(data), allow_nan=False, default=json_default)
