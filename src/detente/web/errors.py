"""How the web app answers errors: :class:`HTTPProblem`, strict JSON, and the exception handlers.

Every error is a JSON ``{"detail": message, ...}``: scenario problems and bad arguments are
422, a run past its time limit is 504, a worker that died is 503, and anything else is a 500
that says it is a bug (never a traceback).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..core.errors import DetenteError, ScenarioError
from .failures import HTTPProblem, JobTimedOut, WorkerDied, WorkerTimedOut

__all__ = ["FastJSON", "HTTPProblem", "cap", "install_handlers"]


class FastJSON(JSONResponse):
    """Strict JSON (no NaN), written with the standard library's C encoder.

    Endpoints return it directly so that FastAPI skips ``jsonable_encoder``, which costs more
    than the check itself on a large payload; the data is made JSON-safe first.
    """

    def render(self, content: Any) -> bytes:
        from ..report.html import json_safe

        return json.dumps(json_safe(content), allow_nan=False, separators=(",", ":")).encode("utf-8")


def cap(name: str, value: int, low: int, high: int, hint: str = "") -> int:
    """``value`` if ``low <= value <= high``, else a 422 naming ``name`` and the allowed range."""
    if value < low or value > high:
        tail = f"; {hint}" if hint else ""
        raise HTTPProblem(422, f"{name} must be between {low:,} and {high:,}, found {value:,}{tail}")
    return value


def install_handlers(api: FastAPI, sync_timeout: float) -> None:
    """Register the JSON error answers on ``api``."""

    @api.exception_handler(HTTPProblem)
    async def _problem(_: Request, exc: HTTPProblem) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.extra}, status_code=exc.status)

    @api.exception_handler(ScenarioError)
    async def _scenario(_: Request, exc: ScenarioError) -> JSONResponse:
        return JSONResponse({"detail": exc.render(), "problems": [p.to_dict() for p in exc.problems]}, status_code=422)

    @api.exception_handler(DetenteError)
    async def _detente(_: Request, exc: DetenteError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @api.exception_handler(JobTimedOut)
    async def _timeout(_: Request, exc: JobTimedOut) -> JSONResponse:
        return JSONResponse(
            {"detail": f"stopped after {sync_timeout:g} s; run it as a background job (POST /api/jobs/...)"},
            status_code=504,
        )

    @api.exception_handler(WorkerTimedOut)
    async def _worker_timeout(_: Request, exc: WorkerTimedOut) -> JSONResponse:
        return JSONResponse(
            {
                "detail": f"stopped after its time limit of {exc.seconds:g} s; ask for less work, "
                "or run it as a background job (POST /api/jobs/...)"
            },
            status_code=504,
        )

    @api.exception_handler(WorkerDied)
    async def _worker_died(_: Request, exc: WorkerDied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @api.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); this is a bug in detente, please report it"},
            status_code=500,
        )
