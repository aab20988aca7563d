"""The load tool's verifier must catch what it exists to catch: a lost answer, a wrong
score, a double submit. A verifier that always says "0 lost" would prove nothing."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from examvault.loadtest.report import percentile
from examvault.loadtest.scenarios import exam_document
from examvault.loadtest.student import Student, _backoff, check_local
from examvault.loadtest.verify import Verdict, check_student, compiled, recompute

DOC = exam_document("t", 6, 3600, 2)
EXAM = compiled(DOC)
QUESTIONS = [(q["id"], q["type"]) for s in DOC["sections"] for q in s["questions"]]


def _student() -> Student:
    s = Student("C1", "tok", QUESTIONS, random.Random(1), submits=True, attempt_id="A1")
    for qid, qtype in QUESTIONS:
        s.change(qid, qtype)
    items = s.pending()
    s.ack(items, {it["seq"] for it in items}, {it["seq"] for it in items})
    s.submit_ok, s.submitted_at, s.submit_kind = True, ["2026-01-01T00:00:00Z"], "manual"
    return s


def _view(s: Student) -> dict[str, Any]:
    answers = {q: {"response": it["response"], "seq": it["seq"]} for q, it in s.acked.items()}
    return {"answers": answers, "deadline": "2026-01-01T01:00:00Z",
            "server_time": "2026-01-01T00:00:00Z", "grace_seconds": 2}  # fmt: skip


def _row(s: Student, score: Decimal | None = None) -> dict[str, Any]:
    final = dict(s.acked)
    return {"candidate_id": s.cid, "status": "submitted", "submit_kind": "manual",
            "submitted_at": "2026-01-01T00:00:00Z",
            "score": recompute(EXAM, final) if score is None else score}  # fmt: skip


def test_a_faithful_server_passes() -> None:
    s, v = _student(), Verdict()
    check_student(v, EXAM, s, _view(s), _row(s))
    assert (v.lost, v.submissions_ok, v.score_mismatch, v.problems) == (0, 1, 0, [])


def test_an_acknowledged_answer_missing_or_older_is_lost() -> None:
    s, v = _student(), Verdict()
    view = _view(s)
    del view["answers"]["q000"]
    view["answers"]["q001"]["seq"] -= 1
    check_student(v, EXAM, s, view, _row(s))
    assert v.lost_missing == 2


def test_a_later_item_whose_ack_was_lost_is_not_a_loss() -> None:
    s, v = _student(), Verdict()
    s.change("q000", "single")  # sent, stored by the server, acknowledgement lost
    later = s.outbox["q000"]
    view = _view(s)
    view["answers"]["q000"] = {"response": later["response"], "seq": later["seq"]}
    final = dict(s.acked) | {"q000": later}
    check_student(v, EXAM, s, view, _row(s, recompute(EXAM, final)))
    assert (v.lost, v.score_mismatch) == (0, 0)


def test_a_wrong_score_and_a_second_seal_are_caught() -> None:
    s, v = _student(), Verdict()
    row = _row(s, Decimal("-999"))
    row["submitted_at"] = "2026-01-01T00:00:05Z"
    check_student(v, EXAM, s, _view(s), row)
    assert (v.score_mismatch, v.submitted_twice, v.submissions_failed) == (1, 1, 1)


def test_unsubmitted_after_the_end_is_lost_before_it_stranded() -> None:
    s = _student()
    row = _row(s) | {"status": "in_progress"}
    before, after = Verdict(), Verdict()
    check_student(before, EXAM, s, _view(s), row)
    ended = _view(s) | {"server_time": "2026-01-01T01:00:03Z"}
    check_student(after, EXAM, s, ended, row)
    assert (before.lost, before.stranded) == (0, len(QUESTIONS))
    assert (after.lost, after.stranded) == (len(QUESTIONS), 0)


def test_backoff_honours_retry_after_and_is_capped() -> None:
    rng = random.Random(3)
    assert all(_backoff(50, None, rng) <= 2.0 for _ in range(100))
    assert all(_backoff(0, 1.0, rng) >= 1.0 for _ in range(100))


def test_only_this_machine_is_a_target() -> None:
    check_local("http://127.0.0.1:8000")
    with pytest.raises(ValueError):
        check_local("http://example.org")


def test_percentile_nearest_rank() -> None:
    assert percentile([], 99) is None
    assert percentile([3, 1, 2], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99
