"""The web app's routes: the page, its static files, and the JSON API under ``/api``.

Each route checks its arguments (422 with the allowed range), gets the scenario, and hands
the work to :mod:`.services`; long work goes through the :class:`JobManager`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from .. import __version__
from .errors import FastJSON, HTTPProblem, cap
from .jobs import Job, JobManager, TooManyJobs
from .limits import Limits
from .scenarios import builtin_names, case_text, scenario_from
from .services import (
    JOB_KINDS,
    check_seed,
    design_args,
    job_work,
    no_report,
    parse_strategies,
    run_check,
    run_design,
    run_simulate,
    scenario_summary,
    schedule_or_none,
)
from .workers import ComputePool

__all__ = ["add_routes"]

YAML_BODY = {
    "requestBody": {
        "required": False,
        "description": "The scenario as YAML text (omit it and use ?case=NAME for a built-in case).",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown built-in case or job"},
    413: {"description": "Request body over the size limit"},
    422: {"description": "Invalid scenario (problems with line numbers) or argument"},
    503: {"description": "The computation died or passed its memory allowance"},
    504: {"description": "The computation ran past its time limit (it was stopped)"},
}

CaseQ = Annotated[str | None, Query(description="A built-in case name instead of a YAML body.", max_length=100)]
SourceQ = Annotated[str | None, Query(description="The uploaded file's name, shown in error messages.", max_length=200)]
SetQ = Annotated[list[str], Query(alias="set", description="What-if: NAME=VALUE (repeatable).")]
ScheduleQ = Annotated[
    str | None, Query(description="A named schedule (default: all, or the only one).", max_length=100)
]


def _page(name: str) -> str:
    return files("detente.web").joinpath("templates", name).read_text(encoding="utf-8")


def add_api_docs(api: FastAPI) -> None:
    """``/api/docs``: Swagger UI from the ``fastapi-offline`` package's files, served by this server.

    FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script, both of
    which the app's Content-Security-Policy blocks; this page uses local files only and starts
    Swagger UI from ``/static/api-docs.js``. Without the package the page says where the
    schema is (``/api/openapi.json``).
    """
    try:
        assets: Path | None = Path(str(files("fastapi_offline").joinpath("static")))
    except ModuleNotFoundError:  # pragma: no cover - the package is a dependency
        assets = None

    @api.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        if assets is None:  # pragma: no cover
            return HTMLResponse('<p>The API schema is at <a href="/api/openapi.json">/api/openapi.json</a>.</p>')
        return HTMLResponse(_page("api-docs.html"), headers={"cache-control": "no-store"})

    if assets is not None:
        api.mount("/api/docs/assets", StaticFiles(directory=str(assets)), name="swagger-ui")


def add_routes(api: FastAPI, lim: Limits, jobs: JobManager, workers: ComputePool) -> None:
    """Register the page and every API route on ``api``; analyses run in ``workers``."""

    async def compute(function: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` in a worker process, at most ``timeout`` seconds of running
        (504 after, 503 if the worker dies or runs out of memory)."""
        return await run_in_threadpool(partial(workers.run, function, *args, timeout=timeout, **kwargs))

    # ------------------------------------------------------------------ page

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        html = _page("index.html").replace("{{version}}", __version__)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    @api.get("/static/vega.js", include_in_schema=False)
    async def vega_bundle() -> Response:
        from ..report.figures import javascript_bundle

        text = await run_in_threadpool(javascript_bundle)
        return Response(text, media_type="text/javascript", headers={"cache-control": "public, max-age=86400"})

    api.mount("/static", StaticFiles(directory=str(files("detente.web").joinpath("static"))), name="static")

    # ------------------------------------------------------------------ API

    @api.get("/api/health", tags=["meta"])
    async def health() -> dict[str, Any]:
        """Liveness and version."""
        return {"status": "ok", "version": __version__, "limits": lim.__dict__}

    @api.get("/api/cases", tags=["scenarios"])
    async def cases() -> dict[str, Any]:
        """The built-in case library: names and titles."""
        return {"cases": [{"name": n, "title": t} for n, t in builtin_names().items()]}

    @api.get("/api/cases/{name}", tags=["scenarios"], responses={404: ERRORS[404]})
    async def case(name: str) -> dict[str, Any]:
        """One built-in case as YAML text (for the editor)."""
        text = case_text(name)
        return {"name": name, "title": builtin_names()[name], "yaml": text}

    @api.post("/api/validate", tags=["scenarios"], openapi_extra=YAML_BODY, responses=ERRORS)
    async def validate(request: Request, case: CaseQ = None, source: SourceQ = None, set_: SetQ = []) -> dict[str, Any]:  # noqa: B006
        """Validate a scenario: its parties, schedules, parameters and strategies, or every
        problem with its line and column (422)."""
        scn = await scenario_from(request, case, source, set_)
        return await run_in_threadpool(scenario_summary, scn)

    @api.post("/api/check", tags=["analyses"], openapi_extra=YAML_BODY, responses=ERRORS)
    async def check(
        request: Request,
        case: CaseQ = None,
        source: SourceQ = None,
        set_: SetQ = [],  # noqa: B006
        schedule: ScheduleQ = None,
        leverage: bool = False,
        tipping: bool = False,
        figures: Annotated[bool, Query(description="Add Vega-Lite specs of the timeline, slack and leverage.")] = False,
    ) -> Response:
        """Is a schedule self-enforcing (docs/model.md §3)? The JSON of docs/model.md §7: verdict,
        participation, one constraint per party and period, violations with explanations.
        With several schedules and none named: ``{"schedules": {name: result}}``."""
        scn = await scenario_from(request, case, source, set_)
        name = schedule_or_none(scn, schedule)
        data = await compute(
            run_check, scn, name, leverage=leverage, figures=figures, tipping=tipping, timeout=lim.sync_timeout
        )
        return FastJSON(data)

    @api.post("/api/design", tags=["analyses"], openapi_extra=YAML_BODY, responses=ERRORS)
    async def design(
        request: Request,
        case: CaseQ = None,
        source: SourceQ = None,
        set_: SetQ = [],  # noqa: B006
        horizon: Annotated[int | None, Query(description="Latest period a step may take.")] = None,
        tranches: Annotated[list[str], Query(description="CONCESSION=N equal tranches (repeatable).")] = [],  # noqa: B006
        time_limit: Annotated[float | None, Query(description="Solver seconds (capped).")] = None,
        figures: bool = False,
    ) -> dict[str, Any]:
        """The fastest self-enforcing schedule (docs/model.md §4), with a bounded solve time."""
        scn = await scenario_from(request, case, source, set_)
        hz, limit = design_args(lim, horizon, time_limit, lim.design_time_limit)
        # the solver stops itself at its time limit; the worker is killed a little later
        result: dict[str, Any] = await compute(
            run_design, scn, hz, tranches, limit, figures=figures, timeout=limit + lim.sync_timeout
        )
        return result

    @api.post("/api/simulate", tags=["analyses"], openapi_extra=YAML_BODY, responses=ERRORS)
    async def simulate(
        request: Request,
        case: CaseQ = None,
        source: SourceQ = None,
        set_: SetQ = [],  # noqa: B006
        schedule: ScheduleQ = None,
        strategy: Annotated[list[str], Query(description="PARTY=STRATEGY (repeatable).")] = [],  # noqa: B006
        episodes: int = 1000,
        seed: int | None = None,
        horizon: int = 120,
        figures: bool = False,
    ) -> dict[str, Any]:
        """A small Monte Carlo run (up to ``max_sync_episodes``); larger ones go through
        ``POST /api/jobs/simulate``."""
        scn = await scenario_from(request, case, source, set_)
        cap("episodes", episodes, 1, lim.max_sync_episodes, "use POST /api/jobs/simulate for more")
        cap("horizon", horizon, 1, lim.max_sim_horizon)
        check_seed(seed)
        strategies = parse_strategies(scn, strategy)
        name = schedule_or_none(scn, schedule)
        result: dict[str, Any] = await compute(
            run_simulate,
            scn,
            strategies,
            episodes,
            seed,
            name,
            horizon,
            no_report,
            figures=figures,
            timeout=lim.sync_timeout,
        )
        return result

    @api.post("/api/jobs/{kind}", tags=["jobs"], status_code=202, openapi_extra=YAML_BODY, responses=ERRORS)
    async def submit(
        request: Request,
        kind: str,
        case: CaseQ = None,
        source: SourceQ = None,
        set_: SetQ = [],  # noqa: B006
        schedule: ScheduleQ = None,
        strategy: Annotated[list[str], Query(description="simulate: PARTY=STRATEGY (repeatable).")] = [],  # noqa: B006
        episodes: Annotated[int | None, Query(description="simulate, tournament, report: episodes.")] = None,
        seed: int | None = None,
        horizon: Annotated[int | None, Query(description="simulate: periods; design: latest period.")] = None,
        tranches: Annotated[list[str], Query(description="design: CONCESSION=N (repeatable).")] = [],  # noqa: B006
        samples: Annotated[int | None, Query(description="claims, report: parameter samples.")] = None,
    ) -> JSONResponse:
        """Start a background job (design, simulate, tournament, claims or report); poll
        ``GET /api/jobs/ID`` for progress and result, ``DELETE`` it to cancel."""
        if kind not in JOB_KINDS:
            raise HTTPProblem(404, f"unknown job kind {kind!r}; kinds: {', '.join(JOB_KINDS)}")
        scn = await scenario_from(request, case, source, set_)
        check_seed(seed)
        name = schedule_or_none(scn, schedule)
        work, description = job_work(lim, kind, scn, name, strategy, episodes, seed, horizon, tranches, samples)
        try:
            job = jobs.submit(kind, work, timeout=lim.job_timeout, description=description)
        except TooManyJobs as exc:
            raise HTTPProblem(429, str(exc)) from None
        return JSONResponse(job.to_dict(), status_code=202, headers={"location": f"/api/jobs/{job.id}"})

    @api.get("/api/jobs", tags=["jobs"])
    async def list_jobs() -> dict[str, Any]:
        """Known jobs, newest first (without their results)."""
        return {"jobs": [j.to_dict(with_result=False) for j in jobs.list()]}

    def _job(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPProblem(404, f"no job {job_id!r}: it never existed or has been forgotten (jobs are kept an hour)")
        return job

    @api.get("/api/jobs/{job_id}", tags=["jobs"], responses={404: ERRORS[404]})
    async def get_job(job_id: str) -> dict[str, Any]:
        """A job's status (queued, running, done, failed, cancelled), progress and result."""
        job = _job(job_id)
        data = job.to_dict()
        if job.kind == "report":
            data.pop("result", None)
            if job.status == "done":
                data["download"] = f"/api/jobs/{job.id}/report.html"
        return data

    @api.delete("/api/jobs/{job_id}", tags=["jobs"], responses={404: ERRORS[404], 409: {"description": "Finished"}})
    async def cancel_job(job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (it stops at its next progress report)."""
        job = _job(job_id)
        if not job.active:
            raise HTTPProblem(
                409, f"job {job_id} has already {_ended(job.status)}; nothing to cancel", job_status=job.status
            )
        jobs.cancel(job_id)
        return job.to_dict(with_result=False)

    @api.get(
        "/api/jobs/{job_id}/report.html",
        tags=["jobs"],
        response_class=HTMLResponse,
        responses={404: ERRORS[404], 409: {"description": "Not finished"}, 410: {"description": "Cancelled"}},
    )
    async def job_report(job_id: str) -> Response:
        """The finished report of a report job, as a download."""
        job = _job(job_id)
        if job.kind != "report":
            raise HTTPProblem(404, f"job {job_id} is a {job.kind} job and has no report")
        if job.status == "cancelled":
            raise HTTPProblem(410, f"job {job_id} was cancelled; start a new report")
        if job.status == "failed":
            raise HTTPProblem(409, f"job {job_id} failed: {job.error}")
        if job.status != "done":
            raise HTTPProblem(409, f"job {job_id} is {job.status} ({job.progress:.0%}); try again when it is done")
        name = (
            re.sub(r"[^A-Za-z0-9._-]+", "-", job.description.removeprefix("report on ")).strip("-")[:60] or "scenario"
        )
        return Response(
            job.result["html"],
            media_type="text/html; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="detente-report-{name}.html"'},
        )

    add_api_docs(api)

    @api.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unknown(rest: str) -> PlainTextResponse:
        raise HTTPProblem(404, f"no API endpoint /api/{rest}; see /api/docs")


def _ended(status: str) -> str:
    return {"done": "finished", "failed": "failed", "cancelled": "been cancelled"}.get(status, status)
