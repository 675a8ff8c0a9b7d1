"""The classic results detente rests on, computable: one short module per model.

Each model is a pure function of plain numbers returning a frozen result whose ``to_dict()``
is ``{"model": name, "inputs": {...}, "results": {...}}`` (what ``detente theory NAME --json``
prints). Inputs outside a model's domain raise :class:`DomainError`, naming the input and its
allowed range. Formulas and sources are in each module's docstring and in ``docs/theory.md``.

>>> from detente import theory
>>> theory.dresher(5, 2, b=1).value
0.375
>>> theory.fearon(0.6, 0.1, 0.1).range
(0.5, 0.7)
"""

from __future__ import annotations

from ._base import DomainError, TheoryResult
from .dresher import DresherResult, dresher, dresher_value, dresher_value_recursive, solve_2x2
from .fearon import FearonResult, fearon
from .gradualism import GradualismResult, gradualism, gradualism_path
from .inspection import InspectionResult, inspection
from .powell import PowellResult, powell
from .reactive import ReactiveResult, gtft_generosity, reactive
from .trust import TrustResult, trust

__all__ = [
    "MODELS",
    "DomainError",
    "DresherResult",
    "FearonResult",
    "GradualismResult",
    "InspectionResult",
    "PowellResult",
    "ReactiveResult",
    "TheoryResult",
    "TrustResult",
    "dresher",
    "dresher_value",
    "dresher_value_recursive",
    "fearon",
    "gradualism",
    "gradualism_path",
    "gtft_generosity",
    "inspection",
    "powell",
    "reactive",
    "solve_2x2",
    "trust",
]

#: The models by the name ``detente theory`` uses for them.
MODELS = {
    "inspection": inspection,
    "dresher": dresher,
    "fearon": fearon,
    "powell": powell,
    "gradualism": gradualism,
    "trust": trust,
    "reactive": reactive,
}
