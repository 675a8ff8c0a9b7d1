"""The schedule designer (docs/model.md §4) and its brute-force oracle.

``detente.design`` is both this package and the designer itself: the package is callable, so
``detente.design(scenario, horizon)`` works whether or not ``detente.design.milp`` has been
imported first (Python binds the package to the attribute on import).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .milp import design

        return design(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
