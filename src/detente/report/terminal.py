"""Rich views for the terminal: a scenario at a glance, the verdict of a check, simulations.

Every table is a :class:`~detente.report.tables.FitTable`: it fits the terminal (80 columns
and up) without cutting an id or a word, and ``wide=True`` (``--wide``) prints it unwrapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from ..core.compiled import compile_scenario, compile_schedule
from ..core.expr import Expr
from ..core.scenario import Scenario, Step
from .tables import FitTable, plural

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.enforcement import EnforcementReport
    from ..analysis.tipping import TippingPoint

__all__ = [
    "render_check",
    "render_classic_tournament",
    "render_match",
    "render_scenario",
    "render_simulation",
    "render_tournament",
    "timeline_table",
]

IRREVERSIBLE = "■"
REVERSIBLE = "□"


def _num(value: Any) -> str:
    if isinstance(value, Expr):
        return value.source
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flows(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_num(v)}" for k, v in mapping.items()) or "-"


def timeline_table(scn: Scenario, steps: Sequence[Step], title: str, *, wide: bool = False) -> FitTable:
    """A schedule as a table: one row per period, one column per party."""
    sched = compile_schedule(scn, list(steps))
    comp = compile_scenario(scn)
    table = FitTable(title=title, wide=wide, markup=False)
    table.add_column(scn.period, justify="right", style="bold", key=True)
    for pid in scn.party_ids:
        table.add_column(pid)
    by_period: dict[int, dict[int, list[str]]] = {}
    for t, k, a in sched.steps:
        mark = REVERSIBLE if comp.reversible[k] else IRREVERSIBLE
        amount = "" if abs(a - 1.0) < 1e-9 else f" {a:.0%}"
        by_period.setdefault(t, {}).setdefault(int(comp.giver[k]), []).append(f"{mark} {comp.labels[k]}{amount}")
    for t in sorted(by_period):
        cells = ["\n".join(by_period[t].get(i, [])) for i in range(comp.n_parties)]
        table.add_row(str(t), *cells)
    table.caption = f"{IRREVERSIBLE} irreversible   {REVERSIBLE} reversible"
    return table


def render_scenario(scn: Scenario, console: Console, *, wide: bool = False) -> None:
    """Parties, concessions (reversibility, verification), parameters and schedule timelines."""
    head = Text(scn.name, style="bold")
    if scn.description:
        head.append("\n" + scn.description.strip(), style="dim")
    # prose stays readable with --wide: the description wraps at 100 columns at most
    console.print(Panel(head, subtitle=f"one period = one {scn.period}", expand=False, width=min(console.width, 100)))

    parties = FitTable(title="Parties", wide=wide, markup=False)
    parties.add_column("id", style="bold cyan", key=True)
    parties.add_column("name")
    parties.add_column("discount", justify="right")
    for party in scn.parties:
        parties.add_row(party.id, party.name or "", _num(party.discount))
    console.print(parties)

    comp = compile_scenario(scn)
    conc = FitTable(title="Concessions", wide=wide, markup=False)
    conc.add_column("id", key=True)
    for col in ("name", "by", "flow per period", "once", "reversible", "verified after", "divisible", "requires"):
        conc.add_column(col)
    for k, c in enumerate(scn.concessions):
        if c.reversible is None:
            rev = "no"
        else:
            fragile = "fragile" if comp.fragile[k] else "not worth undoing"
            rev = f"delay {_num(c.reversible.delay)}, cost {_num(c.reversible.cost)} ({fragile})"
        flows = _flows(c.flow)
        if c.effects:
            flows = (flows + "; " if c.flow else "") + "; ".join(f"{pid}: {_flows(e)}" for pid, e in c.effects.items())
        conc.add_row(
            Text(c.id, style="bold cyan"),
            Text(c.name or "", style="dim"),
            c.by,
            flows,
            _flows(c.once),
            rev,
            f"{_num(c.lag)} {scn.period}s",
            "yes" if c.divisible else "no",
            ", ".join(c.requires) or "-",
        )
    console.print(conc)

    if scn.parameters:
        params = FitTable(title="Parameters", wide=wide, markup=False)
        params.add_column("name", key=True)
        for col in ("value", "range", "unit", "source"):
            params.add_column(col)
        for name, p in scn.parameters.items():
            rng = f"[{p.range[0]:g}, {p.range[1]:g}]" if p.range else "-"
            params.add_row(name, f"{p.value:g}", rng, p.unit or "", p.source or "")
        console.print(params)

    for name, steps in scn.iter_schedules():
        console.print(timeline_table(scn, steps, f"Schedule {name!r}", wide=wide))
    if not scn.schedule_names:
        console.print("[dim]No schedule yet: `detente design` can find the fastest self-enforcing one.[/]")


def render_check(
    scn: Scenario,
    report: EnforcementReport,
    console: Console,
    tipping: Sequence[TippingPoint] | None = None,
    *,
    wide: bool = False,
) -> None:
    """One table per party (period, comply, deviate, slack, plan), the verdict and the reasons."""
    p = report.period_label
    title = f"Schedule {report.schedule_name!r}" if report.schedule_name else "Schedule"
    verdict = (
        Text("SELF-ENFORCING", style="bold green")
        if report.self_enforcing
        else Text("NOT SELF-ENFORCING", style="bold red")
    )
    parts: list[Any] = []
    part = Text("participation", style="bold")
    part.append("  " + "  ".join(f"{k} {v:.4g}" for k, v in report.participation.items()), style="")
    parts.append(part)
    for party in report.participation:
        rows = [c for c in report.constraints if c.party == party]
        table = FitTable(title=f"{party}: comply or deviate", wide=wide, markup=False)
        for col in (p, "comply", "deviate", "slack", "plan", "seen", "response"):
            table.add_column(col, justify="right" if col not in ("plan",) else "left", key=col == p)
        for c in rows:
            style = "red" if c.violated else ""
            table.add_row(
                str(c.period),
                f"{c.comply:.4g}",
                f"{c.deviate:.4g}",
                Text(f"{c.slack:.4g}", style=style or "green"),
                c.plan,
                str(c.seen),
                str(c.response_period),
            )
        if not rows:
            table.caption = f"{party} has no step it could withhold or undo"
        parts.append(table)
    if report.leverage is not None:
        lev = FitTable(title="Exposure and leverage", wide=wide, markup=False)
        lev.add_column(p, justify="right", key=True)
        for party in report.participation:
            lev.add_column(f"{party} exposure", justify="right")
            lev.add_column(f"{party} leverage", justify="right")
        periods = sorted({r.period for r in report.leverage})
        index = {(r.party, r.period): r for r in report.leverage}
        for t in periods:
            cells = []
            for party in report.participation:
                r = index[(party, t)]
                cells += [f"{r.exposure:.4g}", f"{r.leverage:.4g}"]
            lev.add_row(str(t), *cells)
        lev.caption = (
            "exposure: the most another party could take from it by deviating now; "
            "leverage: the most it could take from the others"
        )
        parts.append(lev)
    reasons = [Text(report.summary())]
    for c in report.violations:
        reasons.append(Text("• " + c.explanation, style="red"))
    if tipping is not None:
        if tipping:
            reasons += [Text("• " + t.sentence(), style="yellow") for t in tipping]
        else:
            reasons.append(Text("• No parameter flips the verdict within its range.", style="dim"))
    parts.append(Group(*reasons))
    console.print(Panel(Group(*parts), title=Text(f"{title}: ") + verdict, title_align="left", expand=False))


def _fmt_ci(stat: dict[str, Any], *, percent: bool = False) -> str:
    if stat.get("mean") is None:
        return "-"
    lo, hi = stat["ci95"]
    if percent:
        return f"{stat['mean']:.1%} [{lo:.1%}, {hi:.1%}]"
    return f"{stat['mean']:.4g} [{lo:.4g}, {hi:.4g}]"


def render_simulation(scn: Scenario, summary: dict[str, Any], console: Console, *, wide: bool = False) -> None:
    """Per-party outcomes with 95 % confidence intervals, crisis and completion rates."""
    table = FitTable(
        title=f"{plural(summary['episodes'], 'episode')}, {plural(summary['horizon'], scn.period)}, "
        f"seed {summary['seed']}",
        wide=wide,
        markup=False,
    )
    against = "no_deal" in summary
    table.add_column("party", key=True)
    cols = ["strategy", "value (95% CI)"] + (["value vs no deal (95% CI)"] if against else [])
    for col in (*cols, "package in force", "first to breach"):
        table.add_column(col)
    for pid, row in summary["parties"].items():
        vs = [_fmt_ci(row["value_vs_no_deal"])] if against else []
        table.add_row(
            pid,
            row["strategy"],
            _fmt_ci(row["value"]),
            *vs,
            _fmt_ci(row["package_in_force"], percent=True),
            f"{row['first_breach_share']:.1%}",
        )
    console.print(table)
    if against:
        worth = ", ".join(f"{pid} {row['no_deal_value']['mean']:.4g}" for pid, row in summary["parties"].items())
        console.print(escape(f"value vs no deal = value - value under {summary['no_deal']} (no deal is worth {worth})"))
    crisis = summary["crisis"]
    done = summary["completed"]
    breach = summary["breach"]
    lines = [
        f"crisis in {crisis['mean']:.1%} of episodes [{crisis['ci95'][0]:.1%}, {crisis['ci95'][1]:.1%}]"
        + (
            f", on average in {scn.period} {crisis['mean_period']:.1f}" if crisis.get("mean_period") is not None else ""
        ),
        f"schedule completed in {done['mean']:.1%}"
        + (f", on average by {scn.period} {done['mean_period']:.1f}" if done.get("mean_period") is not None else ""),
        f"someone breached in {breach['mean']:.1%}"
        + (
            f", first on average in {scn.period} {breach['mean_period']:.1f}"
            if breach.get("mean_period") is not None
            else ""
        ),
    ]
    console.print("\n".join(lines))


def render_tournament(payload: dict[str, Any], console: Console, *, wide: bool = False) -> None:
    """The outcome matrix: each cell shows both sides' mean values and the crisis rate.

    When the matrix does not fit the terminal it is printed in long format instead: one line
    per pairing (``--wide`` keeps the matrix).
    """
    a, b = payload["sides"]
    title = f"Tournament ({plural(payload['episodes'], 'episode')} per pairing"
    title += f", schedule {payload['schedule']!r})" if payload.get("schedule") else ")"
    table = FitTable(title=title, show_lines=True, wide=wide, markup=False)
    table.add_column(f"{a} \\ {b}", style="bold", key=True)
    for col in payload["columns"]:
        table.add_column(col, justify="right", key=True)
    long = FitTable(title=title, wide=wide, markup=False)
    long.add_column(f"{a} plays", style="bold", key=True)
    long.add_column(f"{b} plays", key=True)
    long.add_column(f"value to {a} / {b}", justify="right")
    against = bool(payload.get("value_vs_no_deal"))
    if against:
        long.add_column("vs no deal", justify="right")
    long.add_column("crisis", justify="right")
    for r, row in enumerate(payload["rows"]):
        cells = []
        for c, col in enumerate(payload["columns"]):
            va = payload["value"][a][r][c]
            vb = payload["value"][b][r][c]
            crisis = payload["crisis_rate"][r][c]
            cell = f"{va:.3g} / {vb:.3g}"
            if payload.get("value_vs_no_deal"):
                da = payload["value_vs_no_deal"][a][r][c]
                db = payload["value_vs_no_deal"][b][r][c]
                cell += f"\nvs no deal {da:+.3g} / {db:+.3g}"
            if crisis > 0:
                cell += f"\ncrisis {crisis:.0%}"
            cells.append(cell)
            versus = [f"{payload['value_vs_no_deal'][a][r][c]:+.3g} / {payload['value_vs_no_deal'][b][r][c]:+.3g}"]
            long.add_row(row, col, f"{va:.3g} / {vb:.3g}", *(versus if against else []), f"{crisis:.0%}")
        table.add_row(row, *cells)
    table.caption = f"cells: mean value to {a} / to {b}"
    long.caption = "crisis: share of episodes that ended in crisis"
    table.narrow = long
    console.print(table)
    if payload.get("value_vs_no_deal"):
        nd = payload["no_deal_value"]
        console.print(
            escape(
                f"vs no deal: value - value under {payload['no_deal']} "
                f"(no deal is worth {a} {nd[a]:.3g}, {b} {nd[b]:.3g})"
            )
        )


def render_match(data: dict[str, Any], console: Console, *, wide: bool = False) -> None:
    """A classic match: the scores, then a table of score, score per turn and cooperation per player."""
    a, b = data["players"]
    scores = data["scores"]
    game = data.get("game") or {}
    reps = int(data.get("repetitions", 1))
    console.print(
        Text.assemble(
            (a, "bold"),
            " vs ",
            (b, "bold"),
            f", {plural(int(data.get('turns', 0)), 'turn')}, noise {float(data.get('noise', 0.0)):g}: "
            f"scores {scores[0]:g} - {scores[1]:g}",
        )
    )
    table = FitTable(wide=wide, markup=False)
    table.add_column("", key=True, style="bold")
    table.add_column(a, justify="right", key=True)
    table.add_column(b, justify="right", key=True)
    table.add_row("total score" if reps == 1 else "mean total score", f"{scores[0]:g}", f"{scores[1]:g}")
    per_turn = data.get("per_turn") or []
    if len(per_turn) == 2:
        table.add_row("score per turn", *(_mean_ci(s) for s in per_turn))
    coop = data.get("cooperation_rate") or []
    if len(coop) == 2:
        table.add_row("cooperation", *(f"{float(c):.1%}" for c in coop))
    console.print(table)
    if game:
        payoffs = ", ".join(f"{k} {game[k]:g}" for k in ("R", "S", "T", "P") if k in game)
        console.print(f"{game.get('name', 'game')} ({payoffs}); {plural(reps, 'repetition')}")


def _mean_ci(stat: dict[str, Any]) -> str:
    lo, hi = (stat.get("ci95") or [None, None])[:2]
    text = f"{stat['mean']:.4g}"
    return text if lo is None or hi is None else f"{text} [{lo:.4g}, {hi:.4g}]"


def render_classic_tournament(payload: dict[str, Any], console: Console, *, wide: bool = False) -> None:
    """Ranking of a classic round robin."""
    table = FitTable(title="Round robin", wide=wide, markup=False)
    table.add_column("rank", justify="right", key=True)
    table.add_column("strategy", key=True)
    table.add_column("mean score per turn", justify="right")
    ranking = payload.get("ranking") or []
    means = payload.get("mean_scores") or {}
    for i, name in enumerate(ranking, 1):
        value = means.get(name)
        table.add_row(str(i), name, f"{value:.4f}" if isinstance(value, int | float) else str(value))
    console.print(table)
