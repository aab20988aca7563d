"""Totals kept by moves (saves, marks, re-marks, key changes, in any order) equal a
recomputation from scratch from the stored responses and marks.

Each step does what the server does: a save moves its question from the stored outcome
to the new response's (services/journal.py; a new response clears a mark), a mark moves
it to the marked outcome (services/marks.py), and a key change moves the touched rows
by the difference (domain/rescoring.rescore, as jobs/handlers/regrade.py does).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.answers import decode_response, encode_response
from examvault.domain.exams import Exam, compile_exam, parse_definition, with_key_changes
from examvault.domain.marking import Outcome, score
from examvault.domain.rescoring import Scorer, rescore, touched
from examvault.domain.totals import Totals

DEFINITION = {
    "id": "written",
    "title": "Written",
    "duration_seconds": 60,
    "sections": [
        {"id": "a", "questions": [
            {"id": "q1", "type": "single", "options": [{"id": o} for o in "ABC"],
             "answer": "A", "marking": {"correct": 3, "wrong": "-1/3", "unanswered": "1/7"}},
            {"id": "s1", "type": "text", "answer": ["Paris"],
             "marking": {"correct": 2, "wrong": "-1/2"}},
        ]},
        {"id": "b", "questions": [
            {"id": "e1", "type": "text", "marking": {"correct": 10, "manual": True, "step": "1/4"}},
            {"id": "e2", "type": "text",
             "marking": {"correct": 3, "manual": True, "unanswered": "1/3"}},
        ]},
    ],
}  # fmt: skip
EXAM = compile_exam(parse_definition(DEFINITION), version=1)
TEXTS = ["Paris", " paris ", "PARIS\t", "Lyon", "Nice", "", "  "]

saves = st.tuples(
    st.just("save"),
    st.one_of(
        st.tuples(st.just("q1"), st.sampled_from([None, "A", "B", "C"])),
        st.tuples(
            st.sampled_from(["s1", "e1", "e2"]), st.one_of(st.none(), st.sampled_from(TEXTS))
        ),
    ),
)
marks = st.tuples(
    st.just("mark"),
    st.one_of(
        st.tuples(st.just("e1"), st.integers(0, 40).map(lambda n: Fraction(n, 4))),
        st.tuples(st.just("e2"), st.integers(0, 6).map(lambda n: Fraction(n, 2))),
    ),
)
keys = st.tuples(
    st.just("key"),
    st.one_of(
        st.tuples(st.just("q1"), st.sampled_from(["A", "B", ["A", "C"]])),
        st.tuples(st.just("s1"), st.sampled_from([["Paris"], ["Lyon", "nice"], ["paris  "]])),
        st.tuples(st.sampled_from(["q1", "s1", "e1", "e2"]), st.sampled_from(["all", "answered"])),
    ),
)


class Attempt:
    """One attempt's stored rows and totals, changed step by step as the server does."""

    def __init__(self, exam: Exam) -> None:
        self.exam = exam
        self.totals = Totals.empty(exam)
        # question → (response JSON text, mark "n/d" or None, outcome, score)
        self.rows: dict[str, tuple[str | None, str | None, Outcome, Fraction]] = {}

    def old(self, qid: str) -> tuple[Outcome, Fraction]:
        row = self.rows.get(qid)
        return score(self.exam.by_id[qid].rule, None) if row is None else (row[2], row[3])

    def save(self, qid: str, response: Any) -> None:
        q = self.exam.by_id[qid]
        text = None if response is None else encode_response(response)
        stored = None if decode_response(q, text) is None else text
        new = score(q.rule, decode_response(q, stored))
        self.totals.move(q.section_id, self.old(qid), new)
        self.rows[qid] = (stored, None, *new)

    def mark(self, qid: str, mark: Fraction) -> None:
        row = self.rows.get(qid)
        if row is None or row[0] is None:
            return  # no script: nothing to mark
        q = self.exam.by_id[qid]
        new = score(q.rule, decode_response(q, row[0]), mark)
        self.totals.move(q.section_id, self.old(qid), new)
        self.rows[qid] = (row[0], str(mark), *new)

    def change_key(self, qid: str, change: Any) -> None:
        q = self.exam.by_id[qid]
        if isinstance(change, str) and change in ("all", "answered"):
            body: dict[str, Any] = {"question_id": qid, "drop": True, "bonus": change}
        elif q.manual:
            return  # a manual question's key cannot change (422): only a drop
        else:
            body = {"question_id": qid, "answer": change}
        new_exam = with_key_changes(self.exam, self.exam.key_version + 1, [body])
        old, new = Scorer(self.exam), Scorer(new_exam)
        qids = touched([self.exam, new_exam])
        stored = [
            (qid, text, outcome, str(marks), mark)
            for qid, (text, mark, outcome, marks) in self.rows.items()
            if qid in qids
        ]
        _, changed = rescore(self.totals, stored, qids, new, old, blank=old)
        for cq, entry in changed:
            text, mark, _, _ = self.rows[cq]
            self.rows[cq] = (text, mark, entry.outcome, entry.score)
        self.exam = new_exam

    def from_scratch(self) -> Totals:
        scorer = Scorer(self.exam)
        return scorer.totals(scorer.entry(q, t, m) for q, (t, m, _, _) in self.rows.items())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(saves, marks, keys), max_size=25))
def test_totals_moved_step_by_step_equal_a_recomputation(steps: list[Any]) -> None:
    attempt = Attempt(EXAM)
    for kind, (qid, value) in steps:
        if kind == "save":
            attempt.save(qid, value)
        elif kind == "mark":
            attempt.mark(qid, value)
        else:
            attempt.change_key(qid, value)
        assert attempt.totals.dumps() == attempt.from_scratch().dumps(), steps
        assert attempt.totals.check() == attempt.totals.whole.score
        pending = sum(1 for t, m, o, _ in attempt.rows.values() if o == "pending")
        assert attempt.totals.whole.pending == pending
