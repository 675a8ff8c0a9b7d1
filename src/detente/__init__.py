"""detente: design and stress-test phased, reciprocal agreements between adversaries.

The public API mirrors the command line::

    import detente
    scn = detente.load("hanoi-2019")          # a file path or a built-in case name
    report = detente.check(scn, schedule="phased")
    print(report.self_enforcing, report.min_slack)

Every result (``check``, ``design``, ``simulate``, ``tournament``, claims, sweeps) follows
:class:`detente.core.results.ResultProtocol`: ``.to_frame()`` (a tidy pandas DataFrame),
``.to_dict()`` (the JSON contract) and ``_repr_html_`` (a table and figure in Jupyter).

Heavy modules are imported on first use, so ``import detente`` and ``detente --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "load": "detente.io.yaml",
    "loads": "detente.io.yaml",
    "dump": "detente.io.yaml",
    "dumps": "detente.io.yaml",
    "builtin_cases": "detente.io.yaml",
    "Scenario": "detente.core.scenario",
    "Step": "detente.core.scenario",
    "ScenarioError": "detente.core.errors",
    "DetenteError": "detente.core.errors",
    "UsageError": "detente.core.errors",
    "check": "detente.analysis.enforcement",
    "check_many": "detente.analysis.enforcement",
    "check_params": "detente.analysis.enforcement",
    "EnforcementReport": "detente.analysis.enforcement",
    "tipping_points": "detente.analysis.tipping",
    "DesignResult": "detente.design.milp",
    "ResultProtocol": "detente.core.results",
}

__all__ = [
    "DesignResult",
    "DetenteError",
    "EnforcementReport",
    "ResultProtocol",
    "Scenario",
    "ScenarioError",
    "Step",
    "UsageError",
    "__version__",
    "builtin_cases",
    "check",
    "check_many",
    "check_params",
    "design",
    "dump",
    "dumps",
    "load",
    "loads",
    "theory",
    "tipping_points",
]

if TYPE_CHECKING:  # pragma: no cover
    from .analysis.enforcement import EnforcementReport, check, check_many, check_params
    from .core.errors import DetenteError, ScenarioError, UsageError
    from .core.scenario import Scenario, Step
    from .io.yaml import builtin_cases, dump, dumps, load, loads


def __getattr__(name: str) -> Any:
    if name == "design":  # the designer package, which is callable: detente.design(scn, horizon)
        return import_module("detente.design")
    if name == "theory":  # the classic models: detente.theory.dresher(5, 2).value
        return import_module("detente.theory")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'detente' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
