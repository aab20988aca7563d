"""The student's page in a real browser: keyboard only, and answers that are never lost."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from examvault.loadtest.server import ServerProcess

from .conftest import OFFLINE_TEXT, Exam, create_exam, shot, tab_to, wait_for_offline_copy

pytestmark = pytest.mark.browser


def signed_in(page: Page, exam: Exam, token: str | None = None) -> None:
    """Open the page through the link that carries the token, and start the exam."""
    page.goto(f"{exam.server.url}/?token={token or exam.token}")
    expect(page.get_by_role("button", name=re.compile("Start exam|Resume exam"))).to_be_visible()
    assert "token" not in page.url
    page.get_by_role("button", name=re.compile("Start exam|Resume exam")).click()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()


def save_state(page: Page):
    return page.get_by_role("status")


def choose_radio(page: Page, name: str) -> None:
    """Select a radio button with the keyboard: Tab into its group, then arrow to it."""
    target = page.get_by_role("radio", name=name, exact=True)
    group = page.get_by_role("radio")
    checked = [group.nth(i) for i in range(group.count()) if group.nth(i).is_checked()]
    tab_to(page, checked[0] if checked else group.first)
    for _ in range(group.count()):
        if target.is_checked():
            return
        page.keyboard.press("ArrowDown")
    assert target.is_checked()


def toggle_checkbox(page: Page, name: str) -> None:
    tab_to(page, page.get_by_role("checkbox", name=name, exact=True))
    page.keyboard.press("Space")


def press_button(page: Page, name: str) -> None:
    tab_to(page, page.get_by_role("button", name=name, exact=True))
    page.keyboard.press("Enter")


def numbers_equal(stored: Any, expected: str) -> bool:
    return Decimal(str(stored)) == Decimal(expected)


def answers_of(view: dict[str, Any]) -> dict[str, Any]:
    """The stored responses, multiple-choice sets as sorted lists."""
    result = {}
    for question, answer in view["answers"].items():
        response = answer["response"]
        result[question] = sorted(response) if isinstance(response, list) else response
    return result


def test_whole_exam_by_keyboard_stores_what_was_chosen(page: Page, make_exam) -> None:
    exam = make_exam()
    page.goto(f"{exam.server.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")

    tab_to(page, page.get_by_role("textbox", name="Candidate token"))
    page.keyboard.type(exam.token)
    page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start exam")
    expect(start).to_be_visible()
    expect(page.get_by_role("heading", name=exam.title)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Physics"))).to_contain_text("3")
    shot(page, "instructions")
    tab_to(page, start)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    expect(page.get_by_role("tab", name="Physics")).to_have_attribute("aria-selected", "true")
    palette = page.get_by_role("navigation", name="Question palette")
    expect(palette.get_by_role("button")).to_have_count(6)
    expect(palette.get_by_role("button", name="Question 1 not answered")).to_be_visible()
    expect(palette.get_by_role("button", name="Question 2 not visited")).to_be_visible()
    timer = page.get_by_role("timer", name="Time left")
    expect(timer).to_have_text(re.compile(r"^[01]:\d\d:\d\d$"))

    # Question 1 (single): newton, then Save & Next.
    choose_radio(page, "newton")
    press_button(page, "Save & Next")
    expect(page.get_by_role("heading", name="Question 2")).to_be_visible()

    # Question 2 (multiple): force and velocity, marked for review.
    toggle_checkbox(page, "force")
    toggle_checkbox(page, "velocity")
    press_button(page, "Mark for review & Next")
    expect(page.get_by_role("heading", name="Question 3")).to_be_visible()

    # Question 3 (numeric): typed.
    tab_to(page, page.get_by_role("textbox", name="Your answer"))
    page.keyboard.type("2.5")
    press_button(page, "Save & Next")

    # Question 4 (single, Mathematics): 1, cleared, then 4 (a wrong answer, on purpose).
    expect(page.get_by_role("heading", name="Question 4")).to_be_visible()
    expect(page.get_by_role("tab", name="Mathematics")).to_have_attribute("aria-selected", "true")
    choose_radio(page, "1")
    press_button(page, "Clear response")
    expect(page.get_by_role("radio", name="1", exact=True)).not_to_be_checked()
    choose_radio(page, "4")
    press_button(page, "Save & Next")

    # Question 5 (multiple): 2, 3 and 9, then 9 taken back.
    for name in ["2", "3", "9", "9"]:
        toggle_checkbox(page, name)
    press_button(page, "Save & Next")

    # Question 6 (numeric): on the on-screen keypad, then marked for review.
    expect(page.get_by_role("heading", name="Question 6")).to_be_visible()
    keypad = page.get_by_role("group", name="Numeric keypad")
    for key in ["1", ".", "4", "1"]:
        tab_to(page, keypad.get_by_role("button", name=key, exact=True))
        page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Your answer")).to_have_value("1.41")
    press_button(page, "Mark for review & Next")
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()

    # Back to question 4 through the palette, by keyboard.
    tab_to(page, palette.get_by_role("button", name="Question 4 answered"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Question 4")).to_be_visible()
    expect(page.get_by_role("radio", name="4", exact=True)).to_be_checked()

    expected_states = {
        1: "answered",
        2: "answered and marked for review",
        3: "answered",
        4: "answered",
        5: "answered",
        6: "answered and marked for review",
    }
    for number, state in expected_states.items():
        expect(
            palette.get_by_role("button", name=f"Question {number} {state}", exact=True)
        ).to_be_visible()
    expect(save_state(page)).to_have_text("Saved")
    shot(page, "exam")

    press_button(page, "Submit")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Answered 6", exact=True)).to_be_visible()
    expect(dialog.get_by_text("Not answered 0", exact=True)).to_be_visible()
    expect(dialog.get_by_text("Marked for review 2", exact=True)).to_be_visible()
    shot(page, "submit-dialog")
    tab_to(page, dialog.get_by_role("button", name="Submit", exact=True))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Submitted")).to_be_visible()
    expect(page.get_by_text("Score: 19 / 24")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Physics"))).to_contain_text("12 / 12")
    expect(page.get_by_role("row", name=re.compile("Mathematics"))).to_contain_text("7 / 12")
    expect(page.locator("#receipt-count")).to_have_text("6")
    shot(page, "submitted")

    view = exam.stored()
    assert view["status"] == "submitted"
    stored = answers_of(view)
    assert stored["p1"] == "B"
    assert stored["p2"] == ["A", "C"]
    assert numbers_equal(stored["p3"], "2.5")
    assert stored["m1"] == "D"
    assert stored["m2"] == ["A", "C"]
    assert numbers_equal(stored["m3"], "1.41")
    marked = {
        question for question, answer in view["answers"].items() if answer["marked_for_review"]
    }
    assert marked == {"p2", "m3"}


def answer_first_four(page: Page) -> None:
    """Answer questions 1–4 with the mouse, whatever the connection is doing."""
    page.get_by_role("radio", name="newton", exact=True).check()
    page.get_by_role("button", name="Save & Next", exact=True).click()
    page.get_by_role("checkbox", name="force", exact=True).check()
    page.get_by_role("checkbox", name="velocity", exact=True).check()
    page.get_by_role("button", name="Save & Next", exact=True).click()
    page.get_by_role("textbox", name="Your answer").fill("2.50")
    page.get_by_role("button", name="Save & Next", exact=True).click()
    page.get_by_role("radio", name="2", exact=True).check()
    page.get_by_role("button", name="Save & Next", exact=True).click()
    expect(page.get_by_role("heading", name="Question 5")).to_be_visible()


def assert_first_four_stored(exam: Exam) -> None:
    stored = answers_of(exam.stored())
    assert stored["p1"] == "B"
    assert stored["p2"] == ["A", "C"]
    assert numbers_equal(stored["p3"], "2.50")
    assert stored["m1"] == "A"


def test_offline_answers_and_reload_reach_the_server(
    page: Page, context: BrowserContext, make_exam
) -> None:
    exam = make_exam()
    signed_in(page, exam)
    # The offline copy of the page must be in place before the network goes.
    wait_for_offline_copy(page)
    page.get_by_role("radio", name="newton", exact=True).check()
    expect(save_state(page)).to_have_text("Saved")

    context.set_offline(True)
    page.get_by_role("button", name="Save & Next", exact=True).click()
    page.get_by_role("checkbox", name="force", exact=True).check()
    page.get_by_role("checkbox", name="velocity", exact=True).check()
    page.get_by_role("button", name="Save & Next", exact=True).click()
    page.get_by_role("textbox", name="Your answer").fill("2.50")
    page.get_by_role("button", name="Save & Next", exact=True).click()
    expect(save_state(page)).to_have_text(OFFLINE_TEXT)
    shot(page, "offline")

    page.reload()
    expect(page.get_by_role("heading", name="Question 4")).to_be_visible()
    expect(save_state(page)).to_have_text(OFFLINE_TEXT)
    palette = page.get_by_role("navigation", name="Question palette")
    expect(palette.get_by_role("button", name="Question 2 answered", exact=True)).to_be_visible()
    expect(palette.get_by_role("button", name="Question 3 answered", exact=True)).to_be_visible()
    # A change made after the offline reload continues the seq.
    page.get_by_role("radio", name="2", exact=True).check()
    expect(palette.get_by_role("button", name="Question 4 answered", exact=True)).to_be_visible()

    context.set_offline(False)
    expect(save_state(page)).to_have_text("Saved", timeout=30_000)
    assert_first_four_stored(exam)


@pytest.mark.parametrize("outage", ["paused", "killed"])
def test_server_down_for_ten_seconds_loses_nothing(
    page: Page, own_server: ServerProcess, outage: str
) -> None:
    exam = create_exam(own_server)
    signed_in(page, exam)
    page.get_by_role("radio", name="joule", exact=True).check()
    expect(save_state(page)).to_have_text("Saved")

    down_at = time.monotonic()
    if outage == "paused":
        own_server.pause()
    else:
        own_server.kill()
    try:
        answer_first_four(page)
        expect(save_state(page)).to_have_text(OFFLINE_TEXT, timeout=9_000)
        # Still answering while the server is away.
        page.get_by_role("checkbox", name="3", exact=True).check()
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
        expect(save_state(page)).to_have_text(OFFLINE_TEXT)
    finally:
        if outage == "paused":
            own_server.resume()
        else:
            own_server.start()
    expect(save_state(page)).to_have_text("Saved", timeout=30_000)
    assert_first_four_stored(exam)
    assert answers_of(exam.stored())["m2"] == ["C"]


def test_time_up_sends_unsent_answers_and_submits(page: Page, make_exam) -> None:
    exam = make_exam(duration_seconds=30, grace_seconds=30)
    # Every autosave is lost on the way: only the submit at zero can deliver the answers.
    page.route("**/api/v1/attempts/*/answers", lambda route: route.abort("connectionreset"))
    signed_in(page, exam)
    expect(page.locator("#time-warning")).to_have_text("1 minute left.")
    answer_first_four(page)
    expect(save_state(page)).to_have_text(OFFLINE_TEXT)
    assert not answers_of(exam.stored()), "an autosave got through"

    expect(page.get_by_role("heading", name="Submitted")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Score:")).to_be_visible()
    view = exam.stored()
    assert view["status"] == "submitted"
    assert_first_four_stored(exam)


@pytest.mark.parametrize("shift_hours", [1, -1])
def test_wrong_local_clock_shows_the_right_time_left(
    page: Page, context: BrowserContext, make_exam, shift_hours: int
) -> None:
    shift_ms = shift_hours * 3_600_000
    context.add_init_script(
        f"""
        (() => {{
          const shift = {shift_ms};
          const RealDate = Date;
          class ShiftedDate extends RealDate {{
            constructor(...args) {{
              if (args.length === 0) super(RealDate.now() + shift);
              else super(...args);
            }}
            static now() {{ return RealDate.now() + shift; }}
          }}
          globalThis.Date = ShiftedDate;
        }})();
        """
    )
    exam = make_exam(duration_seconds=2 * 3600)
    signed_in(page, exam)
    skew = page.evaluate("Date.now()") - time.time() * 1000
    assert abs(skew - shift_ms) < 60_000, "the page's clock is not shifted"

    timer = page.get_by_role("timer", name="Time left")
    expect(timer).to_have_text(re.compile(r"^[12]:\d\d:\d\d$"))
    hours, minutes, seconds = (int(part) for part in timer.inner_text().split(":"))
    left = hours * 3600 + minutes * 60 + seconds
    assert 2 * 3600 - 60 <= left <= 2 * 3600, timer.inner_text()


def test_narrow_screen_has_no_sideways_scroll(browser, make_exam) -> None:
    exam = make_exam()
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        signed_in(page, exam)
        page.get_by_role("button", name="Save & Next", exact=True).click()
        page.get_by_role("button", name="Save & Next", exact=True).click()
        expect(page.get_by_role("group", name="Numeric keypad")).to_be_visible()
        page.get_by_role("group", name="Numeric keypad").get_by_role(
            "button", name="7", exact=True
        ).tap()
        expect(page.get_by_role("textbox", name="Your answer")).to_have_value("7")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width}px wide at 360px"
        shot(page, "exam-phone")
    finally:
        context.close()
