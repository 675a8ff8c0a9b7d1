"""Text from a scenario file is printed as written: never a hidden hyperlink, an emoji or hidden text.

A party id ``[link=http://evil.example/x]DPRK[/link]`` once printed as "DPRK" with a hidden
terminal hyperlink, and ``:x:`` in an error as an emoji. Every command that prints scenario
text is run on such a file; the markup must appear literally.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.cli.console import SafeConsole, neutralise

EVIL = "[link=http://evil.example/x]DPRK[/link]"
NOTE = "[conceal]hidden[/conceal] :x: [/bold]"
TITLE = "toy :x: [link=http://e.example]t[/link]"
TOY = Path(__file__).parent / "fixtures" / "toy_sweeps.yaml"


@pytest.fixture
def evil_file(tmp_path: Path) -> Path:
    text = TOY.read_text(encoding="utf-8").replace("{id: DPRK,", f'{{id: "{EVIL}", name: "{NOTE}",')
    text = text.replace("by: DPRK", f'by: "{EVIL}"').replace("DPRK:", f'"{EVIL}":').replace(" DPRK: ", f' "{EVIL}": ')
    text = text.replace("name: toy", f'name: "{TITLE}"')
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("show",),
        ("check",),
        ("check", "--leverage"),
        ("validate",),
        ("simulate", "-s", "front", "-n", "50", "--no-store"),
        ("tournament", "-s", "front", "-n", "10"),
        ("design",),
    ],
)
def test_scenario_text_is_printed_literally(evil_file: Path, args: tuple[str, ...]) -> None:
    cmd, *rest = args
    result = CliRunner().invoke(app, [cmd, str(evil_file), *rest], env={"COLUMNS": "400"})
    assert result.exit_code in (0, 1), result.output
    assert (TITLE if cmd == "validate" else EVIL) in result.output
    assert "\N{CROSS MARK}" not in result.output
    assert "\x1b]8;" not in result.output


def test_an_error_message_keeps_its_markup_and_emoji_codes(tmp_path: Path) -> None:
    text = TOY.read_text(encoding="utf-8").replace("by: DPRK\n", f'by: ":x:{EVIL}"\n', 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert f":x:{EVIL}" in result.output


def test_the_safe_console_never_writes_a_hyperlink_on_a_terminal() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, force_terminal=True, color_system="truecolor", width=200)
    console.print(f"[bold]party[/] {EVIL} :x: [/bold] [/nothing]")
    text = out.getvalue()
    assert "\x1b]8;" not in text
    assert "\N{CROSS MARK}" not in text
    assert "evil.example" in text
    assert "\x1b[1m" in text  # detente's own [bold] still works


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[bold]x[/]", "[bold]x[/]"),
        ("[bold red]x[/bold red]", "[bold red]x[/bold red]"),
        ("[link=http://a]x[/link]", "\\[link=http://a]x\\[/link]"),
        ("\\[link=http://a]x", "\\[link=http://a]x"),
        ("[black on black]x", "\\[black on black]x"),
    ],
)
def test_neutralise_keeps_only_plain_styles(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_the_run_store_listing_prints_the_scenario_name_literally(evil_file: Path) -> None:
    runner = CliRunner()
    stored = runner.invoke(app, ["simulate", str(evil_file), "-s", "front", "-n", "20", "--json"])
    assert stored.exit_code == 0, stored.output
    run_id = json.loads(stored.stdout)["run_id"]
    shown = runner.invoke(app, ["runs", "show", run_id], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    assert TITLE in shown.output
    assert "\N{CROSS MARK}" not in shown.output
