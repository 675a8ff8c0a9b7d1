"""The terminal at 80 columns: no line longer than the terminal, no id or word cut in two.

Each command runs through the CLI with ``COLUMNS=80``; the ids it must show (concessions,
parameters, strategies, run ids, claim ids) are looked up from the library, so the tests check
that each appears whole, not that a particular layout was chosen. ``--wide`` prints the
natural tables. :class:`FitTable` itself is checked on generated tables at generated widths.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.report.tables import FitTable, plural

runner = CliRunner()
WIDTH = 80


def run80(*args: str, width: int = WIDTH) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def long_lines(text: str, width: int = WIDTH) -> list[str]:
    return [line for line in text.splitlines() if len(line) > width]


def whole(text: str, word: str) -> bool:
    """``word`` appears with no word character glued to either side (so it was not cut)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.fixture(scope="module")
def hanoi() -> detente.Scenario:
    return detente.load("hanoi-2019")


def test_show_fits_80_columns_and_keeps_every_id_whole(hanoi: detente.Scenario) -> None:
    out = run80("show", "hanoi-2019")
    assert long_lines(out) == []
    for ident in [p.id for p in hanoi.parties] + [c.id for c in hanoi.concessions] + list(hanoi.parameters):
        assert whole(out, ident), ident
    for c in hanoi.concessions:  # names wrap only at spaces
        for word in (c.name or "").split():
            assert whole(out, word), word


def test_wide_prints_the_natural_table() -> None:
    narrow = run80("show", "hanoi-2019")
    wide = run80("show", "hanoi-2019", "--wide")
    assert max(len(line) for line in wide.splitlines()) > WIDTH
    assert re.search(r"┃ id +┃ name +┃ by", wide)  # the concessions as one table with a header row
    assert len(wide.splitlines()) < len(narrow.splitlines())


@pytest.mark.parametrize("schedule", ["us-big-deal", "phased"])
def test_check_fits_80_columns(schedule: str) -> None:
    out = run80("check", "hanoi-2019", "-s", schedule, "--leverage", "--tipping")
    assert long_lines(out) == []
    for word in ("halt", "comply", "deviate", "slack", "exposure", "leverage"):
        assert whole(out, word), word


def test_design_fits_80_columns_and_prints_no_solver_chatter(hanoi: detente.Scenario) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "detente", "design", "hanoi-2019"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "COLUMNS": "80"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Highs" not in run.stdout + run.stderr
    assert run.stderr == ""
    assert long_lines(run.stdout) == []
    assert "The fastest self-enforcing schedule completes in month" in run.stdout
    for c in hanoi.concessions:
        for word in (c.label or c.id).split():
            assert whole(run.stdout, word), word


def test_c_output_is_silenced_at_the_file_descriptor_level(tmp_path: Path) -> None:
    script = (
        "import ctypes, os\n"
        "from detente.core.quiet import c_output_silenced\n"
        "libc = ctypes.CDLL(None)\n"
        "with c_output_silenced():\n"
        "    libc.printf(b'from C on stdout\\n')\n"
        "    os.write(2, b'raw on stderr\\n')\n"
        "    print('from Python')\n"
        "print('after')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "after\n"
    assert run.stderr == ""


def test_simulate_fits_80_columns() -> None:
    out = run80("simulate", "hanoi-2019", "-s", "phased", "-n", "200", "--seed", "1", "--no-store")
    assert long_lines(out) == []
    assert "200 episodes, 120 months, seed 1" in out
    for word in ("US", "DPRK", "reciprocal"):
        assert whole(out, word), word


def test_tournament_fits_80_columns_and_names_every_strategy() -> None:
    out = run80("tournament", "hanoi-2019", "-s", "phased", "--episodes", "4", "--seed", "1", "--horizon", "24")
    assert long_lines(out) == []
    data = json.loads(
        run80("tournament", "hanoi-2019", "-s", "phased", "--episodes", "4", "--seed", "1", "--horizon", "24", "--json")
    )
    for name in data["rows"] + data["columns"]:
        assert whole(out, name), name
    assert "…" not in out


def test_classic_match_prints_a_table_not_python_structures() -> None:
    out = run80("match", "tit-for-tat", "defector", "--turns", "200")
    assert "tit-for-tat vs defector, 200 turns, noise 0: scores 199 - 204" in out
    assert "{" not in out
    assert "[" not in out
    assert re.search(r"score per turn\s*│\s*0\.995\s*│\s*1\.02", out), out
    assert "1 repetition" in out
    assert "1 repetitions" not in out


def test_validate_says_one_schedule_not_one_schedules(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        "name: one\nparties: [{id: A, discount: 0.9}, {id: B, discount: 0.9}]\n"
        "concessions: [{id: x, by: A, flow: {B: 1, A: -0.1}}]\n"
        "schedules: {only: [{period: 0, concession: x}]}\n",
        encoding="utf-8",
    )
    out = run80("validate", str(path))
    assert "(2 parties, 1 concession, 1 schedule, 1 step, 0 parameters)" in " ".join(out.split())


def test_sensitivity_and_runs_fit_80_columns(tmp_path: Path, hanoi: detente.Scenario) -> None:
    store = str(tmp_path / "runs.duckdb")
    out = run80(
        "sensitivity",
        "hanoi-2019",
        "--output",
        "check[phased].margin",
        "-n",
        "2",
        "--no-second-order",
        "--store",
        store,
        "--run-id",
        "sensitivity-20261202-044703-abcdefgh",
    )
    assert long_lines(out) == []
    for name in hanoi.parameters:
        assert whole(out, name), name
    listing = run80("runs", "--store", store)
    assert long_lines(listing) == []
    assert whole(listing, "sensitivity-20261202-044703-abcdefgh")
    shown = run80("runs", "--store", store, "show", "sensitivity-20261202-044703-abcdefgh")
    assert long_lines(shown) == []


def test_claims_fit_80_columns_and_read_as_sentences(tmp_path: Path) -> None:
    out = run80(
        "claims",
        "hanoi-2019",
        "--only",
        "hostage-not-irreversible",
        "--only",
        "phased-survives-slow-verification",
        "--samples",
        "50",
        "--store",
        str(tmp_path / "runs.duckdb"),
    )
    assert long_lines(out) == []
    for ident in ("hostage-not-irreversible", "phased-survives-slow-verification"):
        assert whole(out, ident), ident
    flat = " ".join(out.split())
    assert "only at none" not in flat
    assert "holds only none" not in flat


# --------------------------------------------------------------------------- FitTable itself

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-.0123456789", min_size=1, max_size=14)
CELL = st.lists(WORD, min_size=0, max_size=6).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    headers=st.lists(WORD, min_size=1, max_size=6),
    data=st.data(),
    width=st.integers(min_value=30, max_value=140),
    show_header=st.booleans(),
)
def test_fit_table_never_cuts_a_word_and_fits_when_it_can(
    headers: list[str], data: st.DataObject, width: int, show_header: bool
) -> None:
    rows = data.draw(st.lists(st.lists(CELL, min_size=len(headers), max_size=len(headers)), max_size=5))
    table = FitTable(title="t", markup=False, show_header=show_header)
    for i, h in enumerate(headers):
        table.add_column(h, key=i == 0)
    for row in rows:
        table.add_row(*row)
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    console.file.close()
    tokens = set(re.findall(r"[^\s│┃]+", text))
    for row in rows:
        for cell in row[1:]:
            for word in cell.split():
                assert word in tokens or any(word in t for t in tokens), word
        if row[0] and len(row[0]) <= width:
            assert row[0] in text  # the key cell stays on one line
    longest_word = max([len(w) for r in rows for c in r for w in c.split()] + [len(h) for h in headers])
    if longest_word + 4 <= width and all(len(r[0]) + 4 <= width for r in rows):
        assert all(len(line) <= width for line in text.splitlines()), text


def test_plural() -> None:
    assert plural(1, "schedule") == "1 schedule"
    assert plural(0, "schedule") == "0 schedules"
    assert plural(2, "party", "parties") == "2 parties"
    assert plural(1024, "point") == "1,024 points"


def test_report_prints_no_solver_chatter(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "detente", "report", "hanoi-2019", "--no-claims", "--episodes", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Highs" not in run.stdout + run.stderr
    assert out.exists()


def test_scenario_text_is_printed_as_text_not_markup_or_emoji(tmp_path: Path) -> None:
    path = tmp_path / "markup.yaml"
    path.write_text(
        "name: '[bold]Markup[/bold] :x:'\n"
        "parties:\n"
        "  - {id: A, name: '[link=http://evil.example/x]Alpha[/link]', discount: 0.9}\n"
        "  - {id: B, name: ':x: Beta', discount: 0.9}\n"
        "concessions: [{id: x, by: A, name: '[red]x[/red]', flow: {B: 1, A: -0.1}}]\n"
        "schedules: {only: [{period: 0, concession: x}]}\n",
        encoding="utf-8",
    )
    out = run80("show", str(path))
    for text in ("[link=http://evil.example/x]Alpha[/link]", ":x: Beta", "[red]x[/red]", "[bold]Markup[/bold] :x:"):
        assert text in out, text
    assert "❌" not in out


def test_silencing_is_left_alone_off_the_main_thread(capfd: pytest.CaptureFixture[str]) -> None:
    import threading

    from detente.core.quiet import c_output_silenced

    def job() -> None:
        with c_output_silenced():
            sys.stdout.write("from a job thread\n")
            sys.stdout.flush()

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert "from a job thread" in capfd.readouterr().out
