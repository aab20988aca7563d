"""Media (docs/api.md, Media) and rich text through the API, on both stores: what may be
uploaded, who may read a picture, and what a candidate's view carries."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from examvault.domain.demo import DEMO_ID, demo_exam, demo_media
from examvault.domain.diagrams import png
from tests.helpers import ADMIN, Server, bearer, running, small_exam

PNG = png(2, 2, [b"\x00\xff", b"\xff\x00"])
OTHER_PNG = png(1, 1, [b"\x80"])
GIF = b"GIF89a" + b"\x01\x00\x01\x00\x00\x00\x00;"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
FIGURE = '<p>Look:</p><img src="media:fig.png" alt="A figure">'


def rich_exam(exam_id: str = "mock-1", **overrides: Any) -> dict[str, Any]:
    doc = small_exam(exam_id, n=1, **overrides)
    doc["sections"][0]["questions"][0]["text"] = {"html": FIGURE + r"<p>\(x^2\)</p>"}
    return doc


async def put(server: Server, name: str, data: bytes, *, exam: str = "mock-1",
              content_type: str = "image/png", token: str | None = None) -> httpx.Response:  # fmt: skip
    headers = {"Content-Type": content_type} | bearer(token or ADMIN)
    path = f"/api/v1/exams/{exam}/media/{name}"
    return await server.client.put(path, content=data, headers=headers)


async def read(server: Server, token: str | None, name: str = "fig.png",
               exam: str = "mock-1", **headers: str) -> httpx.Response:  # fmt: skip
    if token is not None:
        headers |= bearer(token)
    return await server.client.get(f"/api/v1/exams/{exam}/media/{name}", headers=headers)


async def test_an_exam_naming_a_missing_medium_is_refused_until_it_is_uploaded(
    server: Server,
) -> None:
    r = await server.admin("POST", "/exams", json=rich_exam())
    assert r.status_code == 422, r.text
    assert "question s0" in r.json()["detail"] and "fig.png" in r.json()["detail"]
    assert (await server.admin("GET", "/exams/mock-1")).status_code == 404
    # Uploaded before the exam exists: kept for that exam id.
    r = await put(server, "fig.png", PNG)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "name": "fig.png",
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "bytes": len(PNG),
        "content_type": "image/png",
    }
    assert (await server.admin("POST", "/exams", json=rich_exam())).status_code == 201


async def test_uploads_are_checked_by_their_bytes_and_limits(server: Server) -> None:
    assert (await put(server, "fig.png", PNG)).status_code == 201
    assert (await put(server, "fig.png", PNG)).status_code == 200  # the same bytes again
    assert (await put(server, "fig.png", OTHER_PNG)).status_code == 201  # replaced
    for name, data, kind in (("a.gif", GIF, "gif"), ("b.jpg", JPEG, "jpeg"), ("c.webp", WEBP, "webp")):  # fmt: skip
        r = await put(server, name, data, content_type=f"image/{kind}")
        assert r.status_code == 201, r.text
    assert (await put(server, "d.png", GIF)).status_code == 415  # not what the type says
    assert (await put(server, "d.png", PNG, content_type="image/svg+xml")).status_code == 415
    assert (await put(server, "d.png", PNG, content_type="text/html")).status_code == 415
    assert (await put(server, "d.png", b"")).status_code == 415
    big = PNG + b"\x00" * (2 << 20)
    r = await put(server, "big.png", big)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert (await put(server, ".hidden", PNG)).status_code == 404  # not a medium's name
    assert (await put(server, "x" * 129, PNG)).status_code == 404
    assert (await read(server, None, "d.png")).status_code == 401
    assert (await server.admin("GET", "/exams/mock-1/media/d.png")).status_code == 404


async def test_an_exam_holds_at_most_its_media_limit(database: str, tmp_path: Path) -> None:
    async with running(database, tmp_path, media_exam_bytes=2 * len(PNG)) as server:
        assert (await put(server, "one.png", PNG)).status_code == 201
        assert (await put(server, "two.png", PNG)).status_code == 201
        r = await put(server, "three.png", PNG)
        assert r.status_code == 413 and "mock-1" in r.json()["detail"]
        # Replacing one counts only the new bytes; another exam has its own allowance.
        assert (await put(server, "two.png", PNG[:-1] + b"\x01")).status_code == 201
        assert (await put(server, "three.png", PNG, exam="other")).status_code == 201


async def test_media_cannot_change_once_an_attempt_has_started(server: Server) -> None:
    assert (await put(server, "fig.png", PNG)).status_code == 201
    await server.create_exam(rich_exam())
    tokens = await server.register("mock-1", "C1")
    await server.start("mock-1", tokens["C1"])
    r = await put(server, "fig.png", OTHER_PNG)
    assert r.status_code == 409 and r.json()["type"] == "urn:examvault:exam-in-use"
    assert (await put(server, "new.png", OTHER_PNG)).status_code == 409
    assert (await put(server, "fig.png", PNG)).status_code == 200  # a repeat is harmless
    assert (await read(server, tokens["C1"])).content == PNG


async def test_who_may_read_a_picture(server: Server) -> None:
    assert (await put(server, "fig.png", PNG)).status_code == 201
    await server.create_exam(rich_exam())
    await server.create_exam(small_exam("other"))
    mine = await server.register("mock-1", "C1", "C2")
    theirs = await server.register("other", "D1")
    invigilators: dict[str, str] = {}
    for exam in ("mock-1", "other"):
        r = await server.admin(
            "POST", f"/exams/{exam}/invigilators", json={"invigilators": [{"id": "I1"}]}
        )
        assert r.status_code == 201, r.text
        invigilators[exam] = r.json()["invigilators"][0]["token"]
    await server.start("other", theirs["D1"])
    r = await server.admin("POST", "/exams/mock-1/markers", json={"markers": [{"id": "M1"}]})
    marker = r.json()["markers"][0]["token"]

    assert (await read(server, None)).status_code == 401
    assert (await read(server, marker)).status_code == 403  # markers see scripts, not papers
    assert (await read(server, "not-a-token")).status_code == 401
    assert (await read(server, mine["C1"])).status_code == 403  # not started yet
    assert (await read(server, theirs["D1"])).status_code == 404  # another exam's candidate
    assert (await read(server, invigilators["other"])).status_code == 403
    for token in (mine["C1"], invigilators["mock-1"]):
        assert (await put(server, "fig.png", OTHER_PNG, token=token)).status_code == 403

    admin = await server.admin("GET", "/exams/mock-1/media/fig.png")
    assert admin.status_code == 200 and admin.content == PNG
    assert admin.headers["content-type"] == "image/png"
    assert admin.headers["cache-control"] == "private, max-age=86400, immutable"
    sha = hashlib.sha256(PNG).hexdigest()
    assert admin.headers["etag"] == f'"{sha}"'
    assert (await read(server, invigilators["mock-1"])).content == PNG

    view = await server.start("mock-1", mine["C1"])
    assert view["media"] == ["fig.png"]
    assert (await read(server, mine["C1"])).content == PNG
    assert (await read(server, mine["C2"])).status_code == 403  # C2 has not started
    again = await read(server, mine["C1"], **{"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304 and not again.content
    r = await server.as_(mine["C1"], "POST", f"/attempts/{view['attempt_id']}/submit")
    assert r.status_code == 200, r.text
    assert (await read(server, mine["C1"])).content == PNG  # kept for review
    assert (await read(server, mine["C1"], "missing.png")).status_code == 404


async def test_a_view_carries_the_sanitised_markup_and_the_author_gets_theirs(
    server: Server,
) -> None:
    assert (await put(server, "fig.png", PNG)).status_code == 201
    doc = rich_exam(title={"html": r"Mock \(x\)"})
    doc["sections"][0]["instructions"] = {"html": "<p>Read <b>carefully</b>.</p>"}
    await server.create_exam(doc)
    tokens = await server.register("mock-1", "C1")
    r = await server.as_(tokens["C1"], "POST", "/exams/mock-1/attempts")
    assert r.status_code == 201 and PNG not in r.content
    view = r.json()
    text = view["sections"][0]["questions"][0]["text"]
    assert text == {
        "html": '<p>Look:</p><img src="media:fig.png" alt="A figure"><p><math display="inline">'
        "<mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math></p>"
    }
    assert view["sections"][0]["instructions"] == {"html": "<p>Read <b>carefully</b>.</p>"}
    assert (
        view["sections"][1]["questions"][0]["text"]
        == small_exam(n=1)["sections"][1]["questions"][0]["text"]
    )  # a plain string stays one
    me = (await server.as_(tokens["C1"], "GET", "/me")).json()
    assert me["exam"]["title"]["html"].startswith("Mock <math")
    stored = (await server.admin("GET", "/exams/mock-1")).json()
    assert stored["title"] == {"html": r"Mock \(x\)"}
    assert stored["sections"][0]["questions"][0]["text"] == {"html": FIGURE + r"<p>\(x^2\)</p>"}
    exported = await server.admin("GET", "/exams/mock-1/export?format=json")
    assert exported.headers["content-type"] == "application/zip"  # the exam with its media
    with zipfile.ZipFile(io.BytesIO(exported.content)) as bundle:
        assert json.loads(bundle.read("exam.json"))["title"] == {"html": r"Mock \(x\)"}
        assert bundle.read("media/fig.png") == PNG
    r = await server.admin("GET", "/exams/mock-1/export?format=gift")  # GIFT holds no files
    assert r.status_code == 422 and "GIFT cannot hold pictures" in r.json()["detail"]
    listing = (await server.admin("GET", "/exams")).json()["exams"]
    assert listing[0]["title"] == r"Mock \(x\)"  # text only, LaTeX as written
    # Posting it again is the same definition.
    r = await server.admin("POST", "/exams", json=doc)
    assert r.status_code == 200 and r.json()["version"] == 1


async def test_markup_outside_the_list_is_refused_naming_question_and_element(
    server: Server,
) -> None:
    cases = [
        ("text", "<p>hi<script>alert(1)</script></p>", "<script>"),
        ("option", '<b onclick="x()">A</b>', "onclick"),
        ("text", r"\(\ce{H2O}\)", r"\ce"),
        ("text", '<img src="https://evil.test/x.png" alt="x">', "media:NAME"),
        ("text", '<math href="javascript:alert(1)"><mi>x</mi></math>', "href"),
    ]
    for where, markup, named in cases:
        doc = small_exam(n=1)
        q = doc["sections"][1]["questions"][0]
        if where == "text":
            q["text"] = {"html": markup}
        else:
            q["options"][0]["text"] = {"html": markup}
        r = await server.admin("POST", "/exams", json=doc)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert f"question {q['id']}" in detail and named in detail, detail
    assert (await server.admin("GET", "/exams/mock-1")).status_code == 404  # nothing stored
    doc = small_exam(n=1)
    doc["sections"][0]["questions"][0]["text"] = {"html": "<p>" + "x" * 65_536 + "</p>"}
    r = await server.admin("POST", "/exams", json=doc)
    assert r.status_code == 422 and "65536 bytes" in r.json()["detail"]


async def test_an_exam_definition_may_be_up_to_ten_mib(server: Server) -> None:
    doc = small_exam(n=40)
    for q in doc["sections"][0]["questions"]:
        q["text"] = {"html": "<p>" + "y" * 60_000 + "</p>"}
    r = await server.admin("POST", "/exams", json=doc)
    assert r.status_code == 201, r.text[:300]
    assert len(r.request.content) > 2 << 20
    r = await server.client.post(
        "/api/v1/exams/mock-1/candidates",
        content=b'{"candidates": []' + b" " * (2 << 20) + b"}",
        headers={"Content-Type": "application/json"} | bearer(ADMIN),
    )
    assert r.status_code == 413  # other routes keep 1 MiB


async def test_the_demo_shows_a_diagram_a_formula_and_a_table(server: Server) -> None:
    for name, (content_type, data) in demo_media().items():
        r = await put(server, name, data, exam=DEMO_ID, content_type=content_type)
        assert r.status_code == 201, r.text
    await server.create_exam(demo_exam())
    tokens = await server.register(DEMO_ID, "C1")
    view = await server.start(DEMO_ID, tokens["C1"])
    assert view["media"] == ["incline.png"]
    texts = [q["text"]["html"] for s in view["sections"] for q in s["questions"] if isinstance(q["text"], dict)]  # fmt: skip
    assert any('<img src="media:incline.png"' in t for t in texts)
    assert any('<math display="block">' in t for t in texts)
    assert any("<table><caption>" in t for t in texts)
    picture = await read(server, tokens["C1"], "incline.png", exam=DEMO_ID)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
