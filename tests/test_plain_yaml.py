"""The one-pass reader of plain YAML agrees with the general path (compose, then walk) exactly:
the same data, value positions, key positions and texts, on generated scenarios, the built-in
cases and every bad-file fixture it accepts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detente.core.limits import MAX_ABS_NUMBER, MAX_INT_DIGITS
from detente.io import yaml as Y
from detente.io.plain_yaml import read_plain
from strategies import scenario_dicts

FIXTURES = Path(__file__).parent / "fixtures"


def _both(text: str) -> tuple[Any, Any]:
    plain = read_plain(
        text,
        loader=Y._Loader,
        constructor=Y._CONSTRUCTOR,
        standard_tags=Y._STANDARD_TAGS,
        max_values=Y.MAX_VALUES,
        max_int_digits=MAX_INT_DIGITS,
        max_abs=MAX_ABS_NUMBER,
    )
    out = Y._Located()
    try:
        data = Y._compose(text, "x.yaml", out)
    except Exception:
        return plain, None
    return plain, (data, out.values, out.keys, out.texts, out.problems)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _agree(text: str) -> bool:
    plain, general = _both(text)
    if plain is None:
        return False
    assert general is not None, "the plain reader accepted what the general path refuses"
    data, values, keys, texts, problems = general
    assert not problems, "the plain reader accepted a document with problems"
    assert _same(plain[0], data)
    assert plain[1] == values
    assert plain[2] == keys
    assert plain[3] == texts
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenario_dicts(), flow=st.booleans())
def test_generated_scenarios_read_the_same_both_ways(data: dict[str, Any], flow: bool) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None if flow else False)
    assert _agree(text)


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.yaml")) + sorted(Path("src/detente/cases").glob("*.yaml")))
def test_fixture_files_read_the_same_both_ways(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")
    _agree(text)  # either the plain reader declines, or both agree


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: !!python/object:os.system x\n",
        "a: 1\na: 2\n",
        "? [1, 2]\n: 3\n",
        "<<: {a: 1}\n",
        "--- 1\n--- 2\n",
        "just text\n",
        "",
        "a: [\n",
        "a: " + "9" * 40 + "\n",
        "a: " + "1" + "0" * 16 + "\n",
        "~: 1\n",
        "[" * 100 + "]" * 100 + "\n",
    ],
)
def test_anything_unusual_takes_the_general_path(text: str) -> None:
    plain, _ = _both(text)
    assert plain is None
