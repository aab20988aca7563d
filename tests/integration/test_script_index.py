"""The script index (services/script_index.py) on each store: a PUT …/marks resolves the
ids it names through the process's index, and an id that process has not seen — listed
by another server process sharing the database, or never listed at all — is resolved by
the full computation, never refused; a script whose attempt was reopened is refused even
when the index knows its id; nothing is applied when any mark is refused.

Two apps share one database as two server processes would (each its own `Core`, so its
own index, writer and clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from examvault.domain import scripts
from examvault.store.queries import script_keys
from tests.helpers import ADMIN, Server, running
from tests.integration.test_marking_scripts import all_scripts, markers
from tests.integration.test_written_answers import sit

ANSWERS = {
    "C1": {"e1": "one", "e2": "uno"},
    "C2": {"e1": "two", "e2": "dos"},
    "C3": {"e1": "three"},
}


@asynccontextmanager
async def other_process(database: str, tmp_path: Path) -> AsyncIterator[Server]:
    """A second app on the same database, with its own data directory and index."""
    data = tmp_path / "second"
    data.mkdir()
    async with running(database, data) as second:
        yield second


async def marks_of(server: Server) -> dict[str, object]:
    """Every script's mark by its response, as the admin lists them."""
    return {s["response"]: s["mark"] for s in await all_scripts(server, ADMIN, status="all")}


async def test_a_put_through_another_process_resolves_ids_it_never_listed(
    server: Server, database: str, tmp_path: Path
) -> None:
    await sit(server, ANSWERS)
    m1 = (await markers(server))["M1"]
    listed = {s["response"]: s["script_id"] for s in await all_scripts(server, m1)}
    assert len(listed) == 5
    async with other_process(database, tmp_path) as second:
        # The second process has listed nothing: its index is empty, the PUT falls back.
        body = {"marks": [{"script_id": listed["one"], "mark": 3, "comment": "via B"}]}
        r = await second.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"applied": [listed["one"]]}
        # Both processes name every script alike.
        again = {s["response"]: s["script_id"] for s in await all_scripts(second, m1)}
        assert again == {k: v for k, v in listed.items() if k != "one"}
        # And the first process, whose index knew the id, sees the mark B applied.
        got = {s["response"]: s for s in await all_scripts(server, m1, status="marked")}
        assert list(got) == ["one"]
        assert (got["one"]["mark"], got["one"]["comment"], got["one"]["marked_by"]) == (
            3,
            "via B",
            "M1",
        )
        # An unknown id is still refused after the fallback, naming it, nothing applied.
        body = {
            "marks": [
                {"script_id": listed["two"], "mark": 4},
                {"script_id": "nosuchscriptid0000000000", "mark": 1},
            ]
        }
        r = await second.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 422 and "nosuchscriptid0000000000" in r.text
        assert listed["two"] not in r.text
    assert (await marks_of(server))["two"] is None


async def test_a_put_naming_scripts_nobody_ever_listed_marks_them(server: Server) -> None:
    """The ids are a function of the exam's secret alone: whoever holds one (here worked
    out from the secret, as a page served by any process would show it) can mark it."""
    _, ids = await sit(server, ANSWERS)
    m2 = (await markers(server))["M2"]  # registering markers gives the exam its secret
    async with server.core.store.read() as conn:
        secret = await script_keys.get(conn, "essay-1")
    assert secret is not None
    e2 = {c: scripts.script_id(secret, ids[c], "e2") for c in ("C1", "C2")}
    e1 = scripts.script_id(secret, ids["C1"], "e1")
    # M2 marks e2 only: an e1 script is unknown to it, whatever the index holds.
    body = {"marks": [{"script_id": e2["C1"], "mark": 2}, {"script_id": e1, "mark": 1}]}
    r = await server.as_(m2, "PUT", "/exams/essay-1/marks", json=body)
    assert r.status_code == 422 and e1 in r.text and e2["C1"] not in r.text
    body = {"marks": [{"script_id": e2["C1"], "mark": 2}, {"script_id": e2["C2"], "mark": 3}]}
    r = await server.as_(m2, "PUT", "/exams/essay-1/marks", json=body)
    assert r.status_code == 200 and r.json() == {"applied": [e2["C1"], e2["C2"]]}
    assert {k: v for k, v in (await marks_of(server)).items() if v is not None} == {
        "uno": 2,
        "dos": 3,
    }
    # C3 did not answer e2: it has no script, its id is unknown.
    missing = scripts.script_id(secret, ids["C3"], "e2")
    r = await server.as_(
        m2, "PUT", "/exams/essay-1/marks", json={"marks": [{"script_id": missing, "mark": 1}]}
    )
    assert r.status_code == 422 and missing in r.text


async def test_a_reopened_attempts_script_is_refused_by_every_process(
    server: Server, database: str, tmp_path: Path
) -> None:
    await sit(server, ANSWERS)
    m1 = (await markers(server))["M1"]
    listed = {s["response"]: s["script_id"] for s in await all_scripts(server, m1)}
    action = {"action": "reopen", "reason": "fire alarm", "seconds": 600, "candidates": ["C1"]}
    r = await server.admin("POST", "/exams/essay-1/actions", json=action)
    assert r.status_code == 200, r.text
    body = {"marks": [{"script_id": listed["two"], "mark": 4}, {"script_id": listed["one"], "mark": 5}]}  # fmt: skip
    # This process's index knows C1's script: the write refuses it, nothing applied.
    r = await server.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
    assert r.status_code == 422, r.text
    assert listed["one"] in r.text and listed["two"] not in r.text
    # Another process, whose index is empty, finds no such script either.
    async with other_process(database, tmp_path) as second:
        r = await second.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 422, r.text
        assert listed["one"] in r.text and listed["two"] not in r.text
    assert all(mark is None for mark in (await marks_of(server)).values())
    audit = (await server.admin("GET", "/audit", params={"exam_id": "essay-1"})).json()
    assert not [e for e in audit["entries"] if e["action"] == "marked"]
