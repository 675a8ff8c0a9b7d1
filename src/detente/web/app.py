"""The detente web app: a FastAPI application over the same functions as the command line.

``create_app()`` returns the ASGI app that ``detente serve`` runs. The page (``/``) lets an
analyst pick a built-in case or edit and upload YAML, run check, design, simulate and claims,
see the figures, and download the report and the scenario. Everything the page does goes
through the JSON API under ``/api`` (OpenAPI schema at ``/api/openapi.json``, docs at
``/api/docs``):

=======================  ==========================================================
``GET  /api/cases``      the built-in case names and titles
``GET  /api/cases/NAME`` one case's YAML text
``POST /api/validate``   a scenario's parts, or its problems with line numbers (422)
``POST /api/check``      the self-enforcement check: the JSON of docs/model.md §7
``POST /api/design``     the fastest self-enforcing schedule (bounded solve time)
``POST /api/simulate``   a small Monte Carlo run (larger ones as jobs)
``POST /api/jobs/KIND``  a background job: design, simulate, tournament, claims, report
``GET  /api/jobs/ID``    its status, progress and result; ``DELETE`` cancels it
=======================  ==========================================================

A scenario is sent as the YAML request body, or named with ``?case=NAME`` (built-in cases
only: the server never opens a path the client names). What-ifs are ``?set=NAME=VALUE``.

Security (see docs/web.md): every response carries a Content-Security-Policy that allows
scripts from this server only; bodies over :attr:`Limits.max_body` get 413; episodes, samples
and horizons are capped with messages that say so; long runs have time limits. With a token
(required by ``detente serve`` beyond loopback) every request must carry it, as
``Authorization: Bearer T``, an ``X-Detente-Token`` header, or the cookie the page sets after
being opened with ``?token=T``. Without a token the app answers only to loopback host names
(a DNS-rebinding guard), and cross-site requests are refused by their ``Origin``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .. import __version__
from .errors import FastJSON, install_handlers
from .guard import CSP, LOOPBACK_HOSTS, Guard
from .jobs import JobManager
from .limits import Limits
from .routes import add_routes
from .services import preload
from .workers import ComputePool, WorkerPool

__all__ = ["CSP", "Limits", "create_app"]


def create_app(
    *,
    token: str | None = None,
    limits: Limits | None = None,
    job_workers: int = 2,
    loopback_only: bool = True,
    allowed_hosts: frozenset[str] | set[str] | None = None,
) -> Any:
    """The ASGI application (FastAPI wrapped in the security guard).

    ``loopback_only`` (the default when bound to loopback) refuses Host names other than
    localhost and the loopback addresses, unless a ``token`` is set; ``allowed_hosts``
    overrides the list (tests add ``testserver``).
    """
    lim = limits or Limits()
    preload()  # computations fork from this process: load their modules once, here
    workers = ComputePool(lim.max_workers, memory_mb=lim.worker_memory_mb)
    job_pool = WorkerPool(job_workers, memory_mb=lim.worker_memory_mb)
    jobs = JobManager(workers=job_workers, pool=job_pool)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        jobs.shutdown()
        workers.shutdown()
        job_pool.shutdown()

    api = FastAPI(
        title="detente",
        version=__version__,
        description="Design and stress-test phased, reciprocal agreements between adversaries.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by routes.add_api_docs, from local files
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=FastJSON,
    )
    api.state.jobs = jobs
    api.state.limits = lim
    api.state.workers = workers

    install_handlers(api, lim.sync_timeout)
    from .scenarios import scenario_from
    from .zone_routes import register as register_zone

    register_zone(api, scenario_from, lim.design_time_limit)  # before the /api catch-all of add_routes
    add_routes(api, lim, jobs, workers)

    hosts: frozenset[str] | None
    if allowed_hosts is not None:
        hosts = frozenset(h.lower() for h in allowed_hosts)
    elif loopback_only and token is None:
        hosts = LOOPBACK_HOSTS
    else:
        hosts = None
    return Guard(api, token=token, max_body=lim.max_body, allowed_hosts=hosts)
