"""JSON Schema of scenario files, for editors (YAML language servers) and other tools."""

from __future__ import annotations

from typing import Any

from ..core.scenario import Scenario
from .actors import extend_schema

__all__ = ["scenario_json_schema"]


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that scenario files follow."""
    schema = extend_schema(Scenario.model_json_schema(mode="validation"))  # case files: actors
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "detente scenario"
    schema["description"] = (
        "A detente scenario: parties, concessions, schedules and the parameters behind the "
        "numbers (docs/model.md §1, §2 and §6). Numbers may be expressions over parameters."
    )
    return schema
