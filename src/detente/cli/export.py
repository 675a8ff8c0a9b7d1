"""``detente export``: a schedule's game for other tools (Gambit's .efg format)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import ScenarioArg, ScheduleOpt, SetOpt, _console, _guard, _load, app

export_app = typer.Typer(
    name="export",
    help="Write a scenario's games for other tools: `efg` writes a schedule's deviation game for Gambit.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(export_app, name="export")


@export_app.command("efg")
@_guard
def efg_cmd(
    source: ScenarioArg,
    schedule: ScheduleOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the .efg file here (default: standard output).")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """The schedule's deviation game in Gambit's .efg format (see docs/interop.md).

    Each party signs or declines, then at each period complies or deviates with each of the
    check's plans; payoffs are every party's value along the check's paths. "Everyone signs
    and always complies" is subgame perfect exactly when `detente check` says self-enforcing.
    """
    from ..analysis.efg import deviation_game_efg

    text = deviation_game_efg(_load(source, set_), schedule)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        from ..core.errors import UsageError

        raise UsageError(f"--out {out}: cannot write the file ({exc.strerror})") from None
    _console().print(f"wrote {out} ({len(text.splitlines())} lines)", highlight=False)
