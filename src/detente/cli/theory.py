"""``detente theory``: the classic models behind detente, one subcommand each.

Each subcommand takes plain numbers, calls one function of :mod:`detente.theory` and prints
its inputs and results as a table, or with ``--json`` as ``{"model", "inputs", "results"}``.
An input outside the model's domain is reported with the option's name and its allowed range
(exit code 2).
"""

# No ``from __future__ import annotations`` in the command modules: Typer resolves every
# command's annotations at start-up, and string annotations cost ~0.1 s of `detente --help`.

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import JsonOpt, _console, _guard, _print_json, app

if TYPE_CHECKING:  # pragma: no cover
    from ..theory import TheoryResult

theory_app = typer.Typer(
    name="theory",
    help=(
        "The classic models detente rests on, computable: inspection, Dresher, Fearon, Powell, "
        "gradualism, trust, reactive strategies."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(theory_app, name="theory")

#: Command-line option of each model input whose name is not simply ``--`` + the name.
_OPTIONS = {"cost_a": "--cost-a", "cost_b": "--cost-b", "p_now": "--p-now", "p_next": "--p-next"}
_OPTIONS |= {"cost_decliner": "--cost-decliner", "cost_riser": "--cost-riser"}

#: What each result means, in a few words (the table's third column).
_MEANING = {
    "q": "inspection rate, simultaneous game",
    "p": "violation rate, simultaneous game",
    "inspector_payoff": "inspector's payoff, simultaneous game",
    "leader_q": "inspection rate the leader commits to",
    "leader_payoff": "inspector's payoff as leader",
    "deters": "the commitment makes compliance a best reply",
    "d_min": "least detection probability that can deter",
    "violate_now": "Pr(inspectee violates in period 1)",
    "inspect_now": "Pr(inspector inspects in period 1)",
    "range": "A's shares both sides prefer to war",
    "war_value_a": "A's expected value of war",
    "war_value_b": "B's expected value of war",
    "war": "no peaceful division can buy off the decliner",
    "margin": "decliner's gain from war now over the best peace",
    "first_best_value": "value of the one-shot efficient level for ever",
    "ratio": "value over first-best value",
    "limit": "level the path converges to",
    "first_best": "one-shot efficient level",
    "s1": "player 1's long-run cooperation rate",
    "s2": "player 2's long-run cooperation rate",
    "payoff1": "player 1's average payoff per round",
    "payoff2": "player 2's average payoff per round",
    "gtft_q": "generous tit-for-tat's generosity q* in this game",
}

#: Meanings that depend on the model, by (model, result).
_MODEL_MEANING = {
    ("powell", "threshold"): "p-next above which war starts",
    ("trust", "threshold"): "least Pr(other cooperates) at which to cooperate",
    ("gradualism", "value"): "the path's value from period 1 on",
    ("dresher", "value"): "inspectee's value v(n, m)",
}


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _run(fn: "Callable[..., TheoryResult]", json_out: bool, reading: Callable[[Any], str], **kwargs: Any) -> None:
    """Call a model, translate a domain error into the option's name, and print the result."""
    from ..core.errors import UsageError
    from ..theory import DomainError

    try:
        result = fn(**kwargs)
    except DomainError as exc:
        option = _OPTIONS.get(exc.name, f"--{exc.name}")
        raise UsageError(f"{option} {_fmt(exc.value)}: must be {exc.allowed}") from None
    data = result.to_dict()
    if json_out:
        _print_json(data)
        return
    _render(data, reading(result))


def _render(data: dict[str, Any], reading: str) -> None:
    from rich.table import Table

    console = _console()
    model = data["model"]
    inputs = ", ".join(f"{_OPTIONS.get(k, '--' + k)[2:]}={_fmt(v)}" for k, v in data["inputs"].items())
    console.print(f"[bold]{model}[/]: {inputs}")
    table = Table(title_justify="left")
    table.add_column("result", style="bold")
    table.add_column("value", justify="right")
    table.add_column("meaning", overflow="fold")
    path = None
    for key, value in data["results"].items():
        if key == "path":
            path = value
            continue
        meaning = _MODEL_MEANING.get((model, key), _MEANING.get(key, ""))
        table.add_row(key, _fmt(value), meaning)
    console.print(table)
    if path is not None:
        steps = Table(title="path: each period's action", title_justify="left")
        for col in ("period", "action", "step"):
            steps.add_column(col, justify="right")
        prev = 0.0
        for t, x in enumerate(path, start=1):
            steps.add_row(str(t), f"{x:.6f}", f"{x - prev:.6f}")
            prev = x
        console.print(steps)
    console.print(reading)


def _opt(name: str, help_: str) -> Any:
    return typer.Option(name, help=help_, show_default=False)


@theory_app.command("inspection")
@_guard
def inspection_cmd(
    g: Annotated[float, _opt("--g", "Inspectee's gain from an undetected violation (> 0).")],
    f: Annotated[float, _opt("--f", "Fine if a violation is detected (>= 0).")],
    d: Annotated[float, _opt("--d", "Probability an inspection detects a violation, in (0, 1].")],
    c: Annotated[float, _opt("--c", "Inspector's cost of an inspection (>= 0).")],
    a: Annotated[float, _opt("--a", "Damage to the inspector from an undetected violation (> 0).")],
    json_out: JsonOpt = False,
) -> None:
    """The inspection game with and without inspector leadership (Kilgour & Brams 1992)."""
    from ..theory import inspection

    def reading(r: Any) -> str:
        if r.deters:
            return (
                f"Leading, the inspector deters: committing to inspect with probability {r.leader_q:.4g} "
                f"makes compliance a best reply, worth {r.leader_payoff:.4g} to it instead of "
                f"{r.inspector_payoff:.4g} when both move at once."
            )
        if r.d < r.d_min:
            return f"No commitment deters: detection {r.d:g} is below d_min = {r.d_min:.4g}."
        return "No commitment is worth making: deterring would cost more than the damage it prevents."

    _run(inspection, json_out, reading, g=g, f=f, d=d, c=c, a=a)


@theory_app.command("dresher")
@_guard
def dresher_cmd(
    n: Annotated[int, _opt("--n", "Periods (>= 1).")],
    m: Annotated[int, _opt("--m", "Inspections, from 0 to n.")],
    b: Annotated[
        float, typer.Option("--b", help="Inspectee's loss when caught (> 0); an undetected violation pays 1.")
    ] = 1.0,
    json_out: JsonOpt = False,
) -> None:
    """Dresher's recursive inspection game v(n, m) for a violation caught at cost b."""
    from ..theory import dresher

    def reading(r: Any) -> str:
        return (
            f"With {r.m} inspection{'s' if r.m != 1 else ''} over {r.n} periods the inspectee expects "
            f"{r.value:.4g} (1 = an undetected violation, 0 = staying legal)."
        )

    _run(dresher, json_out, reading, n=n, m=m, b=b)


@theory_app.command("fearon")
@_guard
def fearon_cmd(
    p: Annotated[float, _opt("--p", "A's probability of winning a war, in [0, 1].")],
    cost_a: Annotated[float, _opt("--cost-a", "A's cost of war, as a share of the good (>= 0).")],
    cost_b: Annotated[float, _opt("--cost-b", "B's cost of war, as a share of the good (>= 0).")],
    json_out: JsonOpt = False,
) -> None:
    """Fearon's bargaining range: the divisions both sides prefer to war (Fearon 1995)."""
    from ..theory import fearon

    def reading(r: Any) -> str:
        lo, hi = r.range
        return f"Any division giving A a share between {lo:.4g} and {hi:.4g} beats war for both sides."

    _run(fearon, json_out, reading, p=p, cost_a=cost_a, cost_b=cost_b)


@theory_app.command("powell")
@_guard
def powell_cmd(
    discount: Annotated[float, _opt("--discount", "Discount factor per period, in (0, 1).")],
    p_now: Annotated[float, _opt("--p-now", "Riser's probability of winning a war today, in [0, 1].")],
    p_next: Annotated[float, _opt("--p-next", "Riser's probability of winning from tomorrow on, in [0, 1].")],
    cost_decliner: Annotated[float, _opt("--cost-decliner", "Declining state's lump-sum cost of war (>= 0).")],
    cost_riser: Annotated[float, _opt("--cost-riser", "Rising state's lump-sum cost of war (>= 0).")],
    json_out: JsonOpt = False,
) -> None:
    """War as a commitment problem: is a shift in power too large and fast to buy off? (Powell 2006)"""
    from ..theory import powell

    def reading(r: Any) -> str:
        shift = f"A shift from {r.p_now:g} to {r.p_next:g}"
        if r.war:
            verdict = (
                f"{shift} cannot be bought off: no peaceful division is worth as much to the declining state as war now"
            )
        else:
            verdict = f"{shift} can be bought off: some peaceful division beats war now for the declining state"
        where = (
            f"war would start once p-next exceeds {r.threshold:.4g}"
            if r.threshold < 1
            else "no shift within [0, 1] causes war"
        )
        return f"{verdict}; {where}."

    _run(
        powell,
        json_out,
        reading,
        discount=discount,
        p_now=p_now,
        p_next=p_next,
        cost_decliner=cost_decliner,
        cost_riser=cost_riser,
    )


@theory_app.command("gradualism")
@_guard
def gradualism_cmd(
    b: Annotated[float, _opt("--b", "Benefit per unit of the other's action (> 0); u(x, y) = b·y - x²/2.")],
    discount: Annotated[float, _opt("--discount", "Discount factor per period, in (0, 1).")],
    periods: Annotated[int, typer.Option("--periods", help="How many periods of the path to show (>= 1).")] = 10,
    json_out: JsonOpt = False,
) -> None:
    """The efficient self-enforcing path under irreversibility (Lockwood & Thomas 2002)."""
    from ..theory import gradualism

    def reading(r: Any) -> str:
        return (
            f"Concessions rise in shrinking steps from {r.path[0]:.4g} towards {r.limit:.4g}, short of the "
            f"first-best {r.first_best:g}; the path is worth {r.ratio:.4g} of the first-best value."
        )

    _run(gradualism, json_out, reading, b=b, discount=discount, periods=periods)


@theory_app.command("trust")
@_guard
def trust_cmd(
    R: Annotated[float, _opt("--R", "Reward for mutual cooperation (> T).")],
    T: Annotated[float, _opt("--T", "Temptation: defecting on a cooperator.")],
    P: Annotated[float, _opt("--P", "Punishment for mutual defection (> S).")],
    S: Annotated[float, _opt("--S", "Sucker's payoff: cooperating with a defector.")],
    json_out: JsonOpt = False,
) -> None:
    """Kydd's assurance threshold: how sure to be of the other before cooperating (Kydd 2000)."""
    from ..theory import trust

    def reading(r: Any) -> str:
        return (
            f"A trustworthy type cooperates only if it believes the other cooperates with probability "
            f"at least {r.threshold:.4g}; reassurance must lift that belief above it."
        )

    _run(trust, json_out, reading, R=R, T=T, P=P, S=S)


@theory_app.command("reactive")
@_guard
def reactive_cmd(
    p1: Annotated[float, _opt("--p1", "Player 1 cooperates after the other cooperated with this probability.")],
    q1: Annotated[float, _opt("--q1", "Player 1 cooperates after the other defected with this probability.")],
    p2: Annotated[float, _opt("--p2", "Player 2's p, in [0, 1].")],
    q2: Annotated[float, _opt("--q2", "Player 2's q, in [0, 1].")],
    noise: Annotated[float, typer.Option("--noise", help="Probability each move is flipped, in [0, 1].")] = 0.0,
    R: Annotated[float, typer.Option("--R", help="Reward for mutual cooperation.")] = 3.0,
    S: Annotated[float, typer.Option("--S", help="Sucker's payoff.")] = 0.0,
    T: Annotated[float, typer.Option("--T", help="Temptation to defect.")] = 5.0,
    P: Annotated[float, typer.Option("--P", help="Punishment for mutual defection.")] = 1.0,
    json_out: JsonOpt = False,
) -> None:
    """Two reactive strategies (p, q) under noise: long-run cooperation and payoffs (Nowak & Sigmund 1990)."""
    from ..theory import reactive

    def reading(r: Any) -> str:
        return (
            f"In the long run player 1 cooperates {r.s1:.4g} of the time and player 2 {r.s2:.4g}; "
            f"they average {r.payoff1:.4g} and {r.payoff2:.4g} per round."
        )

    _run(reactive, json_out, reading, p1=p1, q1=q1, p2=p2, q2=q2, noise=noise, R=R, S=S, T=T, P=P)
