"""The web app's guard: a pure ASGI middleware in front of every route.

It checks the Host header (a DNS-rebinding guard when no token is set), the token (header,
cookie or ``?token=``), the ``Origin`` of state-changing requests, and the body size (read up
front, so a chunked upload is limited too), and adds the security headers (CSP and friends)
to every response. It knows nothing about scenarios or analyses.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

__all__ = ["CSP", "LOOPBACK_HOSTS", "SECURITY_HEADERS", "TOKEN_COOKIE", "Guard"]

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
        if self.allowed_hosts is not None and not self._host_allowed(hostname.lower()):
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
            if given is None or not hmac.compare_digest(given, self.token.encode("utf-8")):
                await refuse(
                    401,
                    "this server needs its token: open the page with ?token=T, or send the header "
                    "'Authorization: Bearer T'",
                    [(b"www-authenticate", b'Bearer realm="detente"')],
                )
                return
            if via == "query":  # the page was opened with ?token=T: remember it for its requests
                set_cookie.append(
                    (
                        b"set-cookie",
                        f"{TOKEN_COOKIE}={quote(self.token, safe='')}; HttpOnly; SameSite=Strict; Path=/".encode(),
                    )
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

    def _host_allowed(self, hostname: str) -> bool:
        """A listed name, or any loopback address written as an IP (``127.0.0.2``, ``[::1]``).

        A DNS-rebinding attack needs a host *name*; an IP literal cannot be rebound, so every
        loopback address is accepted when the loopback names are (``serve --host 127.0.0.2``).
        """
        assert self.allowed_hosts is not None
        if hostname in self.allowed_hosts:
            return True
        if not self.allowed_hosts >= LOOPBACK_HOSTS:
            return False
        try:
            return ipaddress.ip_address(hostname.strip("[]")).is_loopback
        except ValueError:
            return False

    @staticmethod
    def _token_from(scope: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[bytes | None, str]:
        """The token the request carries as UTF-8 bytes, and how it came (header, cookie or query).

        Header values reach the app as raw bytes (decoded here as Latin-1, so re-encoding gives
        them back); the query and the cookie are percent-encoded UTF-8. Comparing bytes makes a
        non-ASCII token work the same way on every path.
        """
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip().encode("latin-1"), "header"
        if "x-detente-token" in headers:
            return headers["x-detente-token"].strip().encode("latin-1"), "header"
        raw = _raw_param(scope.get("query_string", b""), b"token")
        if raw is not None:
            return unquote_to_bytes(raw), "query"
        cookie = _cookie(headers, TOKEN_COOKIE)
        return (unquote_to_bytes(cookie), "cookie") if cookie else (None, "")


def _raw_param(query: bytes, name: bytes) -> bytes | None:
    """The first raw (still percent-encoded) non-empty value of ``name`` in a query string."""
    for part in query.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == name and value:
            return value.replace(b"+", b" ")
    return None


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
