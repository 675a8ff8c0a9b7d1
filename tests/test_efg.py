"""Gambit interop: ``detente export efg`` writes a valid .efg game whose subgame-perfect
play agrees with the check's verdict (the check and the game tree are independent paths: the
tree's payoffs come from the kernel's every-party path values, its verdict from backward
induction over the parsed text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from typer.testing import CliRunner

import detente
from detente.analysis.efg import EfgError, all_comply_is_spe, deviation_game_efg, parse_efg
from detente.cli import app
from detente.core.errors import UsageError
from detente.core.scenario import Scenario
from strategies_check import scenario_data

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in detente.builtin_cases():
        scn = detente.load(name)
        out += [(name, s) for s in scn.schedule_names]
    return out


@pytest.mark.parametrize(("case", "schedule"), _cases())
def test_spe_agrees_with_the_check_on_every_case(case: str, schedule: str) -> None:
    scn = detente.load(case)
    game = parse_efg(deviation_game_efg(scn, schedule))
    assert game.players == list(scn.party_ids)
    assert all_comply_is_spe(game) is detente.check(scn, schedule).self_enforcing


def test_worked_examples_table() -> None:
    """The worked schedules of docs/model.md §3, self-enforcing and not."""
    scn = detente.load(FIXTURES / "check" / "hostage_schedules.yaml")
    verdicts = {}
    for name in scn.schedule_names:
        verdicts[name] = all_comply_is_spe(parse_efg(deviation_game_efg(scn, name)))
        assert verdicts[name] is detente.check(scn, name).self_enforcing
    assert set(verdicts.values()) == {True, False}  # the table has both kinds


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data())
def test_spe_agrees_with_the_check_on_random_scenarios(data: dict[str, Any]) -> None:
    scn = Scenario.model_validate(data)
    report = detente.check(scn)
    # keep away from the tolerance: the game scales a slack at period t by discount**t
    deltas = {p.id: p.discount for p in scn.parties}
    scaled = [c.slack * deltas[c.party] ** c.period for c in report.constraints]
    scaled += list(report.participation.values())
    scale = max([1.0, *(abs(v) for v in report.participation.values())])
    assume(all(abs(v) > 1e-6 * scale for v in scaled))
    game = parse_efg(deviation_game_efg(scn))
    assert all_comply_is_spe(game) is report.self_enforcing


def test_numbers_are_exact_decimals() -> None:
    text = deviation_game_efg(detente.load("hanoi-2019"), "phased")
    assert "e-" not in text.lower().replace("reverse", "")
    game = parse_efg(text)
    assert len(game.outcomes) == text.count("\nt ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('EFG 3 R "" { "A" }\nt "" 1 "" { 1 }\n', "version 2"),
        ('EFG 2 R "" { "A" }\np "" 2 1 "" { "x" } 0\nt "" 1 "" { 1 }\n', "player 2 is not one"),
        ('EFG 2 R "" { "A" "B" }\nt "" 1 "" { 1 }\n', "1 payoffs for 2 players"),
        ('EFG 2 R "" { "A" }\np "" 1 1 "" { "x" "y" } 0\nt "" 1 "" { 1 }\n', "tree is incomplete"),
        ('EFG 2 R "" { "A" }\nt "" 1 "" { 1 }\nt "" 2 "" { 1 }\n', "line 3: expected the end"),
        ('EFG 2 R "" { "A" }\nt "" 1 "" { 1e-3 }\n', "line 2: expected a payoff"),
        ('EFG 2 R "" { "A" }\nt "" 0\n', "has no outcome"),
        ('EFG 2 R "" { "A" }\nt "" 3\n', "used before its payoffs"),
        ('EFG 2 R "" { "A" }\nc "" 1 "" { "a" 1/2 "b" 1/3 } 0\nt "" 1 "" { 1 }\nt "" 1\n', "sum to 1"),
        ('EFG 2 R "" { "A" }\np "" 1 1 "" { "x" "y" } 0\np "" 1 1 "" { "x" } 0\nt "" 1 "" { 1 }\n', "different"),
        ('EFG 2 R "unclosed { "A" }\n', "line 1"),
    ],
)
def test_grammar_check_rejects_bad_files(text: str, message: str) -> None:
    with pytest.raises(EfgError, match=message):
        parse_efg(text)


def test_grammar_check_reads_gambit_examples() -> None:
    """A chance node, shared outcomes and escaped quotes, as in Gambit's documented examples."""
    text = (
        'EFG 2 R "A \\"simple\\" game" { "Player 1" "Player 2" }\n"comment"\n\n'
        'c "" 1 "(0,1)" { "RED" 1/2 "BLACK" 1/2 } 0\n'
        'p "" 1 1 "(1,1)" { "Raise" "Fold" } 0\n'
        't "" 1 "Win" { 1 -1 }\n'
        't "" 2 "Lose" { -1 1 }\n'
        'p "" 1 2 "(1,2)" { "Raise" "Fold" } 0\n'
        't "" 1\n'
        't "" 2\n'
    )
    game = parse_efg(text)
    assert game.title == 'A "simple" game'
    assert [c.kind for c in game.root.children] == ["p", "p"]
    assert game.root.children[1].children[0].payoffs == game.outcomes[1]


def test_cli_writes_the_game(tmp_path: Path) -> None:
    out = tmp_path / "phased.efg"
    result = runner.invoke(app, ["export", "efg", "hanoi-2019", "--schedule", "phased", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert parse_efg(out.read_text()).players == ["US", "DPRK"]
    result = runner.invoke(app, ["export", "efg", "hanoi-2019", "--schedule", "phased"])
    assert result.exit_code == 0
    assert result.stdout.startswith("EFG 2 R ")


def test_too_large_a_game_is_refused() -> None:
    scn = detente.load("hanoi-2019")
    with pytest.raises(UsageError, match=r"has 1\d\d nodes .* limit of 50"):
        deviation_game_efg(scn, "phased", max_nodes=50)


def test_cli_bad_schedule_exits_2() -> None:
    result = runner.invoke(app, ["export", "efg", "hanoi-2019", "--schedule", "nope"])
    assert result.exit_code == 2
    assert "no schedule named 'nope'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("source", ["hanoi-2019", str(FIXTURES / "check" / "hostage_schedules.yaml")])
def test_pygambit_agrees_with_the_check(source: str) -> None:
    """With the optional ``gambit`` extra: Gambit reads every file; the profile "sign, always
    comply" has zero regret at every information set (it is subgame perfect: every decision node
    lies on its path, a deviation ending the game) exactly when the check says self-enforcing;
    and on small games Gambit's enumeration of pure agent-form equilibria finds it exactly then."""
    gbt = pytest.importorskip("pygambit")
    import io

    scn = detente.load(source)
    for name in scn.schedule_names:
        game = gbt.read_efg(io.StringIO(deviation_game_efg(scn, name)))
        assert [p.label for p in game.players] == list(scn.party_ids)
        profile = game.mixed_behavior_profile(rational=False)
        for infoset in game.infosets:
            actions = list(infoset.actions)
            for action in actions:
                profile[action] = 0.0
            profile[actions[-1]] = 1.0
        verdict = detente.check(scn, name).self_enforcing
        assert (profile.max_regret() <= 1e-9) is verdict, name
        if len(game.infosets) <= 12:
            eqa = gbt.nash.enumpure_agent_solve(game).equilibria
            found = any(all(e[list(i.actions)[-1]] == 1 for i in game.infosets) for e in eqa)
            assert found is verdict, name


def test_cli_refuses_a_game_over_the_limit(tmp_path: Path) -> None:
    """50 parties, each with one step at period 200: 10,050 decisions, over 20,000 nodes."""
    parties = "\n".join(f"  - {{id: P{i}, discount: 0.9}}" for i in range(50))
    concessions = "\n".join(f"  - {{id: c{i}, by: P{i}, flow: {{P{i}: -1, P{(i + 1) % 50}: 2}}}}" for i in range(50))
    schedule = "\n".join(f"  - {{period: 200, concession: c{i}}}" for i in range(50))
    path = tmp_path / "many.yaml"
    path.write_text(f"name: many\nparties:\n{parties}\nconcessions:\n{concessions}\nschedule:\n{schedule}\n")
    result = runner.invoke(app, ["export", "efg", str(path)])
    assert result.exit_code == 2
    assert "nodes" in result.output
    assert "limit of 20,000" in result.output
    assert "Traceback" not in result.output
