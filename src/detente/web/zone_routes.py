"""The agreement zone in the web app: ``POST /api/zone`` and the page ``/zone``.

The page lists a scenario's demands with a check box each; toggling one re-runs the zone
(:func:`detente.design.zone.zone`) and shows whether it is open, the conflict and how far each
demand must move when it is empty, and the frontier figure when it is open. Registered by
:func:`register` on the app built by :func:`detente.web.app.create_app`, before the
routes of :mod:`detente.web.routes` (whose ``/api`` catch-all must come last).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

__all__ = ["register", "zone_payload"]

#: Frontier points the web app computes (a small number keeps the page responsive).
WEB_POINTS = 8


def zone_payload(
    scn: Any, demands: list[str] | None, all_demands: bool, points: int, time_limit: float
) -> dict[str, Any]:
    """The zone of ``scn`` under the chosen demands, with the frontier figure and every
    demand of the file (for the toggles)."""
    from ..core.errors import UsageError, did_you_mean
    from ..design.zone import zone
    from ..report.zone_figure import frontier_spec, positions

    known = [d.id for d in scn.demands]
    chosen = known if all_demands else list(demands or [])
    for name in chosen:
        if name not in known:
            raise UsageError(
                f"unknown demand {name!r}{did_you_mean(name, known)} (demands: {', '.join(known) or 'none'})"
            )
    result = zone(scn, chosen, points=points, time_limit=time_limit)
    out = result.to_dict()
    out["available_demands"] = [
        {"id": d.id, "party": d.party, "form": d.form, "text": d.text, "source": d.source, "on": d.id in chosen}
        for d in scn.demands
    ]
    out["figure"] = None if result.empty else frontier_spec(out, positions(scn))
    return out


def register(api: FastAPI, scenario_from: Any, time_limit: float) -> None:
    """Add the zone's API route and page to ``api`` (``scenario_from`` reads the request's
    scenario as the other analyses do; ``time_limit`` caps the solver's seconds)."""
    from .routes import _page

    @api.get("/zone", response_class=HTMLResponse, include_in_schema=False)
    async def zone_page() -> HTMLResponse:
        return HTMLResponse(_page("zone.html"), headers={"cache-control": "no-store"})

    @api.post("/api/zone", tags=["analyses"])
    async def zone_route(
        request: Request,
        case: Annotated[str | None, Query(description="A built-in case instead of a YAML body.")] = None,
        source: Annotated[str | None, Query(description="A label for the YAML body in messages.")] = None,
        demand: Annotated[list[str], Query(description="Demand ids to hold (repeatable).")] = [],  # noqa: B006
        all_demands: Annotated[bool, Query(description="Hold every demand of the file.")] = False,
        points: Annotated[int, Query(ge=2, le=40, description="Frontier points.")] = WEB_POINTS,
    ) -> dict[str, Any]:
        """The agreement zone (docs/zone.md) under the chosen demands, with a frontier figure."""
        scn = await scenario_from(request, case, source, [])
        result: dict[str, Any] = await run_in_threadpool(zone_payload, scn, demand, all_demands, points, time_limit)
        return result
