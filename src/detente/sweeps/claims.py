"""Claims: statements over analysis outputs, evaluated across the plausible parameter space.

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

:func:`evaluate_claims` samples the ranged parameters with Saltelli's scheme, evaluates each
distinct analysis once per point (through :mod:`detente.sweeps.sweep`, so the points go to the
run store and can run on Dask), and reports per claim the share of the space where it holds
(Wilson 95 % interval over the 2N independent base points), its drivers (Sobol total-order
indices of the claim's truth value) and its tipping points (where it flips along its most
influential parameters, the others at their best values, located by bisection).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import DetenteError, UsageError, did_you_mean
from ..core.scenario import Scenario
from .analyses import ANALYSES, Call, make_call, output_list

__all__ = [
    "ClaimResult",
    "ClaimSpec",
    "CompiledClaim",
    "Expression",
    "claims_from_scenario",
    "compile_claim",
    "compile_expression",
    "evaluate_claims",
    "load_claims_file",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Array = NDArray[Any]

KEYWORDS = {"and", "or", "not", "true", "false", "inf"}
FUNCTIONS = {"min", "max", "abs"}
COMPARE = ("<=", ">=", "==", "!=", "<", ">")
MAX_CLAIM_LENGTH = 4000
#: Saltelli base size N of a claim that gives none: N * (d + 2) points.
DEFAULT_SAMPLES = 32
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


@dataclass(frozen=True)
class ClaimSpec:
    """A claim as written: ``id``, ``text`` (in words), ``claim`` (in the claim language),
    ``expect`` (what the literature asserts, default true) and an optional base sample size."""

    id: str
    claim: str
    text: str = ""
    expect: bool = True
    samples: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class CompiledClaim:
    spec: ClaimSpec
    expression: Expression


def compile_claim(spec: ClaimSpec, scenario: Scenario) -> CompiledClaim:
    """Compile one claim; it must be a truth value."""
    label = f"claim {spec.id!r}"
    expr = compile_expression(spec.claim, scenario, label)
    if expr.type != "bool":
        raise UsageError(
            f"{label}: a claim must be true or false, but {spec.claim!r} is a number; compare it, "
            f"e.g. {spec.claim.strip()} > 0"
        )
    return CompiledClaim(spec, expr)


# --------------------------------------------------------------------------- claim files


_CLAIM_KEYS = {"id", "text", "claim", "samples", "expect", "source"}


def _claim_from_mapping(item: object, where: str) -> ClaimSpec:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: expected a mapping with id, text and claim, found {type(item).__name__}")
    unknown = [k for k in item if k not in _CLAIM_KEYS]
    if unknown:
        key = str(unknown[0])
        raise UsageError(
            f"{where}: unknown key {key!r}{did_you_mean(key, _CLAIM_KEYS)} "
            "(keys: id, text, claim, samples, expect, source)"
        )
    cid, claim = item.get("id"), item.get("claim")
    if not isinstance(cid, str) or not cid.strip():
        raise UsageError(f"{where}: expected an 'id' (text)")
    if not isinstance(claim, str) or not claim.strip():
        raise UsageError(f"{where} ({cid}): expected a 'claim' in the claim language (text)")
    text = item.get("text", "")
    if not isinstance(text, str):
        raise UsageError(f"{where} ({cid}): 'text' must be text")
    expect = item.get("expect", True)
    if not isinstance(expect, bool):
        raise UsageError(f"{where} ({cid}): 'expect' must be true or false")
    samples = item.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 2):
        raise UsageError(f"{where} ({cid}): 'samples' must be a whole number >= 2")
    source = item.get("source")
    if source is not None and not isinstance(source, str):
        raise UsageError(f"{where} ({cid}): 'source' must be text")
    return ClaimSpec(cid.strip(), " ".join(claim.split()), text.strip(), expect, samples, source)


def load_claims_file(path: str | Path) -> list[ClaimSpec]:
    """Claims from a YAML file: a list of claims, or a mapping with a ``claims:`` list.

    YAML aliases are refused (a claims file has no use for them and they can blow up), and so
    are files above 1 MB.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such claims file")
    if p.stat().st_size > 2**20:
        raise UsageError(f"{path}: a claims file of at most 1 MB is expected")
    text = p.read_text(encoding="utf-8", errors="replace")

    class _NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(None, None, "aliases are not allowed in a claims file", mark)
            return super().compose_node(parent, index)

    try:
        data = yaml.load(text, Loader=_NoAliases)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{line}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, Mapping):
        if "claims" not in data:
            raise UsageError(f"{path}: expected a list of claims or a 'claims:' key")
        data = data["claims"]
    if not isinstance(data, list) or not data:
        raise UsageError(f"{path}: expected a non-empty list of claims")
    specs = [_claim_from_mapping(item, f"{path}: claims[{i}]") for i, item in enumerate(data)]
    _unique(specs, str(path))
    return specs


def _unique(specs: Sequence[ClaimSpec], where: str) -> None:
    seen: set[str] = set()
    for s in specs:
        if s.id in seen:
            raise UsageError(f"{where}: duplicate claim id {s.id!r}")
        seen.add(s.id)


def claims_from_scenario(scenario: Scenario) -> list[ClaimSpec]:
    """The claims a scenario carries in its ``claims:`` section (none when it has none)."""
    out = []
    for c in getattr(scenario, "claims", None) or ():
        if isinstance(c, Mapping):
            out.append(_claim_from_mapping(c, f"{scenario.name}: claims"))
            continue
        expect = getattr(c, "expect", None)
        out.append(
            ClaimSpec(
                str(c.id),
                " ".join(str(c.claim).split()),
                str(getattr(c, "text", "") or ""),
                True if expect is None else bool(expect),
                getattr(c, "samples", None),
                getattr(c, "source", None),
            )
        )
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ClaimResult:
    """What :func:`evaluate_claims` says about one claim."""

    id: str
    text: str
    statement: str
    expect: bool
    holds_share: float
    ci95: tuple[float, float]
    n: int
    drivers: tuple[dict[str, Any], ...]
    tipping_points: tuple[dict[str, Any], ...]
    undefined: int
    verdict: str
    agrees: bool
    message: str
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "statement": self.statement,
            "expect": self.expect,
            "holds_share": self.holds_share,
            "ci95": list(self.ci95),
            "n": self.n,
            "drivers": list(self.drivers),
            "tipping_points": list(self.tipping_points),
            "undefined_points": self.undefined,
            "verdict": self.verdict,
            "agrees": self.agrees,
            "message": self.message,
        }


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion (well behaved at 0 and 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


#: A claim "holds" (or "fails") when it does at this share of the sample points or more.
ALMOST_ALL = 0.95


def _verdict(spec: ClaimSpec, share: float, ci: tuple[float, float], n: int) -> tuple[str, bool, str]:
    """The verdict word, whether the model agrees with what the claim asserts, and a sentence.

    ``holds`` at a share of at least :data:`ALMOST_ALL`, ``fails`` at most 1 - that, else
    ``mostly holds`` or ``mostly fails`` around one half; the model agrees with a claim asserted
    true (``expect``) when it holds in at least half of the space, and with one asserted false
    when it holds in less than half.
    """
    pct = f"{100 * share:.0f}%"
    interval = f"95% CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f}%"
    if share >= ALMOST_ALL:
        verdict = "holds"
    elif share <= 1 - ALMOST_ALL:
        verdict = "fails"
    elif share >= 0.5:
        verdict = "mostly holds"
    else:
        verdict = "mostly fails"
    every = f"at every one of the {n:,} sample points ({interval})"
    if n == 1:
        every = f"at the one sample point ({interval})"
    if share == 1.0:
        where = every
    elif share == 0.0:
        where = f"at no sample point ({interval})" if n == 1 else f"at none of the {n:,} sample points ({interval})"
    else:
        where = f"in {pct} of the plausible parameter space ({interval})"
    agrees = (share >= 0.5) == spec.expect
    if spec.expect:
        if verdict == "holds":
            msg = f"The model agrees: the claim holds {where}."
        elif verdict == "mostly holds":
            msg = f"The model mostly agrees: the claim holds {where}, not everywhere."
        else:
            only = "" if share == 0.0 else "only "
            msg = f"The model disagrees with this claim: under the sourced ranges it holds {only}{where}."
    else:
        if verdict == "fails":
            if share == 0.0:
                msg = f"The model agrees that this does not hold: it fails {every}."
            else:
                msg = f"The model agrees that this does not hold: it holds only {where}."
        elif verdict == "mostly fails":
            msg = f"The model mostly agrees that this does not hold: it holds {where}."
        else:
            msg = f"The model disagrees with the source, which asserts this is false: it holds {where}."
    return verdict, agrees, msg


# --------------------------------------------------------------------------- evaluation


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


def evaluate_claims(
    scenario: Scenario,
    specs: Sequence[ClaimSpec],
    *,
    samples: int | None = None,
    seed: int = 0,
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    scan_points: int = 17,
    max_scans: int = 3,
) -> tuple[list[ClaimResult], list[str]]:
    """Evaluate ``specs`` on ``scenario``; returns the results and the run ids stored.

    ``samples`` (the Saltelli base size N; default each claim's own, else :data:`DEFAULT_SAMPLES`) gives
    ``N * (d + 2)`` evaluations over the ``d`` ranged parameters; claims with the same N share
    one run. The tipping-point scan takes ``scan_points`` values along each of the claim's
    ``max_scans`` most influential parameters, then bisects every flip.
    """
    from .sampling import ParameterSpace, point_seed
    from .sensitivity import salib_sobol_sample, sobol_from_values
    from .sweep import run_sweep

    if not specs:
        raise UsageError(
            f"no claims to evaluate: scenario {scenario.name!r} has no 'claims:' section; give a file with --claims"
        )
    _unique(specs, "claims")
    compiled = [compile_claim(s, scenario) for s in specs]
    space = ParameterSpace.from_scenario(scenario)
    groups: dict[int, list[CompiledClaim]] = {}
    for c in compiled:
        n = samples or c.spec.samples or DEFAULT_SAMPLES
        if n < 2:
            where = "--samples" if samples else f"claim {c.spec.id!r}: samples"
            raise UsageError(f"{where} must be at least 2 (the Saltelli base size), found {n}")
        groups.setdefault(n, []).append(c)
    results: dict[str, ClaimResult] = {}
    run_ids: list[str] = []
    memo = _Memo(scenario, point_seed(seed, 2**31 - 1), executor)
    for n, group in groups.items():
        calls: dict[str, Call] = {}
        for c in group:
            for call in c.expression.calls:
                calls.setdefault(call.key, call)
        unit = salib_sobol_sample(space.dim, n, seed, second_order=False)
        matrix = space.transform(unit)
        rid = run_id if run_id is None or len(groups) == 1 else f"{run_id}-n{n}"
        spec_extra = {"claims": [c.spec.__dict__ for c in group], "base_samples": n, "design": "saltelli"}
        sweep = run_sweep(
            scenario,
            tuple(calls.values()),
            space,
            matrix,
            seed=seed,
            kind="claims",
            executor=executor,
            store=store,
            run_id=rid,
            progress=progress,
            extra=spec_extra,
        )
        if sweep.run_id:
            run_ids.append(sweep.run_id)
        rows = sweep.rows
        d = space.dim
        block = d + 2
        base_idx = np.array([i * block + j for i in range(n) for j in (0, block - 1)])
        for c in group:
            expr = c.expression
            env = env_from_rows(rows, expr.terms, expr.params, scenario)
            truth = expr.evaluate(env, len(rows)).astype(bool)
            undefined = int(_undefined(env, expr, len(rows)).sum())
            y = truth[base_idx]
            share = float(y.mean())
            ci = wilson(int(y.sum()), int(y.size))
            sob = sobol_from_values(space, truth.astype(float), n, seed, second_order=False)
            order = sorted(range(space.dim), key=lambda j: -(_clean(sob["ST"][j]) or 0.0))
            drivers = tuple(
                {
                    "parameter": space.names[j],
                    "total_order": _clean(sob["ST"][j]),
                    "total_order_ci": _clean(sob["ST_conf"][j]),
                    "first_order": _clean(sob["S1"][j]),
                }
                for j in order
            )
            scan = [space.names[j] for j in order if (_clean(sob["ST"][j]) or 0.0) > 0.01][:max_scans]
            tips = _tipping(scenario, c, space, scan, scan_points, memo)
            verdict, agrees, msg = _verdict(c.spec, share, ci, int(y.size))
            results[c.spec.id] = ClaimResult(
                c.spec.id,
                c.spec.text,
                c.spec.claim,
                c.spec.expect,
                share,
                ci,
                int(y.size),
                drivers,
                tuple(tips),
                undefined,
                verdict,
                agrees,
                msg,
                c.spec.source,
            )
        if store is not None and sweep.run_id is not None:
            store.add_results(sweep.run_id, "claims", [results[c.spec.id].to_dict() for c in group])
    return [results[s.id] for s in specs], run_ids


def _clean(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _undefined(env: Mapping[str, FloatArray], expr: Expression, n: int) -> BoolArray:
    out = np.zeros(n, dtype=bool)
    for key in expr.terms:
        out |= np.isnan(env[key])
    return out


class _Memo:
    """Analysis outputs at explicit points, computed once: tipping scans of several claims
    share their points whenever they scan the same parameter with the same analyses."""

    def __init__(self, scenario: Scenario, seed: int, executor: Any) -> None:
        self.scenario = scenario
        self.seed = seed
        self.executor = executor
        self.cache: dict[tuple[str, tuple[tuple[str, float], ...]], dict[str, Any]] = {}

    def truth(self, claim: CompiledClaim, points: Sequence[Mapping[str, float]], parallel: bool = True) -> BoolArray:
        from .sweep import evaluate_points

        keys = [tuple(sorted((k, float(v)) for k, v in p.items())) for p in points]
        for call in claim.expression.calls:
            missing = [i for i, key in enumerate(keys) if (call.key, key) not in self.cache]
            if not missing:
                continue
            rows = evaluate_points(
                self.scenario,
                [call],
                [points[i] for i in missing],
                self.seed,
                executor=self.executor if parallel else None,
            )
            for i, row in zip(missing, rows, strict=True):
                self.cache[(call.key, keys[i])] = row["outputs"]
        rows_out = []
        for p, key in zip(points, keys, strict=True):
            outputs: dict[str, Any] = {}
            for call in claim.expression.calls:
                outputs.update(self.cache[(call.key, key)])
            rows_out.append({"params": dict(p), "outputs": outputs})
        env = env_from_rows(rows_out, claim.expression.terms, claim.expression.params, self.scenario)
        return np.asarray(claim.expression.evaluate(env, len(rows_out)).astype(bool))


def _fmt_num(x: float) -> str:
    return f"{x:.4g}"


def _holding_sentence(name: str, intervals: list[tuple[float, float]], lo: float, hi: float, integer: bool) -> str:
    """The sentence "holds when leakage < 0.487" from the sub-intervals of [lo, hi] where a claim holds."""
    parts = []
    for a, b in intervals:
        if integer:
            if a <= lo and b >= hi:
                parts.append(f"any {name}")
            elif a <= lo:
                parts.append(f"{name} <= {b:g}")
            elif b >= hi:
                parts.append(f"{name} >= {a:g}")
            elif a == b:
                parts.append(f"{name} = {a:g}")
            else:
                parts.append(f"{name} from {a:g} to {b:g}")
        elif a <= lo:
            parts.append(f"{name} < {_fmt_num(b)}")
        elif b >= hi:
            parts.append(f"{name} > {_fmt_num(a)}")
        else:
            parts.append(f"{name} between {_fmt_num(a)} and {_fmt_num(b)}")
    return " or ".join(parts)


def _tipping(
    scenario: Scenario,
    claim: CompiledClaim,
    space: Any,
    names: Sequence[str],
    scan_points: int,
    memo: _Memo,
    bisections: int = 10,
) -> list[dict[str, Any]]:
    """Flips of ``claim`` along each parameter of ``names``, the others at their best values.

    Every scan point uses the same seed (common random numbers), so a flip of a simulated claim
    comes from the parameter, not from sampling noise between neighbours. Each flip between two
    scan points is narrowed by ``bisections`` halvings (integer parameters: to the whole value).
    Each tipping point carries a ``sentence`` describing where, along its parameter, the claim
    holds.
    """
    out: list[dict[str, Any]] = []
    base = scenario.parameter_values()
    best_truth = bool(memo.truth(claim, [base], parallel=False)[0])
    for name in names:
        j = space.names.index(name)
        lo, hi, integer = space.lows[j], space.highs[j], space.integer[j]
        if integer:
            grid = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
            if grid.size > 65:
                grid = np.unique(np.rint(np.linspace(grid[0], grid[-1], 65)))
        else:
            grid = np.linspace(lo, hi, scan_points)
        try:
            truth = memo.truth(claim, [{**base, name: float(v)} for v in grid])
        except DetenteError:
            continue
        flips: list[tuple[float, bool]] = []  # (value, holds below it)
        for a in range(len(grid) - 1):
            if truth[a] == truth[a + 1]:
                continue
            left, right = float(grid[a]), float(grid[a + 1])
            left_truth = bool(truth[a])
            if integer:
                if right - left > 1:  # a coarse integer grid: walk the whole values between
                    for v in np.arange(left + 1, right):
                        if bool(memo.truth(claim, [{**base, name: float(v)}], parallel=False)[0]) != left_truth:
                            right = float(v)
                            break
                        left = float(v)
                flips.append((right, left_truth))
                continue
            for _ in range(bisections):
                mid = 0.5 * (left + right)
                if bool(memo.truth(claim, [{**base, name: mid}], parallel=False)[0]) == left_truth:
                    left = mid
                else:
                    right = mid
            flips.append((0.5 * (left + right), left_truth))
        if not flips:
            continue
        # where it holds: integer flips sit at the first whole value of the new verdict
        intervals: list[tuple[float, float]] = []
        start = lo if bool(truth[0]) else None
        for value, holds_below in flips:
            if holds_below and start is not None:
                intervals.append((start, value - 1 if integer else value))
                start = None
            elif not holds_below:
                start = value
        if start is not None:
            intervals.append((start, hi))
        where = _holding_sentence(name, intervals, lo, hi, integer) if intervals else "nowhere"
        sentence = (
            f"along {name} (others at their best values) it holds when {where}; range "
            f"{lo:g}-{hi:g}, best value {base[name]:g}"
        )
        for value, holds_below in flips:
            out.append(
                {
                    "parameter": name,
                    "value": value,
                    "holds_below": holds_below,
                    "best_value": float(base[name]),
                    "holds_at_best": best_truth,
                    "range": [lo, hi],
                    "integer": integer,
                    "sentence": sentence,
                }
            )
    return out
