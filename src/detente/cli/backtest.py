"""``detente backtest``: confront the model with what happened to past agreements."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario

from .app import JsonOpt, _console, _guard, _print_json, _Progress, app

CasesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Case ids or scenario files with an 'outcome:' block (default: every built-in case that has one)."
    ),
]


def load_cases(names: list[str] | None) -> list[tuple[str, Scenario]]:
    """The cases to backtest: the named ones, or every built-in case with an outcome."""
    from ..core.errors import UsageError
    from ..io.yaml import builtin_cases, load

    if names:
        pairs = []
        for name in names:
            scn = load(name)
            if scn.outcome is None:
                raise UsageError(f"{name}: no 'outcome:' block, so it cannot be backtested")
            pairs.append((name, scn))
        return pairs
    pairs = []
    for name in builtin_cases():
        scn = load(name)
        if scn.outcome is not None:
            pairs.append((name, scn))
    return pairs


def run_backtest(names: list[str] | None, samples: int, seed: int, window: int, show_progress: bool) -> object:
    """Load the cases and run the backtest, with a progress bar on a terminal."""
    from ..sweeps.backtest import backtest

    cases = load_cases(names)
    with _Progress("backtest", show_progress and samples > 0) as progress:
        return backtest(cases, samples=samples, seed=seed, window=window, progress=progress)


@app.command(name="backtest")
@_guard
def backtest_command(
    cases: CasesArg = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples", "-n", help="Points sampled over every ranged parameter for the share (0: best values only)."
        ),
    ] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample and of the simulations.")] = 0,
    window: Annotated[
        int, typer.Option("--window", help="Breach months within this many months count as a match.")
    ] = 12,
    json_out: JsonOpt = False,
) -> None:
    """Does the model retrodict what happened? Prediction against the record, per case."""
    from rich.table import Table

    from ..sweeps.backtest import BacktestResult

    result = run_backtest(cases, samples, seed, window, not json_out)
    assert isinstance(result, BacktestResult)
    if json_out:
        _print_json(result.to_dict())
        return

    def breach(b: object) -> str:
        if b is None:
            return "none"
        return f"{b.party} m{b.period} {b.step} ({b.kind})"  # type: ignore[attr-defined]

    def yes(flag: bool) -> str:
        return "[green]yes[/]" if flag else "[red]no[/]"

    table = Table(title=f"Backtest (timing window {window} months)", title_justify="left")
    for col in ("case", "recorded", "predicted", "completed", "party", "kind", "timing", "share"):
        table.add_column(col)
    for c in result.cases:
        rec = ("completed" if c.outcome.completed else "not completed") + "; first breach " + breach(c.recorded)
        se = "self-enforcing" if c.predicted.self_enforcing else "not self-enforcing"
        pred = f"{se}; first breach {breach(c.predicted.first_breach)}"
        share = (
            "-"
            if c.share is None or c.share_ci is None
            else f"{c.share:.0%} [{c.share_ci[0]:.0%}, {c.share_ci[1]:.0%}]"
        )
        table.add_row(c.case, rec, pred, *(yes(c.match[k]) for k in ("completed", "party", "kind", "timing")), share)
    console = _console()
    console.print(table)
    console.print(result.summary_line())
    for c in result.cases:
        if c.predicted.zone is not None:
            z = c.predicted.zone
            verdict = "empty: no deal expected" if z["empty"] else "open: a deal both sides accept exists"
            console.print(f"{c.case}: the agreement zone under the recorded demands is {verdict}. {z['text']}")


def write_backtest_page(names: list[str] | None, out: Path, *, samples: int, seed: int, window: int = 12) -> None:
    """``detente report --backtest``: run the backtest and write its page to ``out``."""
    import time

    from ..report.backtest_page import backtest_html
    from ..sweeps.backtest import BacktestResult

    started = time.perf_counter()
    result = run_backtest(names, samples, seed, window, True)
    assert isinstance(result, BacktestResult)
    html = backtest_html(result.to_dict())
    out.write_text(html, encoding="utf-8")
    seconds = time.perf_counter() - started
    _console(stderr=True).print(f"wrote {out} ({len(html) / 1e6:.1f} MB, {seconds:.1f} s): {result.summary_line()}")
