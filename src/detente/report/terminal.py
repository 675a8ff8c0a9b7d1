"""Rich views for the terminal: a scenario at a glance and the verdict of a check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..core.compiled import compile_scenario, compile_schedule
from ..core.expr import Expr
from ..core.scenario import Scenario, Step

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.enforcement import EnforcementReport
    from ..analysis.tipping import TippingPoint

__all__ = ["render_check", "render_scenario", "timeline_table"]

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


def timeline_table(scn: Scenario, steps: Sequence[Step], title: str) -> Table:
    """A schedule as a table: one row per period, one column per party."""
    sched = compile_schedule(scn, list(steps))
    comp = compile_scenario(scn)
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column(scn.period, justify="right", style="bold")
    for pid in scn.party_ids:
        table.add_column(pid)
    by_period: dict[int, dict[int, list[str]]] = {}
    for t, k, a in sched.steps:
        mark = REVERSIBLE if comp.reversible[k] else IRREVERSIBLE
        amount = "" if abs(a - 1.0) < 1e-9 else f" {a:.0%}"
        by_period.setdefault(t, {}).setdefault(int(comp.giver[k]), []).append(
            f"{mark} {escape(comp.labels[k])}{amount}"
        )
    for t in sorted(by_period):
        cells = ["\n".join(by_period[t].get(i, [])) for i in range(comp.n_parties)]
        table.add_row(str(t), *cells)
    table.caption = f"{IRREVERSIBLE} irreversible   {REVERSIBLE} reversible"
    return table


def render_scenario(scn: Scenario, console: Console) -> None:
    """Parties, concessions (reversibility, verification), parameters and schedule timelines."""
    head = Text(scn.name, style="bold")
    if scn.description:
        head.append("\n" + scn.description.strip(), style="dim")
    console.print(Panel(head, subtitle=f"one period = one {scn.period}", expand=False))

    parties = Table(title="Parties", title_justify="left")
    parties.add_column("id", style="bold cyan")
    parties.add_column("name")
    parties.add_column("discount", justify="right")
    for party in scn.parties:
        parties.add_row(party.id, escape(party.name or ""), _num(party.discount))
    console.print(parties)

    comp = compile_scenario(scn)
    conc = Table(title="Concessions", title_justify="left")
    for col in ("id", "by", "flow per period", "once", "reversible", "verified after", "divisible", "requires"):
        conc.add_column(col, overflow="fold")
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
            Text(c.id, style="bold cyan") + (Text(f"\n{c.name}", style="dim") if c.name else Text()),
            c.by,
            escape(flows),
            escape(_flows(c.once)),
            rev,
            f"{_num(c.lag)} {scn.period}s",
            "yes" if c.divisible else "no",
            ", ".join(c.requires) or "-",
        )
    console.print(conc)

    if scn.parameters:
        params = Table(title="Parameters", title_justify="left")
        for col in ("name", "value", "range", "unit", "source"):
            params.add_column(col, overflow="fold")
        for name, p in scn.parameters.items():
            rng = f"[{p.range[0]:g}, {p.range[1]:g}]" if p.range else "-"
            params.add_row(name, f"{p.value:g}", rng, escape(p.unit or ""), escape(p.source or ""))
        console.print(params)

    for name, steps in scn.iter_schedules():
        console.print(timeline_table(scn, steps, f"Schedule {name!r}"))
    if not scn.schedule_names:
        console.print("[dim]No schedule yet: `detente design` can find the fastest self-enforcing one.[/]")


def render_check(
    scn: Scenario,
    report: EnforcementReport,
    console: Console,
    tipping: Sequence[TippingPoint] | None = None,
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
    part = Table.grid(padding=(0, 2))
    part.add_row(Text("participation", style="bold"), *(f"{k} {v:.4g}" for k, v in report.participation.items()))
    parts.append(part)
    for party in report.participation:
        rows = [c for c in report.constraints if c.party == party]
        table = Table(title=f"{party}: comply or deviate", title_justify="left")
        for col in (p, "comply", "deviate", "slack", "plan", "seen", "response"):
            table.add_column(col, justify="right" if col not in ("plan",) else "left")
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
        lev = Table(title="Exposure and leverage", title_justify="left")
        lev.add_column(p, justify="right")
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
    console.print(Panel(Group(*parts), title=Text(f"{title}: ") + verdict, title_align="left"))


def _fmt_ci(stat: dict[str, Any]) -> str:
    if stat.get("mean") is None:
        return "-"
    lo, hi = stat["ci95"]
    return f"{stat['mean']:.4g} [{lo:.4g}, {hi:.4g}]"


def render_simulation(scn: Scenario, summary: dict[str, Any], console: Console) -> None:
    """Per-party outcomes with 95 % confidence intervals, crisis and completion rates."""
    table = Table(
        title=f"{summary['episodes']:,} episodes, {summary['horizon']} {scn.period}s, seed {summary['seed']}",
        title_justify="left",
    )
    against = "no_deal" in summary
    cols = ["party", "strategy", "value (95% CI)"] + (["value vs no deal (95% CI)"] if against else [])
    for col in (*cols, "package in force", "first to breach"):
        table.add_column(col)
    for pid, row in summary["parties"].items():
        vs = [_fmt_ci(row["value_vs_no_deal"])] if against else []
        table.add_row(
            pid,
            escape(row["strategy"]),
            _fmt_ci(row["value"]),
            *vs,
            _fmt_ci(row["package_in_force"]),
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


def render_tournament(payload: dict[str, Any], console: Console) -> None:
    """The outcome matrix: each cell shows both sides' mean values and the crisis rate."""
    a, b = payload["sides"]
    title = f"Tournament ({payload['episodes']:,} episodes per pairing"
    title += f", schedule {payload['schedule']!r})" if payload.get("schedule") else ")"
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column(f"{a} \\ {b}", style="bold")
    for col in payload["columns"]:
        table.add_column(col, justify="right")
    for r, row in enumerate(payload["rows"]):
        cells = []
        for c in range(len(payload["columns"])):
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
        table.add_row(row, *cells)
    table.caption = f"cells: mean value to {a} / to {b}"
    console.print(table)
    if payload.get("value_vs_no_deal"):
        nd = payload["no_deal_value"]
        console.print(
            escape(
                f"vs no deal: value - value under {payload['no_deal']} "
                f"(no deal is worth {a} {nd[a]:.3g}, {b} {nd[b]:.3g})"
            )
        )


def render_classic_tournament(payload: dict[str, Any], console: Console) -> None:
    """Ranking of a classic round robin."""
    table = Table(title="Round robin", title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("strategy")
    table.add_column("mean score per turn", justify="right")
    ranking = payload.get("ranking") or []
    means = payload.get("mean_scores") or {}
    for i, name in enumerate(ranking, 1):
        value = means.get(name)
        table.add_row(str(i), name, f"{value:.4f}" if isinstance(value, int | float) else str(value))
    console.print(table)
