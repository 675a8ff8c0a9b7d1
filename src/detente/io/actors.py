"""Actor profiles for case files: fill a case's ``{from: ACTOR.parameter}`` parameters.

A case names its actors' profiles in ``actors:`` (``{US: us, DPRK: dprk}``; the profile files
are ``cases/actors/NAME.yaml``). A parameter written ``{from: DPRK.discount}`` takes the
profile's value, range, distribution, unit and source, in its place in ``parameters``. It may
override the value or the range only with a ``reason`` (what a source shows changed), which
is kept in its source text. Every problem is returned at once, at the field that causes it,
for the file layer to place on a line.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from typing import Any

import yaml
from pydantic import ValidationError

from ..core.actors import OVERRIDABLE, ActorProfile
from ..core.errors import Loc, Problem, did_you_mean

__all__ = ["expand_actors", "extend_schema", "load_profile", "profile_names", "uses_actors"]


def uses_actors(data: dict[str, Any]) -> bool:
    """Whether ``data`` names actors or takes a parameter from a profile."""
    params = data.get("parameters")
    from_profile = isinstance(params, dict) and any(isinstance(p, dict) and "from" in p for p in params.values())
    return "actors" in data or from_profile


def profile_names() -> tuple[str, ...]:
    """The names of the built-in actor profiles."""
    root = importlib.resources.files("detente.cases").joinpath("actors")
    return tuple(sorted(e.name[: -len(".yaml")] for e in root.iterdir() if e.name.endswith(".yaml")))


@lru_cache(maxsize=64)
def load_profile(name: str) -> ActorProfile | str:
    """The profile called ``name``, or a message saying why there is none."""
    known = profile_names()
    if name not in known:
        return f"no actor profile named {name!r}{did_you_mean(name, known)} (profiles: {', '.join(known)})"
    entry = importlib.resources.files("detente.cases").joinpath("actors", f"{name}.yaml")
    try:
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        return ActorProfile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        return f"actor profile {name!r} is not valid: {' '.join(str(exc).splitlines()[:3])}"


def _profiles(refs: object, problems: list[Problem]) -> dict[str, ActorProfile]:
    if not isinstance(refs, dict):
        problems.append(Problem("expected a mapping of actors to profile names, e.g. {DPRK: dprk}", ("actors",)))
        return {}
    out: dict[str, ActorProfile] = {}
    for key, name in refs.items():
        loc: Loc = ("actors", str(key))
        if isinstance(name, dict) and set(name) == {"profile"}:
            name = name["profile"]
        if not isinstance(name, str):
            problems.append(Problem(f"expected the name of an actor profile, found {name!r}", loc))
            continue
        profile = load_profile(name)
        if isinstance(profile, str):
            problems.append(Problem(profile, loc))
        else:
            out[str(key)] = profile
    return out


def _fill(
    name: str, entry: dict[str, Any], actors: dict[str, ActorProfile], declared: object
) -> tuple[Any, list[Problem]]:
    loc: Loc = ("parameters", name)
    ref = entry["from"]
    if not isinstance(ref, str) or ref.count(".") != 1:
        return None, [Problem(f"expected ACTOR.parameter (e.g. DPRK.discount), found {ref!r}", (*loc, "from"))]
    actor, pname = ref.split(".")
    if actor not in actors:
        if isinstance(declared, dict) and actor in declared:
            return None, []  # its profile is missing: reported at actors
        keys = list(declared) if isinstance(declared, dict) else []
        return None, [
            Problem(
                f"unknown actor {actor!r}{did_you_mean(actor, keys)}: name its profile in 'actors:' "
                f"(actors: {', '.join(map(str, keys)) or 'none'})",
                (*loc, "from"),
            )
        ]
    profile = actors[actor]
    if pname not in profile.parameters:
        known = profile.parameters
        return None, [
            Problem(
                f"the {profile.id!r} profile has no parameter {pname!r}{did_you_mean(pname, known)} "
                f"(parameters: {', '.join(known)})",
                (*loc, "from"),
            )
        ]
    param = profile.parameters[pname]
    out = param.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    out["value"] = param.value
    changed = [k for k in OVERRIDABLE if k in entry]
    reason = entry.get("reason")
    problems: list[Problem] = []
    if changed and not (isinstance(reason, str) and reason.strip()):
        problems.append(
            Problem(
                f"an override of the {profile.id!r} profile ({', '.join(changed)}) needs a 'reason' saying what "
                "a source shows changed",
                (*loc, changed[0]),
            )
        )
    if "reason" in entry and not changed:
        problems.append(
            Problem("a 'reason' without an override: give the value or range it justifies", (*loc, "reason"))
        )
    for key, value in entry.items():
        if key in ("from", "reason"):
            continue
        if key not in (*OVERRIDABLE, "unit", "description", "source"):
            problems.append(Problem(f"unknown key {key!r} in a parameter taken from a profile", (*loc, key)))
            continue
        if key != "source":
            out[key] = value
    shown = f"{param.value:g}" + (f", range [{param.range[0]:g}, {param.range[1]:g}]" if param.range else "")
    if changed:
        extra = f" Source: {entry['source']}" if isinstance(entry.get("source"), str) else ""
        out["source"] = f"Override of the {profile.id} profile ({shown}): {reason}{extra}"
    else:
        out["source"] = f"Actor profile {profile.id}: {param.source or 'no source given'}"
    return out, problems


def expand_actors(data: dict[str, Any]) -> list[Problem]:
    """Fill the ``{from: ...}`` parameters of ``data`` (in place) and drop ``actors``; return every problem."""
    problems: list[Problem] = []
    declared = data.pop("actors", None)
    actors = _profiles(declared, problems) if declared is not None else {}
    params = data.get("parameters")
    if not isinstance(params, dict):
        return problems
    filled: dict[str, Any] = {}
    sources = dict(data["sources"]) if isinstance(data.get("sources"), dict) else {}
    for name, entry in params.items():
        if isinstance(entry, dict) and "from" in entry:
            value, found = _fill(str(name), entry, actors, declared)
            problems += found
            if value is None:
                continue  # left out: every use of it is reported as an unknown parameter
            filled[name] = value
        else:
            filled[name] = entry
    for profile in actors.values():
        for key, text in profile.sources.items():
            sources.setdefault(key, text)
    data["parameters"] = filled
    if sources:
        data["sources"] = sources
    return problems


def extend_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add ``actors:`` and ``{from: ACTOR.parameter}`` parameters to a scenario JSON Schema."""
    schema.setdefault("properties", {})["actors"] = {
        "type": "object",
        "title": "Actors",
        "description": "Actor profiles used by this case: {ACTOR: profile name}, e.g. {DPRK: dprk}.",
        "additionalProperties": {"type": "string", "enum": list(profile_names())},
    }
    schema.setdefault("$defs", {})["ProfileParameter"] = {
        "type": "object",
        "title": "ProfileParameter",
        "description": "A parameter taken from an actor profile; an override of value or range needs a reason.",
        "properties": {
            "from": {"type": "string", "pattern": "^[^.]+\\.[^.]+$"},
            "value": {"type": "number"},
            "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            "distribution": {"enum": ["uniform", "triangular", "normal"]},
            "integer": {"type": "boolean"},
            "unit": {"type": "string"},
            "description": {"type": "string"},
            "source": {"type": "string"},
            "reason": {"type": "string", "minLength": 1},
        },
        "required": ["from"],
        "additionalProperties": False,
    }
    params = schema.get("properties", {}).get("parameters")
    if isinstance(params, dict) and "additionalProperties" in params:
        params["additionalProperties"] = {
            "anyOf": [params["additionalProperties"], {"$ref": "#/$defs/ProfileParameter"}]
        }
    return schema
