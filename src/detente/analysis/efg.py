"""A schedule's deviation game in Gambit's extensive-form (.efg) format, and a reader for it.

The game (docs/interop.md has the full mapping):

* each party in turn chooses ``sign`` or ``decline``; declining ends the game at the status quo
  (payoff 0 to everyone: the check's values are measured against the status quo);
* then, period by period and party by party in the scenario's order, every party that has a
  step it could withhold (a constraint of the check) chooses ``comply`` or one of the check's
  deviation plans that exists there (``halt``, ``halt_and_reverse``); a deviation ends the game
  with every party's value along that deviation path, from the kernel
  (:func:`detente.analysis.kernel.path_values_all`);
* if everyone always complies, the game ends with every party's value of the schedule.

Payoffs are discounted to period 0: party j's payoff at a deviation by i in period τ is
``V_j(0) − δ_j^τ V_j(τ) + δ_j^τ W_j(τ)`` (what j gets before τ plus the path's value from τ),
so at every decision node the comparison is exactly the check's ``comply − deviate``, scaled
by δ_i^τ > 0. Hence "everyone signs and always complies" is a subgame-perfect equilibrium of
the game exactly when the check says the schedule is self-enforcing (up to the check's
tolerance, scaled likewise).

Every node of the tree is written in prefix order, each a personal node (``p``) or a terminal
(``t``); numbers are written as exact decimals (never an exponent). :func:`parse_efg` reads the
format back (the subset for games of perfect information without chance, and chance nodes
for completeness) and validates it against the grammar of Gambit's documentation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..core.compiled import compile_scenario, compile_schedule
from ..core.errors import UsageError
from ..core.scenario import Scenario, Step
from .kernel import PLANS, run_kernel

__all__ = ["MAX_NODES", "EfgError", "EfgNode", "ParsedGame", "all_comply_is_spe", "deviation_game_efg", "parse_efg"]

#: The largest game written (decision and terminal nodes together): larger trees are beyond
#: what Gambit's interactive tools and solvers handle usefully.
MAX_NODES = 20_000

#: The check's tolerance (docs/model.md §3).
TOLERANCE = 1e-9


def _num(x: float) -> str:
    """An exact decimal for ``x`` (Gambit reads decimals and fractions, not exponents)."""
    if not np.isfinite(x):
        raise UsageError(f"a payoff of the game is not finite ({x}); the .efg format needs finite numbers")
    text = format(Decimal(repr(float(x))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def deviation_game_efg(
    scenario: Scenario,
    schedule: str | Sequence[Step] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    max_nodes: int = MAX_NODES,
) -> str:
    """The deviation game of ``schedule`` as the text of a Gambit .efg file (see module doc).

    Raises :class:`UsageError` when the tree would have more than ``max_nodes`` nodes.
    """
    steps = scenario.get_schedule(schedule) if schedule is None or isinstance(schedule, str) else list(schedule)
    comp = compile_scenario(scenario, params)
    sched = compile_schedule(scenario, steps, params)
    res = run_kernel(comp, sched.amounts, all_values=True)
    assert res.others is not None
    parties = list(comp.party_ids)
    n_parties = len(parties)
    comply = res.comply  # [P, Tn]
    exists = res.exists  # [2, P, Tn]
    tn = comply.shape[1]
    decisions = [(t, i) for t in range(tn) for i in range(n_parties) if bool(exists[:, i, t].any())]
    n_nodes = 2 * n_parties + 1 + sum(1 + int(exists[:, i, t].sum()) for t, i in decisions)
    if n_nodes > max_nodes:
        raise UsageError(
            f"the deviation game of this schedule has {n_nodes:,} nodes ({len(decisions):,} decisions over "
            f"{tn} periods), more than the .efg export's limit of {max_nodes:,}; export a shorter schedule"
        )
    discount = comp.discount  # [P]
    v0 = comply[:, 0]
    title = f"{scenario.name}: deviation game of schedule {schedule if isinstance(schedule, str) else 'given'}"
    lines = [
        f"EFG 2 R {_quote(title)} {{ {' '.join(_quote(p) for p in parties)} }}",
        _quote("Written by detente export efg: each party signs or declines, then complies or deviates."),
        "",
    ]
    infoset = [0] * n_parties
    outcome = 0

    def terminal(name: str, payoffs: Sequence[float]) -> None:
        nonlocal outcome
        outcome += 1
        lines.append(f"t {_quote(name)} {outcome} {_quote(name)} {{ {' '.join(_num(v) for v in payoffs)} }}")

    for i, party in enumerate(parties):
        infoset[i] += 1
        lines.append(f'p "{party} signs?" {i + 1} {infoset[i]} "" {{ "decline" "sign" }} 0')
        terminal(f"{party} declines", [0.0] * n_parties)
    for t, i in decisions:
        plans = [p for p in range(len(PLANS)) if exists[p, i, t]]
        infoset[i] += 1
        actions = " ".join(_quote(PLANS[p]) for p in plans)
        lines.append(f'p "{parties[i]} at {t}" {i + 1} {infoset[i]} "" {{ {actions} "comply" }} 0')
        scale = discount**t
        for p in plans:
            payoffs = v0 - scale * comply[:, t] + scale * res.others[p, i, t, :]
            terminal(f"{parties[i]} {PLANS[p]} at {t}", payoffs.tolist())
    terminal("all comply", v0.tolist())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reading


class EfgError(ValueError):
    """The text is not a valid .efg file; the message names the line and what was expected."""


@dataclass
class EfgNode:
    """One node: kind ``p`` (personal), ``c`` (chance) or ``t`` (terminal)."""

    kind: str
    name: str
    player: int = 0
    infoset: int = 0
    actions: list[str] = field(default_factory=list)
    probs: list[Fraction] = field(default_factory=list)
    outcome_id: int = 0
    payoffs: list[Fraction] | None = None
    children: list[EfgNode] = field(default_factory=list)


@dataclass
class ParsedGame:
    title: str
    players: list[str]
    root: EfgNode
    outcomes: dict[int, list[Fraction]]


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<brace>[{}])|(?P<word>[^\s{}"]+))')
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?$")
_INT = re.compile(r"^\d+$")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, line) of every token: a quoted string, a brace or a word."""
    out: list[tuple[str, str, int]] = []
    pos = last = 0
    line = 1
    while True:
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            rest = text[pos:]
            if rest.strip():
                start = pos + len(rest) - len(rest.lstrip())
                line += text.count("\n", last, start)
                raise EfgError(f"line {line}: cannot read {text[start : start + 20]!r} (an unclosed string?)")
            return out
        kind = m.lastgroup
        line += text.count("\n", last, m.start(kind))
        last = m.start(kind)
        out.append((kind, m.group(kind), line))
        pos = m.end()


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def _line(self) -> int:
        return self.toks[min(self.i, len(self.toks) - 1)][2] if self.toks else 1

    def fail(self, what: str) -> EfgError:
        got = self.toks[self.i][1] if self.i < len(self.toks) else "the end of the file"
        return EfgError(f"line {self._line()}: expected {what}, found {got!r}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, what: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise self.fail(what)
        self.i += 1
        return tok[1]

    def string(self, what: str) -> str:
        raw = self.take("str", what)
        return re.sub(r"\\(.)", r"\1", raw[1:-1])

    def integer(self, what: str) -> int:
        word = self.take("word", what)
        if not _INT.match(word):
            self.i -= 1
            raise self.fail(what)
        return int(word)

    def number(self, what: str) -> Fraction:
        word = self.take("word", what)
        if not _NUMBER.match(word):
            self.i -= 1
            raise self.fail(what)
        return Fraction(word)

    def strings(self, what: str) -> list[str]:
        self.take("brace", "'{'", "{")
        out = []
        while (tok := self.peek()) is not None and tok[0] == "str":
            out.append(self.string(what))
        self.take("brace", f"{what} or '}}'", "}")
        return out


def parse_efg(text: str) -> ParsedGame:
    """Parse and validate .efg text (Gambit's documented format, version 2) into a tree.

    Checks the header (``EFG 2 R|D "title" { players }`` and an optional comment), every node
    (``p "name" player infoset "infoset name" { actions } outcome ["outcome name" { payoffs }]``,
    ``c "name" infoset "infoset name" { "action" prob ... } outcome ...``,
    ``t "name" outcome ["outcome name" { payoffs }]``), that player numbers name a player, that
    an information set always has the same actions, that an outcome's payoffs are given once
    with one number per player, that chance probabilities sum to 1 and that the tree is
    complete (each node has one child per action) with nothing after it.
    """
    r = _Reader(text)
    r.take("word", "'EFG'", "EFG")
    r.take("word", "the version 2", "2")
    kind = r.take("word", "'R' or 'D'")
    if kind not in ("R", "D"):
        r.i -= 1
        raise r.fail("'R' or 'D'")
    title = r.string("the game's title")
    players = r.strings("a player's name")
    if not players:
        raise EfgError("line 1: a game needs at least one player")
    if (tok := r.peek()) is not None and tok[0] == "str":
        r.string("a comment")
    outcomes: dict[int, list[Fraction]] = {}
    infosets: dict[tuple[int, int], list[str]] = {}

    def outcome_tail(node: EfgNode) -> None:
        node.outcome_id = r.integer("an outcome number")
        tok = r.peek()
        if tok is not None and tok[0] == "str":
            r.string("an outcome name")
            r.take("brace", "'{' before the payoffs", "{")
            pays = []
            while (tok := r.peek()) is not None and tok[0] == "word":
                pays.append(r.number("a payoff"))
            r.take("brace", "a payoff or '}'", "}")
            if len(pays) != len(players):
                raise EfgError(
                    f"line {r._line()}: outcome {node.outcome_id} has {len(pays)} payoffs for {len(players)} players"
                )
            if node.outcome_id == 0:
                raise EfgError(f"line {r._line()}: outcome 0 means 'no outcome' and cannot carry payoffs")
            if node.outcome_id in outcomes and outcomes[node.outcome_id] != pays:
                raise EfgError(f"line {r._line()}: outcome {node.outcome_id} is given two different payoff vectors")
            outcomes[node.outcome_id] = pays
        elif node.outcome_id and node.outcome_id not in outcomes:
            raise EfgError(f"line {r._line()}: outcome {node.outcome_id} is used before its payoffs are given")
        node.payoffs = outcomes.get(node.outcome_id)

    def node() -> EfgNode:
        kind = r.take("word", "a node type ('p', 'c' or 't')")
        if kind not in ("p", "c", "t"):
            r.i -= 1
            raise r.fail("a node type ('p', 'c' or 't')")
        n = EfgNode(kind, r.string("the node's name"))
        if kind == "t":
            outcome_tail(n)
            if n.payoffs is None:
                raise EfgError(f"line {r._line()}: terminal node {n.name!r} has no outcome")
            return n
        if kind == "p":
            n.player = r.integer("a player number")
            if not 1 <= n.player <= len(players):
                raise EfgError(f"line {r._line()}: player {n.player} is not one of the {len(players)} players")
        n.infoset = r.integer("an information set number")
        r.string("the information set's name")
        if kind == "p":
            n.actions = r.strings("an action name")
        else:
            r.take("brace", "'{'", "{")
            while (tok := r.peek()) is not None and tok[0] == "str":
                n.actions.append(r.string("an action name"))
                n.probs.append(r.number("a probability"))
            r.take("brace", "an action or '}'", "}")
            if sum(n.probs) != 1 or any(p < 0 for p in n.probs):
                raise EfgError(f"line {r._line()}: chance probabilities must be >= 0 and sum to 1")
        if not n.actions:
            raise EfgError(f"line {r._line()}: node {n.name!r} has no actions")
        key = (n.player, n.infoset)
        if infosets.setdefault(key, n.actions) != n.actions:
            raise EfgError(f"line {r._line()}: information set {n.infoset} has different actions at two nodes")
        outcome_tail(n)
        return n

    # prefix order, read without recursion (a game may be deep)
    root = node()
    stack = [root]
    while stack:
        top = stack[-1]
        if top.kind == "t" or len(top.children) == len(top.actions):
            stack.pop()
            continue
        if r.peek() is None:
            raise EfgError(f"the tree is incomplete: node {top.name!r} needs {len(top.actions)} children")
        child = node()
        top.children.append(child)
        stack.append(child)
    if r.peek() is not None:
        raise r.fail("the end of the file (the tree is complete)")
    return ParsedGame(title, players, root, outcomes)


def all_comply_is_spe(game: ParsedGame, tolerance: float = TOLERANCE) -> bool:
    """Is "sign, then always comply" (the last action at every node) subgame perfect?

    For the deviation game every other action leads to a terminal, so the subgames are the
    nodes along the all-comply path; at each, the mover's payoff of the all-comply outcome must
    be at least that of every other action, up to ``tolerance`` times the payoffs' scale.
    """
    path = []
    node = game.root
    while node.kind != "t":
        path.append(node)
        node = node.children[-1]
    assert node.payoffs is not None
    final = [float(v) for v in node.payoffs]
    for n in path:
        me = n.player - 1
        for child in n.children[:-1]:
            value = _subgame_value(child)[me]
            if value > final[me] + tolerance * max(1.0, abs(final[me])):
                return False
    return True


def _subgame_value(node: EfgNode) -> list[float]:
    """Backward induction in a perfect-information subtree (ties: the first best action)."""
    if node.kind == "t":
        assert node.payoffs is not None
        return [float(v) for v in node.payoffs]
    values = [_subgame_value(c) for c in node.children]
    if node.kind == "c":
        return [sum(float(p) * v[j] for p, v in zip(node.probs, values, strict=True)) for j in range(len(values[0]))]
    me = node.player - 1
    return max(values, key=lambda v: v[me])
