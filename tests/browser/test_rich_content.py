"""Rich text and pictures on the student's page, in a real Chromium: every picture shows
after a reload without a network, pictures zoom by keyboard, formulas are MathML, and
the page re-checks markup before it shows it."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from examvault.domain.diagrams import incline, png
from examvault.loadtest.server import ServerProcess

from .conftest import Exam, admin_client, shot, tab_to, wait_for_offline_copy

pytestmark = pytest.mark.browser

DIAGRAM = incline()
DOT = png(8, 8, [bytes([0x40 * (x // 2) for x in range(8)]) for _ in range(8)])
ROW = png(40, 10, [bytes([0xFF if (x + y) % 5 else 0 for x in range(40)]) for y in range(10)])


def rich_exam(server: ServerProcess) -> Exam:
    exam_id = f"rich-{os.getpid()}-{id(server) % 10_000}"
    questions: list[dict[str, Any]] = [
        {
            "id": "r1",
            "type": "single",
            "text": {
                "html": "<p>A block of mass \\(m\\) rests on the incline; its weight is "
                "\\[W = m g\\]</p>"
                '<img src="media:incline.png" alt="A block on a 30 degree incline" '
                'width="240" height="150">'
                "<table><caption>Data</caption><tr><th>m</th><td>2 kg</td></tr>"
                "<tr><th>g</th><td>9.8 m/s²</td></tr></table>"
            },
            "options": [
                {"id": "A", "text": {"html": '<img src="media:dot.png" alt="A dot">'}},
                {"id": "B", "text": "19.6 N"},
            ],
            "answer": "B",
            "marking": {"correct": 4, "wrong": -1},
        },
        {
            "id": "r2",
            "type": "numeric",
            "text": {
                "html": '<p>Count the marks:</p><img src="media:row.png" alt="A row of marks">'
            },
            "answer": {"value": 8},
            "marking": {"correct": 4, "wrong": 0},
        },
    ]
    definition = {
        "id": exam_id,
        "title": {"html": "Rich paper \\(x^2\\)"},
        "duration_seconds": 3600,
        "show_result": "on_submit",
        "instructions": {"html": "<p>Read <em>every</em> question.</p>"},
        "sections": [
            {
                "id": "s",
                "title": "Pictures",
                "instructions": {"html": "<p>Take <b>g = 9.8</b> \\(\\mathrm{m/s^2}\\).</p>"},
                "questions": questions,
            }
        ],
    }
    with admin_client(server) as admin:
        for name, data in (("incline.png", DIAGRAM), ("dot.png", DOT), ("row.png", ROW)):
            r = admin.put(
                f"/exams/{exam_id}/media/{name}",
                content=data,
                headers={"Content-Type": "image/png"},
            )
            assert r.status_code in (200, 201), r.text
        admin.post("/exams", json=definition).raise_for_status()
        body = admin.post(f"/exams/{exam_id}/candidates", json={"candidates": [{"id": "R1"}]})
        body.raise_for_status()
        tokens = [(c["id"], c["token"]) for c in body.json()["candidates"]]
    return Exam(server=server, id=exam_id, title="Rich paper x2", candidates=tokens)


SHOWN = """() => {
  const images = [...document.querySelectorAll("#screen-exam img[data-media]")];
  return images.length > 0 && images.every((img) => img.src.startsWith("blob:")
      && img.complete && img.naturalWidth > 0);
}"""


def test_pictures_formulas_and_tables_survive_an_offline_reload(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    exam = rich_exam(live_server)
    page.goto(f"{exam.server.url}/?token={exam.token}")
    # The instructions: a rich title, the exam's and the section's instructions as markup.
    heading = page.get_by_role("heading", name="Rich paper", level=1)
    expect(heading.locator("math")).to_be_visible()
    expect(page.locator("#exam-instructions em")).to_have_text("every")
    expect(page.locator("#section-instructions b")).to_have_text("g = 9.8")
    assert page.locator("#section-instructions math").count() == 1
    page.get_by_role("button", name="Start exam").click()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    page.wait_for_function(SHOWN)
    wait_for_offline_copy(page)

    # Formulas are MathML elements, read by screen readers; no script draws them.
    namespaces = page.eval_on_selector_all(
        "#screen-exam math", "nodes => nodes.map(n => [n.namespaceURI, n.getAttribute('display')])"
    )
    assert ["http://www.w3.org/1998/Math/MathML", "inline"] in namespaces
    assert ["http://www.w3.org/1998/Math/MathML", "block"] in namespaces
    # Every picture has its alt; the option's picture names the option.
    expect(page.get_by_role("img", name="A block on a 30 degree incline")).to_be_visible()
    expect(page.get_by_role("radio", name="A dot")).to_be_visible()
    # The table scrolls in its own box, and the picture fits the column.
    expect(page.get_by_role("region", name="Table")).to_be_visible()
    fits = page.eval_on_selector(
        "img[data-media='incline.png']",
        "img => img.getBoundingClientRect().width <= img.closest('.rich').clientWidth",
    )
    assert fits
    shot(page, "rich-question")

    # Zoom by keyboard: reach the picture's button with Tab, open with Enter, close with Escape.
    zoom = page.get_by_role("button", name="Enlarge picture: A block on a 30 degree incline")
    tab_to(page, zoom)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Picture")
    expect(dialog).to_be_visible()
    large = dialog.get_by_role("img", name="A block on a 30 degree incline")
    expect(large).to_be_visible()
    assert large.evaluate("img => img.naturalWidth > 0 && img.getBoundingClientRect().width > 240")
    shot(page, "rich-zoom")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert zoom.evaluate("button => button === document.activeElement")

    # Network down, page reloaded: every picture comes from the page's own store.
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Question 1")).to_be_visible()
    page.wait_for_function(SHOWN)
    page.get_by_role("button", name="Save & Next", exact=True).click()
    expect(page.get_by_role("heading", name="Question 2")).to_be_visible()
    expect(page.get_by_role("img", name="A row of marks")).to_be_visible()
    page.wait_for_function(SHOWN)
    shot(page, "rich-offline")
    context.set_offline(False)


def test_the_page_rechecks_markup_before_showing_it(
    context: BrowserContext, live_server: ServerProcess
) -> None:
    """What the server would refuse, the page drops again if it ever got it.

    Its own page, not the `page` fixture's: Chromium reports a CSP refusal as soon as any
    HTML parser of the page (even DOMParser's inert document) meets an inline handler, and
    here that report is the point: the strict CSP is the layer under the allow-list."""
    page = context.new_page()
    lines: list[str] = []
    page.on("console", lambda message: lines.append(message.text))
    page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
    page.goto(f"{live_server.url}/")
    shown = page.evaluate(
        """async () => {
          const { renderText } = await import("/static/richtext.js");
          window.hit = false;
          const box = document.createElement("div");
          document.body.append(box);
          renderText(box, {html:
            '<img src="x" onerror="window.hit = true" alt="x"><script>window.hit = true</script>'
            + '<p onclick="window.hit = true" style="color:red">text</p>'
            + '<math><mi href="javascript:window.hit=true">x</mi><mtext><b>b</b></mtext></math>'
            + '<svg><a href="javascript:window.hit=true">s</a></svg><iframe srcdoc="x"></iframe>'
            + '<img src="media:ok.png" alt="" width="9">'});
          renderText(document.createElement("div"), "<img src=x onerror='window.hit = true'>");
          await new Promise((resolve) => setTimeout(resolve, 300));
          return {html: box.innerHTML, hit: window.hit};
        }"""
    )
    assert shown == {"html": "<p>text</p><math><mi>x</mi><mtext></mtext></math>", "hit": False}
    assert all("Content Security Policy" in line for line in lines), lines
