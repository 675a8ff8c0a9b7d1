"""The HTML report and the figure, report and serve commands."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.report.html import ReportOptions, build_report, linkify, render_report, report_html

runner = CliRunner()


class Refs(HTMLParser):
    """Every URL the page would fetch by itself: script/img/iframe src, link href, CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "embed", "source", "audio", "video") and a.get("src"):
            self.fetched.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.fetched.append(str(a["href"]))
        if tag == "object" and a.get("data"):
            self.fetched.append(str(a["data"]))
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1


@pytest.fixture(scope="module")
def hanoi_html() -> str:
    # claims are exercised below with a stand-in: evaluating them takes most of a minute here
    options = ReportOptions(episodes=100, samples=8, claims=False)
    html = report_html(detente.load("hanoi-2019"), options, source="hanoi-2019")
    return html


def test_report_is_self_contained(hanoi_html: str) -> None:
    html = hanoi_html
    refs = Refs()
    refs.feed(html)
    assert refs.fetched == []
    assert refs.inline_scripts >= 3  # the figures' data, the Vega bundle, the initialiser
    assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"url\(\s*[\"']?https?:", html, re.I)
    assert "@import" not in html


def test_report_tells_the_whole_story(hanoi_html: str) -> None:
    html = hanoi_html
    scn = detente.load("hanoi-2019")
    # parties, concessions and the source of every number
    for party in scn.parties:
        assert party.name
        assert party.name.replace("'", "&#39;") in html
    for conc in scn.concessions:
        assert f'id="concession-{conc.id}"' in html
    for name, param in scn.parameters.items():
        assert f'id="param-{name}"' in html
        assert param.source
        first_words = param.source.split(" (")[0][:40]
        assert first_words.replace("'", "&#39;").replace('"', "&#34;") in html
    for key in scn.sources:
        assert f'id="source-{key}"' in html
    # the verdict on each schedule, with the explanation
    for name in scn.schedule_names:
        assert f'id="schedule-{name}"' in html
    big = detente.check(scn, "us-big-deal")
    assert big.violations[0].explanation.replace("'", "&#39;") in html
    assert "would rather not sign" in html
    # the designed roadmap, the tournament, claims and provenance
    assert 'id="design"' in html
    assert "Designed roadmap" in html
    assert "Strategy tournament" in html or "Tournament not available" in html
    assert "Claims not available: not requested" in html
    assert "Global sensitivity" in html
    assert scn.content_hash in html
    assert f"detente {detente.__version__}" in html


def test_report_embeds_its_results_as_json(hanoi_html: str) -> None:
    html = hanoi_html
    block = re.search(r'<script type="application/json" id="detente-data">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert set(data["checks"]) == {"us-big-deal", "dprk-offer", "phased"}
    assert data["checks"]["phased"]["self_enforcing"] is True
    assert data["checks"]["us-big-deal"]["self_enforcing"] is False
    assert data["provenance"]["seed"] == 0
    assert data["tournament"]["episodes"] == 100


def test_claims_section_shows_each_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    from detente.report import html as H

    claims = [
        {
            "id": "weaker-side-first",
            "statement": "not check[us-big-deal].self_enforcing",
            "holds_share": 0.875,
            "ci95": [0.53, 0.98],
            "drivers": [
                {"parameter": "leakage", "index": 0.41, "ci": [0.3, 0.5], "method": "extra-trees feature scoring"}
            ],
            "failure_box": {"text": "fails mainly when leakage > 0.52 (80% of the failures lie in this box)"},
            "verdict": "mostly holds",
            "message": "The model mostly agrees.",
        },
        {
            "id": "hostage-not-irreversible",
            "statement": "x",
            "holds_share": 0.0,
            "ci95": [0.0, 0.32],
            "drivers": [],
            "verdict": "mostly fails",
            "message": "The model disagrees with this claim.",
        },
    ]
    calls = []

    def fake(
        scn: object, samples: int, seed: int, progress: object = None, max_scans: int = 3
    ) -> tuple[list[dict], str]:
        calls.append((samples, seed))
        return claims, ""

    monkeypatch.setattr(H, "claims_data", fake)
    scn = detente.load("worked-hostage")
    opts = ReportOptions(design=False, tournament=False, sensitivity=False, samples=5, claim_samples=300, seed=3)
    data = build_report(scn, opts)
    html = render_report(data, bundle="")
    assert calls == [(300, 3)]
    assert ReportOptions().claim_samples >= 256  # intervals that mean something
    assert "weaker-side-first" in html
    assert "88 %" in html
    assert "53–98 %" in html
    assert "leakage (0.41, 0.3–0.5)" in html
    assert "The claim fails mainly when leakage &gt; 0.52" in html
    assert "none: the verdict is the same everywhere" in html
    assert "The model disagrees with this claim." in html
    assert data["claims"]["figure"]["data"]["values"][1]["verdict"] == "rarely holds"


def test_sections_that_cannot_run_say_so() -> None:
    scn = detente.load("worked-front-loaded")
    data = build_report(scn, ReportOptions(design=False, tournament=False, claims=False, sensitivity=False))
    html = render_report(data, bundle="/* no bundle in this test */")
    assert "Not available: not requested" in html
    assert "Tournament not available" in html


def test_report_escapes_scenario_text(tmp_path: Path) -> None:
    text = detente.dumps(detente.load("worked-hostage")).replace(
        "name: Worked example", "name: <script>alert(1)</script> Worked example", 1
    )
    scn = detente.loads(text, "x.yaml")
    html = render_report(build_report(scn, ReportOptions(design=False, tournament=False, claims=False)), bundle="")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_linkify_escapes_and_links() -> None:
    out = str(linkify('see https://example.org/a?b=1&c=2 and <b>"x"</b>.'))
    assert '<a href="https://example.org/a?b=1&amp;c=2"' in out
    assert "&lt;b&gt;" in out


# --------------------------------------------------------------------------- commands


def test_report_command_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "worked-hostage", "--out", str(out), "--episodes", "20", "--samples", "4"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert out.as_uri() in result.output.replace("\n", "")
    assert "Worked example - phased with a reversible hostage" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "extra"), [("timeline", ["-s", "hostage"]), ("slack", ["-s", "hostage"]), ("tornado", ["-s", "hostage"])]
)
def test_figure_command(tmp_path: Path, kind: str, extra: list[str]) -> None:
    out = tmp_path / f"{kind}.svg"
    result = runner.invoke(app, ["figure", kind, "worked-hostage", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<svg")


def test_figure_command_png_of_a_tournament(tmp_path: Path) -> None:
    out = tmp_path / "t.png"
    result = runner.invoke(
        app, ["figure", "tournament", "worked-hostage", "-s", "designed", "-n", "10", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["figure", "pie", "worked-hostage"], "unknown figure 'pie'"),
        (["figure", "slack", "worked-hostage"], "choose a schedule with --schedule"),
        (["figure", "slack", "worked-hostage", "-s", "hostage", "--out", "x.gif"], "unknown figure format"),
        (["report", "no-such-case"], "no file or built-in case"),
        (["serve", "--host", "0.0.0.0"], "refusing to bind 0.0.0.0"),
        (["serve", "--host", "10.0.0.5", "--token", "short"], "at least 8 characters"),
    ],
)
def test_commands_refuse_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_loopback_detection() -> None:
    from detente.cli.web import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.org"))


def test_roadmap_lines_are_numbered_as_what_they_are() -> None:
    from detente.report.html import roadmap_parts

    parts = roadmap_parts(
        [
            "The fastest self-enforcing schedule completes in month 20.",
            "Phase 1, month 0: DPRK 50 % of Yongbyon dismantlement",
            "Phase 2, month 1: DPRK 25 % of ICBM dismantlement",
            "Smallest normalised slack: 0.1038.",
            "Binding constraints:",
            "  DPRK: participation, slack 9.007",
        ]
    )
    assert parts["headline"] == "The fastest self-enforcing schedule completes in month 20."
    assert [p["number"] for p in parts["phases"]] == [1, 2]
    assert parts["notes"] == [
        {"text": "Smallest normalised slack: 0.1038.", "items": []},
        {"text": "Binding constraints:", "items": ["DPRK: participation, slack 9.007"]},
    ]


def test_report_lists_phases_by_their_numbers_and_notes_apart(hanoi_html: str) -> None:
    import re

    roadmap = hanoi_html[hanoi_html.index('id="design"') :]
    roadmap = roadmap[: roadmap.index("</div>")]
    items = re.findall(r'<li value="(\d+)"><span class="phase">Phase (\d+)</span>', roadmap)
    assert items
    assert all(a == b for a, b in items)
    assert [int(a) for a, _ in items] == list(range(1, len(items) + 1))
    ordered = roadmap[roadmap.index('<ol class="roadmap">') : roadmap.index("</ol>")]
    assert "Smallest normalised slack" not in ordered
    assert "Binding constraints" not in ordered
