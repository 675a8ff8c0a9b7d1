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
``POST /api/check``      the self-enforcement check: the JSON of MODEL.md section 7
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

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..core.errors import DetenteError, ScenarioError, UsageError
from .jobs import Job, JobManager, JobTimedOut, Report, TooManyJobs

if TYPE_CHECKING:  # pragma: no cover
    from ..core.scenario import Scenario

__all__ = ["CSP", "Limits", "create_app"]

#: Scripts, styles, images and fetches from this server only; no frames, no plugins, no eval.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
TOKEN_COOKIE = "detente_token"
JOB_KINDS = ("design", "simulate", "tournament", "claims", "report")


@dataclass(frozen=True)
class Limits:
    """Caps on what one request or job may ask for."""

    max_body: int = 1024 * 1024  #: bytes in a request body (1 MB)
    max_episodes: int = 1_000_000  #: per simulation job
    max_sync_episodes: int = 50_000  #: per direct ``POST /api/simulate``
    max_tournament_episodes: int = 5_000  #: per pairing of a tournament
    max_sim_horizon: int = 600  #: periods per simulated episode
    max_samples: int = 2048  #: parameter samples for claims and Sobol indices
    max_design_horizon: int = 120
    design_time_limit: float = 20.0  #: seconds for a direct design request
    job_timeout: float = 300.0  #: seconds a background job may run
    sync_timeout: float = 20.0  #: seconds a direct simulation may run


class FastJSON(JSONResponse):
    """Strict JSON (no NaN), written with the standard library's C encoder.

    Endpoints return it directly so that FastAPI skips ``jsonable_encoder``, which costs more
    than the check itself on a large payload; the data is made JSON-safe first.
    """

    def render(self, content: Any) -> bytes:
        from ..report.html import json_safe

        return json.dumps(json_safe(content), allow_nan=False, separators=(",", ":")).encode("utf-8")


class HTTPProblem(Exception):
    """An error answered with ``status`` and a JSON ``{"detail": message, ...}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


# --------------------------------------------------------------------------- guard middleware


def _json_bytes(status: int, detail: str) -> tuple[int, bytes]:
    return status, json.dumps({"detail": detail}).encode()


class Guard:
    """Pure ASGI middleware: host check, token, same-origin, body size limit, security headers.

    The body is read (at most ``max_body`` bytes) before the app sees it, so a chunked upload
    with no Content-Length is limited too.
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        token: str | None,
        max_body: int,
        allowed_hosts: frozenset[str] | None,
    ) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in existing]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        async def refuse(status: int, detail: str, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
            # drain nothing more: answer at once and close
            body = json.dumps({"detail": detail}).encode()
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                        *(extra_headers or []),
                    ],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": body})

        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if self.allowed_hosts is not None and hostname.lower() not in self.allowed_hosts:
            await refuse(
                421,
                f"this server answers only to {', '.join(sorted(self.allowed_hosts))} (Host was {host!r}); "
                "start it with --host and --token to serve other names",
            )
            return

        origin = headers.get("origin")
        if origin and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            parts = urlsplit(origin)
            if parts.netloc.lower() != host.lower():
                await refuse(403, f"cross-site request refused (Origin {origin} is not this server)")
                return

        set_cookie: list[tuple[bytes, bytes]] = []
        if self.token is not None:
            given, via = self._token_from(scope, headers)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                await refuse(
                    401,
                    "this server needs its token: open the page with ?token=T, or send the header "
                    "'Authorization: Bearer T'",
                    [(b"www-authenticate", b'Bearer realm="detente"')],
                )
                return
            if via == "query":  # the page was opened with ?token=T: remember it for its requests
                set_cookie.append(
                    (b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode())
                )

        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                await refuse(400, "Content-Length is not a number")
                return
            if too_big:
                await refuse(413, self._too_big(int(declared)))
                return

        chunks: list[bytes] = []
        size = 0
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await refuse(413, self._too_big(size, at_least=True))
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        async def send_final(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and set_cookie:
                message = {**message, "headers": [*message.get("headers", []), *set_cookie]}
            await send_with_headers(message)

        await self.app(scope, replay, send_final)

    def _too_big(self, size: int, at_least: bool = False) -> str:
        limit = self.max_body / 2**20
        found = f"{'more than ' if at_least else ''}{size / 2**20:.2f} MB"
        return f"request body too large: at most {limit:g} MB is accepted, found {found}"

    @staticmethod
    def _token_from(scope: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str | None, str]:
        """The token the request carries, and how it came (header, cookie or query)."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), "header"
        if "x-detente-token" in headers:
            return headers["x-detente-token"].strip(), "header"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        values = query.get("token")
        if values:
            return values[0], "query"
        cookie = _cookie(headers, TOKEN_COOKIE)
        return (cookie, "cookie") if cookie else (None, "")


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


# --------------------------------------------------------------------------- scenarios


_SAFE_SOURCE = re.compile(r"[^A-Za-z0-9._ -]+")


def _source_label(source: str | None) -> str:
    """A display name for an uploaded file: its base name, tame characters only (never opened)."""
    if not source:
        return "scenario.yaml"
    base = source.replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_SOURCE.sub("_", base).strip(" .")[:80]
    return base or "scenario.yaml"


@lru_cache(maxsize=64)
def _parse_cached(digest: str, text: str, source: str) -> Scenario:
    del digest  # part of the cache key only
    from ..io.yaml import loads

    return loads(text, source)


def parse_yaml(text: str, source: str) -> Scenario:
    """Parse scenario YAML (parsed scenarios are cached: they are immutable)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _parse_cached(digest, text, source)


@lru_cache(maxsize=16)
def _case_text(name: str) -> str:
    from ..io.yaml import case_path

    text: str = case_path(name).read_text(encoding="utf-8")
    return text


def builtin_names() -> dict[str, str]:
    from ..io.yaml import builtin_cases

    return builtin_cases()


def case_text(name: str) -> str:
    """The YAML of built-in case ``name``; 404 for any other name (paths included)."""
    names = builtin_names()
    if name not in names:
        from ..core.errors import did_you_mean

        raise HTTPProblem(
            404, f"no built-in case named {name!r}{did_you_mean(name, names)}; built-in cases: {', '.join(names)}"
        )
    return _case_text(name)


def _decode(body: bytes, source: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        from ..core.errors import Problem

        raise ScenarioError(
            [Problem(f"expected UTF-8 text, found the byte 0x{body[exc.start]:02x}", (), source, line, col)], source
        ) from None


def _parse_sets(items: list[str]) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for item in items:
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key or not value:
            raise UsageError(f"set={item!r}: expected NAME=VALUE, e.g. set=leakage=0.6")
        try:
            number = float(value)
        except ValueError:
            out[key] = value
            continue
        if not math.isfinite(number):
            raise UsageError(f"set={item!r}: expected a finite number")
        out[key] = number
    return out


def apply_overrides(scn: Scenario, items: list[str]) -> Scenario:
    """What-ifs as on the command line: ``NAME=VALUE`` for parameters (a value outside the
    range widens it), ``PARTY.field=VALUE`` or ``CONCESSION.field=VALUE`` for fields."""
    overrides = _parse_sets(items)
    return scn.with_overrides(overrides, "set=") if overrides else scn


async def scenario_from(request: Request, case: str | None, source: str | None, sets: list[str]) -> Scenario:
    """The request's scenario: the YAML body, or the built-in ``case``; with what-ifs applied."""
    body = await request.body()
    if case:
        if body.strip():
            raise HTTPProblem(422, "send either a YAML body or ?case=NAME, not both")
        text, label = case_text(case), f"{case} (built-in)"
    else:
        if not body.strip():
            raise HTTPProblem(
                422, "no scenario: send it as YAML in the request body, or name a built-in case with ?case=NAME"
            )
        label = _source_label(source)
        text = _decode(body, label)

    def work() -> Scenario:
        return apply_overrides(parse_yaml(text, label), sets)

    result: Scenario = await run_in_threadpool(work)
    return result


# --------------------------------------------------------------------------- analyses


def _cap(name: str, value: int, low: int, high: int, hint: str = "") -> int:
    if value < low or value > high:
        tail = f"; {hint}" if hint else ""
        raise HTTPProblem(422, f"{name} must be between {low:,} and {high:,}, found {value:,}{tail}")
    return value


def _schedule_or_none(scn: Scenario, schedule: str | None) -> str | None:
    if schedule:
        scn.get_schedule(schedule)
    return schedule or None


def scenario_summary(scn: Scenario) -> dict[str, Any]:
    """What the page needs to build its forms: parties, schedules, parameters, strategies."""
    from ..simulation.tournament import default_pool

    params = []
    for name, p in scn.parameters.items():
        params.append(
            {
                "name": name,
                "value": p.value,
                "range": list(p.range) if p.range else None,
                "integer": p.integer,
                "unit": p.unit,
                "source": p.source,
            }
        )
    return {
        "valid": True,
        "name": scn.name,
        "hash": scn.content_hash,
        "period": scn.period,
        "parties": list(scn.party_ids),
        "concessions": list(scn.concession_ids),
        "schedules": list(scn.schedule_names),
        "parameters": params,
        "strategies": {pid: default_pool(scn, pid) for pid in scn.party_ids},
        "design": {
            "horizon": scn.design.horizon if scn.design is not None else None,
            "tranches": dict(scn.design.tranches) if scn.design is not None else {},
        },
    }


def run_check(scn: Scenario, schedule: str | None, *, leverage: bool, figures: bool, tipping: bool) -> dict[str, Any]:
    from ..analysis.enforcement import check
    from ..report import figures as F

    names: list[str | None] = [schedule] if schedule else (list(scn.schedule_names) or [None])
    if names == [None]:
        scn.get_schedule(None)  # raises "no schedule; see design"
    payloads = {}
    for name in names:
        report = check(scn, name, leverage=leverage or figures)
        data = report.to_dict()
        if tipping:
            from ..analysis.tipping import tipping_points

            data["tipping_points"] = [t.to_dict() for t in tipping_points(scn, name)]
        if figures:
            data["figures"] = {
                "timeline": F.timeline_spec(
                    F.timeline_rows(scn, name=name),
                    parties=scn.party_ids,
                    period_label=scn.period,
                    title=f"Schedule {name!r}" if name else "Schedule",
                ),
                "slack": F.slack_spec(data, period_label=scn.period),
                "leverage": F.leverage_spec(data, period_label=scn.period),
            }
        if not leverage:
            data.pop("leverage", None)
        payloads[str(name)] = data
    if len(payloads) == 1:
        return next(iter(payloads.values()))
    return {"schedules": payloads}


def _parse_tranches(items: list[str]) -> dict[str, int] | None:
    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            count = int(value)
        except ValueError:
            count = -1
        if not sep or not key.strip() or count < 1 or count > 64:
            raise UsageError(f"tranches={item!r}: expected CONCESSION=N with N from 1 to 64, e.g. relief=4")
        out[key.strip()] = count
    return out


def run_design(
    scn: Scenario, horizon: int | None, tranches: list[str], time_limit: float, *, figures: bool
) -> dict[str, Any]:
    from ..core.scenario import Step
    from ..design.milp import design
    from ..report import figures as F
    from ..report.html import _roadmap_lines, json_safe

    result = design(scn, horizon, _parse_tranches(tranches), time_limit=time_limit)
    data = result.to_dict()
    data["roadmap"] = _roadmap_lines(result, scn)
    if figures and result.schedule:
        steps = [Step(period=t, concession=k, amount=a) for t, k, a in result.schedule]
        data["figures"] = {
            "timeline": F.timeline_spec(
                F.timeline_rows(scn, steps),
                parties=scn.party_ids,
                period_label=scn.period,
                title="The designed roadmap",
            )
        }
    out: dict[str, Any] = json_safe(data)
    return out


def _strategies(scn: Scenario, items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        party, sep, name = (s.strip() for s in item.partition("="))
        if not sep or not party or not name:
            raise UsageError(f"strategy={item!r}: expected PARTY=STRATEGY, e.g. strategy=US=reciprocal")
        out[party] = name
    return out


def run_simulate(
    scn: Scenario,
    strategies: dict[str, str],
    episodes: int,
    seed: int | None,
    schedule: str | None,
    horizon: int,
    report: Report,
    *,
    figures: bool,
) -> dict[str, Any]:
    from ..report import figures as F
    from ..report.html import json_safe
    from ..simulation.simulate import simulate

    if schedule is None and len(scn.schedule_names) > 1:
        raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")
    result = simulate(
        scn,
        strategies,
        episodes,
        seed,
        schedule=schedule,
        horizon=horizon,
        progress=lambda done, total: report(done / total, f"{done:,} of {total:,} episodes"),
    )
    data = result.summary()
    if figures:
        label = ", ".join(f"{p}={s}" for p, s in result.strategies.items())
        rows = [F.quantile_row(label, pid, result.value[:, i]) for i, pid in enumerate(result.parties)]
        data["figures"] = {"outcomes": F.outcomes_spec(rows, title="Discounted value per party")}
    out: dict[str, Any] = json_safe(data)
    return out


# --------------------------------------------------------------------------- the app


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
}

CaseQ = Annotated[str | None, Query(description="A built-in case name instead of a YAML body.", max_length=100)]
SourceQ = Annotated[str | None, Query(description="The uploaded file's name, shown in error messages.", max_length=200)]
SetQ = Annotated[list[str], Query(alias="set", description="What-if: NAME=VALUE (repeatable).")]
ScheduleQ = Annotated[
    str | None, Query(description="A named schedule (default: all, or the only one).", max_length=100)
]


def _page(name: str) -> str:
    return files("detente.web").joinpath("templates", name).read_text(encoding="utf-8")


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
    jobs = JobManager(workers=job_workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        jobs.shutdown()

    api = FastAPI(
        title="detente",
        version=__version__,
        description="Design and stress-test phased, reciprocal agreements between adversaries.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=FastJSON,
    )
    api.state.jobs = jobs
    api.state.limits = lim

    # ------------------------------------------------------------------ errors

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
            {"detail": f"stopped after {lim.sync_timeout:g} s; run it as a background job (POST /api/jobs/...)"},
            status_code=504,
        )

    @api.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); this is a bug in detente, please report it"},
            status_code=500,
        )

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
        """Is a schedule self-enforcing (MODEL.md §3)? The JSON of MODEL.md §7: verdict,
        participation, one constraint per party and period, violations with explanations.
        With several schedules and none named: ``{"schedules": {name: result}}``."""
        scn = await scenario_from(request, case, source, set_)

        def work() -> FastJSON:
            name = _schedule_or_none(scn, schedule)
            return FastJSON(run_check(scn, name, leverage=leverage, figures=figures, tipping=tipping))

        return await run_in_threadpool(work)

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
        """The fastest self-enforcing schedule (MODEL.md §4), with a bounded solve time."""
        scn = await scenario_from(request, case, source, set_)
        args = _design_args(horizon, time_limit, lim.design_time_limit)
        return await run_in_threadpool(run_design, scn, args[0], tranches, args[1], figures=figures)

    def _design_args(horizon: int | None, time_limit: float | None, cap: float) -> tuple[int | None, float]:
        if horizon is not None:
            _cap("horizon", horizon, 0, lim.max_design_horizon)
        limit = cap if time_limit is None else time_limit
        if not (math.isfinite(limit) and 0 < limit <= cap):
            raise HTTPProblem(422, f"time_limit must be more than 0 and at most {cap:g} seconds, found {limit}")
        return horizon, limit

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
        _cap("episodes", episodes, 1, lim.max_sync_episodes, "use POST /api/jobs/simulate for more")
        _cap("horizon", horizon, 1, lim.max_sim_horizon)
        _seed(seed)
        deadline = time.monotonic() + lim.sync_timeout

        def report(_: float, __: str) -> None:
            if time.monotonic() > deadline:
                raise JobTimedOut()

        def work() -> dict[str, Any]:
            name = _schedule_or_none(scn, schedule)
            return run_simulate(scn, _strategies(scn, strategy), episodes, seed, name, horizon, report, figures=figures)

        return await run_in_threadpool(work)

    def _seed(seed: int | None) -> None:
        if seed is not None and not 0 <= seed < 2**63:
            raise HTTPProblem(422, f"seed must be between 0 and 2**63 - 1, found {seed}")

    from .zone_routes import register as register_zone

    register_zone(api, scenario_from, lim.design_time_limit)

    # ------------------------------------------------------------------ jobs

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
        _seed(seed)
        name = _schedule_or_none(scn, schedule)
        work, description = _job_work(kind, scn, name, strategy, episodes, seed, horizon, tranches, samples)
        try:
            job = jobs.submit(kind, work, timeout=lim.job_timeout, description=description)
        except TooManyJobs as exc:
            raise HTTPProblem(429, str(exc)) from None
        return JSONResponse(job.to_dict(), status_code=202, headers={"location": f"/api/jobs/{job.id}"})

    def _job_work(
        kind: str,
        scn: Scenario,
        schedule: str | None,
        strategy: list[str],
        episodes: int | None,
        seed: int | None,
        horizon: int | None,
        tranches: list[str],
        samples: int | None,
    ) -> tuple[Callable[[Report], Any], str]:
        if kind == "design":
            hz, limit = _design_args(horizon, None, min(lim.job_timeout, 120.0))
            _parse_tranches(tranches)

            def design_job(report: Report) -> Any:
                report(0.05, "solving")
                return run_design(scn, hz, tranches, limit, figures=True)

            return design_job, f"design {scn.name}"
        if kind == "simulate":
            n = _cap("episodes", 10_000 if episodes is None else episodes, 1, lim.max_episodes)
            hz_sim = _cap("horizon", 120 if horizon is None else horizon, 1, lim.max_sim_horizon)
            strategies = _strategies(scn, strategy)
            if schedule is None and len(scn.schedule_names) > 1:
                raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")

            def simulate_job(report: Report) -> Any:
                return run_simulate(scn, strategies, n, seed, schedule, hz_sim, report, figures=True)

            return simulate_job, f"simulate {n:,} episodes"
        if kind == "tournament":
            n = _cap("episodes", 200 if episodes is None else episodes, 1, lim.max_tournament_episodes)
            if schedule is None and len(scn.schedule_names) > 1:
                raise UsageError(f"choose a schedule: {', '.join(scn.schedule_names)}")

            def tournament_job(report: Report) -> Any:
                from ..report import figures as F
                from ..report.html import json_safe
                from ..simulation.tournament import tournament

                res = tournament(
                    scn, None, n, seed, schedule=schedule, progress=lambda d, t: report(d / t, f"{d} of {t} pairings")
                ).to_dict()
                res["figures"] = {"tournament": F.tournament_spec(res)}
                return json_safe(res)

            return tournament_job, f"tournament, {n:,} episodes per pairing"
        if kind == "claims":
            m = _cap("samples", 8 if samples is None else samples, 1, lim.max_samples)

            def claims_job(report: Report) -> Any:
                from ..report import figures as F
                from ..report.html import claims_data, sensitivity_data

                report(0.0, "evaluating the claims")
                claims, reason = claims_data(
                    scn, m, seed or 0, lambda d, t: report(0.7 * d / max(1, t), f"claims: {d:,} of {t:,} points")
                )
                target = schedule
                if target is None:
                    from ..report.html import check_section, pick_simulation_schedule

                    target = pick_simulation_schedule(
                        scn, [check_section(scn, n, tipping=False) for n in scn.schedule_names]
                    )
                report(0.7, "global sensitivity")
                sobol, why = sensitivity_data(
                    scn,
                    target,
                    m,
                    seed or 0,
                    lambda d, t: report(0.7 + 0.3 * d / max(1, t), f"Sobol: {d:,} of {t:,} points"),
                )
                out: dict[str, Any] = {
                    "claims": claims,
                    "claims_reason": reason or None,
                    "sobol": sobol,
                    "sobol_reason": why or None,
                    "figures": {},
                }
                if claims:
                    out["figures"]["claims"] = F.claims_spec(claims)
                if sobol:
                    out["figures"]["sobol"] = F.sobol_spec(sobol)
                return out

            return claims_job, f"claims over {m} samples"
        # report
        n = _cap("episodes", 200 if episodes is None else episodes, 1, lim.max_tournament_episodes)
        m = _cap("samples", 8 if samples is None else samples, 1, lim.max_samples)

        def report_job(report: Report) -> Any:
            from ..report.html import ReportOptions, report_html

            opts = ReportOptions(
                episodes=n,
                seed=seed or 0,
                samples=m,
                simulate_schedule=schedule,
                design_time_limit=min(60.0, lim.job_timeout / 3),
            )
            html = report_html(scn, opts, source=scn.name, progress=report)
            return {"html": html}

        return report_job, f"report on {scn.name}"

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

    @api.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unknown(rest: str) -> PlainTextResponse:
        raise HTTPProblem(404, f"no API endpoint /api/{rest}; see /api/docs")

    hosts: frozenset[str] | None
    if allowed_hosts is not None:
        hosts = frozenset(h.lower() for h in allowed_hosts)
    elif loopback_only and token is None:
        hosts = LOOPBACK_HOSTS
    else:
        hosts = None
    return Guard(api, token=token, max_body=lim.max_body, allowed_hosts=hosts)


def _ended(status: str) -> str:
    return {"done": "finished", "failed": "failed", "cancelled": "been cancelled"}.get(status, status)
