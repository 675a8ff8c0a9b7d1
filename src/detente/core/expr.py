"""Safe arithmetic expressions over named parameters.

Scenario files may write any number as an expression such as ``"pressure * (1 - leakage)"``.
Expressions are parsed with :mod:`ast` and checked against a whitelist (numbers, parameter
names, ``+ - * / **``, unary minus, parentheses, ``min`` and ``max``); they are evaluated by
walking the checked tree, never by ``eval``. Evaluation works on plain floats and on NumPy
arrays alike, so a sweep can resolve thousands of parameter points in one call.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .limits import MAX_ABS_NUMBER, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_TERMS

__all__ = ["Expr", "ExpressionError", "parse_expression"]

MAX_LENGTH = MAX_EXPRESSION_LENGTH
MAX_DEPTH = MAX_EXPRESSION_DEPTH
MAX_TERMS = MAX_EXPRESSION_TERMS


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated (the message says why)."""


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
#: Operators of one precedence level: a left-to-right chain of them is flat, not nested.
_LEVEL: dict[type[ast.operator], int] = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _minimum(*args: Any) -> Any:
    if any(hasattr(a, "shape") for a in args):
        import numpy as np

        out = args[0]
        for a in args[1:]:
            out = np.minimum(out, a)
        return out
    return min(args)


def _maximum(*args: Any) -> Any:
    if any(hasattr(a, "shape") for a in args):
        import numpy as np

        out = args[0]
        for a in args[1:]:
            out = np.maximum(out, a)
        return out
    return max(args)


_FUNCS: dict[str, Callable[..., Any]] = {"min": _minimum, "max": _maximum}


_OTHER_SYMBOL: dict[type[ast.operator], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return f"a call to {node.func.id!r}"
        if isinstance(node.func, ast.Attribute):
            return f"a call to '.{node.func.attr}(...)'"
        if isinstance(node.func, ast.Lambda):
            return "a call to a lambda"
        return "a call"
    if isinstance(node, ast.Attribute):
        return f"attribute access ('.{node.attr}')"
    if isinstance(node, ast.Subscript):
        return "indexing"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str | bytes):
            return f"the text {node.value!r}"
        return f"the constant {node.value!r}"
    if isinstance(node, ast.Compare):
        return "a comparison"
    if isinstance(node, ast.BoolOp):
        return "a boolean operator (and/or)"
    if isinstance(node, ast.Lambda):
        return "a lambda"
    if isinstance(node, ast.IfExp):
        return "a conditional (if/else)"
    if isinstance(node, ast.NamedExpr):
        return "an assignment (:=)"
    if isinstance(node, ast.JoinedStr | ast.FormattedValue):
        return "a formatted string"
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return "a comprehension"
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        return "a list, tuple, set or mapping"
    if isinstance(node, ast.Starred):
        return "unpacking (*)"
    if isinstance(node, ast.Await | ast.Yield | ast.YieldFrom):
        return "await/yield"
    return f"'{type(node).__name__}'"


def _check(tree: ast.Expression) -> set[str]:
    """Return the parameter names used; raise ExpressionError on anything not whitelisted.

    The walk is iterative. Two limits keep evaluation cheap and bounded: the *nesting* (of
    parentheses, calls and signs; a left-to-right chain such as ``a + b + ... + z`` is flat)
    is at most :data:`MAX_DEPTH`, and the *terms* (numbers and names) at most :data:`MAX_TERMS`.
    """
    names: set[str] = set()
    terms = 0
    todo: list[tuple[ast.AST, int]] = [(tree.body, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels of parentheses, calls or signs)"
            )
        if isinstance(node, ast.Constant | ast.Name):
            terms += 1
            if terms > MAX_TERMS:
                raise ExpressionError(f"expression is too long (more than {MAX_TERMS} numbers and names)")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ExpressionError(f"only numbers are allowed, found {_describe(node)}")
            if abs(node.value) > MAX_ABS_NUMBER:
                raise ExpressionError(f"a number larger than {MAX_ABS_NUMBER:g} (the number-size limit)")
        elif isinstance(node, ast.Name):
            if node.id in _FUNCS:
                raise ExpressionError(f"'{node.id}' is a function: write {node.id}(a, b)")
            names.add(node.id)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                word = "not" if isinstance(node.op, ast.Not) else "~"
                raise ExpressionError(f"the operator '{word}' is not allowed; use + - * / ** only")
            todo.append((node.operand, depth + 1))
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                symbol = _OTHER_SYMBOL.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(f"the operator '{symbol}' is not allowed; use + - * / ** only")
            # the left operand of a chain of one precedence continues the chain (a + b - c)
            same = isinstance(node.left, ast.BinOp) and _LEVEL.get(type(node.left.op)) == _LEVEL.get(type(node.op))
            todo.append((node.left, depth if same else depth + 1))
            todo.append((node.right, depth + 1))
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                # name the first forbidden function: __import__ in __import__('os').system('x')
                culprit = next(
                    (
                        n
                        for n in ast.walk(node)
                        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in _FUNCS
                    ),
                    node,
                )
                raise ExpressionError(
                    f"{_describe(culprit)} is not allowed; the only functions are min(...) and max(...)"
                )
            if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(f"{node.func.id}() takes one or more plain arguments")
            todo.extend((arg, depth + 1) for arg in node.args)
        else:
            raise ExpressionError(f"{_describe(node)} is not allowed in an expression")
    return names


def _evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # checked by _check
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, env)
        right = _evaluate(node.right, env)
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCS[node.func.id](*(_evaluate(a, env) for a in node.args))
    raise ExpressionError(f"{_describe(node)} is not allowed")  # pragma: no cover - checked


@dataclass(frozen=True, eq=False)
class Expr:
    """A parsed, whitelisted expression. Equality and hashing follow the source text."""

    source: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = field(compare=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.source == self.source

    def __hash__(self) -> int:
        return hash(("Expr", self.source))

    def __str__(self) -> str:
        return self.source

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Evaluate with parameter values from ``env`` (floats or NumPy arrays)."""
        missing = self.names - env.keys()
        if missing:
            raise ExpressionError(f"unknown parameter {sorted(missing)[0]!r}")
        try:
            value = _evaluate(self.tree, env)
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in {self.source!r}") from None
        except OverflowError:
            raise ExpressionError(f"overflow in {self.source!r}") from None
        if isinstance(value, complex):
            raise ExpressionError(f"{self.source!r} is not a real number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError(f"{self.source!r} is not finite ({value})")
        return value


def parse_expression(text: str) -> Expr:
    """Parse ``text`` into an :class:`Expr`, or raise :class:`ExpressionError`."""
    source = text.strip()
    if not source:
        raise ExpressionError("empty expression")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression ({exc.msg})") from None
    except ValueError as exc:
        if "digits" in str(exc):  # an integer literal over Python's conversion limit
            raise ExpressionError(f"a number larger than {MAX_ABS_NUMBER:g} (the number-size limit)") from None
        raise ExpressionError("not a valid expression") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            f"expression is nested too deeply (more than {MAX_DEPTH} levels of parentheses, calls or signs)"
        ) from None
    names = _check(tree)
    return Expr(source=source, tree=tree, names=frozenset(names))
