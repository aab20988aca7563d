"""The exam day in a real browser: what a candidate's page shows of a pause, an extension,
an announcement, an invigilator's submit and a reopen, and the invigilator's page used by
keyboard only. Each test drives a real server process (tests/browser/conftest.py).

The candidate page polls `live` every 5–9 s; most tests shorten that through the page's
`ev.livePollMs` knob so they wait for the event, not for the interval. One test keeps
the real interval and holds the page to the spec's bound: a submit made elsewhere shows
"Submitted" within 10 s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from .conftest import ADMIN_TOKEN, Exam, admin_client, is_focused, shot, tab_to, wait_until

pytestmark = pytest.mark.browser

FAST_POLL = "try { localStorage.setItem('ev.livePollMs', '300'); } catch (e) {}"


def fast_poll(page: Page) -> None:
    """Make the page poll `live` every 0.3–0.54 s (the knob only ever shortens it)."""
    page.add_init_script(FAST_POLL)


def signed_in(page: Page, exam: Exam, token: str | None = None) -> None:
    """Open the page through the link that carries the token, and start the exam."""
    page.goto(f"{exam.server.url}/?token={token or exam.token}")
    start = page.get_by_role("button", name=re.compile("Start exam|Resume exam"))
    start.click()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()


def save_state(page: Page) -> Locator:
    """The save state: the status region that is neither Notices nor Announcements."""
    return page.locator("#save-state")


def act(exam: Exam, token: str = ADMIN_TOKEN, **body: Any) -> dict[str, Any]:
    """POST an action (as the admin, or the invigilator whose token is given)."""
    with httpx.Client(
        base_url=f"{exam.server.url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=20.0,
    ) as client:
        r = client.post(f"/exams/{exam.id}/actions", json=body)
        assert r.status_code == 200, r.text
        done: dict[str, Any] = r.json()
        return done


def invigilator(exam: Exam, rooms: list[str] | None) -> str:
    """Register an invigilator on the exam; its token."""
    with admin_client(exam.server) as admin:
        r = admin.post(
            f"/exams/{exam.id}/invigilators",
            json={"invigilators": [{"id": "INV1", "name": "Ines", "rooms": rooms}]},
        )
        assert r.status_code == 201, r.text
        token: str = r.json()["invigilators"][0]["token"]
        return token


def seconds(timer_text: str) -> int:
    hours, minutes, secs = (int(part) for part in timer_text.split(":"))
    return hours * 3600 + minutes * 60 + secs


def test_a_pause_hides_the_questions_and_an_answer_sent_meanwhile_counts(
    page: Page, context: BrowserContext, make_exam: Callable[..., Exam]
) -> None:
    exam = make_exam()
    candidate_id = exam.candidates[0][0]
    fast_poll(page)
    signed_in(page, exam)
    expect(save_state(page)).to_have_text("Saved")

    # The server pauses while this page cannot hear it; the candidate still answers.
    context.set_offline(True)
    expect(save_state(page)).to_have_text(re.compile("Offline"))
    done = act(exam, action="pause", reason="fire alarm", all=True)
    assert [row["candidate_id"] for row in done["applied"]] == [candidate_id]
    page.get_by_role("radio", name="newton", exact=True).check()
    context.set_offline(False)

    # Back online: the outbox delivers the answer and the poll shows the pause at once.
    paused = page.get_by_role("alertdialog", name="Exam paused")
    expect(paused).to_be_visible()
    expect(page.get_by_role("heading", name="Question 1")).to_be_hidden()
    expect(page.get_by_role("radio", name="newton")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Question palette")).to_be_hidden()
    assert is_focused(paused)
    wait_until(lambda: exam.stored()["answers"].get("p1", {}).get("response") == "B")
    expect(save_state(page)).to_have_text("Saved")
    timer = page.get_by_role("timer", name="Time left")
    frozen = timer.text_content() or ""
    expect(paused).to_contain_text(frozen)
    shot(page, "exam-day-paused")
    assert exam.stored()["status"] == "paused"
    # A reload while paused opens on the pause, from the attempt view itself.
    page.reload()
    expect(paused).to_be_visible()
    expect(page.get_by_role("heading", name="Question 1")).to_be_hidden()

    act(exam, action="resume", reason="all clear", candidates=[candidate_id])
    expect(paused).to_be_hidden()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    expect(page.get_by_role("heading", name="Question 1")).to_be_focused()
    expect(page.get_by_role("status", name="Notices")).to_have_text("The exam has resumed.")
    expect(page.get_by_role("radio", name="newton", exact=True)).to_be_checked()

    page.get_by_role("button", name="Submit", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()
    expect(page.get_by_text("Score: 4 / 24")).to_be_visible()


def test_an_extension_moves_the_countdown_with_a_notice(
    page: Page, make_exam: Callable[..., Exam]
) -> None:
    exam = make_exam(duration_seconds=3600)
    fast_poll(page)
    signed_in(page, exam)
    timer = page.get_by_role("timer", name="Time left")
    expect(timer).to_have_text(re.compile(r"^0:59:\d\d$"))
    # Without a notice, the page has one status region: the save state.
    expect(page.get_by_role("status", name="Notices")).to_be_hidden()

    act(exam, action="extend", seconds=600, reason="late start", candidates=[exam.candidates[0][0]])
    notices = page.get_by_role("status", name="Notices")
    expect(notices).to_have_text("Your time was extended by 10 minutes.")
    expect(timer).to_have_text(re.compile(r"^1:09:\d\d$"))
    assert 4100 < seconds(timer.text_content() or "") <= 4200
    shot(page, "exam-day-extended")

    # A smaller accommodation shortens the time: the notice says so.
    candidate_id = exam.candidates[0][0]
    with admin_client(exam.server) as admin:
        path = f"/exams/{exam.id}/candidates/{candidate_id}"
        admin.patch(path, json={"extra_seconds": 1800}).raise_for_status()
        expect(notices).to_have_text("Your time was extended by 30 minutes.")
        expect(timer).to_have_text(re.compile(r"^1:39:\d\d$"))
        admin.patch(path, json={"extra_seconds": 300}).raise_for_status()
    expect(notices).to_have_text("Your time was shortened by 25 minutes.")
    expect(timer).to_have_text(re.compile(r"^1:14:\d\d$"))


def test_announcements_appear_newest_last(page: Page, make_exam: Callable[..., Exam]) -> None:
    exam = make_exam()
    with admin_client(exam.server) as admin:
        admin.post(
            f"/exams/{exam.id}/announcements", json={"text": "Read every question twice."}
        ).raise_for_status()
    fast_poll(page)
    signed_in(page, exam)
    region = page.get_by_role("status", name="Announcements")
    expect(region).to_contain_text("Read every question twice.")  # from the view, at load

    with admin_client(exam.server) as admin:
        admin.post(
            f"/exams/{exam.id}/announcements", json={"text": "Room R9 only.", "room": "R9"}
        ).raise_for_status()
        admin.post(
            f"/exams/{exam.id}/announcements", json={"text": "Calculators may now be used."}
        ).raise_for_status()
    items = region.get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Read every question twice.")
    expect(items.nth(1)).to_contain_text("Calculators may now be used.")
    expect(region).not_to_contain_text("Room R9 only.")  # another room's, older than the last
    shot(page, "exam-day-announcements")


def test_the_page_asks_for_news_at_most_nine_seconds_apart(
    page: Page, make_exam: Callable[..., Exam]
) -> None:
    """The 10 s bound of a close or an invigilator submit is the poll's schedule (5–9 s,
    jittered) plus one request: checked on the page's own code, not on a clock."""
    signed_in(page, make_exam())
    delays = page.evaluate(
        "import('/static/live.js').then(m => Array.from({length: 2000}, () => m.nextDelayMs()))"
    )
    assert min(delays) >= 5000 and max(delays) <= 9000
    assert max(delays) - min(delays) > 2000  # jittered, so 10,000 pages do not ask in step


def test_an_invigilator_submit_shows_submitted_at_the_real_poll_interval(
    page: Page, make_exam: Callable[..., Exam]
) -> None:
    """No shortened interval: the page's own poll brings the receipt."""
    exam = make_exam()
    candidate_id = exam.candidates[0][0]
    token = invigilator(exam, None)
    signed_in(page, exam)
    page.get_by_role("radio", name="newton", exact=True).check()
    expect(save_state(page)).to_have_text("Saved")

    done = act(exam, token, action="submit", reason="left the room", candidates=[candidate_id])

    assert done["applied"][0]["submit_kind"] == "invigilator"
    # Waits for the event; how soon it comes is the schedule's test above.
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("An invigilator submitted your answers.")).to_be_visible()
    expect(page.get_by_text("Score: 4 / 24")).to_be_visible()


def test_a_reopened_attempt_shows_the_exam_again(
    page: Page, make_exam: Callable[..., Exam]
) -> None:
    exam = make_exam()
    candidate_id = exam.candidates[0][0]
    fast_poll(page)
    signed_in(page, exam)
    act(exam, action="submit", reason="by mistake", candidates=[candidate_id])
    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()

    act(exam, action="reopen", seconds=900, reason="submitted by mistake", all=True)
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    expect(page.get_by_role("status", name="Notices")).to_have_text(
        "Your attempt was reopened: you have 15 minutes left."
    )
    expect(page.get_by_role("timer", name="Time left")).to_have_text(re.compile(r"^0:1[45]:\d\d$"))
    page.get_by_role("radio", name="newton", exact=True).check()
    expect(save_state(page)).to_have_text("Saved")
    wait_until(lambda: exam.stored()["answers"].get("p1", {}).get("response") == "B")


def test_the_invigilator_page_by_keyboard_only(page: Page, make_exam: Callable[..., Exam]) -> None:
    exam = make_exam(candidates=3)
    (first_id, first), (second_id, second), (third_id, _) = exam.candidates
    with admin_client(exam.server) as admin:
        for candidate_id, room in [(first_id, "R1"), (second_id, "R1"), (third_id, "R2")]:
            admin.patch(
                f"/exams/{exam.id}/candidates/{candidate_id}", json={"room": room}
            ).raise_for_status()
    token = invigilator(exam, ["R1", "R2"])
    with exam.candidate(first) as client:
        client.post(f"/exams/{exam.id}/attempts").raise_for_status()
    with exam.candidate(second) as client:
        attempt = client.post(f"/exams/{exam.id}/attempts").raise_for_status().json()
        client.post(f"/attempts/{attempt['attempt_id']}/submit", json={}).raise_for_status()

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{exam.server.url}/admin")
    tab_to(page, page.get_by_role("textbox", name="Token"))
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    # An invigilator's token opens its one exam: no exam list, scores, close or CSV.
    expect(page.get_by_role("heading", name=exam.title)).to_be_visible()
    table = page.get_by_role("table")
    for header in ["Candidate", "Status", "Last seen", "Answers", "Room", "Extra time", "Deadline"]:
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    expect(table.get_by_role("columnheader", name="Score")).to_have_count(0)
    expect(page.get_by_role("button", name="Close exam")).to_have_count(0)
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    expect(table.get_by_role("row", name=re.compile(third_id))).to_be_visible()

    room_filter = page.get_by_role("combobox", name="Room")
    tab_to(page, room_filter)
    page.keyboard.press("ArrowDown")
    expect(room_filter).to_have_value("R1")
    expect(table.get_by_role("row", name=re.compile(third_id))).to_have_count(0)
    expect(table.get_by_role("row", name=re.compile(first_id))).to_contain_text("In progress")
    expect(table.get_by_role("row", name=re.compile(second_id))).to_contain_text("Submitted")

    for candidate_id in [first_id, second_id]:
        tab_to(page, page.get_by_role("checkbox", name=candidate_id))
        page.keyboard.press("Space")
        expect(page.get_by_role("checkbox", name=candidate_id)).to_be_checked()

    # Escape cancels, and the focus goes back to the button; nothing is done.
    pause = page.get_by_role("button", name="Pause", exact=True)
    tab_to(page, pause)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"2 selected candidates: {first_id}, {second_id}")
    expect(dialog.get_by_role("textbox", name="Reason")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pause).to_be_focused()

    extend = page.get_by_role("button", name="Extend", exact=True)
    tab_to(page, extend)
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Extend time")
    minutes = dialog.get_by_role("spinbutton", name="Minutes")
    expect(minutes).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("10")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("textbox", name="Reason")).to_be_focused()
    page.keyboard.type("fire alarm in R1")
    tab_to(page, dialog.get_by_role("button", name="Confirm"))
    page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(extend).to_be_focused()
    applied = page.get_by_role("list", name="Applied")
    skipped = page.get_by_role("list", name="Skipped")
    expect(applied).to_contain_text(first_id)
    expect(applied).not_to_contain_text(second_id)
    expect(skipped).to_contain_text(f"{second_id}: already submitted")
    expect(table.get_by_role("row", name=re.compile(first_id))).to_contain_text(
        "10 minutes extended"
    )
    shot(page, "invigilator-page")

    # Announce: to the room chosen above unless changed, the text in the "Reason" field.
    announce = page.get_by_role("button", name="Announce", exact=True)
    tab_to(page, announce)
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("combobox", name="Announce to room")).to_be_focused()
    expect(dialog.get_by_role("combobox", name="Announce to room")).to_have_value("R1")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("textbox", name="Reason")).to_be_focused()
    page.keyboard.type("Ten more minutes for room R1.")
    tab_to(page, dialog.get_by_role("button", name="Confirm"))
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(announce).to_be_focused()
    expect(page.get_by_role("list", name="Applied")).to_contain_text("Ten more minutes")
    # The page never asked for what an invigilator may not see.
    assert not [url for url in requested if "/results" in url or "/key" in url], requested
    with admin_client(exam.server) as admin:
        rows = admin.get(f"/exams/{exam.id}/candidates").raise_for_status().json()["candidates"]
    by_id = {row["candidate_id"]: row for row in rows}
    assert by_id[first_id]["extended_seconds"] == 600
    assert by_id[first_id]["status"] == "in_progress"  # the cancelled pause did nothing
    assert by_id[second_id]["extended_seconds"] == 0
    with admin_client(exam.server) as admin:
        notes = admin.get(f"/exams/{exam.id}/announcements").raise_for_status().json()
    assert [(n["text"], n["room"]) for n in notes["announcements"]] == [
        ("Ten more minutes for room R1.", "R1")
    ]
