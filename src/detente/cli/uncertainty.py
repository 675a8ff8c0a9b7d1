"""Commands for uncertainty: sweep, sensitivity, claims, discover, and the run store (runs).

Every run is stored (``--store PATH``, ``DETENTE_STORE``, or the user data directory); see
docs/uncertainty.md. Long runs show a Rich progress bar on stderr when it is a terminal.
"""

# No ``from __future__ import annotations`` in the command modules: Typer resolves every
# command's annotations at start-up, and string annotations cost ~0.1 s of `detente --help`.

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from .app import JsonOpt, ScenarioArg, SetOpt, WideOpt, _console, _guard, _load, _print_json, _Progress, app

# --------------------------------------------------------------------------- shared options

SamplesOpt = Annotated[
    int, typer.Option("--samples", "-n", help="Number of sample points (grid: levels per parameter).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same points and rows.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Vary this parameter (repeatable; default: every parameter with a range)."),
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="local (this machine's processes) or dask (dask.distributed).")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Processes (local) or LocalCluster workers (dask); default: the CPUs."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Address of a running Dask scheduler, tcp://HOST:PORT (with --executor dask)."),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds to wait for the Dask scheduler (default 10, or DETENTE_DASK_TIMEOUT)."),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Run store file (default: DETENTE_STORE, else the user data directory)."),
]
RunIdOpt = Annotated[str | None, typer.Option("--run-id", help="Name this run (default: generated).")]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue the run --run-id (or the latest unfinished one with these settings)."),
]


def _store(path: Path | None) -> Any:
    from ..store.duckdb import RunStore

    return RunStore(path)


def _executor(name: str, workers: int | None, scheduler: str | None, timeout: float | None) -> Any:
    from ..sweeps.executors import make_executor

    if scheduler is not None and name != "dask":
        from ..core.errors import UsageError

        raise UsageError("--scheduler needs --executor dask")
    return make_executor(name, workers=workers, scheduler=scheduler, timeout=timeout)


def _pairs(items: list[str] | None, option: str, example: str) -> dict[str, str]:
    from ..core.errors import UsageError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"{option} {item!r}: expected {example}")
        out[key.strip()] = value.strip()
    return out


def _interrupted(exc: KeyboardInterrupt, run_id: str | None, command: str) -> None:
    """Say how to continue a sweep stopped by Ctrl-C: only a run stored with its whole sample
    plan (the exception's ``run_id``) can be continued; ``run_id`` (the option) is only a fallback
    name for the message, never a claim that a run exists."""
    from rich.markup import escape

    stored = getattr(exc, "run_id", None)
    if stored:
        _console(stderr=True).print(
            f"interrupted; completed points are stored. Continue with: {escape(command)} --run-id "
            f"{escape(stored)} --resume"
        )
    elif hasattr(exc, "run_id"):
        _console(stderr=True).print("interrupted before the run was stored; nothing was kept, nothing to resume")


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isinf(x):
            return "never" if x > 0 else "-inf"
        if math.isnan(x):
            return "undefined"
        return f"{x:.4g}"
    return str(x)


# --------------------------------------------------------------------------- sweep


@app.command()
@_guard
def sweep(
    source: ScenarioArg,
    analysis: Annotated[str, typer.Option("--analysis", "-a", help="check, design or simulate.")] = "check",
    samples: SamplesOpt = 64,
    seed: SeedOpt = 0,
    method: Annotated[str, typer.Option("--method", help="lhs (default), sobol, random or grid.")] = "lhs",
    param: ParamOpt = None,
    schedule: Annotated[
        list[str] | None,
        typer.Option("--schedule", "-s", help="Schedule to check or simulate (repeatable; default: all)."),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", help="PARTY=STRATEGY for --analysis simulate (repeatable; default reciprocal)."),
    ] = None,
    episodes: Annotated[
        int | None, typer.Option("--episodes", help="Episodes per point (simulate; default 200).")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="Periods per episode (simulate) or design horizon (design).")
    ] = None,
    tranches: Annotated[
        list[str] | None, typer.Option("--tranches", help="CONCESSION=N tranches for --analysis design (repeatable).")
    ] = None,
    set_: SetOpt = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    store: StoreOpt = None,
    run_id: RunIdOpt = None,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Run an analysis at many points of the parameters' plausible ranges, stored as it goes."""
    from ..core.errors import UsageError
    from ..sweeps.sampling import METHODS
    from ..sweeps.sweep import sweep as run_sweep

    if method not in METHODS:
        from ..core.errors import did_you_mean

        raise UsageError(f"--method {method!r}: unknown{did_you_mean(method, METHODS)} (methods: {', '.join(METHODS)})")
    scn = _load(source, set_)
    tranche_map = {k: _int(v, "--tranches") for k, v in _pairs(tranches, "--tranches", "CONCESSION=N").items()}
    if analysis != "simulate" and (strategy or episodes is not None):
        raise UsageError("--strategy and --episodes are for --analysis simulate")
    if analysis != "design" and tranches:
        raise UsageError("--tranches is for --analysis design")
    runs = _store(store)
    with _executor(executor, workers, scheduler, timeout) as ex, _Progress(f"{analysis} sweep", not json_out) as bar:
        try:
            result = run_sweep(
                scn,
                analysis,
                samples=samples,
                seed=seed,
                method=method,
                params=param,
                schedules=schedule,
                strategies=_pairs(strategy, "--strategy", "PARTY=STRATEGY"),
                episodes=episodes,
                horizon=horizon,
                tranches=tranche_map,
                executor=ex,
                store=runs,
                run_id=run_id,
                resume=resume,
                progress=bar,
            )
        except KeyboardInterrupt as exc:
            _interrupted(exc, run_id, f"detente sweep {source} ...")
            raise
    if json_out:
        _print_json(result.to_dict())
        return
    _render_sweep(result, runs, wide=wide)


def _int(text: str, option: str) -> int:
    from ..core.errors import UsageError

    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{option}: expected a whole number, found {text!r}") from None


def _render_sweep(result: Any, runs: Any, *, wide: bool = False) -> None:
    """Per analysis, per output: the share of points where it is true, or mean, min and max;
    and how many points left it undefined (NaN, or the analysis failed there)."""
    from rich.markup import escape

    from ..report.tables import FitTable, plural

    console = _console(wide=wide)
    rows = result.rows
    console.print(
        f"{plural(len(rows), 'point')}, seed {result.seed} ({result.computed:,} computed now, {result.reused:,} reused)"
    )
    table = FitTable(wide=wide)
    table.add_column("output", key=True)
    for col in ("true / mean", "min", "max", "undefined"):
        table.add_column(col, justify="right")
    keys: list[str] = []
    for row in rows:
        for key in row["outputs"]:
            if key not in keys:
                keys.append(key)
    for call in result.calls:
        table.add_row(f"[bold]{escape(call)}[/]", "", "", "", "")
        for key in keys:
            if not key.startswith(call + "."):
                continue
            name = "  " + escape(key[len(call) + 1 :])
            values = [r["outputs"].get(key) for r in rows]
            if key == call + ".error":
                n_err = sum(v is not None for v in values)
                table.add_row(name, "", "", "", f"{n_err} failed")
                continue
            if all(isinstance(v, bool) or v is None for v in values):
                true = [v for v in values if v is not None]
                share = sum(true) / len(true) if true else float("nan")
                table.add_row(name, f"{share:.1%}", "", "", str(len(values) - len(true)))
                continue
            nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            finite = [v for v in nums if math.isfinite(v)]
            undefined = sum(1 for v in nums if math.isnan(v)) + sum(1 for v in values if v is None)
            mean = sum(finite) / len(finite) if finite else float("nan")
            table.add_row(
                name, _short(mean), _short(min(nums, default=None)), _short(max(nums, default=None)), str(undefined)
            )
    console.print(table)
    console.print(
        f"run {escape(str(result.run_id))} stored in {escape(str(runs.path))}; `detente runs show "
        f"{escape(str(result.run_id))}` and `--json` give every row"
    )


# --------------------------------------------------------------------------- sensitivity


@app.command()
@_guard
def sensitivity(
    source: ScenarioArg,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="What to explain: an output in the claim language, e.g. 'check[phased].min_slack.DPRK'.",
        ),
    ],
    method: Annotated[str, typer.Option("--method", help="sobol (default) or morris.")] = "sobol",
    samples: Annotated[
        int, typer.Option("--samples", "-n", help="Sobol: base size N (N*(2d+2) runs); Morris: trajectories.")
    ] = 256,
    seed: SeedOpt = 0,
    param: ParamOpt = None,
    first_order_only: Annotated[
        bool, typer.Option("--no-second-order", help="Sobol without second-order terms: N*(d+2) runs.")
    ] = False,
    levels: Annotated[int, typer.Option("--levels", help="Morris grid levels (even).")] = 4,
    set_: SetOpt = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    store: StoreOpt = None,
    run_id: RunIdOpt = None,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Which parameters move an output? Sobol indices or Morris screening, as a tornado ranking."""
    from ..sweeps.sensitivity import sensitivity as run_sensitivity

    scn = _load(source, set_)
    runs = _store(store)
    with _executor(executor, workers, scheduler, timeout) as ex, _Progress(f"{method} points", not json_out) as bar:
        try:
            result = run_sensitivity(
                scn,
                output,
                method=method,
                samples=samples,
                seed=seed,
                params=param,
                second_order=not first_order_only,
                levels=levels,
                executor=ex,
                store=runs,
                run_id=run_id,
                resume=resume,
                progress=bar,
            )
        except KeyboardInterrupt as exc:
            _interrupted(exc, run_id, f"detente sensitivity {source} ...")
            raise
    if json_out:
        _print_json(result.to_dict())
        return
    _render_tornado(result, wide=wide)


def _short(x: Any) -> str:
    if isinstance(x, float) and math.isfinite(x):
        return f"{x:.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:.1e}"
    return _fmt(x)


def _render_tornado(result: Any, *, wide: bool = False) -> None:
    """A tornado: parameters ranked by total order (Sobol) or mu* (Morris), with a bar, and the
    output with each parameter alone at the low and the high end of its range."""
    from rich.markup import escape

    from ..report.tables import FitTable, plural

    console = _console(wide=wide)
    sobol = result.method == "sobol"
    key = "total_order" if sobol else "mu_star"
    top = max((r[key] or 0.0 for r in result.indices), default=0.0) or 1.0
    width = 8
    console.print(
        f"What drives [bold]{escape(result.output)}[/] ({result.method}, {plural(result.evaluations, 'evaluation')}, "
        f"seed {result.seed}); at the best values it is {escape(_fmt(result.base_value))}."
    )
    table = FitTable(wide=wide, markup=False)
    table.add_column("parameter", key=True)
    table.add_column("total ± CI" if sobol else "mu* ± CI", justify="right")
    table.add_column("first" if sobol else "sigma", justify="right", key=True)
    table.add_column("", style="cyan")
    table.add_column("at low", justify="right", key=True)
    table.add_column("at high", justify="right", key=True)
    for r in result.indices:
        value = r[key] or 0.0
        bar = "█" * max(0, round(width * max(value, 0.0) / top))
        ci = r["total_order_ci" if sobol else "mu_star_ci"]
        third = r["first_order"] if sobol else r["sigma"]
        table.add_row(
            r["parameter"],
            _short(value) + (f" ± {ci:.2g}" if ci is not None else ""),
            _short(third),
            bar.ljust(width),
            _short(r["at_low"]),
            _short(r["at_high"]),
        )
    console.print(table)
    if result.constant:
        console.print("The output is the same at every sample point: no parameter moves it within these ranges.")
    console.print(f"run {escape(str(result.run_id))} (detente runs show {escape(str(result.run_id))})")


# --------------------------------------------------------------------------- claims


@app.command()
@_guard
def claims(
    source: ScenarioArg,
    claims_file: Annotated[
        Path | None,
        typer.Option("--claims", help="A YAML file of claims (added to the scenario's own claims)."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            "-n",
            help="Sample points (default: the claims' largest, else 256; with --method sobol the Saltelli base "
            "size N, N*(d+2) points, default 32).",
        ),
    ] = None,
    seed: SeedOpt = 0,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="Drivers by 'trees' (extra-trees feature scoring on one Sobol' sample; default) or 'sobol' "
            "(Sobol total-order indices on Saltelli's sample).",
        ),
    ] = "trees",
    only: Annotated[list[str] | None, typer.Option("--only", help="Evaluate only this claim id (repeatable).")] = None,
    set_: SetOpt = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    store: StoreOpt = None,
    run_id: RunIdOpt = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Evaluate claims: where in the plausible parameter space each holds, what drives it, where it flips."""
    from ..core.errors import UsageError, did_you_mean
    from ..sweeps.claims import claims_from_scenario, compile_claim, evaluate_claims, load_claims_file

    scn = _load(source, set_)
    specs = claims_from_scenario(scn)
    if claims_file is not None:
        specs += load_claims_file(claims_file)
    if not specs:
        raise UsageError(
            f"scenario {scn.name!r} has no claims; write them in a 'claims:' section or give a file with --claims "
            "(docs/uncertainty.md)"
        )
    if only:
        ids = [s.id for s in specs]
        for cid in only:
            if cid not in ids:
                raise UsageError(f"--only {cid!r}: no such claim{did_you_mean(cid, ids)} (claims: {', '.join(ids)})")
        specs = [s for s in specs if s.id in only]
    for spec in specs:  # every claim is checked before anything runs
        compile_claim(spec, scn)
    runs = _store(store)
    with _executor(executor, workers, scheduler, timeout) as ex, _Progress("claim points", not json_out) as bar:
        results, run_ids = evaluate_claims(
            scn, specs, samples=samples, seed=seed, method=method, executor=ex, store=runs, run_id=run_id, progress=bar
        )
    if json_out:
        from ..store.duckdb import finite_or_none

        _print_json({"claims": [finite_or_none(r.to_dict()) for r in results], "run_ids": run_ids, "seed": seed})
        return
    _render_claims(results, run_ids, wide=wide)


def _render_claims(results: Any, run_ids: list[str], *, wide: bool = False) -> None:
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    console = _console(wide=wide)

    def say(markup: str, indent: int = 2) -> None:  # wrapped lines keep the indentation
        console.print(Padding(Text.from_markup(markup), (0, 0, 0, indent), expand=False))

    for r in results:
        colour = "green" if r.agrees and r.verdict in ("holds", "fails") else ("yellow" if r.agrees else "red")
        console.print(f"[bold]{escape(r.id)}[/]: {escape(r.text or r.statement)}")
        if r.text:
            say(f"[dim]{escape(r.statement)}[/]")
        say(f"[{colour}]{escape(r.message)}[/]")
        say(escape(r.drivers_sentence))
        if r.failure_box is not None:
            say(f"failure box: {escape(r.failure_box['text'])}")
        for warning in r.warnings:
            say(f"[yellow]warning: {escape(warning)}[/]")
        for sentence in dict.fromkeys(t["sentence"] for t in r.tipping_points):
            say(f"tipping: {escape(sentence)}")
        if r.undefined:
            failed = (
                f"{r.undefined} point where an analysis failed counts"
                if r.undefined == 1
                else (f"{r.undefined:,} points where an analysis failed count")
            )
            say(f"[yellow]{failed} as 'does not hold'[/]")
        console.print()
    if run_ids:
        console.print(f"stored as run {escape(', '.join(run_ids))} (detente runs show ID)")


# --------------------------------------------------------------------------- discover


@app.command()
@_guard
def discover(
    source: ScenarioArg,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="A truth value in the claim language, e.g. 'check\\[phased].self_enforcing', or a claim's id.",
        ),
    ],
    samples: Annotated[int, typer.Option("--samples", "-n", help="Sample points (at least 50).")] = 1024,
    seed: SeedOpt = 0,
    method: Annotated[str, typer.Option("--method", help="Sampling: sobol (default), lhs or random.")] = "sobol",
    false: Annotated[
        bool, typer.Option("--false", help="Find where the output is false (default: where it is true).")
    ] = False,
    box: Annotated[
        int | None,
        typer.Option("--box", help="Pick this step of the first box's trade-off curve (default: see docs)."),
    ] = None,
    param: ParamOpt = None,
    figures: Annotated[
        Path | None,
        typer.Option("--figures", help="Write the trade-off curve and the box as Vega-Lite JSON into this directory."),
    ] = None,
    set_: SetOpt = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    store: StoreOpt = None,
    run_id: RunIdOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Scenario discovery: the boxes of the parameter space where an output is true (PRIM, and CART)."""
    from ..core.errors import UsageError
    from ..sweeps.discovery import discover as run_discover

    if box is not None and box < 0:
        raise UsageError(f"--box must be a step of the trade-off curve (0 or more), found {box}")
    scn = _load(source, set_)
    runs = _store(store)
    with _executor(executor, workers, scheduler, timeout) as ex, _Progress("discovery points", not json_out) as bar:
        result = run_discover(
            scn,
            output,
            samples=samples,
            seed=seed,
            method=method,
            target=not false,
            box=box,
            params=param,
            executor=ex,
            store=runs,
            run_id=run_id,
            progress=bar,
        )
    data = result.to_dict()
    if figures is not None:
        _discovery_figures(figures, data, result)
    if json_out:
        from ..store.duckdb import finite_or_none

        _print_json(finite_or_none(data))
        return
    _render_discovery(data)


def _discovery_figures(directory: Path, data: dict[str, Any], result: Any) -> None:
    import json

    from ..report.discovery_figures import box_spec, tradeoff_spec

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tradeoff.vl.json").write_text(json.dumps(tradeoff_spec(data), indent=1))
    x, y = result.extra.get("x"), result.extra.get("y")
    if x is not None and y is not None and data["boxes"]:
        names = data["parameters"]
        points = [
            {**dict(zip(names, row.tolist(), strict=True)), "interest": bool(v)} for row, v in zip(x, y, strict=True)
        ]
        spec = box_spec(data, points)
        if spec is not None:
            (directory / "box.vl.json").write_text(json.dumps(spec, indent=1))


def _render_discovery(data: dict[str, Any]) -> None:
    from rich.markup import escape

    console = _console()
    what = "true" if data["target"] else "false"
    console.print(
        f"[bold]{escape(data['output'])}[/] is {what} at {data['cases']} of {data['points']} points "
        f"({100 * data['share']:.0f}%)."
    )
    if not data["boxes"]:
        console.print("PRIM found no box: the output is (almost) the same everywhere, or no box is dense enough.")
    for i, b in enumerate(data["boxes"]):
        console.print(
            f"  box {i + 1}: {escape(b['text'])} (coverage {100 * b['coverage']:.0f}%, density "
            f"{100 * b['density']:.0f}%, {100 * b['mass']:.0f}% of the space)"
        )
    if data["tradeoff"]:
        console.print(
            f"  trade-off curve: {len(data['tradeoff'])} steps (0 = whole space); chosen step {data['selected']}; "
            "pick another with --box N"
        )
    for b in data["cart"][:3]:
        console.print(
            f"  CART leaf: {escape(b['text'])} (coverage {100 * b['coverage']:.0f}%, density {100 * b['density']:.0f}%)"
        )
    if data.get("run_id"):
        console.print(f"stored as run {escape(data['run_id'])} (detente runs show ID)")


# --------------------------------------------------------------------------- runs

runs_app = typer.Typer(
    help="The run store: list runs, show one, export its points to Parquet.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(runs_app, name="runs")


@runs_app.callback()
@_guard
def runs_list(
    ctx: typer.Context,
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many runs, latest first.")] = 50,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List stored runs, latest first (sweeps, sensitivity, claims, simulations)."""
    ctx.obj = {"store": store}
    if ctx.invoked_subcommand is not None:
        return
    runs = _store(store)
    rows = runs.list_runs(limit)
    if json_out:
        _print_json({"store": str(runs.path), "runs": rows})
        return
    from rich.markup import escape

    from ..report.tables import FitTable

    console = _console(wide=wide)
    if not rows:
        console.print(f"no runs in {escape(str(runs.path))}")
        return
    console.print(f"Runs in {escape(str(runs.path))}, latest first")
    table = FitTable(wide=wide, markup=False)
    table.add_column("run id", key=True)
    table.add_column("kind", key=True)
    table.add_column("points", justify="right", key=True)
    table.add_column("status", key=True)
    table.add_column("created (UTC)")
    for r in rows:
        status = r["status"]
        if status == "running" and r["completed"] < r["points"]:
            status = "unfinished"  # running now, or stopped: --resume continues it
        table.add_row(
            r["run_id"],
            r["kind"],
            f"{r['completed']:,}/{r['points']:,}",
            status,
            r["created"][5:16],
        )
    console.print(table)


def _store_of(ctx: typer.Context, store: Path | None) -> Any:
    parent = (ctx.obj or {}).get("store") if isinstance(ctx.obj, dict) else None
    return _store(store if store is not None else parent)


@runs_app.command("show")
@_guard
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id (see: detente runs).")],
    store: StoreOpt = None,
    rows: Annotated[bool, typer.Option("--rows", help="With --json: include every completed row.")] = False,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show one run: provenance, progress and results."""
    runs = _store_of(ctx, store)
    info = runs.info(run_id)
    results = runs.results(run_id)
    if json_out:
        from ..store.duckdb import finite_or_none

        payload = info.to_dict()
        payload["results"] = finite_or_none(results)
        if rows:
            payload["rows"] = finite_or_none(runs.rows(run_id))
        _print_json(payload)
        return
    from ..report.tables import FitTable

    d = info.to_dict()
    table = FitTable(title=f"Run {run_id}", show_header=False, wide=wide, markup=False)
    table.add_column("field", style="bold", key=True)
    table.add_column("value")
    for key in (
        "kind",
        "scenario",
        "scenario_hash",
        "points",
        "completed",
        "status",
        "seed",
        "version",
        "executor",
        "workers",
        "host",
        "created",
        "finished",
        "seconds",
    ):
        table.add_row(key, _fmt(d[key]))
    table.add_row("parameters", ", ".join(d["parameters"]) or "-")
    table.add_row("analyses", "\n".join(d["spec"].get("analyses", [])) or "-")
    if results:
        table.add_row("results", ", ".join(results))
    _console(wide=wide).print(table)


@runs_app.command("export")
@_guard
def runs_export(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id (see: detente runs).")],
    parquet: Annotated[Path, typer.Option("--parquet", help="Write the run's points to this Parquet file.")],
    store: StoreOpt = None,
) -> None:
    """Export a run's points (parameters and outputs, one row per point) to Parquet."""
    runs = _store_of(ctx, store)
    n = runs.export_parquet(run_id, parquet)
    _console(stderr=True).print(f"wrote {n:,} rows to {parquet}")
