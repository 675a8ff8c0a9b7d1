"""``/api/docs`` in a real browser: Swagger UI renders from this server's own files under the
app's Content-Security-Policy (no CDN, no inline script, no CSP violation)."""

from __future__ import annotations

from typing import Any


def test_api_docs_render_under_the_csp(browser: Any, server: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    outside: list[str] = []
    page.on("request", lambda r: r.url.startswith(server) or outside.append(r.url))
    page.set_default_timeout(30_000)
    page.goto(server + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "/api/check" in page.inner_text("body")
    assert errors == []
    assert outside == []
    context.close()
