"""Concurrent saves: whatever the interleaving, each question holds its highest seq,
and the kept totals equal a recomputation from the stored responses."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from examvault.domain.answers import decode_response
from examvault.domain.marking import score
from examvault.domain.totals import Totals
from examvault.store.tables import answers, attempts
from tests.helpers import Server, small_exam

RESPONSES = {"s": ["A", "B", "C", "D", None], "m": [["A"], ["A", "C"], ["B"], [], None],
             "n": ["2.5", 2.45, "2.56", "1e0", None]}  # fmt: skip


async def recomputed(server: Server, attempt_id: str) -> tuple[Totals, Totals]:
    """The kept totals, and totals recomputed from the stored responses alone."""
    async with server.core.store.read() as conn:
        row = (await conn.execute(select(attempts).where(attempts.c.id == attempt_id))).one()
        exam = await server.core.catalog.get(conn, row.exam_id, row.exam_version, 1)
        stored = (
            await conn.execute(select(answers).where(answers.c.attempt_id == attempt_id))
        ).all()
    outcomes = {
        a.question_id: score(exam.by_id[a.question_id].rule,
                             decode_response(exam.by_id[a.question_id], a.response))
        for a in stored
    }  # fmt: skip
    return Totals.loads(row.totals), Totals.of(exam, outcomes)


async def test_concurrent_saves_keep_the_highest_seq_per_question(server: Server) -> None:
    await server.create_exam(small_exam(n=4))
    ids = [f"C{i}" for i in range(12)]
    tokens = await server.register("mock-1", *ids)
    attempts_ = {c: (await server.start("mock-1", tokens[c]))["attempt_id"] for c in ids}
    rng = random.Random(1)
    sent: dict[str, list[dict[str, Any]]] = {}
    for cid in ids:
        items = []
        for seq in range(1, 61):
            qid = rng.choice([f"{t}{i}" for t in "smn" for i in range(4)])
            items.append(
                {"question_id": qid, "seq": seq, "response": rng.choice(RESPONSES[qid[0]])}
            )
        sent[cid] = items
    # every item goes in its own request, all at once, in a shuffled order
    requests = [(cid, it) for cid in ids for it in sent[cid]]
    rng.shuffle(requests)
    results = await asyncio.gather(
        *(server.save(tokens[cid], attempts_[cid], it) for cid, it in requests)
    )
    assert all(r.status_code == 200 for r in results)
    stats = (await server.admin("GET", "/exams/mock-1/stats")).json()
    applied = sum(len(r.json()["accepted"]) for r in results)
    assert stats["answers_saved"] == applied, "each applied save counted once, whichever writer"
    for cid in ids:
        latest: dict[str, dict[str, Any]] = {}
        for it in sent[cid]:
            latest[it["question_id"]] = it
        view = (await server.as_(tokens[cid], "GET", f"/attempts/{attempts_[cid]}")).json()
        assert {q: a["seq"] for q, a in view["answers"].items()} == {
            q: it["seq"] for q, it in latest.items()
        }
        assert view["last_seq"] == max(it["seq"] for it in sent[cid])
        kept, again = await recomputed(server, attempts_[cid])
        assert kept == again


items_strategy = st.lists(
    st.tuples(st.sampled_from(["s0", "s1", "m0", "m1", "n0"]), st.integers(0, 4),
              st.integers(1, 30), st.booleans()),
    min_size=1, max_size=25, unique_by=lambda item: item[2],  # a client never reuses a seq
)  # fmt: skip


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(items=items_strategy, order=st.randoms(use_true_random=False))
async def test_the_final_state_does_not_depend_on_the_arrival_order(
    server: Server, items: list[tuple[str, int, int, bool]], order: random.Random
) -> None:
    if not await _exam_exists(server):
        await server.create_exam(small_exam(n=2))
    n = server.__dict__.setdefault("_n", [0])
    n[0] += 1
    a, b = f"A{n[0]}", f"B{n[0]}"
    tokens = await server.register("mock-1", a, b)
    aids = {c: (await server.start("mock-1", tokens[c]))["attempt_id"] for c in (a, b)}
    body = [{"question_id": q, "response": RESPONSES[q[0]][r], "seq": seq,
             "marked_for_review": mark} for q, r, seq, mark in items]  # fmt: skip
    shuffled = list(body)
    order.shuffle(shuffled)
    for cid, sequence in ((a, body), (b, shuffled)):
        for it in sequence:  # one request per item, in this order
            r = await server.save(tokens[cid], aids[cid], it)
            assert r.status_code == 200
    views = [(await server.as_(tokens[c], "GET", f"/attempts/{aids[c]}")).json() for c in (a, b)]
    first, second = ({q: (v["seq"], _same(v["response"])) for q, v in view["answers"].items()}
                     for view in views)  # fmt: skip
    assert first == second
    kept_a, again_a = await recomputed(server, aids[a])
    kept_b, _ = await recomputed(server, aids[b])
    assert kept_a == again_a == kept_b


def _same(response: Any) -> Any:
    if isinstance(response, list):
        return frozenset(response)
    if isinstance(response, (int, float, str)) and not isinstance(response, bool):
        try:
            return Fraction(Decimal(str(response)))
        except ArithmeticError:
            return response
    return response


async def _exam_exists(server: Server) -> bool:
    return (await server.admin("GET", "/exams/mock-1")).status_code == 200
