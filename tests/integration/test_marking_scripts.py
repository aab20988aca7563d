"""Markers, scripts and marks on each store: who may call what, anonymity of scripts,
all-or-nothing marks, re-marks, and totals that move with each mark."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from examvault import errors
from tests.helpers import ADMIN, Server
from tests.integration.test_written_answers import sit, written_exam

CANDIDATES = [f"C{i:02d}" for i in range(12)]


async def markers(server: Server, exam_id: str = "essay-1", **kw: Any) -> dict[str, str]:
    body = {
        "markers": [
            {"id": "M1", "name": "Every question", "questions": None},
            {"id": "M2", "name": "e2 only", "questions": ["e2"]},
        ]
    }
    r = await server.admin("POST", f"/exams/{exam_id}/markers", json=body)
    assert r.status_code == 201, r.text
    return {m["id"]: m["token"] for m in r.json()["markers"]}


async def all_scripts(server: Server, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of scripts, following `next`."""
    out: list[dict[str, Any]] = []
    after = None
    while True:
        query = params | ({"after": after} if after else {}) | {"limit": params.get("limit", 5)}
        r = await server.as_(token, "GET", "/exams/essay-1/scripts", params=query)
        assert r.status_code == 200, r.text
        out += r.json()["scripts"]
        after = r.json()["next"]
        if after is None:
            return out


async def test_marker_tokens_reach_only_their_routes_exam_and_questions(server: Server) -> None:
    tokens, ids = await sit(server, {"C1": {"e1": "One", "e2": "Two"}})
    await server.create_exam(written_exam("essay-2"))
    m = await markers(server)
    m1, m2 = m["M1"], m["M2"]
    # Everything else: 403 (admin, candidate, invigilator routes; another exam).
    for method, path in [
        ("GET", "/exams"),
        ("GET", "/exams/essay-1/results"),
        ("POST", "/exams/essay-1/markers"),
        ("GET", "/me"),
        ("GET", f"/attempts/{ids['C1']}/result"),
        ("GET", "/exams/essay-1/stats"),
        ("GET", "/exams/essay-2/scripts"),
        ("PUT", "/exams/essay-2/marks"),
    ]:
        r = await server.as_(m1, method, path, json={"marks": [{"script_id": "x", "mark": 1}]})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    # A candidate's token cannot read scripts.
    r = await server.as_(tokens["C1"], "GET", "/exams/essay-1/scripts")
    assert r.status_code == 403
    # M2 sees e2 only; asking for e1 is 403, for a question that is not manual 422.
    got = await all_scripts(server, m2)
    assert {s["question_id"] for s in got} == {"e2"}
    r = await server.as_(m2, "GET", "/exams/essay-1/scripts", params={"question_id": "e1"})
    assert r.status_code == 403
    r = await server.as_(m1, "GET", "/exams/essay-1/scripts", params={"question_id": "s1"})
    assert r.status_code == 422
    # M2 cannot mark an e1 script: it is unknown to it, 422 naming it.
    e1 = (await all_scripts(server, m1, question_id="e1"))[0]["script_id"]
    r = await server.as_(
        m2, "PUT", "/exams/essay-1/marks", json={"marks": [{"script_id": e1, "mark": 1}]}
    )
    assert r.status_code == 422 and e1 in r.text
    # The marking page's needs: each question's text, maximum and step.
    page = (await server.as_(m1, "GET", "/exams/essay-1/scripts")).json()
    assert {q["id"]: (q["max_mark"], q["step"]) for q in page["questions"]} == {
        "e1": (10, 0.25),
        "e2": (4, 0.5),
    }
    # Registering M1 again is a conflict; a question that is not manual is refused.
    r = await server.admin("POST", "/exams/essay-1/markers", json={"markers": [{"id": "M1"}]})
    assert r.status_code == 409
    r = await server.admin(
        "POST", "/exams/essay-1/markers", json={"markers": [{"id": "M3", "questions": ["q1"]}]}
    )
    assert r.status_code == 422


async def test_staff_me_tells_the_marking_page_a_marker_token_s_exam_and_questions(
    server: Server,
) -> None:
    tokens, _ = await sit(server, {"C1": {"e1": "One"}})
    m = await markers(server)
    r = await server.as_(m["M1"], "GET", "/staff/me")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "role": "marker",
        "id": "M1",
        "exam_id": "essay-1",
        "rooms": None,
        "questions": None,
    }
    r = await server.as_(m["M2"], "GET", "/staff/me")
    assert r.json()["questions"] == ["e2"] and r.json()["exam_id"] == "essay-1"
    # The admin's answer keeps its shape; a candidate token is still 403, none 401.
    r = await server.admin("GET", "/staff/me")
    assert r.json() == {"role": "admin", "id": None, "exam_id": None, "rooms": None}
    assert (await server.as_(tokens["C1"], "GET", "/staff/me")).status_code == 403
    assert (await server.as_("nobody", "GET", "/staff/me")).status_code == 401
    assert (await server.client.get("/api/v1/staff/me")).status_code == 401
    # Knowing its exam opens nothing else to a marker: the exam itself is still 403.
    assert (await server.as_(m["M1"], "GET", "/exams/essay-1")).status_code == 403


async def test_scripts_say_nothing_of_whose_they_are(server: Server) -> None:
    answers = {cid: {"e1": f"Essay of {cid}", "e2": f"Notes of {cid}"} for cid in CANDIDATES}
    # One candidate's blank answer has no script; an attempt in progress has none either.
    answers["C03"] = {"e1": "   "}
    _, ids = await sit(server, answers)
    tokens = await server.register("essay-1", "LATE")
    await server.start("essay-1", tokens["LATE"])
    m1 = (await markers(server))["M1"]
    got = await all_scripts(server, m1, status="all", limit=7)
    assert len(got) == 2 * len(CANDIDATES) - 2
    sids = [s["script_id"] for s in got]
    assert len(set(sids)) == len(sids)
    # Stable: the same ids in the same order on a second read.
    assert [s["script_id"] for s in await all_scripts(server, m1, status="all")] == sids
    by_text = {s["response"]: s["script_id"] for s in got}
    alike = 0
    for cid in CANDIDATES:
        if cid == "C03":
            continue
        one, two = by_text[f"Essay of {cid}"], by_text[f"Notes of {cid}"]
        # Nothing shared: no common prefix or suffix, no attempt or candidate id inside.
        alike += one[:2] == two[:2] or one[-2:] == two[-2:]
        for secret in (ids[cid], cid):
            assert secret not in one and secret not in two
            assert secret.lower() not in one.lower()
    # Two unrelated ids share a 2-character prefix or suffix about once in 512 pairs, so
    # one pair in these 11 may by chance (3 would happen once in ~800,000 runs); ids made
    # from one another would share on every pair.
    assert alike <= 2, alike
    # The order (script id) is not that of the candidates' ids or submit times (the
    # same here: they submitted in id order), for either question.
    for qid, label in (("e1", "Essay"), ("e2", "Notes")):
        order = [s["response"].split()[-1] for s in got if s["question_id"] == qid]
        assert order != sorted(order), (label, order)
    # No field of a script names an attempt or a candidate.
    for s in got:
        assert set(s) == {
            "script_id", "question_id", "response", "mark", "comment", "marked_by", "marked_at",
        }  # fmt: skip
        text = str({k: v for k, v in s.items() if k != "response"})
        assert not any(aid in text for aid in ids.values())


async def test_bad_marks_are_refused_naming_the_script_and_nothing_is_applied(
    server: Server,
) -> None:
    await sit(server, {"C1": {"e1": "One", "e2": "Two"}, "C2": {"e1": "Three"}})
    m1 = (await markers(server))["M1"]
    got = await all_scripts(server, m1)
    e1 = [s["script_id"] for s in got if s["question_id"] == "e1"]
    e2 = [s["script_id"] for s in got if s["question_id"] == "e2"]
    before = (await server.admin("GET", "/exams/essay-1/results")).json()
    for bad, why in [
        ({"script_id": e1[1], "mark": 10.5}, "within"),  # over the maximum
        ({"script_id": e1[1], "mark": -1}, "within"),
        ({"script_id": e1[1], "mark": "1/3"}, "multiple"),  # off the 1/4 step
        ({"script_id": e2[0], "mark": 0.25}, "multiple"),  # e2's step is 1/2
        ({"script_id": "nosuchscript", "mark": 1}, "unknown"),
        ({"script_id": e1[1], "mark": True}, "boolean"),
        ({"script_id": e1[1], "mark": 1, "comment": "x" * 5001}, "characters"),
    ]:
        body = {"marks": [{"script_id": e1[0], "mark": 5}, bad]}
        r = await server.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 422, (bad, r.text)
        assert bad["script_id"] in r.text and why in r.text, (bad, r.text)
    for body in ({"marks": []}, {"marks": [{"script_id": e1[0]}]}, {"nope": 1}, []):
        r = await server.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 422, (body, r.text)
    r = await server.as_(m1, "PUT", "/exams/essay-1/marks", json={"marks": [{}] * 501})
    assert r.status_code == 422
    assert (await server.admin("GET", "/exams/essay-1/results")).json() == before
    assert all(s["mark"] is None for s in await all_scripts(server, m1, status="all"))


async def test_a_re_mark_replaces_the_mark_and_moves_the_totals_exactly(server: Server) -> None:
    await sit(server, {"C1": {"e1": "One", "e2": "Two", "s1": "Paris"}})
    m = await markers(server)
    got = await all_scripts(server, m["M1"])
    e1 = next(s["script_id"] for s in got if s["question_id"] == "e1")
    e2 = next(s["script_id"] for s in got if s["question_id"] == "e2")

    async def row() -> dict[str, Any]:
        return dict((await server.admin("GET", "/exams/essay-1/results")).json()["results"][0])

    assert (await row())["score"] == 2 and (await row())["pending_marks"] == 2
    for who, sid, mark, comment, score, counts in [
        # q1 is left unanswered throughout.
        ("M1", e1, "7/4", "Short.", 3.75, (1, 1, 0, 1, 1)),
        ("M2", e2, 4, None, 7.75, (2, 1, 0, 1, 0)),
        ("M1", e1, 0, "On reflection, no.", 6, (2, 0, 1, 1, 0)),
        ("M1", e1, 10, "Excellent.", 16, (3, 0, 0, 1, 0)),
    ]:
        body = {"marks": [{"script_id": sid, "mark": mark, "comment": comment}]}
        r = await server.as_(m[who], "PUT", "/exams/essay-1/marks", json=body)
        assert r.status_code == 200 and r.json() == {"applied": [sid]}, r.text
        got_row = await row()
        assert got_row["score"] == score
        assert (
            tuple(
                got_row[k] for k in ("correct", "partial", "wrong", "unanswered", "pending_marks")
            )
            == counts
        )
    marked = {s["script_id"]: s for s in await all_scripts(server, m["M1"], status="marked")}
    assert marked[e1]["mark"] == 10 and marked[e1]["comment"] == "Excellent."
    assert marked[e1]["marked_by"] == "M1" and marked[e2]["marked_by"] == "M2"
    assert await all_scripts(server, m["M1"], status="unmarked") == []
    audit = (await server.admin("GET", "/audit", params={"exam_id": "essay-1"})).json()
    entries = [e for e in audit["entries"] if e["action"] == "marked"]
    assert [e["actor"] for e in entries] == ["marker:M1", "marker:M2", "marker:M1", "marker:M1"]
    assert entries[0]["detail"]["mark"] == 1.75
    # The admin marks too, and is named so.
    body = {"marks": [{"script_id": e2, "mark": "3.5"}]}
    assert (await server.admin("PUT", "/exams/essay-1/marks", json=body)).status_code == 200
    marked = {s["script_id"]: s for s in await all_scripts(server, m["M1"], status="marked")}
    assert marked[e2]["marked_by"] == "admin" and (await row())["score"] == 15.5
    audit = (await server.admin("GET", "/audit", params={"exam_id": "essay-1"})).json()
    assert audit["entries"][-1]["actor"] == "admin"


async def _recomputed(server: Server) -> dict[str, tuple[str, str]]:
    """Each attempt's stored totals, and its totals recomputed from scratch from the
    latest journaled response of each question and the marks (both as stored JSON)."""
    from sqlalchemy import select

    from examvault.domain.rescoring import Scorer
    from examvault.store.tables import answers, attempts, journal

    core = server.core
    async with core.store.read() as conn:
        exam = await core.catalog.current(conn, "essay-1")
        assert exam is not None
        stored = {
            r.id: r.totals for r in await conn.execute(select(attempts.c.id, attempts.c.totals))
        }
        latest: dict[str, dict[str, str | None]] = {}
        for aid, qid, text in await conn.execute(
            select(journal.c.attempt_id, journal.c.question_id, journal.c.response)
            .where(journal.c.late.is_(False))
            .order_by(journal.c.seq)
        ):
            latest.setdefault(aid, {})[qid] = text
        marks = {
            (r.attempt_id, r.question_id): r.mark
            for r in await conn.execute(
                select(answers.c.attempt_id, answers.c.question_id, answers.c.mark)
            )
        }
    scorer = Scorer(exam)
    out = {}
    for aid, text in stored.items():
        given = latest.get(aid, {})
        entries = (scorer.entry(q, t, marks.get((aid, q))) for q, t in given.items())
        out[aid] = (text, scorer.totals(entries).dumps())
    return out


async def test_random_marks_re_marks_and_key_changes_keep_totals_exact(server: Server) -> None:
    """In any order, on each store: stored totals equal a recomputation from scratch."""
    import random

    from tests.integration.test_written_answers import wait_for

    rng = random.Random(20261205)
    texts = ["Paris", " paris", "Lyon", "nice ", "essay words", "   "]
    answers = {
        cid: {
            q: rng.choice(texts) if q != "q1" else rng.choice(["A", "B", None])
            for q in ("q1", "s1", "e1", "e2")
            if rng.random() < 0.85
        }
        for cid in CANDIDATES
    }
    await sit(server, answers)
    assert (await server.admin("POST", "/exams/essay-1/close")).status_code == 200
    m1 = (await markers(server))["M1"]
    scripts = await all_scripts(server, m1, status="all", limit=100)
    key_version = 1
    regrades: list[dict[str, Any]] = []
    for _ in range(14):
        roll = rng.random()
        if roll < 0.7:
            chosen = rng.sample(scripts, k=min(len(scripts), rng.randint(1, 5)))
            body = {
                "marks": [
                    {
                        "script_id": s["script_id"],
                        "mark": str(mark_for(rng, s["question_id"])),
                        "comment": rng.choice([None, "re-marked", "first"]),
                    }
                    for s in chosen
                ]
            }
            r = await server.as_(m1, "PUT", "/exams/essay-1/marks", json=body)
            assert r.status_code == 200, r.text
        else:
            change = rng.choice(
                [
                    {"question_id": "s1", "answer": rng.choice([["Lyon"], ["paris", "Nice"]])},
                    {"question_id": "q1", "answer": rng.choice(["B", ["A", "B"]])},
                    {"question_id": "e2", "drop": True, "bonus": "answered"},
                ]
            )
            r = await server.admin("PUT", "/exams/essay-1/key", json={"changes": [change]})
            assert r.status_code in (200, 201, 202), r.text
            if r.json().get("key_version", key_version) == key_version:
                continue  # the same key again: nothing to regrade
            key_version += 1
            regrades.append(change)

            async def done(version: int = key_version) -> bool:
                doc = (await server.admin("GET", "/exams/essay-1/key")).json()
                last = doc["history"][-1]
                return bool(last["key_version"] == version and last["status"] == "done")

            await wait_for(done)
        for stored, again in (await _recomputed(server)).values():
            assert stored == again
    assert len(regrades) >= 2  # the seed gives key changes between the marks


def mark_for(rng: Any, question_id: str) -> Fraction:
    """A valid random mark of a manual question of `written_exam`."""
    return (
        Fraction(rng.randint(0, 40), 4) if question_id == "e1" else Fraction(rng.randint(0, 8), 2)
    )


async def test_a_new_response_after_a_reopen_clears_the_mark(server: Server) -> None:
    """The mark is of the response it marked: reopened and changed, the answer is
    pending again; resubmitted, it is a script to mark once more."""
    tokens, ids = await sit(server, {"C1": {"e1": "First"}, "C2": {"e1": "Other"}})
    m1 = (await markers(server))["M1"]
    got = {s["response"]: s["script_id"] for s in await all_scripts(server, m1)}
    body = {"marks": [{"script_id": sid, "mark": 8} for sid in got.values()]}
    assert (await server.as_(m1, "PUT", "/exams/essay-1/marks", json=body)).status_code == 200
    action = {"action": "reopen", "reason": "fire alarm", "seconds": 600, "candidates": ["C1"]}
    r = await server.admin("POST", "/exams/essay-1/actions", json=action)
    assert r.status_code == 200 and [a["candidate_id"] for a in r.json()["applied"]] == ["C1"]
    # In progress again: no script; the marked answer still counts.
    assert [s["response"] for s in await all_scripts(server, m1, status="all")] == ["Other"]
    r = await server.save(
        tokens["C1"], ids["C1"], {"question_id": "e1", "response": "New", "seq": 2}
    )
    assert r.status_code == 200, r.text
    r = await server.as_(tokens["C1"], "POST", f"/attempts/{ids['C1']}/submit")
    assert r.status_code == 200 and r.json()["result"] is None  # pending again
    again = await all_scripts(server, m1, status="unmarked")
    assert [(s["response"], s["script_id"]) for s in again] == [("New", got["First"])]
    rows = {
        r["candidate_id"]: r
        for r in (await server.admin("GET", "/exams/essay-1/results")).json()["results"]
    }
    assert (rows["C1"]["pending_marks"], rows["C1"]["score"]) == (1, 0.5)
    assert (rows["C2"]["pending_marks"], rows["C2"]["score"]) == (0, 8.5)
    for _, (stored, recomputed) in (await _recomputed(server)).items():
        assert stored == recomputed


async def test_mark_all_marks_every_script_as_put_would_and_keeps_totals_exact(
    server: Server,
) -> None:
    """The tools' bulk path (services/marks.Marks.mark_all): each mark checked and applied
    by the same op as PUT …/marks, several batches, totals equal to a recomputation."""
    from examvault.services.markers import ADMIN_MARKER

    answers = {c: {"e1": f"answer {c}", "e2": "x" * (i % 3 + 1)} for i, c in enumerate(CANDIDATES)}
    await sit(server, answers)
    marks = server.core.marks
    seen: list[tuple[str, Any]] = []

    def judge(question_id: str, response: Any) -> tuple[Fraction, str | None]:
        seen.append((question_id, response))
        if question_id == "e2":
            return Fraction(len(response)), None
        return Fraction(5, 2), "fine"

    assert await marks.mark_all("essay-1", ADMIN_MARKER, judge, batch=5) == 24
    assert sorted(seen) == sorted((q, r) for a in answers.values() for q, r in a.items())
    got = await all_scripts(server, ADMIN, status="all", limit=50)
    assert all(s["marked_by"] == "admin" for s in got) and len(got) == 24
    assert {s["response"]: s["mark"] for s in got if s["question_id"] == "e2"} == {
        "x": 1,
        "xx": 2,
        "xxx": 3,
    }
    assert all(stored == again for stored, again in (await _recomputed(server)).values())
    # Nothing is left to mark; a mark off the step is refused like PUT's, nothing applied.
    assert await marks.mark_all("essay-1", ADMIN_MARKER, judge) == 0
    await sit(server, {"Z1": {"e1": "late"}})
    with pytest.raises(errors.InvalidBody):
        await marks.mark_all("essay-1", ADMIN_MARKER, lambda q, r: (Fraction(1, 3), None))
    assert len(await all_scripts(server, ADMIN, status="unmarked")) == 1
