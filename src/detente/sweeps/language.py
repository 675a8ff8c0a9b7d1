"""The claim language: tokenizer, parser, typed tree and vectorised evaluation of expressions.

This module knows nothing of sampling or statistics; :mod:`detente.sweeps.claims` evaluates
claims written in it across the plausible parameter space.

The claim language (docs/uncertainty.md has the full reference)::

    claim       := or_expr
    or_expr     := and_expr ( "or" and_expr )*
    and_expr    := not_expr ( "and" not_expr )*
    not_expr    := "not" not_expr | comparison
    comparison  := sum ( COMPARE sum )*          COMPARE: < <= > >= == !=  (a < b < c chains)
    sum         := product ( ("+" | "-") product )*
    product     := unary ( ("*" | "/") unary )*
    unary       := "-" unary | atom
    atom        := NUMBER | "true" | "false" | "inf" | term | PARAMETER
                 | FUNCTION "(" or_expr ( "," or_expr )* ")"      min, max, abs
                 | "(" or_expr ")"
    term        := ANALYSIS [ "[" args "]" ] ( "." NAME )+        check, design, simulate
    args        := arg ( ("," | ";") arg )*
    arg         := NAME "=" VALUE | NAME

for example ``not check[us-big-deal].self_enforcing`` or
``simulate[US=reciprocal, DPRK=reciprocal; schedule=phased].package_in_force.DPRK >
simulate[US=maximum-pressure, DPRK=hedger; schedule=phased].package_in_force.DPRK``.

Safety: the text is read by the hand-written tokenizer and recursive-descent parser below into a
tree of the node classes of this module; evaluation walks that tree with numpy operations. No
text is ever passed to ``eval``, ``exec``, ``compile`` or ``ast``; a name can only ever refer
to an analysis output, a parameter or one of three functions.

Binding: parsing needs the scenario. Each term is checked against it (the schedule, the
parties, the strategies, the concessions and the output must exist), and each expression gets a
type, number or truth value, before anything is computed; a claim must be a truth value. Errors
are :class:`~detente.core.errors.UsageError` naming the claim, the column and the nearest valid
name.

Evaluation is vectorised over sample points: :meth:`Expression.evaluate` takes one array per
term (``check[phased].self_enforcing``) and per parameter, with one entry per point, and
returns an array. Undefined numbers are NaN and make every comparison false (``!=`` included);
a truth value that could not be computed (its analysis failed at that point) counts as false.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError, did_you_mean
from ..core.scenario import Scenario
from .analyses import ANALYSES, Call, make_call, output_list

__all__ = [
    "ClaimSyntaxError",
    "Expression",
    "compile_expression",
    "env_from_rows",
    "split_args",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Array = NDArray[Any]

KEYWORDS = {"and", "or", "not", "true", "false", "inf"}
FUNCTIONS = {"min", "max", "abs"}
COMPARE = ("<=", ">=", "==", "!=", "<", ">")
MAX_CLAIM_LENGTH = 4000
MAX_DEPTH = 100


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # num, name, qname, op, args, end
    text: str
    pos: int  # 0-based offset in the claim


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", ",", ".")


class ClaimSyntaxError(UsageError):
    """A claim that cannot be read; the message gives the column."""


def _tokens(text: str, fail: Callable[[str, int], ClaimSyntaxError]) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "[":
            depth_sq, depth_par, j = 1, 0, i + 1
            while j < n and depth_sq:
                c = text[j]
                if c == "[":
                    depth_sq += 1
                elif c == "]":
                    depth_sq -= 1
                elif c == "(":
                    depth_par += 1
                elif c == ")":
                    depth_par -= 1
                j += 1
            if depth_sq:
                raise fail("'[' is never closed", i)
            out.append(Token("args", text[i + 1 : j - 1], i))
            i = j
            continue
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise fail("a `quoted name` is never closed", i)
            if j == i + 1:
                raise fail("an empty `quoted name`", i)
            out.append(Token("qname", text[i + 1 : j], i))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit())):
            out.append(Token("num", m.group(), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(Token("name", m.group(), i))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                out.append(Token("op", op, i))
                i += len(op)
                break
        else:
            if ch == "=":
                raise fail("'=' is not an operator; compare with '=='", i)
            if ch == "]":
                raise fail("']' without a matching '['", i)
            raise fail(f"unexpected character {ch!r}", i)
    out.append(Token("end", "", n))
    return out


def split_args(raw: str) -> list[tuple[str, str | None]]:
    """``"US=grit(k=4), DPRK=hedger; schedule=phased"`` -> ``[("US", "grit(k=4)"), ...]``.

    Arguments are separated by ``,`` or ``;`` outside parentheses; ``NAME=VALUE`` splits at the
    first ``=`` outside parentheses; a bare ``NAME`` has value None.
    """
    pieces: list[str] = []
    depth, start = 0, 0
    for i, c in enumerate(raw):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c in ",;" and depth == 0:
            pieces.append(raw[start:i])
            start = i + 1
    pieces.append(raw[start:])
    out: list[tuple[str, str | None]] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            if len(pieces) == 1:
                continue
            raise UsageError(f"[{raw}]: an empty argument (two separators in a row?)")
        depth, cut = 0, -1
        for i, c in enumerate(piece):
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "=" and depth == 0:
                cut = i
                break
        if cut < 0:
            out.append((piece, None))
        else:
            key, value = piece[:cut].strip(), piece[cut + 1 :].strip()
            if not key or not value:
                raise UsageError(f"[{raw}]: expected NAME=VALUE, found {piece!r}")
            out.append((key, value))
    return out


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Node:
    """A node of a parsed claim; ``type`` is ``"num"`` or ``"bool"``."""

    type: str

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Const(Node):
    value: float | bool = 0.0

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        if self.type == "bool":
            return np.full(n, bool(self.value))
        return np.full(n, float(self.value))


@dataclass(frozen=True)
class Ref(Node):
    """A term (``check[phased].margin``) or a parameter (``param:leakage``), by its env key."""

    key: str = ""

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        values = env[self.key]
        if self.type == "bool":
            return np.asarray(values == 1.0)  # NaN (not computed) counts as false
        return np.asarray(values, dtype=float)


@dataclass(frozen=True)
class Unary(Node):
    op: str = "-"
    operand: Node = field(default_factory=lambda: Const("num"))

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        x = self.operand.evaluate(env, n)
        return ~x if self.op == "not" else -x

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Binary(Node):
    op: str = "+"
    left: Node = field(default_factory=lambda: Const("num"))
    right: Node = field(default_factory=lambda: Const("num"))

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        a, b = self.left.evaluate(env, n), self.right.evaluate(env, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.op == "+":
                return a + b
            if self.op == "-":
                return a - b
            if self.op == "*":
                return a * b
            if self.op == "/":
                return a / b
        if self.op == "and":
            return a & b
        if self.op == "or":
            return a | b
        raise AssertionError(self.op)  # pragma: no cover

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Compare(Node):
    ops: tuple[str, ...] = ()
    operands: tuple[Node, ...] = ()

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        values = [o.evaluate(env, n) for o in self.operands]
        out = np.ones(n, dtype=bool)
        for op, a, b in zip(self.ops, values, values[1:], strict=False):
            if a.dtype == bool:
                res = (a == b) if op == "==" else (a != b)
            else:
                with np.errstate(invalid="ignore"):
                    res = {
                        "<": np.less,
                        "<=": np.less_equal,
                        ">": np.greater,
                        ">=": np.greater_equal,
                        "==": np.equal,
                        "!=": np.not_equal,
                    }[op](a, b)
                res = res & ~np.isnan(a) & ~np.isnan(b)  # a comparison with NaN is false
            out &= res
        return out

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Func(Node):
    name: str = "abs"
    args: tuple[Node, ...] = ()

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        values = [a.evaluate(env, n) for a in self.args]
        if self.name == "abs":
            return np.abs(values[0])
        reduce = np.fmin if self.name == "min" else np.fmax
        out = values[0]
        for v in values[1:]:
            out = reduce(out, v)
        return out

    def children(self) -> tuple[Node, ...]:
        return self.args


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for child in node.children():
        yield from _walk(child)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over :func:`_tokens`, binding terms to ``scenario`` as it goes."""

    def __init__(self, text: str, scenario: Scenario, label: str) -> None:
        self.text = text
        self.scn = scenario
        self.label = label
        self.toks = _tokens(text, self.error)
        self.i = 0
        self.depth = 0
        self.calls: dict[str, Call] = {}
        self.params: set[str] = set()

    def error(self, message: str, pos: int | None = None) -> ClaimSyntaxError:
        where = f", column {pos + 1}" if pos is not None else ""
        snippet = ""
        if pos is not None and len(self.text) <= 160 and "\n" not in self.text:
            snippet = f"\n    {self.text}\n    {' ' * pos}^"
        return ClaimSyntaxError(f"{self.label}{where}: {message}{snippet}")

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text in words

    def expect_op(self, op: str, what: str) -> Token:
        if not self.at_op(op):
            raise self.error(f"expected {what}, found {self.describe(self.tok)}", self.tok.pos)
        return self.take()

    @staticmethod
    def describe(t: Token) -> str:
        if t.kind == "end":
            return "the end of the claim"
        if t.kind == "args":
            return f"'[{t.text}]'"
        return f"{t.text!r}"

    def need(self, node: Node, type_: str, what: str, pos: int) -> None:
        if node.type != type_:
            kind = "a number" if node.type == "num" else "a truth value"
            want = "a number" if type_ == "num" else "a truth value"
            raise self.error(f"{what} needs {want}, found {kind}", pos)

    # ---------------------------------------------------------------- grammar

    def parse(self) -> Node:
        if not self.text.strip():
            raise self.error("the claim is empty")
        node = self.or_expr()
        if self.tok.kind != "end":
            t = self.tok
            hint = ""
            if t.kind == "name" and t.text in ("AND", "OR", "NOT", "And", "Or", "Not"):
                hint = f" (keywords are lower case: {t.text.lower()!r})"
            elif t.kind in ("name", "num", "qname"):
                hint = " (a missing operator?)"
            raise self.error(f"unexpected {self.describe(t)}{hint}", t.pos)
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("nested too deeply", self.tok.pos)

    def or_expr(self) -> Node:
        self.nested()
        pos = self.tok.pos
        node = self.and_expr()
        while self.at_word("or"):
            op = self.take()
            right = self.and_expr()
            self.need(node, "bool", "'or'", pos)
            self.need(right, "bool", "'or'", op.pos + 3)
            node = Binary("bool", "or", node, right)
        self.depth -= 1
        return node

    def and_expr(self) -> Node:
        pos = self.tok.pos
        node = self.not_expr()
        while self.at_word("and"):
            op = self.take()
            right = self.not_expr()
            self.need(node, "bool", "'and'", pos)
            self.need(right, "bool", "'and'", op.pos + 4)
            node = Binary("bool", "and", node, right)
        return node

    def not_expr(self) -> Node:
        if self.at_word("not"):
            op = self.take()
            self.nested()
            operand = self.not_expr()
            self.depth -= 1
            self.need(operand, "bool", "'not'", op.pos)
            return Unary("bool", "not", operand)
        return self.comparison()

    def comparison(self) -> Node:
        pos = self.tok.pos
        first = self.sum()
        ops: list[str] = []
        operands = [first]
        while self.at_op(*COMPARE):
            op = self.take()
            right = self.sum()
            left = operands[-1]
            if op.text in ("==", "!="):
                if left.type != right.type:
                    raise self.error(f"'{op.text}' compares a number with a truth value", op.pos)
            else:
                self.need(left, "num", f"'{op.text}'", pos)
                self.need(right, "num", f"'{op.text}'", op.pos + len(op.text))
            ops.append(op.text)
            operands.append(right)
        if not ops:
            return first
        return Compare("bool", tuple(ops), tuple(operands))

    def sum(self) -> Node:
        pos = self.tok.pos
        node = self.product()
        while self.at_op("+", "-"):
            op = self.take()
            right = self.product()
            self.need(node, "num", f"'{op.text}'", pos)
            self.need(right, "num", f"'{op.text}'", op.pos + 1)
            node = Binary("num", op.text, node, right)
        return node

    def product(self) -> Node:
        pos = self.tok.pos
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.take()
            right = self.unary()
            self.need(node, "num", f"'{op.text}'", pos)
            self.need(right, "num", f"'{op.text}'", op.pos + 1)
            node = Binary("num", op.text, node, right)
        return node

    def unary(self) -> Node:
        if self.at_op("-"):
            op = self.take()
            self.nested()
            operand = self.unary()
            self.depth -= 1
            self.need(operand, "num", "'-'", op.pos)
            return Unary("num", "-", operand)
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Const("num", float(t.text))
        if t.kind == "op" and t.text == "(":
            self.take()
            node = self.or_expr()
            self.expect_op(")", "')'")
            return node
        if t.kind == "name":
            word = t.text
            if word in ("true", "false"):
                self.take()
                return Const("bool", word == "true")
            if word == "inf":
                self.take()
                return Const("num", math.inf)
            if word in ANALYSES:
                return self.term()
            if word in FUNCTIONS:
                return self.function()
            if word == "not":
                raise self.error("'not' binds looser than comparisons and arithmetic; write (not ...)", t.pos)
            if word in ("and", "or"):
                raise self.error(f"'{word}' needs a truth value before it", t.pos)
            if word in self.scn.parameters:
                self.take()
                self.params.add(word)
                return Ref("num", f"param:{word}")
            if self.toks[self.i + 1].kind == "args" or (
                self.toks[self.i + 1].kind == "op" and self.toks[self.i + 1].text == "."
            ):
                raise self.error(
                    f"unknown analysis {word!r}{did_you_mean(word, ANALYSES)} (analyses: {', '.join(ANALYSES)})",
                    t.pos,
                )
            names = [*ANALYSES, *FUNCTIONS, *self.scn.parameters]
            raise self.error(
                f"unknown name {word!r}{did_you_mean(word, names)}: not an analysis (check, design, simulate), "
                f"a function (min, max, abs) or a parameter of the scenario",
                t.pos,
            )
        if t.kind == "qname":
            raise self.error(
                "a `quoted name` can only follow '.' in an output, e.g. check[s].min_slack.`ROK-US`", t.pos
            )
        if t.kind == "args":
            raise self.error("'[' must follow an analysis name: check[...], design[...] or simulate[...]", t.pos)
        if t.kind == "end":
            raise self.error("the claim ends too early: expected a value", t.pos)
        raise self.error(f"expected a value, found {self.describe(t)}", t.pos)

    def function(self) -> Node:
        name_tok = self.take()
        name = name_tok.text
        self.expect_op("(", f"'(' after {name}")
        args = [self.or_expr()]
        while self.at_op(","):
            self.take()
            args.append(self.or_expr())
        self.expect_op(")", f"')' closing {name}(...)")
        if name == "abs" and len(args) != 1:
            raise self.error(f"abs takes one argument, found {len(args)}", name_tok.pos)
        if name in ("min", "max") and len(args) < 2:
            raise self.error(f"{name} takes two or more arguments", name_tok.pos)
        for a in args:
            self.need(a, "num", f"{name}()", name_tok.pos)
        return Func("num", name, tuple(args))

    def term(self) -> Node:
        head = self.take()
        args: list[tuple[str, str | None]] = []
        if self.tok.kind == "args":
            raw = self.take()
            try:
                args = split_args(raw.text)
            except UsageError as exc:
                raise self.error(str(exc), raw.pos) from None
        path: list[str] = []
        path_pos = self.tok.pos + 1 if self.at_op(".") else head.pos
        while self.at_op("."):
            dot = self.take()
            seg = self.tok
            if seg.kind in ("name", "qname"):
                path.append(self.take().text)
            elif seg.kind == "num" and path:
                raise self.error(f"expected a name after '.', found {seg.text!r}", seg.pos)
            else:
                raise self.error(f"expected a name after '.', found {self.describe(seg)}", dot.pos + 1)
        try:
            call = make_call(head.text, args, self.scn)
        except UsageError as exc:
            raise self.error(str(exc), head.pos) from None
        outputs = call.outputs(self.scn)
        if not path:
            raise self.error(
                f"{head.text} needs an output, e.g. {call.key}.{next(iter(outputs))} "
                f"(outputs: {output_list(outputs, self.scn)})",
                head.pos,
            )
        output = ".".join(path)
        if output not in outputs:
            hint = did_you_mean(output, outputs)
            extra = ""
            first = path[0]
            parties = self.scn.party_ids
            concs = self.scn.concession_ids
            if len(path) == 2 and any(o.startswith(first + ".") for o in outputs):
                ids = parties if f"{first}.{parties[0]}" in outputs else concs
                extra = f"; {path[1]!r} is not one of {', '.join(ids)}{did_you_mean(path[1], ids)}"
                hint = ""
            elif len(path) == 1 and any(o.startswith(first + ".") for o in outputs):
                extra = f"; name the party or concession, e.g. {first}.{parties[0]}"
                hint = ""
            raise self.error(
                f"unknown output {output!r} of {head.text}{hint}{extra} (outputs: {output_list(outputs, self.scn)})",
                path_pos,
            )
        self.calls[call.key] = call
        return Ref("bool" if outputs[output] == "bool" else "num", f"{call.key}.{output}")


# --------------------------------------------------------------------------- compiled forms


@dataclass(frozen=True)
class Expression:
    """A parsed, bound and type-checked expression of the claim language."""

    source: str
    tree: Node
    calls: tuple[Call, ...]
    params: tuple[str, ...]

    @property
    def type(self) -> str:
        return self.tree.type

    @property
    def terms(self) -> tuple[str, ...]:
        """The keys of the terms this expression reads (``check[phased].margin``)."""
        return tuple(
            dict.fromkeys(n.key for n in _walk(self.tree) if isinstance(n, Ref) and not n.key.startswith("param:"))
        )

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        """Values at ``n`` points; ``env`` maps each term key and ``param:NAME`` to an array."""
        return np.asarray(self.tree.evaluate(env, n))


def compile_expression(text: str, scenario: Scenario, label: str = "expression") -> Expression:
    """Parse, bind and type-check ``text`` (a number or a truth value)."""
    if not isinstance(text, str):
        raise UsageError(f"{label}: expected text, found {type(text).__name__}")
    if len(text) > MAX_CLAIM_LENGTH:
        raise UsageError(f"{label}: at most {MAX_CLAIM_LENGTH} characters, found {len(text)}")
    parser = _Parser(text, scenario, label)
    tree = parser.parse()
    return Expression(text, tree, tuple(parser.calls.values()), tuple(sorted(parser.params)))


def env_from_rows(
    rows: Sequence[Mapping[str, Any]],
    terms: Iterable[str],
    params: Iterable[str],
    scenario: Scenario,
) -> dict[str, FloatArray]:
    """Arrays for :meth:`Expression.evaluate` from sweep rows (``{"params", "outputs"}``)."""
    env: dict[str, FloatArray] = {}
    for key in terms:
        col = np.empty(len(rows))
        for i, row in enumerate(rows):
            v = row["outputs"].get(key)
            col[i] = math.nan if v is None or isinstance(v, str) else float(v)
        env[key] = col
    for name in params:
        base = scenario.parameters[name].value
        env[f"param:{name}"] = np.array([float(row["params"].get(name, base)) for row in rows])
    return env
