"""The core commands: cases, validate, show, schema, check, design, simulate, tournament, match."""

# No ``from __future__ import annotations`` in the command modules: Typer resolves every
# command's annotations at start-up, and string annotations cost ~0.1 s of `detente --help`.

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.limits import (
    MAX_EPISODE_PERIODS,
    MAX_EPISODES,
    MAX_REPETITIONS,
    MAX_SIM_HORIZON,
    MAX_TURN_REPETITIONS,
    MAX_TURNS,
)
from .app import (
    SEED_RANGE,
    JsonOpt,
    ScenarioArg,
    ScheduleOpt,
    SetOpt,
    WideOpt,
    _console,
    _guard,
    _load,
    _print_json,
    _Progress,
    app,
)

# --------------------------------------------------------------------------- commands


@app.command()
@_guard
def cases(json_out: JsonOpt = False, wide: WideOpt = False) -> None:
    """List the built-in case library, with each case's dates and recorded outcome."""
    from ..io.yaml import builtin_cases, load

    names = builtin_cases()
    rows = []
    for name, title in names.items():
        out = load(name).outcome
        dates = outcome = ""
        if out is not None:
            dates = f"{out.signed or out.start:%Y-%m}" + (f" to {out.ended:%Y-%m}" if out.ended else "")
            outcome = out.summary or ("completed" if out.completed else "not completed")
        rows.append({"name": name, "title": title, "dates": dates, "outcome": outcome})
    if json_out:
        _print_json({"cases": rows})
        return
    from ..report.tables import FitTable

    table = FitTable(title="Built-in cases", wide=wide, markup=False)
    table.add_column("name", style="bold cyan", key=True)
    table.add_column("title")
    table.add_column("dates")
    table.add_column("outcome")
    for row in rows:
        table.add_row(row["name"], row["title"], row["dates"], row["outcome"])
    console = _console(wide=wide)
    console.print(table)
    console.print("Use a name wherever a FILE is expected, e.g. [bold]detente show hanoi-2019[/].")


@app.command()
@_guard
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files or built-in case names.")],
    json_out: JsonOpt = False,
) -> None:
    """Check scenario files and report every problem, with file, line and field."""
    from rich.markup import escape

    from ..core.errors import DetenteError, Problem, ScenarioError
    from ..io.yaml import load
    from ..report.tables import plural

    results: list[dict[str, Any]] = []
    failed = False
    for f in files:
        try:
            scn = load(f)
        except ScenarioError as exc:
            failed = True
            results.append({"file": f, "valid": False, "problems": [p.to_dict() for p in exc.problems]})
            if not json_out:
                _console(stderr=True).print(f"[bold red]invalid:[/] {escape(exc.render())}")
        except DetenteError as exc:
            failed = True
            results.append({"file": f, "valid": False, "problems": [Problem(str(exc), (), f).to_dict()]})
            if not json_out:
                _console(stderr=True).print(f"[bold red]invalid:[/] {escape(str(exc))}")
        else:
            results.append({"file": f, "valid": True, "name": scn.name, "hash": scn.content_hash})
            if not json_out:
                n_steps = sum(len(s) for _, s in scn.iter_schedules())
                _console().print(
                    f"[green]valid:[/] {escape(f)}: {escape(scn.name)} "
                    f"({plural(len(scn.parties), 'party', 'parties')}, "
                    f"{plural(len(scn.concessions), 'concession')}, {plural(len(scn.schedule_names), 'schedule')}, "
                    f"{plural(n_steps, 'step')}, {plural(len(scn.parameters), 'parameter')})"
                )
    if json_out:
        _print_json({"files": results})
    if failed:
        raise typer.Exit(2)


@app.command()
@_guard
def show(source: ScenarioArg, set_: SetOpt = None, wide: WideOpt = False) -> None:
    """Show a scenario: parties, concessions and each schedule as a timeline."""
    from ..report.terminal import render_scenario

    scn = _load(source, set_)
    render_scenario(scn, _console(wide=wide), wide=wide)


@app.command()
@_guard
def schema(out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")] = None) -> None:
    """Print the JSON Schema of scenario files (for editors and validators)."""
    from ..io.schema import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        _console(stderr=True).print(f"wrote {out}")
    else:
        sys.stdout.write(text + "\n")


def _print_verification(report: Any, console: Any, *, wide: bool = False) -> None:
    """The --verification table and sentence of ``check``."""
    from rich.markup import escape

    from ..report.tables import FitTable

    p = report.period_label
    table = FitTable(title="Verification needed (each concession alone, the others held)", wide=wide, markup=False)
    table.add_column("concession")
    for head in ("detect", "needs detect ≥", f"lag ({p}s)", "holds with lag ≤"):
        table.add_column(head, justify="right")
    for n in report.needs:
        q = "none holds" if n.detect_needed is None else f"{n.detect_needed:.3g}"
        lag = "none holds" if n.lag_allowed is None else f"{n.lag_allowed}" + ("+" if n.lag_capped else "")
        table.add_row(n.label, f"{n.detect:g}", q, str(n.lag), lag)
    console.print(table)
    for sentence in report.sentences():
        console.print(escape(sentence))


@app.command()
@_guard
def check(
    source: ScenarioArg,
    schedule: ScheduleOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    leverage: Annotated[bool, typer.Option("--leverage", help="Show exposure and leverage per period.")] = False,
    tipping: Annotated[
        bool, typer.Option("--tipping", help="Find where, within each parameter's range, the verdict flips.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 1 when a schedule is not self-enforcing.")
    ] = False,
    verification: Annotated[
        bool,
        typer.Option(
            "--verification",
            help="Per concession, the smallest detection probability and the longest lag at which the "
            "schedule stays self-enforcing (the others held), and which step most needs better verification.",
        ),
    ] = False,
    wide: WideOpt = False,
) -> None:
    """Is a schedule self-enforcing? Where does it break, for whom, and why (docs/model.md)."""
    from ..analysis.enforcement import check as run_check

    scn = _load(source, set_)
    names: list[str | None]
    if schedule is not None:
        names = [schedule]
    else:
        names = list(scn.schedule_names) or [None]
        if names == [None]:
            scn.get_schedule(None)  # raises the "no schedule; see detente design" message
    reports = []
    needs: dict[str | None, Any] = {}
    for name in names:
        report = run_check(scn, name, leverage=leverage)
        tips = None
        if tipping:
            from ..analysis.tipping import tipping_points

            tips = tipping_points(scn, name)
        if verification:
            from ..analysis.verification import verification_needed

            needs[name] = verification_needed(scn, name)
        reports.append((name, report, tips))
    if json_out:
        payloads = []
        for name, report, tips in reports:
            payload = report.to_dict()
            if tips is not None:
                payload["tipping_points"] = [t.to_dict() for t in tips]
            if name in needs:
                payload.update(needs[name].to_dict())
            payloads.append(payload)
        if len(payloads) == 1:
            _print_json(payloads[0])
        else:
            _print_json({"schedules": {str(n): p for (n, _, _), p in zip(reports, payloads, strict=True)}})
    else:
        from ..report.terminal import render_check

        console = _console(wide=wide)
        for name, report, tips in reports:
            render_check(scn, report, console, tipping=tips, wide=wide)
            if name in needs:
                _print_verification(needs[name], console, wide=wide)
    if strict and not all(r.self_enforcing for _, r, _ in reports):
        raise typer.Exit(1)


def _parse_tranches(items: list[str] | None) -> dict[str, int] | None:
    from ..core.errors import UsageError

    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            raise UsageError(f"--tranches {item!r}: expected CONCESSION=N, e.g. --tranches relief=4") from None
        if not sep or not key.strip():
            raise UsageError(f"--tranches {item!r}: expected CONCESSION=N, e.g. --tranches relief=4")
    return out


@app.command()
@_guard
def design(
    source: ScenarioArg,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", "-T", help="Latest period a step may take (default: the file's design.horizon)."),
    ] = None,
    tranches: Annotated[
        list[str] | None,
        typer.Option(
            "--tranches", help="Split a divisible concession into N equal tranches: CONCESSION=N (repeatable)."
        ),
    ] = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the scenario with the designed schedule added as 'designed'."),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Stop the solver after this many seconds.")
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="What to optimise: fastest, deepest, fair (Nash bargaining) or robust-slack (docs/zone.md).",
        ),
    ] = "fastest",
    demands: Annotated[
        bool, typer.Option("--demands", help="Meet every demand in the file's demands: section.")
    ] = False,
    wide: WideOpt = False,
    robust: Annotated[
        float | None,
        typer.Option("--robust", help="Self-enforcing on this share of a sample of the plausible space, e.g. 0.9."),
    ] = None,
    robust_samples: Annotated[
        int, typer.Option("--robust-samples", help="Sample points for --robust (and as many for its check).")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --robust samples.")] = 0,
) -> None:
    """Find the fastest schedule that is self-enforcing at every step (docs/design.md)."""
    from ..design.milp import design as run_design
    from ..design.render import roadmap_lines

    scn = _load(source, set_)
    from ..core.quiet import c_output_silenced

    tranche_map = _parse_tranches(tranches)
    if robust is not None:
        _robust_design(scn, robust, robust_samples, seed, horizon, tranche_map, time_limit, json_out)
        return
    with c_output_silenced():  # HiGHS prints debug lines from C
        result = run_design(
            scn,
            horizon,
            tranche_map,
            time_limit=time_limit,
            objective=objective,
            demands=[d.id for d in scn.demands] if demands else None,
        )
    if out is not None and result.schedule:
        from ..core.scenario import Scenario as _Scenario
        from ..io.yaml import dump

        data = scn.to_data()
        data.setdefault("schedules", {})["designed"] = [
            {"period": t, "concession": k, "amount": a} for t, k, a in result.schedule
        ]
        dump(_Scenario.model_validate(data), out)
    if json_out:
        _print_json(result.to_dict())
    else:
        from rich.markup import escape

        console = _console(wide=wide)
        for line in roadmap_lines(result, scn):
            console.print(escape(line))
        if result.schedule:
            from ..analysis.enforcement import check as run_check
            from ..core.scenario import Step
            from ..report.terminal import render_check

            steps = [Step(period=t, concession=k, amount=a) for t, k, a in result.schedule]
            render_check(scn, run_check(scn, steps), console, wide=wide)
    if out is not None:
        if result.schedule:
            _console(stderr=True).print(f"wrote {out} (check it with: detente check {out} --schedule designed)")
        else:
            _console(stderr=True).print(f"nothing written to {out}: no schedule was found")


def _robust_design(
    scn: Any,
    target: float,
    samples: int,
    seed: int,
    horizon: int | None,
    tranches: Any,
    time_limit: float | None,
    json_out: bool,
) -> None:
    from ..core.quiet import c_output_silenced
    from ..sweeps.robust import robust as run_robust

    with c_output_silenced():  # HiGHS prints debug lines from C
        res = run_robust(
            scn, target, samples=samples, seed=seed, horizon=horizon, tranches=tranches, time_limit=time_limit
        )
    if json_out:
        _print_json(res)
        return
    from rich.markup import escape

    console = _console()
    r = res["robust"]
    if res["completion_period"] is None:
        console.print(
            f"No schedule within the horizon is self-enforcing at {100 * r['target']:.0f}% of the {samples} "
            f"sample points (status {escape(res['status'])}; periods before {res['lower_bound']} ruled out)."
        )
        return
    console.print(
        f"Fastest schedule self-enforcing at {100 * r['target']:.0f}% of {samples} sample points: completes in "
        f"period {res['completion_period']} (holds at {100 * r['coverage_in_sample']:.0f}% of them)."
    )
    for step in res["schedule"]:
        console.print(f"  period {step['period']}: {escape(step['concession'])} {step['amount']:g}")
    lo, hi = r["ci"]
    console.print(
        f"On a fresh sample of {samples} points it holds at {100 * r['coverage_out_of_sample']:.0f}% "
        f"(95% CI {100 * lo:.0f}-{100 * hi:.0f}%)."
    )
    if r["failure_box"]:
        console.print(f"It fails mainly when {escape(r['failure_box']['text'])}.")


def _parse_strategies(items: list[str] | None) -> dict[str, str]:
    """``--strategy PARTY=SPEC`` items; each spec is built once here, so a bad name or parameter
    (``grit(k=x)``) is a message naming the option before anything runs."""
    from ..core.errors import UsageError
    from ..simulation.strategies import library as _library  # noqa: F401  (registers the built-in strategies)
    from ..simulation.strategies.base import make_strategy

    out: dict[str, str] = {}
    for item in items or []:
        party, sep, name = item.partition("=")
        if not sep or not party.strip() or not name.strip():
            raise UsageError(f"--strategy {item!r}: expected PARTY=STRATEGY, e.g. --strategy US=reciprocal")
        try:
            make_strategy(name.strip())
        except UsageError as exc:
            raise UsageError(f"--strategy {item!r}: {exc}") from None
        out[party.strip()] = name.strip()
    return out


def _episode_periods(episodes: int, horizon: int) -> None:
    """Refuse more episodes × periods than :data:`MAX_EPISODE_PERIODS` before anything is allocated."""
    from ..core.errors import UsageError

    if episodes * horizon > MAX_EPISODE_PERIODS:
        raise UsageError(
            f"--episodes × --horizon: expected at most {MAX_EPISODE_PERIODS:,} episode-periods, "
            f"found {episodes:,} × {horizon:,} = {episodes * horizon:,}"
        )


def _turn_repetitions(turns: int, repetitions: int, matches: int) -> None:
    """Refuse a classic run whose outcome arrays would exceed :data:`MAX_TURN_REPETITIONS` values."""
    from ..core.errors import UsageError

    if turns * repetitions * matches > MAX_TURN_REPETITIONS:
        raise UsageError(
            f"--turns × --repetitions{' × matches' if matches > 1 else ''}: expected at most "
            f"{MAX_TURN_REPETITIONS:,} turns in all, found {turns * repetitions * matches:,}"
        )


@app.command()
@_guard
def simulate(
    source: ScenarioArg,
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", help="PARTY=STRATEGY (repeatable); parties not named play reciprocal."),
    ] = None,
    episodes: Annotated[
        int, typer.Option("--episodes", "-n", help="Number of episodes.", min=1, max=MAX_EPISODES)
    ] = 10_000,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for reproducible runs.", **SEED_RANGE)] = None,
    schedule: ScheduleOpt = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Periods per episode.", min=1, max=MAX_SIM_HORIZON)] = 120,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Run store file (default: DETENTE_STORE, else the user data directory)."),
    ] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record this run in the run store.")] = False,
    wide: WideOpt = False,
    compiled: Annotated[
        bool,
        typer.Option(
            "--compiled",
            help="Run the compiled (numba) engine: the same results, faster after a one-time compilation.",
        ),
    ] = False,
) -> None:
    """Monte Carlo: strategies under late or wrong verification, domestic pressure and shocks."""
    from ..simulation.simulate import simulate as run_simulate

    _episode_periods(episodes, horizon)
    scn = _load(source, set_)
    strategies = _parse_strategies(strategy)
    if schedule is None and len(scn.schedule_names) > 1:
        from ..core.errors import UsageError

        raise UsageError(f"choose a schedule with --schedule NAME: {', '.join(scn.schedule_names)}")
    with _Progress("simulating", enabled=not json_out and episodes * horizon >= 2_000_000) as bar:
        result = run_simulate(
            scn, strategies, episodes, seed, schedule=schedule, horizon=horizon, progress=bar, compiled=compiled
        )
    summary = result.summary()
    if not no_store:
        from ..store.duckdb import RunStore, record_simulation

        runs = RunStore(store)
        summary["run_id"] = record_simulation(runs, scn, result, schedule=schedule)
    if json_out:
        _print_json(summary)
        return
    from ..report.terminal import render_simulation

    console = _console(wide=wide)
    render_simulation(scn, summary, console, wide=wide)
    if "run_id" in summary:
        console.print(f"stored as run {summary['run_id']} (detente runs show ID)", markup=False)


@app.command()
@_guard
def tournament(
    source: Annotated[str | None, typer.Argument(help="A scenario file or case name (omit with --game).")] = None,
    episodes: Annotated[
        int, typer.Option("--episodes", "-n", help="Episodes per pairing.", min=1, max=MAX_EPISODES)
    ] = 1000,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for reproducible runs.", **SEED_RANGE)] = None,
    schedule: ScheduleOpt = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Periods per episode.", min=1, max=MAX_SIM_HORIZON)] = 120,
    pool: Annotated[
        list[str] | None,
        typer.Option("--pool", help="PARTY=a,b,c: the strategies one side may play (default: all it may)."),
    ] = None,
    set_: SetOpt = None,
    game: Annotated[
        str | None, typer.Option("--game", help="Play a classic repeated game instead: prisoners-dilemma.")
    ] = None,
    strategies: Annotated[
        str | None, typer.Option("--strategies", help="With --game: comma-separated classic strategies.")
    ] = None,
    turns: Annotated[int, typer.Option("--turns", help="With --game: turns per match.", min=1, max=MAX_TURNS)] = 200,
    repetitions: Annotated[
        int, typer.Option("--repetitions", help="With --game: repetitions per match.", min=1, max=MAX_REPETITIONS)
    ] = 10,
    noise: Annotated[
        float, typer.Option("--noise", help="With --game: probability a move is flipped.", min=0.0, max=1.0)
    ] = 0.0,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Every strategy of one side against every strategy of the other: the outcome matrix."""
    from ..core.errors import UsageError

    if game is not None:
        from ..simulation.classic import CLASSIC_STRATEGIES, get_game, parse_strategy_list, round_robin

        players = parse_strategy_list(strategies) if strategies else list(CLASSIC_STRATEGIES)
        _turn_repetitions(turns, repetitions, len(players) ** 2)
        result = round_robin(players, turns=turns, repetitions=repetitions, noise=noise, seed=seed, game=get_game(game))
        if json_out:
            _print_json(result.to_dict())
        else:
            from ..report.terminal import render_classic_tournament

            render_classic_tournament(result.to_dict(), _console(wide=wide), wide=wide)
        return
    if source is None:
        raise UsageError("give a scenario file or case name, or --game prisoners-dilemma")
    from ..simulation.tournament import tournament as run_tournament

    _episode_periods(episodes, horizon)
    scn = _load(source, set_)
    pools: dict[str, list[str]] = {}
    for item in pool or []:
        party, sep, names = item.partition("=")
        if not sep:
            raise UsageError(f"--pool {item!r}: expected PARTY=a,b,c")
        pools[party.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    names_to_run: list[str | None] = [schedule] if schedule is not None else (list(scn.schedule_names) or [None])
    payloads = []
    for name in names_to_run:
        with _Progress(f"tournament {name or ''}".strip(), enabled=not json_out) as bar:
            res = run_tournament(scn, pools, episodes, seed, schedule=name, horizon=horizon, progress=bar)
        payloads.append(res.to_dict())
    if json_out:
        _print_json(payloads[0] if len(payloads) == 1 else {"schedules": {p["schedule"]: p for p in payloads}})
        return
    from ..report.terminal import render_tournament

    for payload in payloads:
        render_tournament(payload, _console(wide=wide), wide=wide)


@app.command()
@_guard
def match(
    a: Annotated[str, typer.Argument(help="First classic strategy, e.g. tit-for-tat.")],
    b: Annotated[str, typer.Argument(help="Second classic strategy.")],
    game: Annotated[str, typer.Option("--game", help="The stage game.")] = "prisoners-dilemma",
    turns: Annotated[int, typer.Option("--turns", help="Turns per match.", min=1, max=MAX_TURNS)] = 200,
    noise: Annotated[float, typer.Option("--noise", help="Probability each move is flipped.", min=0.0, max=1.0)] = 0.0,
    repetitions: Annotated[
        int, typer.Option("--repetitions", help="Independent repetitions.", min=1, max=MAX_REPETITIONS)
    ] = 1,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for reproducible runs.", **SEED_RANGE)] = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """One classic repeated-game match (iterated prisoner's dilemma, R,S,T,P = 3,0,5,1)."""
    from ..simulation.classic import get_game, play_match

    _turn_repetitions(turns, repetitions, 1)
    result = play_match(a, b, turns=turns, noise=noise, repetitions=repetitions, seed=seed, game=get_game(game))
    data = result.to_dict()
    if json_out:
        _print_json(data)
        return
    from ..report.terminal import render_match

    render_match(data, _console(wide=wide), wide=wide)
