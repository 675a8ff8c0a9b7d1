"""The ``zone`` command: the agreement zone under the parties' demands (docs/zone.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .app import JsonOpt, ScenarioArg, SetOpt, _console, _guard, _load, _print_json, app


@app.command()
@_guard
def zone(
    source: ScenarioArg,
    demand: Annotated[
        list[str] | None,
        typer.Option("--demand", help="Hold only this demand (repeatable; default: every demand in the file)."),
    ] = None,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="Leave this demand out (repeatable).")] = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", "-T", help="Latest period a step may take (default: the file's design.horizon)."),
    ] = None,
    points: Annotated[int, typer.Option("--points", help="Frontier points to compute (2 to 200).")] = 12,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Stop the solver after this many seconds.")
    ] = None,
) -> None:
    """Is there a self-enforcing phasing both sides' demands allow? If not, which must give."""
    from ..core.errors import UsageError, did_you_mean
    from ..design.zone import zone as run_zone

    scn = _load(source, set_)
    known = [d.id for d in scn.demands]
    for name in [*(demand or []), *(drop or [])]:
        if name not in known:
            raise UsageError(
                f"unknown demand {name!r}{did_you_mean(name, known)} (demands: {', '.join(known) or 'none'})"
            )
    chosen = list(demand) if demand else known
    chosen = [d for d in chosen if d not in set(drop or [])]
    from ..core.quiet import c_output_silenced

    with c_output_silenced():  # HiGHS prints debug lines from C
        result = run_zone(scn, chosen, horizon=horizon, points=points, time_limit=time_limit)
    if json_out:
        _print_json(result.to_dict())
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    console.print(escape(result.message))
    if result.empty:
        for c in result.conflict:
            console.print(escape(f"  - {c.text}"))
        if result.drop:
            console.print(escape(f"Fewest demands to drop to open the zone: {', '.join(result.drop)}"))
        return
    a, b = result.parties if len(result.parties) == 2 else (result.parties[0], result.parties[0])
    table = Table(title=f"Pareto frontier (values relative to no deal, {scn.period}s)", title_justify="left")
    table.add_column(a, justify="right")
    table.add_column(b, justify="right")
    table.add_column("completes", justify="right")
    table.add_column("", justify="left")
    rows: dict[tuple[tuple[int, str, float], ...], tuple[Any, list[str]]] = {}
    for p in result.frontier:
        rows[p.schedule] = (p, ["frontier"])
    for tag, point in (("fair (Nash)", result.fair), ("fastest", result.fastest)):
        if point is not None:
            rows.setdefault(point.schedule, (point, []))[1].append(tag)
    for p, tags in sorted(rows.values(), key=lambda r: (r[0].values[a], -r[0].values[b])):
        table.add_row(f"{p.values[a]:.3f}", f"{p.values[b]:.3f}", str(p.completes), ", ".join(tags))
    console.print(table)
    for name, point in (("Fair point (Nash bargaining)", result.fair), ("Fastest point", result.fastest)):
        if point is None:
            continue
        vals = ", ".join(f"{k} {v:.3f}" for k, v in point.values.items())
        console.print(escape(f"{name}: {vals}; completes in {scn.period} {point.completes}"))
