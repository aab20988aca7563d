"""The analytics the database aggregates (services/analytics.py) equal the figures of a from-scratch sheet."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import orjson
import pytest

from examvault.domain import item_analysis as ia
from examvault.domain.answers import normal_form
from examvault.domain.exams import Exam
from tests.helpers import Server, small_exam
from tests.integration.test_key_changes import key_done

CHOICES: dict[str, list[Any]] = {
    "single": ["A", "B", "C", "D"],
    "multiple": [["A", "C"], ["A"], ["B", "D"], ["A", "B", "C"]],
    "numeric": [2.5, 2.45, 3, -1],
    # Written answers are all different: the tally groups them as answered or not.
    "text": ["Paris", " paris  CITY ", "Lyon", "Marseille", "paris?", "Île-de-France"],
}


def with_written_answers(doc: dict[str, Any]) -> dict[str, Any]:
    """The small exam and a section of matched written answers."""
    doc["sections"].append(
        {"id": "written", "questions": [
            {"id": f"t{i}", "type": "text", "answer": ["Paris", "paris city"],
             "marking": {"correct": 2, "wrong": "-1/2"}} for i in range(2)
        ]}
    )  # fmt: skip
    return doc


async def sit(
    server: Server, seed: int, written: bool = False
) -> dict[str, dict[str, tuple[Any, int | None]]]:
    """Candidates answer at random, change and clear answers, and submit; one is absent."""
    rng = random.Random(seed)
    doc = small_exam(n=2)
    await server.create_exam(with_written_answers(doc) if written else doc)
    exam = await current(server)
    ids = [f"C{i:02d}" for i in range(30)] + ["a", "Z"]  # "Z" < "a" in code-point order
    tokens = await server.register("mock-1", *ids, "ABSENT")
    given: dict[str, dict[str, tuple[Any, int | None]]] = {}
    for cid in ids:
        aid = (await server.start("mock-1", tokens[cid]))["attempt_id"]
        final: dict[str, tuple[Any, int | None]] = {}
        items = []
        for seq, q in enumerate(exam.questions, start=1):
            if cid == "a" or rng.random() < 0.25:
                continue  # never answered: no stored row at all
            response = rng.choice(CHOICES[q.type])
            if q.type == "text" and rng.random() < 0.5:
                response = f"{response} {rng.randrange(10**6)}"  # one of a kind
            if rng.random() < 0.15:
                response = None  # answered, then cleared
            ms = None if rng.random() < 0.1 else rng.randint(1_000, 90_000)
            items.append(
                {"question_id": q.id, "response": response, "seq": seq, "time_spent_ms": ms}
            )
            final[q.id] = (response, ms)
        if cid == "Z":
            items, final = [], {}  # ties with "a": both blank everywhere
        if items:
            assert (await server.save(tokens[cid], aid, *items)).status_code == 200
        assert (await server.as_(tokens[cid], "POST", f"/attempts/{aid}/submit")).status_code == 200
        given[cid] = final
    return given


async def current(server: Server) -> Exam:
    async with server.core.store.read() as conn:
        exam = await server.core.catalog.current(conn, "mock-1")
    assert exam is not None
    return exam


def from_scratch(exam: Exam, given: dict[str, dict[str, tuple[Any, int | None]]]) -> Any:
    """The figures of a sheet scored from the raw responses, as JSON gives them back."""

    def normal(qid: str, raw: Any) -> Any:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = Decimal(str(raw))
        return normal_form(exam.by_id[qid], raw)

    sheet = ia.sheet_of(
        exam,
        [
            (cid, {q: (normal(q, r), ms) for q, (r, ms) in answers.items()})
            for cid, answers in given.items()
        ],
    )
    return orjson.loads(orjson.dumps(ia.figures(exam, sheet)))


@pytest.mark.parametrize("hours_later", [0, 2])
async def test_database_aggregates_give_the_figures_of_a_from_scratch_sheet(
    server: Server, hours_later: int
) -> None:
    """Also across a key change: made at once, the attempts submitted minutes before it
    are rescored from scratch; made hours later, by the difference (jobs/handlers/regrade.py)."""
    given = await sit(server, seed=11 + hours_later)
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    assert doc["submitted"] == len(given) and doc["absent"] == 1
    expected = from_scratch(await current(server), given)
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert doc[key] == expected[key], key

    # A drop with a bonus for all: attempts without a row for s1 are now correct on it.
    server.clock.advance(hours_later * 3600)
    body = {"changes": [{"question_id": "s1", "drop": True, "bonus": "all"},
                        {"question_id": "m0", "answer": ["A"]}]}  # fmt: skip
    assert (await server.admin("PUT", "/exams/mock-1/key", json=body)).status_code == 202
    await key_done(server, 2)
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    expected = from_scratch(await current(server), given)
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert doc[key] == expected[key], key
    s1 = next(q for q in doc["questions"] if q["id"] == "s1")
    assert s1["dropped"] is True and s1["facility"] == 1
    rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    exam = await current(server)
    for row in rows:
        if row["status"] == "submitted":
            assert row["score"] == sheet_total(exam, given[row["candidate_id"]]), row


async def test_written_and_numeric_answers_are_tallied_as_answered_or_not(
    server: Server,
) -> None:
    """Every written answer differs; the figures still equal a from-scratch sheet's."""
    given = await sit(server, seed=5, written=True)
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    expected = from_scratch(await current(server), given)
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert doc[key] == expected[key], key
    assert {q["id"] for q in doc["questions"]} >= {"t0", "t1"}


def sheet_total(exam: Exam, answers: dict[str, tuple[Any, int | None]]) -> Any:
    """One candidate's total from scratch, as the API writes numbers."""
    figures = from_scratch(exam, {"x": answers})
    return figures["score"]["mean"]
