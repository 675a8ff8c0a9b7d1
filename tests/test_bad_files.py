"""Bad scenario files: each gets one clear message naming the file, line, field and values.

One row per file in ``tests/fixtures/bad``: the substrings its message must contain and the
line it must point at. The same table runs through ``detente.load`` and through
``detente validate`` (exit code 2, no traceback). Files too big to keep in the repository
(the alias bomb, the 50 MB file) are written into a temporary directory by the tests.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detente
from detente.core.errors import Problem, format_loc
from strategies import scenario_dicts

BAD = Path(__file__).parent / "fixtures" / "bad"


@dataclass(frozen=True)
class Bad:
    file: str
    expected: tuple[str, ...]  # substrings of one problem: field path, expected, found, hint
    line: int | None  # the line that problem points at (None: the whole file)
    count: int = 1  # how many problems the file has


ROWS = [
    # malformed YAML
    Bad("malformed_yaml.yaml", ("not valid YAML", "did not find expected ',' or '}'"), 4),
    Bad("bad_indentation.yaml", ("not valid YAML", "expected '-' indicator"), 5),
    Bad("multiple_documents.yaml", ("not valid YAML", "expected a single document"), 3),
    Bad("empty.yaml", ("expected a scenario", "found an empty file"), 1),
    Bad("comments_only.yaml", ("expected a scenario", "found only comments"), 1),
    Bad("top_level_list.yaml", ("expected a mapping of sections", "found a list"), 1),
    Bad("top_level_scalar.yaml", ("expected a mapping of sections", "found 'just some text'"), 1),
    Bad("non_utf8.yaml", ("expected UTF-8 text", "found the byte 0xe9"), 2),
    Bad("duplicate_yaml_key.yaml", ("concessions[0].flow:", "duplicate key 'flow'", "line 8"), 9),
    Bad("null_key.yaml", ("concessions[0].flow:", "expected a key, found nothing"), 5),
    Bad("merge_key.yaml", ("parties[1]:", "merge keys (<<) are not supported"), 4),
    # unsafe YAML
    Bad(
        "python_tag.yaml",
        ("parties[1].discount:", "expected a plain YAML value", "'!!python/object/apply:os."),
        4,
    ),
    Bad("python_tag_scalar.yaml", ("parties[1].discount:", "'!!python/name:os.system'"), 4),
    Bad("custom_tag.yaml", ("parties[1].discount:", "found the tag '!secret'"), 4),
    Bad("recursive_alias.yaml", ("expected a finite document", "recursive alias"), 2),
    # wrong types
    Bad("wrong_type_discount.yaml", ("parties[0].discount:", "expected a number", "a list"), 3),
    Bad(
        "wrong_type_divisible.yaml",
        ("concessions[0].divisible:", "expected true or false", "found 'sometimes'"),
        9,
    ),
    Bad("wrong_type_parties.yaml", ("parties:", "expected a list", "found a mapping"), 3),
    Bad(
        "norway_id.yaml",
        ("parties[1].id:", "expected text", "found NO (which YAML reads as false)", "in quotes"),
        4,
    ),
    Bad("missing_parties.yaml", ("parties:", "missing required key 'parties'"), 1),
    Bad("missing_by.yaml", ("concessions[0].by:", "missing required key 'by'"), 6),
    Bad(
        "discount_as_text.yaml",
        ("parties[0].discount:", "expected a number or a parameter", "found 'high'"),
        3,
    ),
    # unknown references, misspelled keys
    Bad(
        "unknown_party_by.yaml",
        ("concessions[1].by:", "unknown party 'DPKR'", "did you mean 'DPRK'?"),
        7,
    ),
    Bad(
        "unknown_party_flow.yaml",
        ("concessions[0].flow.USA:", "unknown party 'USA'", "did you mean 'US'?"),
        8,
    ),
    Bad(
        "unknown_concession_schedule.yaml",
        ("schedule[1].concession:", "unknown concession 'releif'", "did you mean 'relief'?"),
        10,
    ),
    Bad(
        "unknown_concession_requires.yaml",
        ("concessions[1].requires[0]:", "unknown concession 'dismantel'", "'dismantle'?"),
        10,
    ),
    Bad(
        "unknown_schedule_in_named.yaml",
        ("schedules.slow[1].concession:", "unknown concession 'relif'", "did you mean 'relief'?"),
        12,
    ),
    Bad(
        "misspelled_key.yaml",
        ("concesions:", "unknown key 'concesions'", "did you mean 'concessions'?"),
        5,
    ),
    Bad(
        "misspelled_nested_key.yaml",
        ("concessions[0].verfication_lag:", "did you mean 'verification_lag'?"),
        9,
    ),
    Bad(
        "distribution_typo.yaml",
        ("parameters.leakage.distribution:", "found 'uniforn'", "did you mean 'uniform'?"),
        3,
    ),
    Bad(
        "effects_unknown_dimension.yaml",
        ("concessions[0].effects.US.securty:", "unknown dimension 'securty'", "'security'?"),
        11,
    ),
    Bad(
        "weights_unknown_dimension.yaml",
        ("parties[0].weights.economy:", "unknown dimension 'economy'", "(dimensions: security)"),
        4,
    ),
    # duplicates and cycles
    Bad(
        "duplicate_party_id.yaml",
        ("parties[2].id:", "duplicate party id 'US'", "first at parties[0]"),
        5,
    ),
    Bad(
        "duplicate_concession_id.yaml",
        ("concessions[2].id:", "duplicate concession id 'relief'", "first at concessions[0]"),
        8,
    ),
    Bad(
        "requires_cycle.yaml",
        ("concessions[0].requires:", "cycle: freeze -> inspect -> dismantle -> freeze"),
        6,
    ),
    Bad(
        "requires_violated.yaml",
        ("schedule[1]:", "'relief' requires 'dismantle'", "complete before period 0", "period 0"),
        10,
    ),
    # out-of-range values, NaN and infinities
    Bad("discount_above_one.yaml", ("parties[1].discount:", "a discount in (0, 1)", "1.2"), 4),
    Bad("discount_zero.yaml", ("parties[0].discount:", "a discount in (0, 1)", "found 0"), 3),
    Bad("nan_flow.yaml", ("concessions[0].flow.DPRK:", "expected a finite number", "found nan"), 8),
    Bad("infinite_discount.yaml", ("parties[0].discount:", "expected a finite number", "inf"), 3),
    Bad("infinite_text.yaml", ("concessions[0].flow.US:", "expected a finite number", "'-inf'"), 8),
    Bad(
        "huge_integer.yaml",
        ("concessions[0].flow.DPRK:", "expected a finite number", "315-digit number"),
        8,
    ),
    Bad(
        "negative_lag.yaml",
        ("concessions[0].verification_lag:", "expected a verification lag >= 0", "found -1"),
        9,
    ),
    Bad(
        "negative_delay.yaml",
        ("concessions[0].reversible.delay:", "expected a delay >= 0", "found -2"),
        9,
    ),
    Bad(
        "negative_cost.yaml",
        ("concessions[0].reversible.cost:", "expected a cost >= 0", "found -0.5"),
        9,
    ),
    Bad(
        "schedule_negative_period.yaml",
        ("schedule[0].period:", "expected a period >= 0", "found -1"),
        8,
    ),
    Bad(
        "schedule_fractional_period.yaml",
        ("schedule[0].period:", "expected a whole number", "found 1.5"),
        8,
    ),
    Bad(
        "parameter_out_of_range.yaml",
        ("parameters.leakage.value:", "inside its range [0, 1]", "found 1.5"),
        3,
    ),
    Bad(
        "parameter_range_reversed.yaml",
        ("parameters.leakage.range:", "low <= high", "found [1, 0]"),
        3,
    ),
    # schedules and design
    Bad(
        "indivisible_partial.yaml",
        ("schedule[1].amount:", "'dismantle' is not divisible", "expected amount 1", "found 0.5"),
        10,
    ),
    Bad(
        "amounts_over_one.yaml",
        ("schedule[2].amount:", "amounts of 'relief' to add up to at most 1", "found 1.25"),
        11,
    ),
    Bad(
        "tranches_zero.yaml",
        ("design.tranches.relief:", "expected at least 1 tranche", "found 0"),
        10,
    ),
    # expressions
    Bad(
        "unknown_parameter.yaml",
        ("concessions[0].flow.DPRK:", "unknown parameter 'leakge'", "did you mean 'leakage'?"),
        11,
    ),
    Bad(
        "division_by_zero.yaml",
        ("concessions[0].flow.DPRK:", "division by zero in '1 / leakage'"),
        10,
    ),
    Bad(
        "expr_import.yaml",
        ("concessions[0].flow.DPRK:", "a call to '__import__' is not allowed", 'found "'),
        8,
    ),
    Bad("expr_open.yaml", ("concessions[0].flow.DPRK:", "a call to 'open' is not allowed"), 8),
    Bad(
        "expr_attribute.yaml",
        ("concessions[0].flow.DPRK:", "attribute access ('.__class__') is not allowed"),
        10,
    ),
    Bad("expr_lambda.yaml", ("concessions[0].flow.DPRK:", "a call to a lambda is not allowed"), 8),
    Bad(
        "expr_comparison.yaml",
        ("concessions[0].flow.DPRK:", "found 'leakage > 0.5'", "a comparison is not allowed"),
        8,
    ),
    # every problem at once, including behind a type error
    Bad(
        "many_problems.yaml",
        ("concessions[0].by:", "unknown party 'USA'", "did you mean 'US'?"),
        6,
        count=3,
    ),
    Bad(
        "type_error_and_bad_reference.yaml",
        ("schedule[0].concession:", "unknown concession 'dismantel'", "'dismantle'?"),
        9,
        count=4,
    ),
    # demands (the agreement zone)
    Bad("demand_unknown_party.yaml", ("demands[1].party:", "unknown party 'DPKR'", "did you mean 'DPRK'?"), 12),
    Bad(
        "demand_unknown_concession.yaml",
        ("demands[0].concession:", "unknown concession 'dismantel'", "did you mean 'dismantle'?"),
        11,
    ),
    Bad("demand_unknown_period.yaml", ("demands[0].period:", "unknown period 9", "horizon 6"), 11),
    Bad("demand_unknown_form.yaml", ("demands[0].form:", "'after', 'in_force'", "found 'before'"), 11),
    Bad(
        "demand_contradictory.yaml",
        ("demands[1]:", "US's demands 'us-first' and 'us-relief-now' contradict each other", "period 2"),
        12,
    ),
    Bad(
        "detect_above_one.yaml",
        ("concessions[0].verification.detect:", "expected a probability in [0, 1]", "found 1.5"),
        9,
    ),
    Bad(
        "verification_lag_fractional.yaml",
        ("concessions[0].verification.lag:", "expected a whole number", "found 1.5"),
        9,
    ),
    # case library: outcomes, actor profiles, kinds
    Bad(
        "outcome_unknown_step.yaml",
        ("outcome.first_breach.step:", "unknown step 'frezee'", "did you mean 'freeze'?"),
        15,
    ),
    Bad(
        "outcome_unknown_party.yaml",
        ("outcome.first_breach.party:", "unknown party 'DPKR'", "did you mean 'DPRK'?"),
        15,
    ),
    Bad(
        "outcome_dates_out_of_order.yaml",
        ("outcome.exit.date:", "on or after the first breach (2001-03-01)", "found 2001-01-15"),
        16,
        count=4,
    ),
    Bad(
        "actor_missing_profile.yaml",
        ("actors.DPRK:", "no actor profile named 'north-korea'", "(profiles: "),
        3,
    ),
    Bad(
        "actor_override_without_reason.yaml",
        ("parameters.dprk_discount.value:", "override of the 'dprk' profile", "needs a 'reason'"),
        8,
    ),
    Bad(
        "concession_unknown_kind.yaml",
        ("concessions[0].kind:", "found 'frozen'", "did you mean 'freeze'?"),
        9,
    ),
    Bad(
        "outcome_many_problems.yaml",
        ("outcome.exit.party:", "unknown party 'ROK'"),
        21,
        count=6,
    ),
]


def test_every_bad_file_has_a_row() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(r.file for r in ROWS)
    assert len(ROWS) >= 25


def _matching(problems: list[Problem], expected: tuple[str, ...]) -> Problem:
    for p in problems:
        if all(s in str(p) for s in expected):
            return p
    shown = "\n".join(str(p) for p in problems)
    raise AssertionError(f"no problem contains all of {expected}; problems:\n{shown}")


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_load_reports_file_line_field_and_values(row: Bad) -> None:
    path = BAD / row.file
    with pytest.raises(detente.ScenarioError) as info:
        detente.load(path)
    err = info.value
    assert isinstance(err, detente.DetenteError)
    assert err.exit_code == 2
    assert len(err.problems) == row.count, err.render()
    for p in err.problems:
        assert p.file == str(path)
    problem = _matching(err.problems, row.expected)
    assert problem.line == row.line, str(problem)
    if problem.line is not None:
        assert problem.column is not None
        assert problem.column >= 1
        assert f"{path}:{row.line}:{problem.column}: " in str(err)
    assert str(problem) in str(err)


def test_loads_names_the_source() -> None:
    text = (BAD / "discount_above_one.yaml").read_text()
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "proposal.yaml")
    expected = "proposal.yaml:4:26: parties[1].discount: expected a discount in (0, 1), found 1.2"
    assert expected in str(info.value)


def test_a_type_error_does_not_hide_the_other_problems() -> None:
    with pytest.raises(detente.ScenarioError) as info:
        detente.load(BAD / "type_error_and_bad_reference.yaml")
    lines = [(p.line, format(p)) for p in info.value.problems]
    assert [line for line, _ in lines] == [4, 6, 7, 9]
    text = info.value.render()
    assert "parties[1].discount: expected a number or an arithmetic expression" in text
    assert "concessions[0].divisible: expected true or false, found 'maybe'" in text
    assert "concessions[1].by: unknown party 'DPKR'; did you mean 'DPRK'?" in text
    # nothing is reported about the damaged party and concession beyond their own errors
    assert "relief" not in text.replace("concessions[0]", "")


def test_a_misspelled_section_is_still_checked() -> None:
    text = """parties:
  - {id: US, discount: 0.9}
concesions:
  - {id: relief, by: USA}
"""
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "s.yaml")
    problems = [str(p) for p in info.value.problems]
    assert problems == [
        "s.yaml:3:1: concesions: unknown key 'concesions'; did you mean 'concessions'?",
        "s.yaml:4:22: concesions[0].by: unknown party 'USA'; did you mean 'US'? (parties: US)",
    ]


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(
        "name: !!python/object/apply:os.system ['touch " + str(marker) + "']\n"
        "parties: [{id: US, discount: 0.9}]\n"
        "concessions: [{id: a, by: US}]\n"
    )
    with pytest.raises(detente.ScenarioError, match=r"evil\.yaml:1:7: name: expected a plain"):
        detente.load(path)
    assert not marker.exists()


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(width))
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"name: *a{levels}")
    lines.append("parties: [{id: US, discount: 0.9}]")
    lines.append("concessions: [{id: a, by: US}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())  # 9**10 strings once expanded: billions
    with pytest.raises(detente.ScenarioError) as info:
        detente.load(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    # a6 (line 7) is the first anchor to expand beyond the limit, at its second alias
    assert (problem.line, problem.column) == (7, 15)
    assert "expected at most 1,000,000 values once aliases are expanded" in str(problem)
    assert "alias bomb" in str(problem)


def test_many_values_are_refused_before_composing() -> None:
    text = "name: x\nbig: [" + "1, " * 300_000 + "1]\n"
    with pytest.raises(detente.ScenarioError, match="at most 200,000 values in a scenario file"):
        detente.loads(text, "many.yaml")


def test_modest_aliases_are_fine() -> None:
    text = """parties:
  - &p {id: US, discount: 0.9}
concessions:
  - {id: a, by: US, flow: &f {US: -1}}
  - {id: b, by: US, flow: *f}
"""
    scn = detente.loads(text)
    assert scn.concessions[1].flow == {"US": -1.0}


def test_fifty_megabyte_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    block = b"# " + b"x" * 1021 + b"\n"  # 1 KiB of comment
    with path.open("wb") as f:
        f.write(b"name: huge\n")
        for _ in range(50 * 1024):
            f.write(block)
    assert path.stat().st_size > 50 * 2**20
    with pytest.raises(detente.ScenarioError) as info:
        detente.load(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert "expected a file of at most 10 MB, found 50.0 MB" in str(problem)


def test_big_text_is_refused_by_loads() -> None:
    text = "name: big\n" + "#" * (11 * 2**20) + "\n"
    with pytest.raises(detente.ScenarioError, match=r"at most 10 MB, found 11\.0 MB"):
        detente.loads(text, "big.yaml")


def test_deep_nesting_is_refused_without_a_crash() -> None:
    text = "name: " + "[" * 5000 + "]" * 5000 + "\nparties: []\nconcessions: []\n"
    with pytest.raises(detente.ScenarioError, match="not valid YAML"):
        detente.loads(text, "deep.yaml")


def test_a_directory_or_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(detente.UsageError, match="not a file"):
        detente.load(tmp_path)
    with pytest.raises(detente.UsageError, match="no such file"):
        detente.load(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------- the CLI

_HAS_CLI = importlib.util.find_spec("detente.cli") is not None
needs_cli = pytest.mark.skipif(not _HAS_CLI, reason="detente.cli is not written yet")


def _validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m detente validate PATH...`` as a user would."""
    env = {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("DETENTE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "detente", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        timeout=120,
        check=False,
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def cli_all() -> str:
    """The output of one ``detente validate`` over every bad file (one process, not 60)."""
    if not _HAS_CLI:
        pytest.skip("detente.cli is not written yet")
    run = _validate(*(BAD / row.file for row in ROWS))
    output = run.stderr + run.stdout
    assert run.returncode == 2, output
    assert "Traceback" not in output
    return _flat(output)


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_cli_validate_reports_the_message(row: Bad, cli_all: str) -> None:
    for expected in row.expected:
        assert _flat(expected) in cli_all
    if row.line is not None:
        assert f"{BAD / row.file}:{row.line}:" in cli_all


#: One file of each kind, each validated alone: exit code 2 and no traceback.
ALONE = [
    "malformed_yaml.yaml",
    "empty.yaml",
    "top_level_list.yaml",
    "non_utf8.yaml",
    "python_tag.yaml",
    "recursive_alias.yaml",
    "wrong_type_parties.yaml",
    "misspelled_key.yaml",
    "requires_cycle.yaml",
    "expr_import.yaml",
    "type_error_and_bad_reference.yaml",
]


@needs_cli
@pytest.mark.parametrize("name", ALONE)
def test_cli_validate_exits_2_without_a_traceback(name: str) -> None:
    row = next(r for r in ROWS if r.file == name)
    run = _validate(BAD / name)
    output = run.stderr + run.stdout
    assert run.returncode == 2, output
    assert "Traceback" not in output
    assert _flat(row.expected[-1]) in _flat(run.stderr), output


@needs_cli
def test_cli_refuses_the_alias_bomb_and_the_huge_file(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb())
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.write(b"name: huge\n")
        f.truncate(50 * 2**20 + 100)  # sparse: the size is what matters
    run = _validate(bomb, huge)
    output = _flat(run.stderr + run.stdout)
    assert run.returncode == 2, output
    assert "Traceback" not in output
    assert f"{bomb}:7:15: expected at most 1,000,000 values" in output
    assert f"{huge}: expected a file of at most 10 MB, found 50.0 MB" in output


def test_yaml_level_problems_come_with_the_others() -> None:
    text = """parties:
  - {id: US, discount: !!python/name:os.system ''}
  - {id: DPRK, discount: 1.5}
concessions:
  - {id: a, by: US, flow: {US: 1}, flow: {US: 2}}
  - {id: b, by: USA}
"""
    with pytest.raises(detente.ScenarioError) as info:
        detente.loads(text, "x.yaml")
    assert [(p.line, format_loc(p.loc)) for p in info.value.problems] == [
        (2, "parties[0].discount"),  # the tag, and nothing more about that value
        (3, "parties[1].discount"),
        (5, "concessions[0].flow"),
        (6, "concessions[1].by"),
    ]


# --------------------------------------------------------------------------- no crash, ever

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["USA", "relief", "1/0", "pressure", "__import__('os')", "nan", "-1", ""]),
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _damaged(draw: st.DrawFn) -> dict[str, object]:
    """A valid scenario with 1-4 values replaced by junk, keys deleted or keys misspelled."""
    data = draw(scenario_dicts())
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from([p for p in _paths(data) if p]))
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        action = draw(st.sampled_from(["replace", "delete", "misspell"]))
        if action == "delete" and isinstance(node, dict):
            del node[path[-1]]
        elif action == "misspell" and isinstance(node, dict):
            node[f"{path[-1]}x"] = node.pop(path[-1])
        else:
            node[path[-1]] = draw(_junk)
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_damaged())
def test_damaged_scenarios_give_located_problems_never_a_crash(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    problems: list[Problem] = []
    try:
        detente.loads(text, "damaged.yaml")
    except detente.ScenarioError as exc:
        problems = exc.problems
        assert problems
    for problem in problems:
        assert problem.file == "damaged.yaml"
        assert problem.line is not None, str(problem)
        assert problem.message
