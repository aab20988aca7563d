"""The import and export routes (docs/api.md, Import and export), on each store.

`POST /api/v1/exams/import` takes a multipart upload in any format of docs/formats.md;
`GET /api/v1/exams/{id}/export` gives the exam back as a file. The formats themselves are
tested in tests/unit/test_formats_*.py; here is what the HTTP routes add: the form
fields, all-or-nothing refusals, the size limit, the audit trail and round trips.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, Server, bearer, moodle_quiz, running, small_exam, to_json

PROBLEM = "application/problem+json"
FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def package(directory: str) -> bytes:
    """A fixture directory as a QTI zip package."""
    root = FORMATS / "qti" / directory
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


async def upload(
    server: Server, data: bytes, filename: str, token: str | None = None, **fields: Any
) -> httpx.Response:
    form = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return await server.as_(
        token or ADMIN, "POST", "/exams/import",
        files={"file": (filename, data)}, data=form,
    )  # fmt: skip


async def exams(server: Server) -> list[str]:
    r = await server.admin("GET", "/exams")
    assert r.status_code == 200
    return [e["id"] for e in r.json()["exams"]]


async def definition(server: Server, exam_id: str) -> dict[str, Any]:
    r = await server.admin("GET", f"/exams/{exam_id}")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def outline(doc: dict[str, Any]) -> list[Any]:
    """What every format carries: question ids, types, texts, options and keys, in order."""
    return [
        (q["id"], q["type"], q["text"], [o["text"] for o in q.get("options") or []], q["answer"])
        for s in doc["sections"]
        for q in s["questions"]
    ]


@pytest.mark.parametrize(
    ("data", "filename", "questions", "sections"),
    [
        ((FORMATS / "gift" / "constructs.gift").read_bytes(), "constructs.gift", 12, 2),
        ((FORMATS / "moodle_xml" / "quiz.xml").read_bytes(), "quiz.xml", 6, 2),
        ((FORMATS / "qti" / "qti3_item.xml").read_bytes(), "item.xml", 1, 1),
        (package("qti3_package"), "package.zip", None, None),
    ],
    ids=["gift", "moodle_xml", "qti_item", "qti_package"],
)
async def test_an_import_answers_201_with_what_it_made(
    server: Server, data: bytes, filename: str, questions: int | None, sections: int | None
) -> None:
    r = await upload(server, data, filename, id="bank-1", duration_seconds=5400)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["id"] == "bank-1" and body["version"] == 1 and body["skipped"] == []
    stored = await definition(server, "bank-1")
    assert stored["duration_seconds"] == 5400
    assert body["sections"] == len(stored["sections"])
    assert body["questions"] == sum(len(s["questions"]) for s in stored["sections"])
    if questions is not None:
        assert (body["questions"], body["sections"]) == (questions, sections)


async def test_the_id_defaults_to_the_qti_test_identifier_or_the_file_name(server: Server) -> None:
    r = await upload(
        server, (FORMATS / "gift" / "constructs.gift").read_bytes(), "Physics quiz (v2).gift"
    )
    assert r.status_code == 201 and r.json()["id"] == "Physics_quiz_v2"
    r = await upload(server, package("qti3_package"), "whatever.zip")
    assert r.status_code == 201 and r.json()["id"] != "whatever"  # the test's identifier


async def test_an_unsupported_item_refuses_the_whole_file_naming_each_item(server: Server) -> None:
    r = await upload(
        server, (FORMATS / "gift" / "unsupported.gift").read_bytes(), "unsupported.gift"
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:examvault:invalid" and "nothing was" in problem["detail"]
    named = [e["loc"] for e in problem["errors"]]
    assert ["essay", "line 5"] in named and ["matching", "line 9"] in named
    assert all(e["msg"] for e in problem["errors"])
    assert await exams(server) == [], "nothing is imported"
    audit = (await server.admin("GET", "/audit")).json()["entries"]
    assert audit == []


async def test_skip_unsupported_imports_the_rest_and_lists_what_it_left_out(server: Server) -> None:
    data = (FORMATS / "gift" / "unsupported.gift").read_bytes()
    r = await upload(server, data, "unsupported.gift", skip_unsupported=True)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["questions"] == 1 and body["id"] == "unsupported"
    skipped = {s["item"]: s["reason"] for s in body["skipped"]}
    assert "essay (line 5)" in skipped and "cloze (line 36)" in skipped
    assert len(skipped) == 9 and all(skipped.values())
    assert [
        q["id"]
        for s in (await definition(server, "unsupported"))["sections"]
        for q in s["questions"]
    ] == ["ok"]


async def test_a_qti_package_with_unsupported_items_is_refused_by_path(server: Server) -> None:
    r = await upload(server, package("qti3_unsupported"), "u.zip")
    assert r.status_code == 422
    assert any("items/essay.xml" in map(str, e["loc"]) for e in r.json()["errors"])
    assert await exams(server) == []


async def test_an_upload_over_20_mib_is_413(server: Server) -> None:
    r = await upload(server, b"x" * (20 * 1024 * 1024 + 1), "big.gift")
    assert r.status_code == 413
    assert r.json()["type"] == "urn:examvault:too-large"
    assert await exams(server) == []


async def test_an_import_over_its_cpu_cap_is_422_and_stores_nothing(
    database: str, tmp_path: Path
) -> None:
    """An import is parsed in a child process capped at `import_cpu_seconds` (services/imports.py):
    a file that needs more is refused as too complex, whatever its size."""
    async with running(database, tmp_path, import_cpu_seconds=1) as server:
        r = await upload(server, moodle_quiz(4900, text_chars=2900), "big.xml")
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
        assert r.json()["type"] == "urn:examvault:too-complex"
        assert r.json()["errors"] == [
            {"loc": ["body", "file"], "msg": "parsing the file takes more than 1 s of CPU time"}
        ]
        assert await exams(server) == []
        r = await upload(server, (FORMATS / "moodle_xml" / "quiz.xml").read_bytes(), "quiz.xml")
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b'{"a": 1}', "headers": {"content-type": "application/json"}}, 415),
        ({"data": {"format": "gift"}, "files": {"other": ("x.gift", b"::q::a{T}")}}, 422),
        (
            {
                "content": b"--x\r\nbroken",
                "headers": {"content-type": "multipart/form-data; boundary=x"},
            },
            422,
        ),
    ],
    ids=["not-multipart", "no-file", "broken-multipart"],
)
async def test_a_bad_upload_is_a_problem(
    server: Server, kwargs: dict[str, Any], status: int
) -> None:
    kwargs = dict(kwargs)  # shared by both stores' runs
    headers = bearer(ADMIN) | kwargs.pop("headers", {})
    r = await server.client.post("/api/v1/exams/import", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_an_explicit_format_that_does_not_fit_is_422(server: Server) -> None:
    data = (FORMATS / "gift" / "constructs.gift").read_bytes()
    r = await upload(server, data, "constructs.gift", format="qti")
    assert r.status_code == 422 and r.json()["errors"]
    r = await upload(server, data, "constructs.gift", id="not an id!")
    assert r.status_code == 422
    assert await exams(server) == []


async def test_only_the_admin_imports_and_exports(server: Server) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    data = (FORMATS / "gift" / "constructs.gift").read_bytes()
    assert (await upload(server, data, "c.gift", token=token)).status_code == 403
    r = await server.client.post("/api/v1/exams/import", files={"file": ("c.gift", data)})
    assert r.status_code == 401
    assert (await server.as_(token, "GET", "/exams/mock-1/export")).status_code == 403


async def test_an_import_is_in_the_audit_trail(server: Server) -> None:
    r = await upload(server, (FORMATS / "moodle_xml" / "quiz.xml").read_bytes(), "quiz.xml")
    assert r.status_code == 201
    entries = (await server.admin("GET", "/audit")).json()["entries"]
    assert [(e["action"], e["actor"], e["exam_id"]) for e in entries] == [
        ("exam_imported", "admin", "quiz")
    ]
    assert entries[0]["at"].endswith("Z")
    assert (await server.admin("GET", "/audit", params={"exam_id": "quiz"})).json()[
        "entries"
    ] == entries


@pytest.mark.parametrize(
    ("fmt", "media_type", "suffix"),
    [
        ("json", "application/json", ".json"),
        ("yaml", "application/yaml", ".yaml"),
        ("qti", "application/zip", ".qti.zip"),
        ("gift", "text/plain; charset=utf-8", ".gift.txt"),
        ("moodle_xml", "application/xml", ".moodle.xml"),
    ],
)
async def test_export_gives_a_file(server: Server, fmt: str, media_type: str, suffix: str) -> None:
    await server.create_exam(small_exam())
    r = await server.admin("GET", "/exams/mock-1/export", params={"format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media_type
    assert r.headers["content-disposition"] == f'attachment; filename="mock-1{suffix}"'
    assert r.content


async def test_export_refuses_an_unknown_format_and_exam(server: Server) -> None:
    await server.create_exam(small_exam())
    r = await server.admin("GET", "/exams/mock-1/export", params={"format": "docx"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (await server.admin("GET", "/exams/nope/export")).status_code == 404


async def test_reimporting_the_json_export_is_200_unchanged(server: Server) -> None:
    await server.create_exam(small_exam())
    before = await definition(server, "mock-1")
    exported = (
        await server.admin("GET", "/exams/mock-1/export", params={"format": "json"})
    ).content
    r = await upload(server, exported, "mock-1.json")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "mock-1" and r.json()["version"] == before["version"] == 1
    assert await definition(server, "mock-1") == before
    entries = (await server.admin("GET", "/audit")).json()["entries"]
    assert [e["action"] for e in entries] == ["exam_created"], "a repeat changes nothing"


@pytest.mark.parametrize("fmt", ["yaml", "qti"])
async def test_yaml_and_qti_round_trips_give_the_same_exam(server: Server, fmt: str) -> None:
    await server.create_exam(small_exam())
    before = await definition(server, "mock-1")
    r = await server.admin("GET", "/exams/mock-1/export", params={"format": fmt})
    # QTI does not carry show_result or grace_seconds: they are given with the upload.
    r = await upload(
        server, r.content, f"mock-1.{fmt}", format=fmt, show_result="on_submit", grace_seconds=30
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1, "the same exam: nothing replaced"
    assert await definition(server, "mock-1") == before


async def test_a_gift_round_trip_keeps_questions_options_and_keys(server: Server) -> None:
    await server.create_exam(small_exam())
    r = await server.admin("GET", "/exams/mock-1/export", params={"format": "gift"})
    r = await upload(server, r.content, "copy.gift", format="gift", id="copy")
    assert r.status_code == 201, r.text
    assert outline(await definition(server, "copy")) == outline(await definition(server, "mock-1"))


async def test_an_import_over_an_exam_in_use_is_409(server: Server) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    await server.start("mock-1", token)
    changed = small_exam(title="Another title")
    r = await upload(server, to_json_bytes(changed), "mock-1.json")
    assert r.status_code == 409 and r.json()["type"] == "urn:examvault:exam-in-use"
    assert (await definition(server, "mock-1"))["title"] == "Mock test"


def to_json_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(to_json(doc)).encode()


async def test_the_admin_token_is_needed_even_for_a_huge_upload(server: Server) -> None:
    """Token before size (docs/api.md, Errors): a stranger's 21 MiB body is 401, not 413."""
    r = await server.client.post(
        "/api/v1/exams/import", headers=bearer("not-a-token"),
        files={"file": ("big.gift", b"x" * (21 * 1024 * 1024))},
    )  # fmt: skip
    assert r.status_code == 401


async def preview(server: Server, data: bytes, filename: str, **fields: Any) -> httpx.Response:
    form = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return await server.as_(
        ADMIN, "POST", "/exams/import?dry_run=true", files={"file": (filename, data)}, data=form
    )


async def test_a_dry_run_lists_each_item_and_stores_nothing(server: Server) -> None:
    data = (FORMATS / "moodle_xml" / "pictures.xml").read_bytes()
    r = await preview(server, data, "pictures.xml")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True and body["importable"] is False
    assert [(i["id"], "refused" in i) for i in body["items"]] == [
        ("Old_incline", False), ("Old_lens_no_data", True), ("circuit-1", False),
        ("Option_picture", False), ("Missing_file", True), ("Styled_link", True),
        ("Plain", False),
    ]  # fmt: skip
    assert body["items"][0]["media"] == ["incline.png"]  # a Moodle 1.9 <image_base64>
    assert "no <image_base64>" in body["items"][1]["refused"]
    assert body["items"][-1] == {
        "id": "Plain", "source": "Plain", "section": "Pictures", "type": "single",
        "marking": {"correct": 1, "wrong": 0}, "media": [],
    }  # fmt: skip
    refused = ["Old_lens_no_data", "Missing_file", "Styled_link"]
    assert [e["loc"][0] for e in body["errors"]] == refused
    # With skip_unsupported the import would store the rest: the preview says so, and the
    # import then stores exactly what the preview listed, under the same ids.
    r = await preview(server, data, "pictures.xml", skip_unsupported=True)
    assert r.status_code == 200 and r.json()["importable"] is True
    assert [s["id"] for s in r.json()["skipped"]] == refused
    assert await exams(server) == [], "a dry run stores nothing"
    assert (await server.admin("GET", "/audit")).json()["entries"] == []
    r = await upload(server, data, "pictures.xml", skip_unsupported=True)
    assert r.status_code == 201, r.text
    assert [s["id"] for s in r.json()["skipped"]] == refused
    stored = await definition(server, "pictures")
    assert [q["id"] for s in stored["sections"] for q in s["questions"]] == [
        i["id"] for i in body["items"] if "refused" not in i
    ]


async def test_a_dry_run_of_a_broken_file_is_refused_like_the_import(server: Server) -> None:
    r = await preview(server, b"<quiz><question", "broken.xml")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert "not well-formed XML" in r.json()["errors"][0]["msg"]


async def test_an_import_reports_item_weights_the_test_does_not_use(server: Server) -> None:
    r = await upload(server, package("routing_package"), "tao.zip", skip_unsupported=True)
    assert r.status_code == 201, r.text
    body = r.json()
    assert [s["id"] for s in body["skipped"]] == ["item-2", "item-3"]
    assert body["notes"] == [
        "the weight 'W' (2) on item 'item-1' is not used by the test's outcome processing: "
        "the item keeps its own marks"
    ]
