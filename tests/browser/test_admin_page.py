"""The invigilator's page in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import ADMIN_TOKEN, shot

pytestmark = pytest.mark.browser


def test_admin_sees_a_submission_within_seconds(page: Page, make_exam) -> None:
    exam = make_exam(candidates=3)
    (first_id, first), (second_id, second), (third_id, _) = exam.candidates

    page.goto(f"{exam.server.url}/admin")
    page.get_by_role("textbox", name="Token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=exam.title).click()
    expect(page.get_by_role("heading", name=exam.title)).to_be_visible()
    table = page.get_by_role("table")
    for header in ["Candidate", "Status", "Last seen", "Answers", "Score"]:
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    row = table.get_by_role("row", name=re.compile(first_id))
    expect(row).to_contain_text("Not started")

    # The first candidate answers two questions and submits; the second only starts.
    with exam.candidate(first) as client:
        view = client.post(f"/exams/{exam.id}/attempts").raise_for_status().json()
        attempt = view["attempt_id"]
        client.put(
            f"/attempts/{attempt}/answers",
            json={
                "answers": [
                    {"question_id": "p1", "response": "B", "seq": 1, "marked_for_review": False},
                    {"question_id": "m1", "response": "A", "seq": 2, "marked_for_review": False},
                ]
            },
        ).raise_for_status()
        client.post(f"/attempts/{attempt}/submit", json={}).raise_for_status()
    with exam.candidate(second) as client:
        client.post(f"/exams/{exam.id}/attempts").raise_for_status()

    expect(row).to_contain_text("Submitted", timeout=5_000)
    expect(row.get_by_role("cell").nth(2)).to_have_text("2")
    expect(row.get_by_role("cell").nth(3)).to_have_text("8")
    expect(table.get_by_role("row", name=re.compile(second_id))).to_contain_text("In progress")
    expect(table.get_by_role("row", name=re.compile(third_id))).to_contain_text("Not started")
    counters = page.locator("#counters")
    expect(counters.get_by_text("Registered")).to_be_visible()
    expect(page.locator("#c-registered")).to_have_text("3")
    expect(page.locator("#c-submitted")).to_have_text("1")
    expect(page.locator("#c-in-progress")).to_have_text("1")
    chart = page.get_by_role("img", name=re.compile("Score distribution"))
    expect(chart).to_have_attribute("aria-label", re.compile("1 submitted attempt"), timeout=15_000)
    shot(page, "admin-exam")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    csv_text = download.value.path().read_text()
    assert csv_text.splitlines()[0].startswith("candidate_id,")
    assert first_id in csv_text and third_id in csv_text

    page.get_by_role("button", name="Close exam").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close exam").click()
    expect(page.get_by_text("This exam is closed.")).to_be_visible(timeout=30_000)
    expect(table.get_by_role("row", name=re.compile(second_id))).to_contain_text(
        "Submitted", timeout=5_000
    )
    expect(page.get_by_role("button", name="Close exam")).to_be_disabled()
