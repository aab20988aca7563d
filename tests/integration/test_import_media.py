"""Imports and exports that carry pictures, formulas and tables, through the routes, on both
stores (docs/api.md, Import and export; docs/formats.md).

An import stores its pictures and its exam in one transaction: both or neither. An export
writes the author's markup and the exam's pictures into the file, and importing that file
again gives back the same questions and the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from examvault.domain.diagrams import png
from examvault.formats import export_exam
from tests.helpers import ADMIN, Server, bearer, running, small_exam, to_json

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
PNG = png(2, 2, [b"\x00\xff", b"\xff\x00"])
OTHER_PNG = png(1, 1, [b"\x80"])
RICH = (
    r'<p>A block of mass \(m\) on an incline:</p><img src="media:incline.png" alt="Block">'
    "<table><tbody><tr><th>angle</th><td>30</td></tr></tbody></table>"
)
OPTION = '<img src="media:arrow.png" alt="Arrow">'


def rich_exam(exam_id: str = "rich") -> dict[str, Any]:
    """An exam with a picture, a formula and a table in a question, a picture in an option."""
    doc = small_exam(exam_id, n=1)
    question = doc["sections"][0]["questions"][0]
    question["text"] = {"html": RICH}
    question["options"][1]["text"] = {"html": OPTION}
    return doc


async def media(server: Server, exam_id: str, name: str) -> httpx.Response:
    return await server.client.get(f"/api/v1/exams/{exam_id}/media/{name}", headers=bearer(ADMIN))


async def put_medium(server: Server, exam_id: str, name: str, data: bytes) -> None:
    r = await server.client.put(
        f"/api/v1/exams/{exam_id}/media/{name}",
        content=data,
        headers={"Content-Type": "image/png"} | bearer(ADMIN),
    )
    assert r.status_code in (200, 201), r.text


async def upload(server: Server, data: bytes, filename: str, **fields: str) -> httpx.Response:
    return await server.as_(
        ADMIN, "POST", "/exams/import", files={"file": (filename, data)}, data=fields
    )


async def stored(server: Server, exam_id: str) -> dict[str, Any]:
    r = await server.admin("GET", f"/exams/{exam_id}")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


async def make_rich(server: Server) -> dict[str, Any]:
    await put_medium(server, "rich", "incline.png", PNG)
    await put_medium(server, "rich", "arrow.png", OTHER_PNG)
    await server.create_exam(rich_exam())
    return await stored(server, "rich")


def questions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for s in doc["sections"] for q in s["questions"]]


async def test_a_moodle_import_stores_its_pictures_with_the_exam(server: Server) -> None:
    data = (FORMATS / "moodle_xml" / "pictures.xml").read_bytes()
    r = await upload(server, data, "pictures.xml", skip_unsupported="true")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [m["name"] for m in body["media"]] == ["incline.png", "circuit_a.png", "parabola.png"]
    assert {m["content_type"] for m in body["media"]} == {"image/png"}
    assert [s["id"] for s in body["skipped"]] == ["Old_lens_no_data", "Missing_file", "Styled_link"]
    got = await media(server, "pictures", "circuit_a.png")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content.startswith(b"\x89PNG")
    doc = await stored(server, "pictures")
    assert questions(doc)[1]["text"]["html"].endswith(
        '<img src="media:circuit_a.png" alt="A circuit with two resistors" width="200"></p>'
    )
    # Without skip_unsupported, a picture missing from the file refuses it, naming it.
    r = await upload(server, data, "again.xml", id="again")
    assert r.status_code == 422
    assert ["Old_lens_no_data", "quiz/question[3]"] in [e["loc"] for e in r.json()["errors"]]
    assert (await media(server, "again", "incline.png")).status_code == 404


async def test_a_dry_run_lists_each_items_media_and_stores_none(server: Server) -> None:
    data = (FORMATS / "moodle_xml" / "pictures.xml").read_bytes()
    r = await server.as_(
        ADMIN, "POST", "/exams/import", params={"dry_run": "true"},
        files={"file": ("pictures.xml", data)}, data={"skip_unsupported": "true"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    carried = [i for i in r.json()["items"] if "refused" not in i]
    assert [(i["id"], i["media"]) for i in carried] == [
        ("Old_incline", ["incline.png"]),
        ("circuit-1", ["circuit_a.png"]),
        ("Option_picture", ["parabola.png"]),
        ("Plain", []),
    ]
    assert (await media(server, "pictures", "incline.png")).status_code == 404


@pytest.mark.parametrize("fmt", ["qti", "moodle_xml", "json", "yaml"])
async def test_an_export_with_pictures_imports_back_the_same(server: Server, fmt: str) -> None:
    before = await make_rich(server)
    r = await server.admin("GET", "/exams/rich/export", params={"format": fmt})
    assert r.status_code == 200, r.text
    name = r.headers["content-disposition"].split('filename="')[1].rstrip('"')
    r = await upload(server, r.content, name, format=fmt, id="copy")
    assert r.status_code == 201, r.text
    assert sorted(m["name"] for m in r.json()["media"]) == ["arrow.png", "incline.png"]
    after = await stored(server, "copy")
    first, back = questions(before)[0], questions(after)[0]
    assert back["text"] == {"html": RICH}  # TeX as the author wrote it, the table, the picture
    assert back["options"][1]["text"] == {"html": OPTION}
    assert first["marking"] == "plus4_minus1"  # every format carries these two marks
    assert back["answer"] == first["answer"] == "B"
    marking = back["marking"]
    assert marking == "plus4_minus1" or (marking["correct"], marking["wrong"]) == (4, -1)
    for medium, data in (("incline.png", PNG), ("arrow.png", OTHER_PNG)):
        assert (await media(server, "copy", medium)).content == data


async def test_a_qti_export_holds_the_files_and_mathml(server: Server) -> None:
    await make_rich(server)
    r = await server.admin("GET", "/exams/rich/export", params={"format": "qti"})
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:
        assert package.read("media/incline.png") == PNG
        item = package.read("items/s0.xml").decode()
        manifest = package.read("imsmanifest.xml").decode()
    assert '<img src="../media/incline.png" alt="Block" />' in item
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in item
    assert '<annotation encoding="application/x-tex">m</annotation>' in item
    assert '<file href="media/incline.png" />' in manifest


async def test_gift_cannot_hold_pictures_and_says_which_question(server: Server) -> None:
    await make_rich(server)
    r = await server.admin("GET", "/exams/rich/export", params={"format": "gift"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "question s0: GIFT cannot hold pictures (media:incline.png)" in r.json()["detail"]
    # Formatting and formulas it can hold: [html]
    doc = small_exam("formula", n=1)
    doc["sections"][0]["questions"][0]["text"] = {"html": r"<p><b>Mass</b> \(m\)?</p>"}
    await server.create_exam(doc)
    r = await server.admin("GET", "/exams/formula/export", params={"format": "gift"})
    assert r.status_code == 200, r.text
    r = await upload(server, r.content, "formula.gift.txt", id="formula2")
    assert r.status_code == 201, r.text
    text = questions(await stored(server, "formula2"))[0]["text"]
    assert text == {"html": r"<p><b>Mass</b> \(m\)?</p>"}


async def test_an_import_whose_media_pass_the_exam_limit_stores_nothing(
    database: str, tmp_path: Path
) -> None:
    """The first picture fits, the second passes the limit: neither is stored, nor the exam."""
    pictures = {"incline.png": ("image/png", PNG), "arrow.png": ("image/png", OTHER_PNG)}
    package, _type, _name = export_exam(rich_exam(), "qti", pictures)
    async with running(database, tmp_path, media_exam_bytes=len(PNG) + 1) as server:
        r = await upload(server, package, "rich.qti.zip", id="copy")
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert (await media(server, "copy", "arrow.png")).status_code == 404
        assert (await media(server, "copy", "incline.png")).status_code == 404
        assert (await server.admin("GET", "/exams/copy")).status_code == 404


async def test_an_import_over_an_exam_in_use_changes_none_of_its_media(server: Server) -> None:
    await make_rich(server)
    token = (await server.register("rich", "R1"))["R1"]
    await server.start("rich", token)
    exported = (await server.admin("GET", "/exams/rich/export", params={"format": "json"})).content
    with zipfile.ZipFile(io.BytesIO(exported)) as bundle:
        files = {n: bundle.read(n) for n in bundle.namelist()}
    files["media/incline.png"] = OTHER_PNG  # a changed picture for an exam in use
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for n, content in files.items():
            bundle.writestr(n, content)
    r = await upload(server, buffer.getvalue(), "rich.json.zip")
    assert r.status_code == 409 and r.json()["type"] == "urn:examvault:exam-in-use"
    assert (await media(server, "rich", "incline.png")).content == PNG


async def test_a_json_bundle_missing_a_picture_is_refused_naming_the_question(
    server: Server,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("exam.json", json.dumps(to_json(rich_exam("lone"))))
        bundle.writestr("media/incline.png", PNG)
    r = await upload(server, buffer.getvalue(), "lone.json.zip")
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {
            "loc": ["media", "arrow.png"],
            "msg": "question s0, option B: shows media:arrow.png, which the file does not hold",
        }
    ]
    assert (await media(server, "lone", "incline.png")).status_code == 404
