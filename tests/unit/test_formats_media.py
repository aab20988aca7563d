"""An import's pictures (formats/_media.py) and our zip of JSON/YAML with media (bundle.py)."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from examvault.formats import ImportRefused, detect_format, import_exam
from examvault.formats._draft import Medium
from examvault.formats._media import Bank

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
GIF = b"GIF89a" + b"\x00" * 8
EXAM = (
    b'{"id": "b", "title": "B", "sections": [{"id": "s", "questions": [{"id": "q", '
    b'"type": "single", "text": {"html": "<img src=\\"media:a.png\\" alt=\\"A\\">"}, '
    b'"options": [{"id": "A", "text": "a"}, {"id": "B", "text": "b"}], "answer": "A", '
    b'"marking": {"correct": 1}}]}]}'
)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _question(html: str) -> dict[str, Any]:
    return {"id": "q", "text": {"html": html}, "options": [{"id": "A", "text": {"html": html}}]}


def test_a_bank_renames_a_different_picture_of_a_taken_name_and_its_markup() -> None:
    bank = Bank()
    first = _question('<img src="media:x.png" alt="1">')
    second = _question('<img src="media:x.png" alt="2">')
    same = _question('<img src="media:x.png" alt="3">')
    assert [m.name for m in bank.add(first, [Medium("x.png", PNG, "image/png")])] == ["x.png"]
    assert [m.name for m in bank.add(second, [Medium("x.png", GIF, "image/gif")])] == ["x-2.png"]
    assert [m.name for m in bank.add(same, [Medium("x.png", PNG, "image/png")])] == ["x.png"]
    assert second["text"] == {"html": '<img src="media:x-2.png" alt="2">'}
    assert second["options"][0]["text"] == {"html": '<img src="media:x-2.png" alt="2">'}
    assert list(bank.media) == ["x.png", "x-2.png"] and bank.total == len(PNG) + len(GIF)


def test_a_bank_counts_each_picture_once_against_the_exams_limit() -> None:
    bank = Bank(limit=len(PNG) + len(GIF) - 1)
    bank.add(_question(""), [Medium("x.png", PNG, "image/png")])
    bank.add(_question(""), [Medium("x.png", PNG, "image/png")])  # the same: counted once
    assert not bank.over_limit()
    bank.add(_question(""), [Medium("y.gif", GIF, "image/gif")])
    assert bank.over_limit()


def test_a_bundle_is_told_from_a_qti_package() -> None:
    assert detect_format("b.zip", _zip({"exam.json": EXAM})) == "json"
    assert detect_format("b.zip", _zip({"exam.yaml": b"id: b"})) == "yaml"
    assert detect_format("b.zip", _zip({"exam.json": EXAM, "imsmanifest.xml": b"<m/>"})) == "qti"


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"exam.json": EXAM, "exam.yaml": b"id: b"}, "no exam.json or exam.yaml, or more than one"),
        ({"exam.json": EXAM, "media/a.png": b"<svg/>"}, "not PNG, JPEG, GIF or WebP"),
        ({"exam.json": EXAM, "media/a b.png": PNG}, "is not named as a medium of an exam"),
        ({"exam.json": EXAM, "media/../a.png": PNG}, "leaves the package"),
    ],
    ids=["two-documents", "not-a-picture", "bad-name", "climbing"],
)
def test_a_broken_bundle_is_refused(files: dict[str, bytes], words: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        import_exam(_zip(files), filename="b.zip", fmt="json")
    assert words in refused.value.errors[0]["msg"]


def test_a_bundle_carries_its_media_and_a_plain_document_needs_none() -> None:
    imported = import_exam(_zip({"exam.json": EXAM, "media/a.png": PNG}), filename="b.zip")
    assert [(m.name, m.content_type, m.data) for m in imported.media] == [
        ("a.png", "image/png", PNG)
    ]
    assert imported.items[0].media == ("a.png",)
    # A plain document may name media uploaded apart (before or after): not refused here.
    assert import_exam(EXAM, filename="b.json").media == ()


def _moodle(text: str, files: str) -> bytes:
    return (
        '<quiz><question type="truefalse"><name><text>t</text></name>'
        f'<questiontext format="html"><text>{text}</text>{files}</questiontext>'
        '<answer fraction="100"><text>true</text></answer>'
        '<answer fraction="0"><text>false</text></answer></question></quiz>'
    ).encode()


def test_an_item_cannot_show_two_different_pictures_of_one_name() -> None:
    png, gif = base64.b64encode(PNG).decode(), base64.b64encode(GIF).decode()
    quiz = _moodle(
        '&lt;img src="@@PLUGINFILE@@/a%20b.png" alt="1"&gt;&lt;img src="@@PLUGINFILE@@/a_b.png"'
        ' alt="2"&gt;',
        f'<file name="a b.png" encoding="base64">{png}</file>'
        f'<file name="a_b.png" encoding="base64">{gif}</file>',
    )
    with pytest.raises(ImportRefused) as refused:
        import_exam(quiz, filename="q.xml")
    assert "shows two different pictures named a_b.png" in refused.value.errors[0]["msg"]


def test_a_picture_keeps_only_its_whole_pixel_size() -> None:
    png = base64.b64encode(PNG).decode()
    files = f'<file name="a.png" encoding="base64">{png}</file>'
    sized = _moodle('&lt;img src="@@PLUGINFILE@@/a.png" alt="A" height="20"&gt;', files)
    text = import_exam(sized, filename="q.xml").definition["sections"][0]["questions"][0]["text"]
    assert text == {"html": '<img src="media:a.png" alt="A" height="20">'}
    for attribute in ('width="50%"', 'style="border: 1px"', 'title="x"'):
        styled = _moodle(f'&lt;img src="@@PLUGINFILE@@/a.png" alt="A" {attribute}&gt;', files)
        with pytest.raises(ImportRefused) as refused:
            import_exam(styled, filename="q.xml")
        name = attribute.split("=")[0]
        assert f"contains a {name} attribute on <img>" in refused.value.errors[0]["msg"]
