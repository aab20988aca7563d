"""The worked example of docs/marking.md, end to end through the API, on both stores."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.helpers import Server, example_dir, load_example


async def _results_when_ranked(server: Server, exam_id: str) -> list[dict[str, Any]]:
    for _ in range(100):
        r = await server.admin("GET", f"/exams/{exam_id}/results")
        rows: list[dict[str, Any]] = r.json()["results"]
        if all(row["rank"] is not None for row in rows if row["status"] == "submitted"):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("ranks did not appear within 5 seconds of close")


async def test_worked_example_gives_the_expected_results(server: Server) -> None:
    exam = load_example("exam.json")
    answers = load_example("answers.json")
    expected = json.loads((example_dir() / "expected.json").read_text())
    await server.create_exam(exam)
    tokens = await server.register(exam["id"], *sorted(expected["candidates"]))

    for cid, responses in answers.items():
        attempt = await server.start(exam["id"], tokens[cid])
        items = [
            {"question_id": qid, "response": _plain(resp), "seq": i + 10}
            for i, (qid, resp) in enumerate(responses.items())
        ]
        if cid == "C2":
            # docs/api.md's seq example: p1 "B" at 3, "A" at 5, a late retry of 3 is stale.
            r = await server.save(tokens[cid], attempt["attempt_id"],
                                  {"question_id": "p1", "response": "B", "seq": 3})  # fmt: skip
            assert r.json()["accepted"] == [3]
            r = await server.save(tokens[cid], attempt["attempt_id"],
                                  {"question_id": "p1", "response": "A", "seq": 5})  # fmt: skip
            assert r.json()["accepted"] == [5]
            r = await server.save(tokens[cid], attempt["attempt_id"],
                                  {"question_id": "p1", "response": "B", "seq": 3})  # fmt: skip
            assert r.json()["stale"] == [3]
            r = await server.save(tokens[cid], attempt["attempt_id"],
                                  {"question_id": "p1", "response": "A", "seq": 5})  # fmt: skip
            assert r.json()["accepted"] == [5]
            items = [it for it in items if it["question_id"] != "p1"]
        r = await server.save(tokens[cid], attempt["attempt_id"], *items)
        assert r.status_code == 200, r.text
        r = await server.as_(tokens[cid], "POST", f"/attempts/{attempt['attempt_id']}/submit")
        assert r.status_code == 200 and r.json()["status"] == "submitted"

    r = await server.admin("POST", f"/exams/{exam['id']}/close")
    assert r.status_code == 200
    rows = {row["candidate_id"]: row for row in await _results_when_ranked(server, exam["id"])}

    for cid, want in expected["candidates"].items():
        got = rows[cid]
        assert got["max_score"] == expected["max_score"]
        if want.get("status") == "absent":
            assert got["status"] == "absent"
            assert got["score"] is None and got["rank"] is None and got["percentile"] is None
            continue
        for field in ("score", "sections", "correct", "partial", "wrong", "unanswered",
                      "rank", "percentile", "section_ranks", "section_percentiles"):  # fmt: skip
            assert got[field] == want[field], (cid, field, got[field], want[field])


def _plain(value: Any) -> Any:
    from decimal import Decimal

    return float(value) if isinstance(value, Decimal) else value
