"""The README is tested: its commands run, its shown output is the output, its numbers are the code's.

The README's fenced ``console`` blocks are parsed: every ``$ detente ...`` command is run
through the CLI (from the repository's root, in a scratch store), the lines shown under it
must appear in its output in order (``...`` skips lines), every number in a ``# comment``
must be in its output, and each ``> quoted`` paragraph must be in the output of the command just
above it. The prose's numbers are read from the README by the patterns in :data:`PROSE` and
recomputed from the code, so the prose cannot drift: when the model changes a number, the
README must change with it. :func:`test_every_number_in_the_prose_is_checked` fails on a
number that no pattern covers, so a new claim cannot be added unchecked.

Slow commands run with smaller arguments (:data:`SMALLER`); the numbers the README states
always come from the exact command it shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
runner = CliRunner()


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Command:
    line: int  #: line of the README where the command starts
    args: tuple[str, ...]  #: the arguments after ``detente``
    comment: str  #: the ``# ...`` after the command, if any
    shown: tuple[str, ...]  #: the output lines shown under it

    @property
    def text(self) -> str:
        return " ".join(self.args)


def _split(command: str) -> tuple[str, ...]:
    import shlex

    return tuple(shlex.split(command))


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """``(language, first line number, lines)`` of each fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield m.group(1), start + 1, body
        i += 1


def commands(text: str | None = None) -> list[Command]:
    """Every ``$ detente ...`` in the README's console blocks, with what is shown under it."""
    out: list[Command] = []
    for lang, start, body in fenced_blocks(text or readme_text()):
        if lang != "console":
            continue
        i = 0
        while i < len(body):
            line = body[i]
            if not line.startswith("$ detente"):
                i += 1
                continue
            at = start + i
            full = line[2:]
            while full.rstrip().endswith("\\") and i + 1 < len(body):
                i += 1
                full = full.rstrip()[:-1] + " " + body[i].strip()
            command, _, comment = full.partition(" #")
            i += 1
            shown: list[str] = []
            while i < len(body) and not body[i].startswith("$ "):
                shown.append(body[i])
                i += 1
            out.append(Command(at, _split(command)[1:], comment.strip(), tuple(shown)))
    return out


def prose(text: str | None = None) -> str:
    """The README without its fenced blocks and inline code (where numbers are not claims)."""
    text = text or readme_text()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`]*`", "", text)


def quotes(text: str | None = None) -> list[tuple[int, str]]:
    """Each ``> quoted`` paragraph: its first line number and its lines joined by `` / ``."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate((text or readme_text()).splitlines(), 1):
        if line.startswith(">"):
            if not current:
                start = n
            current.append(line[1:].strip())
        elif current:
            out.append((start, " / ".join(current)))
            current = []
    return out


def flat(text: str) -> str:
    """Output without box drawing, whitespace collapsed: what a reader reads."""
    return " ".join(re.sub(r"[│┃╭╮╰╯─━┏┓┗┛┡┩└┘┌┐├┤┼╇╈╋┳┻]", " ", text).split())


# --------------------------------------------------------------------------- running

#: Commands too slow for the suite at the README's size run with these arguments instead.
SMALLER: dict[str, tuple[str, ...]] = {
    "tournament hanoi-2019 -s phased --episodes 2000 --seed 1": (
        "tournament",
        "hanoi-2019",
        "-s",
        "phased",
        "--episodes",
        "10",
        "--seed",
        "1",
        "--horizon",
        "24",
    ),
    "claims hanoi-2019 --samples 256 --seed 1": (
        "claims",
        "hanoi-2019",
        "--samples",
        "50",
        "--seed",
        "1",
        "--only",
        "hostage-not-irreversible",
    ),
    "sensitivity hanoi-2019 --output check[phased].margin": (
        "sensitivity",
        "hanoi-2019",
        "--output",
        "check[phased].margin",
        "-n",
        "2",
        "--no-second-order",
    ),
    "sweep hanoi-2019 --analysis check --samples 1024 --seed 1 --executor dask": (
        "sweep",
        "hanoi-2019",
        "--analysis",
        "check",
        "--samples",
        "8",
        "--seed",
        "1",
        "--executor",
        "dask",
        "--workers",
        "1",
    ),
    "report hanoi-2019 --out report.html": (
        "report",
        "hanoi-2019",
        "--out",
        "report.html",
        "--no-claims",
        "--episodes",
        "10",
    ),
}

#: Commands that are not run here, and why.
NOT_RUN = {"serve": "a server that runs until stopped; tests/test_web_api.py and tests/browser drive it"}


@cache
def run(args: tuple[str, ...], columns: int = 200) -> tuple[int, str]:
    """Run ``detente ARGS`` from the repository's root (once per arguments)."""
    import os

    here = Path.cwd()
    os.chdir(ROOT)
    try:
        result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
    finally:
        os.chdir(here)
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files the README's commands write (report.html, timeline.svg, ...) go to a scratch copy."""
    monkeypatch.setenv("DETENTE_STORE", str(tmp_path / "runs.duckdb"))


def _args_for(cmd: Command, tmp: Path) -> tuple[str, ...]:
    args = SMALLER.get(cmd.text, cmd.args)
    out: list[str] = []
    for i, a in enumerate(args):  # outputs are written to the scratch directory
        if i > 0 and args[i - 1] in ("--out", "-o"):
            a = str(tmp / Path(a).name)
        out.append(a)
    return tuple(out)


README_COMMANDS = commands()


def test_the_readme_has_commands_to_check() -> None:
    texts = [c.text for c in README_COMMANDS]
    assert len(texts) >= 15
    assert any(c.shown for c in README_COMMANDS)
    for key in SMALLER:
        assert key in texts, f"SMALLER names a command the README no longer shows: {key}"


@pytest.mark.parametrize("cmd", [c for c in README_COMMANDS if c.args[0] not in NOT_RUN], ids=lambda c: c.text[:60])
def test_every_readme_command_runs_and_shows_what_the_readme_shows(cmd: Command, tmp_path: Path) -> None:
    args = _args_for(cmd, tmp_path)
    code, output = run(args)
    expected_code = 2 if cmd.args[0] == "validate" and "broken" in cmd.text else 0
    assert code == expected_code, output
    assert "Traceback" not in output
    lines = [line.rstrip() for line in output.splitlines()]
    i = 0
    skipping = False
    for want in (line.rstrip() for line in cmd.shown):
        if want in ("...", "…"):
            skipping = True
            continue
        if skipping:
            while i < len(lines) and lines[i] != want:
                i += 1
        assert i < len(lines), f"README line {cmd.line}: {want!r} is missing from:\n{output}"
        assert lines[i] == want, f"README line {cmd.line}: expected {want!r}, got:\n{output}"
        i += 1
        skipping = False
    printed = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", flat(output).replace("−", "-"))]
    for number in re.findall(r"-?\d+(?:\.\d+)?", cmd.comment):  # each number of the `# comment`
        assert same_number(number, printed), (
            f"README line {cmd.line}: {number} (in {cmd.comment!r}) is not in the output:\n{output}"
        )


def same_number(quoted: str, printed: list[float]) -> bool:
    """``quoted`` is one of the ``printed`` numbers: equal, or (with three significant digits or
    more) the printed number rounded to the quoted decimals, e.g. 0.5625 for 0.562500."""
    value = float(quoted)
    if value in printed:
        return True
    decimals = len(quoted.partition(".")[2])
    digits = len(quoted.lstrip("-").replace(".", "").lstrip("0"))
    return digits >= 3 and any(round(p, decimals) == value for p in printed)


def test_same_number() -> None:
    assert same_number("0.5625", [0.5625])
    assert same_number("0.5625", [0.56250001])
    assert not same_number("0.5625", [0.5626])
    assert not same_number("1", [1.2])
    assert same_number("-0.25", [-0.25])


def test_the_commands_not_run_are_named() -> None:
    for cmd in README_COMMANDS:
        if cmd.args[0] in NOT_RUN:
            assert NOT_RUN[cmd.args[0]]


@pytest.mark.parametrize(("line", "quote"), quotes(), ids=lambda x: str(x)[:40])
def test_every_quote_is_what_the_command_above_it_prints(line: int, quote: str, tmp_path: Path) -> None:
    above = [c for c in README_COMMANDS if c.line < line]
    assert above, f"README line {line}: a quote with no command above it"
    cmd = above[-1]
    _, output = run(_args_for(cmd, tmp_path))
    for part in quote.split(" / "):  # each README line of the quote (they may be separate lines of output)
        wanted = part.rstrip("…").strip()
        assert flat(wanted) in flat(output), f"README line {line}: {wanted!r} not in the output of `detente {cmd.text}`"


# --------------------------------------------------------------------------- the prose's numbers


@cache
def json_of(*args: str) -> Any:
    code, output = run((*args, "--json"))
    assert code == 0, output
    return json.loads(output)


def readme_command(prefix: str) -> tuple[str, ...]:
    """The README's own command that starts with ``prefix`` (so the numbers follow its arguments)."""
    found = [c for c in README_COMMANDS if c.text.startswith(prefix)]
    assert len(found) == 1, f"expected one README command starting {prefix!r}, found {len(found)}"
    return found[0].args


def pct(x: float) -> str:
    return f"{100 * x:.0f}"


def check_json(schedule: str) -> Any:
    return json_of("check", "hanoi-2019", "--schedule", schedule)


def _design() -> Any:
    return json_of("design", "hanoi-2019")


def _simulate(prefix: str) -> Any:
    return json_of(*readme_command(prefix), "--no-store")


def _dprk_participation() -> list[str]:
    return [f"{check_json('us-big-deal')['participation']['DPRK']:.2f}".replace("-", "−")]


def _tightest(schedule: str) -> dict[str, Any]:
    data = check_json(schedule)
    rows = [c for c in data["constraints"] if c.get("slack") is not None]
    return min(rows, key=lambda c: c["slack"])


def _design_schedule() -> list[tuple[int, str, float]]:
    return [(s["period"], s["concession"], s["amount"]) for s in _design()["schedule"]]


def _last_month() -> list[str]:
    return [str(max(t for t, _, _ in _design_schedule()))]


def _pace_floor() -> list[str]:
    scn = detente.load("hanoi-2019")
    assert scn.design is not None
    tranches, pace = scn.design.tranches["icbm"], scn.design.pace["icbm"]
    return [str((tranches - 1) * pace)]


def _moratorium_month() -> list[str]:
    sched = _design_schedule()
    month = min(t for t, k, _ in sched if k == "moratorium")
    giver = {c.id: c.by for c in detente.load("hanoi-2019").concessions}
    dprk = sorted({t for t, k, _ in sched if giver[k] == "DPRK"})
    assert month > dprk[0], "the moratorium is the DPRK's first step after all"
    assert month in dprk[-2:], "the moratorium is no longer among the DPRK's last steps"
    return [str(month)]


def _reciprocal() -> list[str]:
    data = _simulate("simulate hanoi-2019 -s phased --strategy US=reciprocal --strategy DPRK=reciprocal")
    return [pct(data["parties"]["DPRK"]["package_in_force"]["mean"]), f"{100 * data['crisis']['mean']:.1f}"]


def _hedger() -> list[str]:
    data = _simulate("simulate hanoi-2019 -s phased --strategy US=reciprocal --strategy DPRK=hedger")
    kept = data["parties"]["DPRK"]["package_in_force"]["mean"]
    return ["none" if kept == 0 else pct(kept), f"{100 * data['crisis']['mean']:.1f}"]


def _pressure() -> list[str]:
    data = _simulate("simulate hanoi-2019 -s phased --strategy US=maximum-pressure")
    assert f"{100 * data['crisis']['mean']:.1f}" == f"{100 * _hedger_crisis():.1f}", "no longer 'so does'"
    return [pct(data["parties"]["DPRK"]["package_in_force"]["mean"])]


def _hedger_crisis() -> float:
    crisis: float = _simulate("simulate hanoi-2019 -s phased --strategy US=reciprocal --strategy DPRK=hedger")[
        "crisis"
    ]["mean"]
    return crisis


def _no_deal() -> list[str]:
    dprk = _simulate("simulate hanoi-2019 -s phased --strategy US=reciprocal --strategy DPRK=reciprocal")["parties"][
        "DPRK"
    ]
    return [f"{dprk['no_deal_value']['mean']:.4g}", f"{dprk['value_vs_no_deal']['mean']:.3g}"]


def _claims_count() -> list[str]:
    from detente.sweeps.claims import claims_from_scenario

    n = len(claims_from_scenario(detente.load("hanoi-2019")))
    return [{6: "six", 5: "five", 7: "seven", 8: "eight"}.get(n, str(n))]


def _relief_tranches() -> list[str]:
    steps = [s for s in detente.load("hanoi-2019").get_schedule("phased") if s.concession == "relief"]
    return [{2: "two", 3: "three", 4: "four", 5: "five"}.get(len(steps), str(len(steps)))]


def _us_relief_month() -> list[str]:
    steps = [s for s in detente.load("hanoi-2019").get_schedule("us-big-deal") if s.concession == "relief"]
    assert [s.period for s in steps] == [12], "the US position no longer gives relief after a year"
    return ["a year"]


def _zone_relief() -> list[str]:
    """The month by which the DPRK's relief demand opens the zone, and the month it demanded."""
    from detente.design.zone import zone

    scn = detente.load("hanoi-2019")
    result = zone(scn)
    assert result.empty, "the Hanoi zone is no longer empty"
    demand = next(d for d in scn.demands if d.party == "DPRK" and d.concession == "relief")
    found = [c for c in result.conflict if c.demand == demand.id]
    assert found, f"{demand.id} is no longer in the conflicting set"
    return [str(found[0].relax_period), str(demand.period)]


_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}


@cache
def _backtest_result() -> Any:
    """The backtest of the README's command at the best values (its seed; the samples only
    estimate shares, which the prose does not state)."""
    from detente.cli.backtest import load_cases
    from detente.sweeps.backtest import backtest

    args = readme_command("backtest")
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 0
    return backtest(load_cases(None), samples=0, seed=seed)


def _backtest() -> list[str]:
    result = _backtest_result()
    dprk = [c for c in result.cases if "DPRK" in {p.id for p in detente.load(c.case).parties}]
    others = [c for c in result.cases if c not in dprk]
    right = [c for c in dprk if c.match["completed"] and c.match["party"] and c.match["timing"]]
    assert len(right) == len(dprk), "no longer right on every DPRK case's completion, breacher and timing"
    assert not any(c.matched for c in others), "a non-DPRK case now matches"
    completed = sorted(c.case for c in others if c.outcome.completed)
    assert completed == ["inf-1987", "libya-2003", "new-start-2010", "start-1991"], completed
    assert sorted(c.case for c in others if not c.outcome.completed) == ["jcpoa-2015"]
    assert all(not c.match["completed"] for c in others), "a non-DPRK case is now right on completion"
    kind = sum(c.match["kind"] for c in dprk)
    summary = result.summary()
    return [
        _WORDS.get(len(dprk), str(len(dprk))),
        _WORDS.get(kind, str(kind)),
        str(summary["matches_at_best"]),
        str(summary["cases"]),
    ]


#: (pattern in the README's prose with one group per number, what the code computes for them)
PROSE: list[tuple[str, Callable[[], list[str]]]] = [
    (r"the deal is worth (−?\d+\.\d+) to the DPRK against the status quo", _dprk_participation),
    (r"holds \(tightest slack (\d+\.\d+)\)", lambda: [f"{_tightest('dprk-offer')['slack']:.2f}"]),
    (
        r"tightest for the DPRK in month (\d+)\s+\(slack (\d+\.\d+)\)",
        lambda: (
            [
                str(_tightest("phased")["period"]),
                f"{_tightest('phased')['slack']:.2f}",
            ]
            if _tightest("phased")["party"] == "DPRK"
            else ["the tightest party is not the DPRK"]
        ),
    ),
    (r"relief after (a year) of verification", _us_relief_month),
    (r"relief in (four) tranches", _relief_tranches),
    (r"cannot finish before month (\d+)", _pace_floor),
    (r"the test moratorium, a reversible hostage: in month (\d+)", _moratorium_month),
    (
        r"phased reciprocity \(the first command\) ends with (\d+) % of the DPRK's package in\s+force and a crisis "
        r"in (\d+\.\d) % of ten-year episodes",
        _reciprocal,
    ),
    (
        r"A DPRK that hedges \(the second: only its\s+reversible steps\) stalls the process, keeps (\w+) of its "
        r"package and ends in crisis in (\d+\.\d) %",
        _hedger,
    ),
    (r"so does maximum pressure \(the third\), with (\d+) % of the package in\s+force", _pressure),
    (r"no deal is worth (-?\d+\.\d+) to the DPRK,\s+and phased reciprocity (\d+\.\d+) more than that", _no_deal),
    (r"carries (\w+) claims", _claims_count),
    (r"the DPRK's relief by month (\d+) instead of\s+month (\d+) would open it", _zone_relief),
    (
        r"It gets the (\w+) DPRK cases right on completion, first breacher and timing \((\w+) of them on\s+the kind"
        r"\s+of step as well\), and misses every agreement that was completed \(INF, START I, New\s+START, Libya\)"
        r"\s+and the US exit from the JCPOA: (\d+) of (\d+) cases match on every count at the best\s+values",
        _backtest,
    ),
    (r"and exit\s+code (\d+):", lambda: [str(run(readme_command("validate docs/examples/broken.yaml"))[0])]),
]


@pytest.mark.parametrize(("pattern", "compute"), PROSE, ids=[p[:40] for p, _ in PROSE])
def test_the_prose_states_the_numbers_the_code_computes(pattern: str, compute: Callable[[], list[str]]) -> None:
    matches = list(re.finditer(pattern, prose()))
    assert len(matches) == 1, f"the README's prose should match {pattern!r} once, found {len(matches)}"
    assert list(matches[0].groups()) == compute(), pattern


def test_the_design_block_states_the_designed_completion() -> None:
    shown = [c for c in README_COMMANDS if c.args[:2] == ("design", "hanoi-2019")]
    assert shown
    first = shown[0].shown[0]
    assert first == f"The fastest self-enforcing schedule completes in month {_last_month()[0]}."


#: Numbers in the prose that are facts of the case or of the set-up, not results of the model.
NOT_RESULTS = [
    r"Hanoi 2019",
    r"hanoi-2019",
    r"3\.11 or newer",
    r"2016-17",
    r"five of the|the five",
    r"127\.0\.0\.1:8000",
    r"Apache-2\.0",
    r"ten-year",
    r"second Trump-Kim summit",
    r"Agreed Framework \(1994\)",
    r"New START\s+\(2010\)",
]


def test_every_number_in_the_prose_is_checked() -> None:
    text = prose()
    covered: list[tuple[int, int]] = []
    for pattern in [p for p, _ in PROSE] + NOT_RESULTS:
        covered += [m.span() for m in re.finditer(pattern, text)]
    offset = 0
    for line in text.splitlines(keepends=True):  # quoted output is checked against its command
        if line.startswith(">"):
            covered.append((offset, offset + len(line)))
        offset += len(line)
    unchecked = [
        f"{m.group(0)!r} in '…{text[max(0, m.start() - 30) : m.end() + 30]}…'".replace("\n", " ")
        for m in re.finditer(r"(?<![\w.])−?\d+(?:[.,]\d+)*(?:\s?%)?", text)
        if not any(a <= m.start() < b for a, b in covered)
    ]
    assert unchecked == [], "numbers in the README that no test checks (add them to PROSE or NOT_RESULTS):\n" + (
        "\n".join(unchecked)
    )


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [body for lang, _, body in fenced_blocks(readme_text()) if lang == "python"]
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(blocks[0]), "README.md", "exec"), namespace)  # the README's own example, trusted
    assert (tmp_path / "my-case.yaml").exists()
    assert namespace["report"].self_enforcing is True


def test_the_yaml_example_is_a_valid_scenario() -> None:
    blocks = [body for lang, _, body in fenced_blocks(readme_text()) if lang == "yaml"]
    assert blocks
    scn = detente.loads("\n".join(blocks[0]), "README.md")
    assert [s.concession for s in scn.get_schedule("phased")] == ["moratorium", "relief"]
    assert scn.concessions[1].flow["DPRK"].source == "3 * (1 - leakage)"  # an expression, parsed
