"""Commands for pictures and pages: ``figure``, ``report`` and ``serve``."""

# No ``from __future__ import annotations`` in the command modules: Typer resolves every
# command's annotations at start-up, and string annotations cost ~0.1 s of `detente --help`.

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import SEED_RANGE, ScenarioArg, ScheduleOpt, SetOpt, _console, _guard, _load, app

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario

KINDS = ("timeline", "slack", "leverage", "outcomes", "tournament", "sobol", "tornado", "claims")

SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for the simulations and samples.", **SEED_RANGE)]
EpisodesOpt = Annotated[int, typer.Option("--episodes", "-n", help="Episodes per strategy pairing.", min=1)]
SamplesOpt = Annotated[
    int,
    typer.Option("--samples", help="Base sample size N for claims and Sobol indices (N × (parameters + 2) points)."),
]


def _one_schedule(scn: "Scenario", schedule: str | None) -> str | None:
    from ..core.errors import UsageError

    if schedule is not None:
        scn.get_schedule(schedule)
        return schedule
    names = list(scn.schedule_names)
    if len(names) > 1:
        raise UsageError(f"choose a schedule with --schedule NAME: {', '.join(names)}")
    scn.get_schedule(None)  # "no schedule" says what to do
    return names[0] if names else None


def figure_spec(
    kind: str,
    scn: "Scenario",
    schedule: str | None = None,
    *,
    episodes: int = 200,
    seed: int = 0,
    samples: int = 64,
) -> dict[str, Any]:
    """The Vega-Lite spec of figure ``kind`` for ``scn`` (the analysis is run here)."""
    from ..core.errors import UsageError, did_you_mean
    from ..report import figures as F

    if kind not in KINDS:
        raise UsageError(f"unknown figure {kind!r}{did_you_mean(kind, KINDS)} (figures: {', '.join(KINDS)})")
    if kind in ("timeline", "slack", "leverage", "tornado"):
        name = _one_schedule(scn, schedule)
        if kind == "timeline":
            return F.timeline_spec(
                F.timeline_rows(scn, name=name),
                parties=scn.party_ids,
                period_label=scn.period,
                title=f"Schedule {name!r}" if name else "Schedule",
            )
        if kind == "tornado":
            return F.tornado_spec(F.tornado_data(scn, name))
        from ..analysis.enforcement import check

        data = check(scn, name, leverage=True).to_dict()
        fn = F.slack_spec if kind == "slack" else F.leverage_spec
        return fn(data, period_label=scn.period)
    from ..report.html import (
        ReportOptions,
        check_section,
        claims_data,
        outcome_rows,
        pick_simulation_schedule,
        sensitivity_data,
    )

    if kind in ("outcomes", "tournament", "sobol"):
        if schedule is None and len(scn.schedule_names) > 1:
            checks = [check_section(scn, n, tipping=False) for n in scn.schedule_names]
            schedule = pick_simulation_schedule(scn, checks)
        elif schedule is not None:
            scn.get_schedule(schedule)
    opts = ReportOptions(episodes=episodes, seed=seed, samples=samples)
    if kind == "outcomes":
        return F.outcomes_spec(outcome_rows(scn, schedule, opts), title=f"Outcomes per strategy — {schedule}")
    if kind == "tournament":
        from ..simulation.tournament import tournament

        return F.tournament_spec(tournament(scn, None, episodes, seed, schedule=schedule).to_dict())
    if kind == "sobol":
        sobol, reason = sensitivity_data(scn, schedule, samples, seed)
        if sobol is None:
            raise UsageError(f"no Sobol figure: {reason}")
        return F.sobol_spec(sobol)
    claims, reason = claims_data(scn, samples, seed)
    if claims is None:
        raise UsageError(f"no claims figure: {reason}")
    return F.claims_spec(claims)


@app.command()
@_guard
def figure(
    kind: Annotated[str, typer.Argument(help=f"Which figure: {', '.join(KINDS)}.")],
    source: ScenarioArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file: .svg, .png, .pdf, .html or .json (default KIND.svg)."),
    ] = None,
    schedule: ScheduleOpt = None,
    set_: SetOpt = None,
    episodes: EpisodesOpt = 200,
    seed: SeedOpt = 0,
    samples: SamplesOpt = 8,
    scale: Annotated[float, typer.Option("--scale", help="Pixel density of PNG output.")] = 2.0,
) -> None:
    """Draw one figure for a paper: SVG, PNG or PDF, rendered offline (no browser needed)."""
    from ..report.figures import export

    scn = _load(source, set_)
    spec = figure_spec(kind, scn, schedule, episodes=episodes, seed=seed, samples=samples)
    path = export(spec, out if out is not None else Path(f"{kind}.svg"), scale=scale)
    _console(stderr=True).print(f"wrote {path}")


@app.command()
@_guard
def report(
    source: Annotated[
        str | None,
        typer.Argument(help="A scenario file (YAML) or a built-in case name, e.g. hanoi-2019 (none with --backtest)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the page.")] = Path("report.html"),
    schedule: Annotated[
        list[str] | None,
        typer.Option("--schedule", "-s", help="Check only these named schedules (repeatable; default all)."),
    ] = None,
    simulate_schedule: Annotated[
        str | None,
        typer.Option("--simulate", help="The schedule the strategies play (default: the largest that holds)."),
    ] = None,
    set_: SetOpt = None,
    episodes: EpisodesOpt = 200,
    seed: SeedOpt = 0,
    samples: SamplesOpt = 8,
    horizon: Annotated[int | None, typer.Option("--horizon", "-T", help="Design horizon.")] = None,
    design: Annotated[bool, typer.Option("--design/--no-design", help="Include the designed roadmap.")] = True,
    tournament: Annotated[
        bool, typer.Option("--tournament/--no-tournament", help="Include the strategy tournament.")
    ] = True,
    claims: Annotated[bool, typer.Option("--claims/--no-claims", help="Include claims and Sobol indices.")] = True,
    tipping: Annotated[bool, typer.Option("--tipping/--no-tipping", help="Include tipping points.")] = True,
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Write the backtest page of the case library instead (see --samples).")
    ] = False,
) -> None:
    """Write the whole story of a scenario as one self-contained HTML page (works offline)."""
    from ..report.html import ReportOptions, report_html

    if backtest:
        from .backtest import write_backtest_page

        write_backtest_page([source] if source else None, out, samples=samples, seed=seed)
        return
    if source is None:
        from ..core.errors import UsageError

        raise UsageError("name a scenario file or a built-in case (or use --backtest)")
    scn = _load(source, set_)
    opts = ReportOptions(
        schedules=tuple(schedule) if schedule else None,
        simulate_schedule=simulate_schedule,
        tipping=tipping,
        design=design,
        horizon=horizon,
        tournament=tournament,
        episodes=episodes,
        seed=seed,
        claims=claims,
        sensitivity=claims,
        samples=samples,
    )
    started = time.perf_counter()
    err = _console(stderr=True)
    with err.status("building the report", spinner="dots") as status:

        def progress(frac: float, message: str) -> None:
            status.update(f"building the report: {message} ({frac:.0%})")

        html = report_html(scn, opts, source=source, progress=progress)
    out.write_text(html, encoding="utf-8")
    seconds = time.perf_counter() - started
    err.print(
        f"wrote {out} ({len(html) / 1e6:.1f} MB, {seconds:.1f} s); open it in a browser: {out.resolve().as_uri()}"
    )


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
@_guard
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (1 to 65535).", min=1, max=65535)] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="DETENTE_TOKEN",
            help="Require this token on every request (needed to bind beyond loopback).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--jobs", help="Background jobs run at once (1 to 64).", min=1, max=64)] = 2,
) -> None:
    """The web app: pick or edit a scenario, run check, design, simulate and claims, see figures."""
    from ..core.errors import UsageError

    if not is_loopback(host) and not token:
        raise UsageError(
            f"refusing to bind {host}: beyond loopback the app needs --token (a long random string; "
            "every request must then carry it)"
        )
    if token is not None and len(token) < 8:
        raise UsageError("--token: use at least 8 characters")
    if not 0 < port < 65536:
        raise UsageError(f"--port: expected 1-65535, found {port}")
    import uvicorn

    from ..web.app import create_app

    application = create_app(token=token, job_workers=workers, loopback_only=is_loopback(host))
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if token:
        from urllib.parse import quote

        url += f"?token={quote(token, safe='')}"
    _console(stderr=True).print(f"detente web app on {url}  (Ctrl-C stops it)")
    uvicorn.run(application, host=host, port=port, log_level="warning", timeout_keep_alive=5)
