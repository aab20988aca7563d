"""The invigilator's analytics page in a real browser (static/analytics.html, analytics.js)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ADMIN_TOKEN, Exam, shot

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src" / "examvault" / "web" / "static"

# (candidate answers): p1 key B, p2 key A+C, m1 key A.
SITTINGS = [
    [("p1", "B"), ("p2", ["A", "C"]), ("m1", "A"), ("p3", 2.5)],
    [("p1", "B"), ("p2", ["A"]), ("m1", "C")],
    [("p1", "A"), ("m1", "A")],
]


def sit(exam: Exam) -> None:
    """Each candidate starts, answers and submits."""
    for (_, token), answers in zip(exam.candidates, SITTINGS, strict=True):
        with exam.candidate(token) as client:
            attempt = client.post(f"/exams/{exam.id}/attempts").raise_for_status().json()
            items = [
                {"question_id": q, "response": r, "seq": i + 1, "time_spent_ms": 1000 * (i + 1)}
                for i, (q, r) in enumerate(answers)
            ]
            aid = attempt["attempt_id"]
            client.put(f"/attempts/{aid}/answers", json={"answers": items}).raise_for_status()
            client.post(f"/attempts/{aid}/submit", json={}).raise_for_status()


def test_the_analytics_page_draws_the_charts_with_text_alternatives(page: Page, make_exam) -> None:
    exam = make_exam(candidates=3)
    sit(exam)

    # From the invigilator's exam list, signed in once for both pages.
    page.goto(f"{exam.server.url}/admin")
    page.get_by_role("textbox", name="Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=f"Analytics ({exam.id})").click()
    expect(page).to_have_url(re.compile(r"/admin/analytics\?exam="))
    expect(page.get_by_role("heading", name=f"Analytics · {exam.id}")).to_be_visible()
    expect(page.get_by_text("Provisional: the exam is open")).to_be_visible()
    expect(page.locator("#s-submitted")).to_have_text("3")

    histogram = page.get_by_role("img", name=re.compile("^Score distribution"))
    expect(histogram).to_have_attribute("aria-label", re.compile("3 submitted attempts by score"))
    sections = page.get_by_role("img", name=re.compile("^Scores by section"))
    expect(sections).to_have_attribute("aria-label", re.compile(r"physics \(out of 12\): lowest"))
    items = page.get_by_role("img", name=re.compile("^Difficulty against discrimination"))
    expect(items).to_have_attribute("aria-label", re.compile("6 questions plotted"))
    for chart in (histogram, sections, items):
        assert chart.locator("title").text_content()
        assert len(chart.locator("desc").text_content() or "") > 20
    expect(histogram.locator("rect.bar")).not_to_have_count(0)
    expect(items.locator("circle")).to_have_count(6)

    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(7)  # the header and six questions
    # p1: B, B, A → facility 2/3; m3 nobody answered → too hard.
    p1 = table.get_by_role("row", name=re.compile(r"^p1\b"))
    expect(p1.get_by_role("cell").nth(1)).to_have_text("0.6667")
    expect(table.get_by_role("row", name=re.compile(r"^m3\b"))).to_contain_text("too hard")
    shot(page, "analytics")


def test_the_analytics_page_asks_for_the_token_and_names_a_missing_exam(
    page: Page, make_exam
) -> None:
    exam = make_exam(candidates=1)
    response = page.goto(f"{exam.server.url}/admin/analytics?exam={exam.id}")
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    page.get_by_role("textbox", name="Admin token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("This admin token is not accepted.")).to_be_visible()
    page.get_by_role("textbox", name="Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    # No submission yet: every figure is null, and the charts say so in words.
    histogram = page.get_by_role("img", name=re.compile("^Score distribution"))
    expect(histogram).to_have_attribute("aria-label", re.compile("No submitted attempts yet"))

    page.goto(f"{exam.server.url}/admin/analytics?exam=no-such-exam")
    expect(page.get_by_role("alert").filter(has_text=re.compile("no exam", re.I))).to_be_visible()


def test_the_analytics_page_has_no_inline_script_style_or_handler() -> None:
    html = (STATIC / "analytics.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    script = (STATIC / "analytics.js").read_text()
    assert ".innerHTML" not in script and not re.search(r"\.style\b", script)
