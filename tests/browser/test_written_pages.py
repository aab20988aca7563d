"""Written answers in a real browser: a candidate writes an answer that survives a reload,
a marker marks scripts at /mark by keyboard only (a refused mark shown by its field, a
response holding HTML shown as literal text), and the candidate reviews the marked
attempt once its result is released. Each test drives a real server process
(tests/browser/conftest.py)."""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from examvault.loadtest.server import ServerProcess

from .conftest import ADMIN_TOKEN, Exam, admin_client, is_focused, shot, tab_to, wait_until

pytestmark = pytest.mark.browser

QUESTION = "Explain, in your own words, why the sky is blue."
HTML_RESPONSE = '<b>x</b><script>document.title = "owned"</script><img src=x onerror=alert(1)>'
PLAIN_RESPONSE = "Light scatters.\nShort wavelengths scatter most."

_numbers = itertools.count(1)


def written_exam(server: ServerProcess, *, review: str = "full", candidates: int = 1) -> Exam:
    """A single-choice question and a manual written answer (10 marks, steps of 1/2)."""
    exam_id = f"written-{next(_numbers)}-{os.getpid()}"
    definition: dict[str, Any] = {
        "id": exam_id,
        "title": f"Written answers {exam_id}",
        "duration_seconds": 3600,
        "show_result": "on_submit",
        "review": review,
        "sections": [
            {
                "id": "physics",
                "title": "Physics",
                "questions": [
                    {
                        "id": "q1",
                        "type": "single",
                        "text": "What is the SI unit of force?",
                        "options": [
                            {"id": "A", "text": "joule"},
                            {"id": "B", "text": "newton"},
                            {"id": "C", "text": "watt"},
                        ],
                        "answer": "B",
                        "marking": {"correct": 4, "wrong": 0},
                    },
                    {
                        "id": "e1",
                        "type": "text",
                        "text": QUESTION,
                        "max_chars": 500,
                        "marking": {"correct": 10, "manual": True},
                    },
                ],
            }
        ],
    }
    with admin_client(server) as admin:
        admin.post("/exams", json=definition).raise_for_status()
        wanted = [{"id": f"W{i + 1:03d}"} for i in range(candidates)]
        body = admin.post(f"/exams/{exam_id}/candidates", json={"candidates": wanted})
        body.raise_for_status()
        tokens = [(entry["id"], entry["token"]) for entry in body.json()["candidates"]]
    return Exam(server=server, id=exam_id, title=definition["title"], candidates=tokens)


def sit(exam: Exam, token: str, answers: dict[str, Any]) -> str:
    """Start, answer and submit through the API; the attempt id."""
    with exam.candidate(token) as client:
        r = client.post(f"/exams/{exam.id}/attempts")
        assert r.status_code == 201, r.text
        attempt_id: str = r.json()["attempt_id"]
        items = [
            {"question_id": q, "response": response, "seq": i + 1}
            for i, (q, response) in enumerate(answers.items())
        ]
        client.put(f"/attempts/{attempt_id}/answers", json={"answers": items}).raise_for_status()
        client.post(f"/attempts/{attempt_id}/submit").raise_for_status()
        return attempt_id


def marker_token(exam: Exam) -> str:
    with admin_client(exam.server) as admin:
        r = admin.post(
            f"/exams/{exam.id}/markers",
            json={"markers": [{"id": "M1", "name": "Dr Rao", "questions": None}]},
        )
        assert r.status_code == 201, r.text
        token: str = r.json()["markers"][0]["token"]
        return token


def scripts(exam: Exam, status: str = "all") -> list[dict[str, Any]]:
    with admin_client(exam.server) as admin:
        r = admin.get(f"/exams/{exam.id}/scripts", params={"status": status})
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["scripts"]
        return found


def test_a_written_answer_survives_a_reload_and_is_submitted(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server)
    page.goto(f"{exam.server.url}/?token={exam.token}")
    page.get_by_role("button", name="Start exam").click()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Question 2\b")).click()
    expect(page.get_by_role("heading", name="Question 2")).to_be_visible()
    expect(page.get_by_text(QUESTION)).to_be_visible()
    expect(page.locator("#question-meta")).to_contain_text("up to 10 marks, marked by an examiner")

    answer = page.get_by_role("textbox", name="Your answer")
    expect(answer).to_have_accessible_description(re.compile(r"0 of 500 characters"))
    answer.focus()
    # Typed by keys, line break included: saved a moment after the last key.
    page.keyboard.type("Rayleigh scattering.")
    page.keyboard.press("Enter")
    page.keyboard.type("Blue <em>scatters</em> more.")
    written = "Rayleigh scattering.\nBlue <em>scatters</em> more."
    expect(page.get_by_text(f"{len(written)} of 500 characters")).to_be_visible()
    wait_until(lambda: exam.stored()["answers"].get("e1", {}).get("response") == written)
    expect(page.locator("#save-state")).to_have_text("Saved")
    expect(page.get_by_role("button", name="Question 2 answered")).to_be_visible()
    shot(page, "written-answer")

    page.reload()
    expect(page.get_by_role("heading", name="Question 2")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your answer")).to_have_value(written)

    # A blank answer is unanswered; writing again and leaving the field saves at once.
    answer = page.get_by_role("textbox", name="Your answer")
    answer.fill("   ")
    answer.blur()
    wait_until(lambda: exam.stored()["answers"].get("e1", {}).get("response") is None)
    expect(page.get_by_role("button", name="Question 2 not answered")).to_be_visible()
    answer.fill(written)
    page.get_by_role("button", name="Submit", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Answered 1", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()
    assert exam.stored()["answers"]["e1"]["response"] == written
    # Marks are pending: no result yet, so no review either.
    expect(page.get_by_role("link", name="Review your answers")).to_be_hidden()


def test_a_marker_marks_by_keyboard_and_sees_html_as_text(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server, candidates=2)
    sit(exam, exam.candidates[0][1], {"q1": "B", "e1": HTML_RESPONSE})
    sit(exam, exam.candidates[1][1], {"q1": "A", "e1": PLAIN_RESPONSE})
    token = marker_token(exam)

    page.goto(f"{exam.server.url}/mark")
    tab_to(page, page.get_by_role("textbox", name="Token"))
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    progress = page.get_by_text(re.compile(r"^Marked \d+ of \d+$"))
    expect(progress).to_have_text("Marked 0 of 2")
    expect(page.get_by_role("heading", name=QUESTION)).to_be_visible()
    mark = page.get_by_role("textbox", name="Mark", exact=True)
    expect(mark).to_be_focused()
    expect(mark).to_have_accessible_description("out of 10")
    region = page.get_by_role("region", name="Answer")

    seen = []
    for _ in range(2):
        shown = region.text_content()
        assert shown in (HTML_RESPONSE, PLAIN_RESPONSE), shown
        seen.append(shown)
        if shown == HTML_RESPONSE:
            # Literal text: no element was made of what the candidate wrote.
            assert region.locator("b, script, img, em").count() == 0
            assert page.title() != "owned"
            # Off the step: refused next to the field, nothing moves on.
            page.keyboard.type("3.3")
            page.keyboard.press("Enter")
            alert = page.locator("#mark-form").get_by_role("alert")
            expect(alert).to_contain_text("multiple of 1/2")
            expect(mark).to_have_attribute("aria-invalid", "true")
            expect(progress).to_have_text(f"Marked {len(seen) - 1} of 2")
            assert region.text_content() == HTML_RESPONSE
            shot(page, "marking-refused")
            page.keyboard.press("Control+A")
            page.keyboard.type("3.5")
            page.keyboard.press("Tab")
            assert is_focused(page.get_by_role("textbox", name="Comment"))
            page.keyboard.type("Tags are not an answer.")
            tab_to(page, page.get_by_role("button", name="Save mark and next"))
            page.keyboard.press("Enter")
        else:
            page.keyboard.type("7")
            page.keyboard.press("Enter")
        expect(progress).to_have_text(f"Marked {len(seen)} of 2")
        if len(seen) == 1:
            expect(mark).to_be_focused()
            expect(mark).to_have_value("")
            expect(region).not_to_have_text(shown or "")
    assert sorted(seen) == sorted([HTML_RESPONSE, PLAIN_RESPONSE])
    expect(page.get_by_text("Nothing left to mark")).to_be_visible()
    shot(page, "marking-done")

    marked = {s["response"]: (s["mark"], s["comment"], s["marked_by"]) for s in scripts(exam)}
    assert marked == {
        HTML_RESPONSE: (3.5, "Tags are not an answer.", "M1"),
        PLAIN_RESPONSE: (7, None, "M1"),
    }


def test_the_candidate_reviews_a_marked_attempt_after_release(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server)
    sit(exam, exam.token, {"q1": "A", "e1": PLAIN_RESPONSE})
    # The page polls `live` every 0.3 s (the knob only shortens it), so it asks again
    # for the result and the review every 6 polls rather than every 30 s.
    page.add_init_script("try { localStorage.setItem('ev.livePollMs', '300'); } catch (e) {}")
    page.goto(f"{exam.server.url}/?token={exam.token}")
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()
    expect(page.get_by_role("link", name="Review your answers")).to_be_hidden()
    expect(page.locator("#score")).to_be_hidden()  # the mark is pending: no result yet

    (script,) = scripts(exam)
    with admin_client(exam.server) as admin:
        r = admin.put(
            f"/exams/{exam.id}/marks",
            json={"marks": [{"script_id": script["script_id"], "mark": 7, "comment": "Good."}]},
        )
        assert r.status_code == 200, r.text

    # Released while the page stays on "Submitted": the score and the link come by
    # themselves.
    expect(page.get_by_text("Score: 7 / 14")).to_be_visible()
    link = page.get_by_role("link", name="Review your answers")
    expect(link).to_be_visible()
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review your answers")).to_be_focused()
    review = page.locator("#screen-review")
    expect(review.get_by_role("heading", name="Question 1")).to_be_visible()
    expect(review.get_by_role("radio", name="joule")).to_be_checked()
    expect(review.get_by_text("Score: 0 / 4")).to_be_visible()
    expect(review.get_by_text("Correct answer: newton")).to_be_visible()
    expect(review.get_by_text("Score: 7 / 10")).to_be_visible()
    expect(review.get_by_text("Marker's comment: Good.")).to_be_visible()
    expect(review.locator(".review-response")).to_have_text(PLAIN_RESPONSE)
    # Read only: nothing on the review can be changed.
    fields = review.locator("input, textarea, select, button")
    assert fields.count() > 0
    for i in range(fields.count()):
        expect(fields.nth(i)).to_be_disabled()
    shot(page, "review")
    # Back to the result, and the review opens again from its address after a reload.
    review.get_by_role("link", name="Back to your result").click()
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()
    link.click()
    page.reload()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()


def test_no_correct_answers_on_a_review_of_responses_only(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server, review="responses")
    sit(exam, exam.token, {"q1": "B"})  # the written answer left blank: no script, no wait
    page.goto(f"{exam.server.url}/?token={exam.token}")
    expect(page.get_by_text("Score: 4 / 14")).to_be_visible()
    page.get_by_role("link", name="Review your answers").click()
    review = page.locator("#screen-review")
    expect(review.get_by_text("Score: 4 / 4")).to_be_visible()
    expect(review.get_by_text("Not answered", exact=True)).to_be_visible()
    expect(review.get_by_text("Correct answer")).to_have_count(0)


def test_the_count_speaks_near_the_limit_and_an_over_long_answer_is_not_saved(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server)
    page.goto(f"{exam.server.url}/?token={exam.token}")
    page.get_by_role("button", name="Start exam").click()
    page.get_by_role("button", name=re.compile(r"^Question 2\b")).click()
    answer = page.get_by_role("textbox", name="Your answer")
    spoken = page.locator("#question-body [aria-live=polite]")
    answer.fill("a" * 10)
    expect(page.get_by_text("10 of 500 characters")).to_be_visible()
    expect(spoken).to_have_text("")  # not on every key
    answer.fill("a" * 449)
    expect(spoken).to_have_text("")
    answer.press("End")
    page.keyboard.type("é")  # one character as the server counts it
    expect(spoken).to_have_text("450 of 500 characters used.")
    wait_until(lambda: len(exam.stored()["answers"].get("e1", {}).get("response") or "") == 450)
    answer.fill("b" * 501)
    expect(page.get_by_role("alert").filter(has_text="Too long by 1 character:")).to_be_visible()
    expect(answer).to_have_attribute("aria-invalid", "true")
    answer.blur()
    expect(page.locator("#save-state")).to_have_text("Saved")
    assert exam.stored()["answers"]["e1"]["response"] == "a" * 449 + "é"
    answer.fill("b" * 500)
    answer.blur()
    wait_until(lambda: exam.stored()["answers"]["e1"]["response"] == "b" * 500)
    expect(answer).to_have_attribute("aria-invalid", "false")


def test_the_admin_picks_an_exam_to_mark_and_an_invigilator_is_turned_away(
    page: Page, live_server: ServerProcess
) -> None:
    exam = written_exam(live_server)
    sit(exam, exam.token, {"e1": PLAIN_RESPONSE})
    with admin_client(exam.server) as admin:
        r = admin.post(
            f"/exams/{exam.id}/invigilators",
            json={"invigilators": [{"id": "I1", "name": "Ines", "rooms": None}]},
        )
        invigilator = r.raise_for_status().json()["invigilators"][0]["token"]

    page.goto(f"{exam.server.url}/mark")
    page.get_by_role("textbox", name="Token").fill(invigilator)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("An invigilator token cannot mark")

    page.get_by_role("textbox", name="Token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=exam.title).click()
    expect(page.get_by_text("Marked 0 of 1")).to_be_visible()
    expect(page.get_by_role("region", name="Answer")).to_have_text(PLAIN_RESPONSE)
    mark = page.get_by_role("textbox", name="Mark", exact=True)
    mark.fill("11")
    mark.press("Enter")
    expect(page.locator("#mark-form").get_by_role("alert")).to_contain_text("within 0..10")
    mark.fill("10")
    mark.press("Enter")
    expect(page.get_by_text("Marked 1 of 1")).to_be_visible()
    expect(page.get_by_text("Nothing left to mark")).to_be_visible()
    assert [(s["mark"], s["marked_by"]) for s in scripts(exam)] == [(10, "admin")]
    # Back to the list: the page keeps the admin signed in.
    page.get_by_role("link", name="All exams").click()
    expect(page.get_by_role("heading", name="Exams to mark")).to_be_visible()
