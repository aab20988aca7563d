"""Imports never lose anything silently (docs/formats.md, "Nothing is dropped silently").

Each fixture here is our own file holding a construct that imports once dropped without a
word: a Moodle 1.9 picture, a GIFT [html] audio link, QTI routing on item references,
ruby annotations, Common Cartridge's upper-case template names and processing that sets
SCORE0. Each now imports whole or is refused, naming the item by the id the exam would
give it and what could not be carried; ``skip_unsupported`` leaves such items out and
lists them, never imports one with a part missing.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from examvault.domain.exams import parse_definition
from examvault.formats import ImportRefused, import_exam, preview_import
from examvault.formats._draft import Unsupported
from examvault.formats._text import html_content, medium

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _package(directory: str) -> bytes:
    root = FIXTURES / "qti" / directory
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def _errors(data: bytes, filename: str) -> dict[str, tuple[str, str]]:
    """Refusals by the id the exam would give the item: (where, reason)."""
    with pytest.raises(ImportRefused) as refused:
        import_exam(data, filename=filename)
    return {e["loc"][0]: (e["loc"][1], e["msg"]) for e in refused.value.errors}


def _questions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for s in definition["sections"] for q in s["questions"]}


# --- Moodle XML pictures -------------------------------------------------------------------


def test_moodle_pictures_present_in_the_file_are_carried_and_missing_ones_refused() -> None:
    errors = _errors((FIXTURES / "moodle_xml" / "pictures.xml").read_bytes(), "pictures.xml")
    assert set(errors) == {"Old_lens_no_data", "Missing_file", "Styled_link"}
    assert errors["Old_lens_no_data"] == (
        "quiz/question[3]",
        "shows a picture (course/files/lens.png) that is not in the file (no <image_base64>)",
    )
    assert "(heart.png) whose <file> is not in the file" in errors["Missing_file"][1]
    assert "a link (https://example.org/notes)" in errors["Styled_link"][1]


def test_moodle_pictures_skipped_are_listed_and_the_rest_imports_whole() -> None:
    data = (FIXTURES / "moodle_xml" / "pictures.xml").read_bytes()
    imported = import_exam(data, filename="pictures.xml", skip_unsupported=True)
    questions = _questions(imported.definition)
    assert list(questions) == ["Old_incline", "circuit-1", "Option_picture", "Plain"]
    # Moodle 1.9's <image>: its file name is its alt text (1.9 has none)
    assert questions["Old_incline"]["text"] == {
        "html": "Which force is shown in the diagram?"
        '<p><img src="media:incline.png" alt="incline.png"></p>'
    }
    # @@PLUGINFILE@@ with %20: the <file> of the text, its width kept
    assert questions["circuit-1"]["text"] == {
        "html": "<p>What is the current in the circuit?</p>"
        '<p><img src="media:circuit_a.png" alt="A circuit with two resistors" width="200"></p>'
    }
    assert questions["Option_picture"]["options"][0]["text"] == {
        "html": '<img src="media:parabola.png" alt="A parabola">'
    }
    assert questions["Plain"]["text"] == {"html": "<p>H<sub>2</sub>O is <b>water</b>?</p>"}
    assert [(m.name, m.content_type, m.data) for m in imported.media] == [
        ("incline.png", "image/png", PNG),
        ("circuit_a.png", "image/png", PNG),
        ("parabola.png", "image/png", PNG),
    ]
    assert [i.media for i in imported.items if i.refused is None] == [
        ("incline.png",), ("circuit_a.png",), ("parabola.png",), (),
    ]  # fmt: skip
    assert [s.id for s in imported.skipped] == ["Old_lens_no_data", "Missing_file", "Styled_link"]
    assert imported.skipped[0].item == "Old_lens_no_data (quiz/question[3])"
    assert parse_definition(imported.definition)


def test_two_pictures_of_one_name_become_two_media() -> None:
    other = base64.b64encode(PNG + b"other").decode()
    quiz = (
        "<quiz>"
        + "".join(
            f'<question type="truefalse"><name><text>q{i}</text></name>'
            '<questiontext format="html"><text>&lt;img src="@@PLUGINFILE@@/image.png" '
            f'alt="i"&gt;</text><file name="image.png" encoding="base64">{data}</file>'
            '</questiontext><answer fraction="100"><text>true</text></answer>'
            '<answer fraction="0"><text>false</text></answer></question>'
            for i, data in enumerate([base64.b64encode(PNG).decode(), other, other])
        )
        + "</quiz>"
    )
    imported = import_exam(quiz.encode(), filename="q.xml")
    texts = [q["text"]["html"] for q in _questions(imported.definition).values()]
    assert texts == [
        '<img src="media:image.png" alt="i">',
        '<img src="media:image-2.png" alt="i">',
        '<img src="media:image-2.png" alt="i">',  # the same bytes: the same medium
    ]
    assert [m.name for m in imported.media] == ["image.png", "image-2.png"]


def test_styles_and_markup_outside_the_allowed_list_refuse_the_item_by_name() -> None:
    quiz = (
        b'<quiz><question type="truefalse"><name><text>styled</text></name>'
        b'<questiontext format="html"><text>&lt;p style="color:red"&gt;Red?&lt;/p&gt;</text>'
        b'</questiontext><answer fraction="100"><text>true</text></answer>'
        b'<answer fraction="0"><text>false</text></answer></question>'
        b'<question type="truefalse"><name><text>heading</text></name>'
        b'<questiontext format="html"><text>&lt;h2&gt;Big?&lt;/h2&gt;</text>'
        b'</questiontext><answer fraction="100"><text>true</text></answer>'
        b'<answer fraction="0"><text>false</text></answer></question>'
        b'<question type="truefalse"><name><text>tex</text></name>'
        b'<questiontext format="html"><text>Is \\(\\frob x\\) true?</text>'
        b'</questiontext><answer fraction="100"><text>true</text></answer>'
        b'<answer fraction="0"><text>false</text></answer></question></quiz>'
    )
    errors = _errors(quiz, "s.xml")
    assert errors["styled"][1] == (
        "contains a style attribute on <p>, which the allowed markup does not hold"
    )
    assert errors["heading"][1] == "contains <h2>, which the allowed markup does not hold"
    assert "\\frob" in errors["tex"][1]


@pytest.mark.parametrize(
    ("questiontext", "expected"),
    [
        ('<questiontext format="html"><text>Mass $$m_1$$ and \\(v\\)?</text></questiontext>',
         "Mass \\[m_1\\] and \\(v\\)?"),
        ('<questiontext format="markdown"><text>See **this** ![a b](@@PLUGINFILE@@/b.png)</text>'
         f'<file name="b.png" encoding="base64">{base64.b64encode(PNG).decode()}</file>'
         "</questiontext>",
         '<p>See <strong>this</strong> <img src="media:b.png" alt="a b"></p>'),
        ('<questiontext format="moodle_auto_format"><text>Line one\nline &lt;i&gt;two&lt;/i&gt;'
         "</text></questiontext>", "Line one<br>line <i>two</i>"),
    ],
    ids=["tex", "markdown", "moodle"],
)  # fmt: skip
def test_moodle_formats_become_the_allowed_markup(questiontext: str, expected: str) -> None:
    quiz = (
        f'<quiz><question type="truefalse"><name><text>t</text></name>{questiontext}'
        '<answer fraction="100"><text>true</text></answer>'
        '<answer fraction="0"><text>false</text></answer></question></quiz>'
    ).encode()
    imported = import_exam(quiz, filename="t.xml")
    assert _questions(imported.definition)["t"]["text"] == {"html": expected}
    parse_definition(imported.definition)


# --- GIFT links and media -----------------------------------------------------------------


def test_gift_links_and_media_are_refused_never_flattened() -> None:
    errors = _errors((FIXTURES / "gift" / "links_and_media.gift").read_bytes(), "l.gift")
    assert set(errors) == {"listen", "player", "diagram", "notes", "moodle_link"}
    assert errors["listen"] == (
        "line 4",
        "contains a link (https://example.org/clip.mp3), which cannot be carried",
    )
    assert "contains audio" in errors["player"][1]
    assert "![incline](incline.png)" in errors["diagram"][1]
    assert "[the notes](https://example.org/notes)" in errors["notes"][1]
    assert '<a href="notes.html"' in errors["moodle_link"][1]


def test_gift_skip_keeps_only_whole_questions() -> None:
    data = (FIXTURES / "gift" / "links_and_media.gift").read_bytes()
    imported = import_exam(data, filename="l.gift", skip_unsupported=True)
    assert _questions(imported.definition) == {
        "ok": {
            "id": "ok",
            "type": "single",
            "text": {"html": "<p>H<sub>2</sub>O is <b>water</b>.</p>"},
            "options": [{"id": "T", "text": "True"}, {"id": "F", "text": "False"}],
            "answer": "T",
            "marking": {"correct": 1, "wrong": 0},
        }
    }
    assert len(imported.skipped) == 5


# --- QTI routing, ruby, templates, SCORE0, weights ------------------------------------------


def test_qti_routing_on_item_references_is_refused_not_ignored() -> None:
    errors = _errors(_package("routing_package"), "tao.zip")
    assert errors == {
        "item-2": ("items/gate.xml", "has <branchRule> (routing examvault does not do)"),
        "item-3": ("items/hard.xml", "has <preCondition> (routing examvault does not do)"),
    }


def test_qti_routing_skipped_lists_the_items_and_reports_an_unused_weight() -> None:
    imported = import_exam(_package("routing_package"), filename="tao.zip", skip_unsupported=True)
    assert list(_questions(imported.definition)) == ["item-1", "item-4"]
    assert [s.id for s in imported.skipped] == ["item-2", "item-3"]
    # W is not used by the test's outcome processing: item-1 keeps its own mark, and says so.
    assert _questions(imported.definition)["item-1"]["marking"]["correct"] == 1
    assert imported.notes == (
        "the weight 'W' (2) on item 'item-1' is not used by the test's outcome processing: "
        "the item keeps its own marks",
    )


def test_qti_routing_on_a_section_refuses_each_item_under_it() -> None:
    data = _package("routing_package")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["test.xml"] = files["test.xml"].replace(
        b'visible="true">',
        b'visible="true"><preCondition><baseValue baseType="boolean">true</baseValue>'
        b"</preCondition>",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    errors = _errors(buffer.getvalue(), "tao.zip")
    assert set(errors) == {"item-1", "item-2", "item-3", "item-4"}
    assert errors["item-4"][1] == (
        "is in section-1, which has <preCondition> (routing examvault does not do)"
    )


def test_ruby_is_refused_by_name_never_run_into_the_text() -> None:
    data = (FIXTURES / "qti" / "ruby_item.xml").read_bytes()
    errors = _errors(data, "ruby_item.xml")
    assert errors == {
        "hokkaido": (
            "ruby_item.xml",
            "contains ruby annotations (<ruby>/<rt>), which cannot be carried",
        )
    }


def test_common_cartridge_template_names_match_whatever_their_case() -> None:
    imported = import_exam(_package("cc_package"), filename="cc.zip", skip_unsupported=True)
    questions = _questions(imported.definition)
    assert list(questions) == ["cc-capital", "cc-basic"]
    assert questions["cc-capital"]["answer"] == "A"
    assert questions["cc-basic"]["answer"] == "B"
    assert questions["cc-capital"]["marking"] == {"correct": 1, "wrong": 0}


def test_processing_that_sets_no_score_is_refused_saying_so() -> None:
    errors = _errors(_package("cc_package"), "cc.zip")
    assert errors == {
        "cc-score0": (
            "score0.xml",
            "its response processing sets no SCORE (it sets SCORE0), so its marks are unknown",
        )
    }


# --- the dry run ----------------------------------------------------------------------------


def test_a_dry_run_lists_what_each_item_becomes_and_what_is_refused() -> None:
    data = _package("routing_package")
    preview = preview_import(data, filename="tao.zip").as_json()
    assert preview["importable"] is False  # an import without skip would be refused
    assert preview["id"] == "routing-test" and preview["questions"] == 2
    assert preview["items"] == [
        {"id": "item-1", "source": "item-1", "section": "section-1", "type": "single",
         "marking": {"correct": 1, "wrong": 0}, "media": []},
        {"id": "item-2", "source": "items/gate.xml",
         "refused": "has <branchRule> (routing examvault does not do)"},
        {"id": "item-3", "source": "items/hard.xml",
         "refused": "has <preCondition> (routing examvault does not do)"},
        {"id": "item-4", "source": "item-4", "section": "section-1", "type": "single",
         "marking": {"correct": 1, "wrong": 0}, "media": []},
    ]  # fmt: skip
    assert [e["loc"] for e in preview["errors"]] == [
        ["item-2", "items/gate.xml"],
        ["item-3", "items/hard.xml"],
    ]
    assert len(preview["notes"]) == 1
    skipping = preview_import(data, filename="tao.zip", skip_unsupported=True).as_json()
    assert skipping["importable"] is True and skipping["errors"] == []


def test_dry_run_ids_are_the_ids_the_exam_will_have() -> None:
    gift = (
        b"::Capital of France?::Capital?{=Paris ~Rome}\n\n"
        b"::Capital of France?::Match{=a -> b =c -> d}\n\nMatch{=a -> b =c -> d}\n"
    )
    preview = preview_import(gift, filename="q.gift", skip_unsupported=True)
    assert [(i.id, i.refused is None) for i in preview.items] == [
        ("Capital_of_France", True),
        ("Capital_of_France-2", False),
        ("q3", False),
    ]
    stored = import_exam(gift, filename="q.gift", skip_unsupported=True).definition
    assert list(_questions(stored)) == ["Capital_of_France"]


# --- the seam for rich text -----------------------------------------------------------------


def test_content_carries_markup_and_media_and_refuses_strays() -> None:
    def resolve(src: str) -> Any:
        if src != "incline.png":
            raise Unsupported(f"shows a picture ({src}) that is not in the file")
        return medium("incline.png", PNG)

    content = html_content(
        '<p>A block on <b>a rough incline</b>:</p><img src="incline.png" alt="Block">'
        "<table><tr><td colspan='2' style='x'>1</td></tr></table>"
        "<math><mi>m</mi></math>",
        resolve,
    )
    assert content.markup == (
        '<p>A block on <b>a rough incline</b>:</p><img src="media:incline.png" alt="Block">'
        '<table><tr><td colspan="2">1</td></tr></table><math><mi>m</mi></math>'
    )
    assert [(m.name, m.content_type, m.data) for m in content.media] == [
        ("incline.png", "image/png", PNG)
    ]
    assert content.needs == (
        "formatting (<b>)", "a picture (incline.png)", "a table", "a MathML formula",
    )  # fmt: skip
    assert content.strays == ("a style attribute on <td>",)
    with pytest.raises(Unsupported, match=re.escape("contains a style attribute on <td>, which")):
        content.value()


@pytest.mark.parametrize(
    ("html", "words"),
    [
        ('<img src="incline.png">', "no alt text"),
        ('<img src="other.png" alt="x">', "(other.png) that is not in the file"),
        ("<video src='v.mp4'></video>", "a video"),
        ("<object data='x.swf'></object>", "an embedded object"),
        ("<iframe src='x'></iframe>", "a frame"),
        ("<math><mi href='https://x'>m</mi></math>", "a link (https://x)"),
        ("<ruby>漢<rt>かん</rt></ruby>", "ruby annotations"),
    ],
)
def test_what_no_text_can_hold_is_refused_by_name(html: str, words: str) -> None:
    def resolve(src: str) -> Any:
        if src != "incline.png":
            raise Unsupported(f"shows a picture ({src}) that is not in the file")
        return medium(src, PNG)

    with pytest.raises(Unsupported, match=re.escape(words)):
        html_content(html, resolve)


def test_a_picture_must_be_an_image_the_exam_can_serve() -> None:
    with pytest.raises(Unsupported, match="not PNG, JPEG, GIF or WebP"):
        medium("x.svg", b"<svg/>")
    with pytest.raises(Unsupported, match="larger than 2 MiB"):
        medium("big.png", PNG + b"\0" * (2 * 1024 * 1024))
    assert medium("a/b c.gif", b"GIF89a...").name == "b_c.gif"
    assert medium("x.webp", b"RIFF\0\0\0\0WEBPVP8 ").content_type == "image/webp"


@pytest.mark.parametrize(
    ("data", "filename", "total"),
    [
        (
            (FIXTURES / "gift" / "links_and_media.gift").read_bytes(),
            "l.gift",
            7,
        ),  # the comment is a block too
        ((FIXTURES / "moodle_xml" / "pictures.xml").read_bytes(), "p.xml", 8),
        (_package("routing_package"), "tao.zip", 4),
        (_package("cc_package"), "cc.zip", 3),
    ],
    ids=["gift", "moodle_xml", "qti_test", "qti_items"],
)
def test_a_long_import_reports_its_progress_item_by_item(
    data: bytes, filename: str, total: int
) -> None:
    calls: list[tuple[int, int]] = []
    preview_import(data, filename=filename, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(done, total) for done in range(1, total + 1)]


def _qti_picture_package(body: str, files: dict[str, bytes]) -> bytes:
    item = f"""<?xml version="1.0"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="pic" title="pic"
  adaptive="false" timeDependent="false">
  <responseDeclaration identifier="R" cardinality="single" baseType="identifier">
    <correctResponse><value>A</value></correctResponse></responseDeclaration>
  <itemBody><p>Look: {body}</p><choiceInteraction responseIdentifier="R" maxChoices="1">
    <simpleChoice identifier="A">a</simpleChoice><simpleChoice identifier="B">b</simpleChoice>
  </choiceInteraction></itemBody>
</assessmentItem>"""
    manifest = (
        '<manifest><resources><resource identifier="r" type="imsqti_item_xmlv2p1" '
        'href="items/pic.xml"/></resources></manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", manifest)
        archive.writestr("items/pic.xml", item)
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "files", "words"),
    [
        ('<object type="image/png" data="d.png"/>', {"items/d.png": PNG}, "no alt text"),
        ('<object type="application/x-shockwave-flash" data="d.swf">x</object>', {},
         "an embedded object"),
        ('<img src="https://example.org/d.png" alt="d"/>', {}, "not in the package"),
        ('<img src="gone.png" alt="d"/>', {}, "(gone.png) that is not in the package"),
        ('<img src="d.png" alt="d"/>', {"items/d.png": b"<svg/>"}, "not PNG, JPEG, GIF"),
    ],
    ids=["object-no-alt", "flash", "remote", "missing", "svg"],
)  # fmt: skip
def test_qti_pictures_are_found_in_the_package_or_refused_by_name(
    body: str, files: dict[str, bytes], words: str
) -> None:
    errors = _errors(_qti_picture_package(body, files), "p.zip")
    assert list(errors) == ["pic"] and words in errors["pic"][1]


@pytest.mark.parametrize(
    ("body", "files", "markup"),
    [
        ('<object type="image/png" data="d.png">A diagram</object>', {"items/d.png": PNG},
         '<img src="media:d.png" alt="A diagram">'),
        ('<img src="../d.png" alt="d"/>', {"d.png": PNG}, '<img src="media:d.png" alt="d">'),
    ],
    ids=["object", "parent-dir"],
)  # fmt: skip
def test_qti_pictures_in_the_package_become_media(
    body: str, files: dict[str, bytes], markup: str
) -> None:
    imported = import_exam(_qti_picture_package(body, files), filename="p.zip")
    assert _questions(imported.definition)["pic"]["text"] == {"html": f"<p>Look: {markup}</p>"}
    assert [(m.name, m.data) for m in imported.media] == [("d.png", PNG)]
    preview = preview_import(_qti_picture_package(body, files), filename="p.zip").as_json()
    assert preview["items"][0]["media"] == ["d.png"]


def test_a_picture_in_a_single_qti_item_asks_for_the_package() -> None:
    data = _qti_picture_package('<img src="d.png" alt="d"/>', {})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        item = archive.read("items/pic.xml")
    assert "upload the whole package" in _errors(item, "pic.xml")["pic"][1]


@pytest.mark.parametrize(
    ("questiontext", "words"),
    [
        ('<questiontext format="markdown"><text>See ![a](b.png)</text></questiontext>',
         "shows a picture (b.png) that is not in the file"),
        ('<questiontext format="markdown"><text>See [a](https://x.org)</text></questiontext>',
         "contains a link (https://x.org)"),
        ('<questiontext format="moodle_auto_format"><text>See &lt;https://x.org&gt;</text>'
         "</questiontext>", "<https://x.org>"),
        ('<questiontext format="plain_text"><text>See @@PLUGINFILE@@/x.pdf</text></questiontext>',
         "attached in Moodle"),
        ('<questiontext format="html"><text>&lt;img src="@@PLUGINFILE@@/x.png" alt="x"&gt;</text>'
         '<file name="x.png" encoding="base64">!!!</file></questiontext>', "not base64"),
    ],
    ids=["markdown", "markdown-link", "autolink", "pluginfile-text", "bad-base64"],
)  # fmt: skip
def test_moodle_texts_of_every_format_are_carried_whole_or_refused(
    questiontext: str, words: str
) -> None:
    quiz = (
        f'<quiz><question type="truefalse"><name><text>t</text></name>{questiontext}'
        '<answer fraction="100"><text>true</text></answer>'
        '<answer fraction="0"><text>false</text></answer></question></quiz>'
    ).encode()
    with pytest.raises(ImportRefused) as refused:
        import_exam(quiz, filename="t.xml")
    assert words in refused.value.errors[0]["msg"]


def test_a_dry_run_of_our_own_json_lists_its_questions() -> None:
    exam = (
        b'{"id": "x", "title": "X", "duration_seconds": 60, "sections": [{"id": "s", '
        b'"title": "S", "questions": [{"id": "q", "type": "single", "text": "?", "options": '
        b'[{"id": "A", "text": "a"}, {"id": "B", "text": "b"}], "answer": "A", '
        b'"marking": {"correct": 1}}]}]}'
    )
    preview = preview_import(exam, filename="x.json").as_json()
    assert preview["importable"] is True
    assert preview["items"] == [
        {"id": "q", "source": "q", "section": "s", "type": "single",
         "marking": {"correct": 1}, "media": []}
    ]  # fmt: skip
    broken = preview_import(exam.replace(b'"answer": "A"', b'"answer": "Z"'), filename="x.json")
    assert broken.importable is False and broken.errors


@pytest.mark.parametrize(
    ("paragraph", "field"),
    [
        ('<p dir="ltr" style="text-align: left;">Which <b>one</b>?</p>',
         {"html": "<p>Which <b>one</b>?</p>"}),
        ('<p dir="ltr" style="TEXT-ALIGN:start">Which one?</p>', "Which one?"),
        ('<p dir="rtl">Which one?</p>', "contains a dir attribute on <p>"),
        ('<p style="text-align: center;">Which one?</p>', "contains a style attribute on <p>"),
    ],
    ids=["moodle-editor", "start", "rtl", "centred"],
)  # fmt: skip
def test_moodles_editor_boilerplate_restates_the_default_and_is_left_out(
    paragraph: str, field: Any
) -> None:
    content = html_content(paragraph)
    if isinstance(field, str) and field.startswith("contains"):
        with pytest.raises(Unsupported, match=re.escape(field)):
            content.value()
    else:
        assert content.value() == field


def test_dollars_become_display_tex_only_in_text() -> None:
    content = html_content(
        '<p>$$a+b$$ and <img src="x.png" alt="$$c$$"></p>', lambda s: medium(s, PNG)
    )
    assert content.value() == {"html": '<p>\\[a+b\\] and <img src="media:x.png" alt="$$c$$"></p>'}
    assert html_content("<p>It costs $5 or $$</p>").value() == "It costs $5 or $$"
    # in <pre> and <code> it is text (the exam converts no TeX there either)
    assert html_content("<pre>$$x$$</pre>").value() == {"html": "<pre>$$x$$</pre>"}


def test_qti_feedback_and_rubric_blocks_are_left_out_and_said() -> None:
    """examvault shows neither; an import that leaves them out says so, item by item."""
    item = (FIXTURES / "qti" / "qti21_item.xml").read_text()
    item = item.replace(
        "<itemBody>", '<itemBody><rubricBlock view="scorer"><p>Only Paris.</p></rubricBlock>'
    ).replace(
        "</assessmentItem>",
        '<modalFeedback outcomeIdentifier="FEEDBACK" identifier="ok" showHide="show">'
        "Well done.</modalFeedback></assessmentItem>",
    )

    imported = import_exam(item.encode(), filename="capital.xml")

    assert imported.notes == (
        "item 'capital': its <modalFeedback>, <rubricBlock> not carried (examvault shows no "
        "rubric or feedback)",
    )
    assert "Only Paris" not in str(imported.definition)
