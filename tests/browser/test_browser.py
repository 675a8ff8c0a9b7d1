"""The page in a real browser (Debian's Chromium through Playwright), against a live server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .conftest import shoot

BAD_FILE = Path(__file__).parent.parent / "fixtures" / "bad" / "misspelled_nested_key.yaml"


def choose_hanoi(page: Any) -> None:
    page.select_option("#case-select", "hanoi-2019")
    page.wait_for_selector("#run-check:not([disabled])")
    page.wait_for_selector("#param-leakage")


def run_check(page: Any) -> int:
    page.locator("#verdict").evaluate("v => v.removeAttribute('data-ms')")
    page.click("#run-check")
    page.wait_for_selector("#verdict[data-ms]")
    return int(page.get_attribute("#verdict", "data-ms"))


def test_choose_a_case_check_it_and_see_the_verdict_and_timeline(page: Any) -> None:
    choose_hanoi(page)
    page.select_option("#schedule-select", "phased")
    for _ in range(3):
        run_check(page)
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-self-enforcing") == "true"
    assert "Schedule 'phased' is self-enforcing" in verdict.inner_text()
    page.wait_for_selector("#fig-timeline svg.marks")
    page.wait_for_selector("#fig-slack svg.marks")
    svg = page.locator("#fig-timeline svg.marks").inner_html()
    assert "Yongbyon dismantlement" in svg
    assert "month" in svg
    assert page.errors == []
    shoot(page, "web-check")


def test_a_changed_value_breaks_the_schedule_and_the_page_says_why(page: Any) -> None:
    choose_hanoi(page)
    page.select_option("#schedule-select", "phased")
    page.fill("#param-leakage", "0.6")
    page.locator("#param-leakage").dispatch_event("change")
    run_check(page)
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-self-enforcing") == "false"
    assert "not self-enforcing" in verdict.inner_text()
    assert "leakage=0.6" in verdict.inner_text()
    explanations = page.locator("#violations .explanation")
    assert explanations.count() >= 1
    text = explanations.first.inner_text()
    assert re.search(r"gains [0-9.]+ by", text), text
    page.wait_for_selector("#fig-slack svg.marks")
    shoot(page, "web-violation")


def test_a_bad_file_shows_its_problems_with_line_numbers(page: Any) -> None:
    page.set_input_files("#upload", str(BAD_FILE))
    page.wait_for_selector("#problems:not([hidden]) li.problem")
    text = page.locator("#problems").inner_text()
    assert re.search(r"line \d+, column \d+", text), text
    assert "did you mean" in text
    assert page.locator("#gutter .bad").count() >= 1
    assert page.locator("#run-check").is_disabled()
    # clicking a problem selects its line in the editor
    page.locator("#problems li.clickable").first.click()
    selected = page.locator("#yaml").evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)")
    assert selected.strip()
    shoot(page, "web-error")


def test_start_a_simulation_and_cancel_it(page: Any) -> None:
    choose_hanoi(page)
    page.click(".tabs button[data-tab=simulate]")
    page.select_option("#sim-schedule", "phased")
    page.fill("#sim-episodes", "1000000")
    page.click("#run-simulate")
    page.wait_for_selector("#simulate-job[data-status=running]")
    page.wait_for_selector("#cancel-simulate:not([hidden])")
    page.click("#cancel-simulate")
    page.wait_for_selector("#simulate-job[data-status=cancelled]", timeout=30_000)
    assert "cancelled" in page.locator("#simulate-job .status").inner_text()
    assert page.locator("#sim-result table").count() == 0
    # the server keeps serving: a short run afterwards completes
    page.fill("#sim-episodes", "2000")
    page.select_option("#strategy-DPRK", "hedger")
    page.click("#run-simulate")
    page.wait_for_selector("#simulate-job[data-status=done]", timeout=30_000)
    page.wait_for_selector("#fig-outcomes svg.marks")
    assert "hedger" in page.locator("#sim-result").inner_text()
    shoot(page, "web-simulate")


def test_design_and_report_download(page: Any) -> None:
    choose_hanoi(page)
    page.click(".tabs button[data-tab=design]")
    page.click("#run-design")
    page.wait_for_selector("#design-job[data-status=done]", timeout=60_000)
    page.wait_for_selector("#fig-design svg.marks")
    assert "roadmap" in page.locator("#fig-design").inner_html().lower() or page.locator("#design-result li").count()
    shoot(page, "web-design")
    # the report of a small case (Hanoi's claims take most of a minute to evaluate)
    page.select_option("#case-select", "worked-hostage")
    page.wait_for_selector("#scenario-status:has-text('Worked example')")
    page.click(".tabs button[data-tab=report]")
    page.click("#run-report")
    page.wait_for_selector("#report-download", timeout=90_000)
    with page.expect_download() as info:
        page.click("#report-download")
    path = info.value.path()
    html = Path(path).read_text(encoding="utf-8")
    assert "Worked example - phased with a reversible hostage" in html
    assert "vegaEmbed" in html
    assert page.errors == []


def test_the_report_renders_offline(browser: Any, tmp_path: Path) -> None:
    import detente
    from detente.report.html import ReportOptions, report_html

    out = tmp_path / "report.html"
    out.write_text(
        report_html(detente.load("hanoi-2019"), ReportOptions(episodes=50, samples=8, claims=False)), encoding="utf-8"
    )
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    console: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type in ("warning", "error") and console.append(f"{m.type}: {m.text}"))
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-figures=ready]", timeout=30_000)
    assert requests == [out.as_uri()]
    assert errors == []
    assert page.locator(".figure svg.marks").count() >= 10
    assert page.locator(".figure.failed").count() == 0
    assert console == []  # no Vega warning, no error
    # every figure fits the 1,200 px window (no horizontal scrolling)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200
    shoot(page, "report")
    page.locator("#schedule-us-big-deal").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -60)")
    shoot(page, "report-schedule")
    context.close()


def test_the_main_page_logs_no_warning_or_error(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: m.type in ("warning", "error") and console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    pg.set_default_timeout(20_000)
    pg.goto(server + "/")
    pg.wait_for_selector("body[data-ready=true]")
    choose_hanoi(pg)
    pg.select_option("#schedule-select", "phased")
    run_check(pg)
    pg.wait_for_selector("#fig-timeline svg.marks")
    pg.wait_for_selector("#fig-slack svg.marks")
    assert console == []
    context.close()
