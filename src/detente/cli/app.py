"""The shared pieces of the ``detente`` command line: the Typer app, options, errors, output.

Every command loads a scenario (a file or a built-in case name), calls one library function
and renders its result with Rich, or as JSON with ``--json``. Errors a user can fix print one
clear message per problem and exit with code 2; nothing prints a traceback unless
``DETENTE_DEBUG=1`` is set. Heavy libraries are imported inside the commands so that
``detente --help`` answers at once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ..core.limits import MAX_SEED

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario
    from .console import SafeConsole as Console

app = typer.Typer(
    name="detente",
    help=(
        "Design and stress-test phased, reciprocal agreements between adversaries: check "
        "whether a phasing is self-enforcing, design the fastest one that is, and see why."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich's help renderer alone costs ~0.2 s per --help
)

F = TypeVar("F", bound=Callable[..., Any])


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        sys.stdout.write(f"detente {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print detente's version and exit.", is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    """Design and stress-test phased, reciprocal agreements between adversaries: check whether a phasing is
    self-enforcing, design the fastest one that is, and see why."""


ScenarioArg = Annotated[str, typer.Argument(help="A scenario file (YAML) or a built-in case name, e.g. hanoi-2019.")]
ScheduleOpt = Annotated[
    str | None, typer.Option("--schedule", "-s", help="Which named schedule to use (default: all, or the only one).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="What-if override: PARAM=VALUE or PARTY.field=VALUE or CONCESSION.field=VALUE (repeatable).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
WideOpt = Annotated[
    bool, typer.Option("--wide", help="Print tables at their natural width instead of fitting the terminal.")
]

#: The width ``--wide`` gives the console: tables print at their natural width up to this.
WIDE = 1000

#: Seeds are stored as signed 64-bit integers: 0 to 2**63 - 1 (checked before anything runs).
SEED_RANGE: dict[str, Any] = {"min": 0, "max": MAX_SEED}


def _console(stderr: bool = False, *, wide: bool = False) -> Console:
    """A Rich console; the error console never wraps lines, so FILE:LINE:COL stays whole.

    It is a :class:`~detente.cli.console.SafeConsole`: text from a scenario cannot become a
    hyperlink, an emoji or hidden text, whichever renderer prints it. ``wide`` lifts the
    terminal's width so that tables print unwrapped (``--wide``)."""
    from .console import SafeConsole

    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=stderr, width=WIDE if wide else None)


def _fail(message: str, code: int = 2) -> None:
    err = _console(stderr=True)
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def _guard(func: F) -> F:
    """Turn detente errors into one clear message and exit code 2; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..core.errors import DetenteError, ScenarioError

        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except ScenarioError as exc:
            err = _console(stderr=True)
            from rich.markup import escape

            err.print(f"[bold red]error:[/] {escape(exc.render())}")
            raise typer.Exit(2) from None
        except DetenteError as exc:
            from rich.markup import escape

            _fail(escape(str(exc)), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except Exception as exc:  # a bug: say so plainly, no traceback unless debugging
            if os.environ.get("DETENTE_DEBUG"):
                raise
            from rich.markup import escape

            _fail(
                f"internal error ({type(exc).__name__}: {escape(str(exc))}). This is a bug in "
                "detente; rerun with DETENTE_DEBUG=1 for the traceback and please report it.",
                70,
            )
        return None

    return wrapper  # type: ignore[return-value]


def _parse_sets(items: list[str] | None) -> dict[str, float | str]:
    """``--set NAME=VALUE`` items; a number must be finite and within the number-size limit."""
    from ..core.overrides import parse_overrides

    return parse_overrides(items, option=lambda x: f"--set {x}", example="--set leakage=0.6")


def _load(source: str, sets: list[str] | None = None) -> Scenario:
    """Load a scenario and apply --set overrides (parameters stay parameters)."""
    from ..io.yaml import load

    scn = load(source)
    overrides = _parse_sets(sets)
    return scn.with_overrides(overrides, "--set") if overrides else scn


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class _Progress:
    """A Rich progress bar on stderr, shown only when stderr is a terminal and not with --json."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            self.bar.__enter__()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
