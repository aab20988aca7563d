"""The in-process script index (services/script_index.py): the ids it gives are the
domain's, both ways, and it stays within its bound by dropping whole exams, least
recently used first, which are then recomputed alike."""

from __future__ import annotations

from examvault.domain import scripts
from examvault.services.script_index import ScriptIndex

SECRET_A = "ab" * 32
SECRET_B = "cd" * 32


def pairs(n: int) -> list[tuple[str, str]]:
    return [(f"attempt-{i}", f"e{i % 3}") for i in range(n)]


def test_ids_are_the_domains_and_known_both_ways() -> None:
    index = ScriptIndex()
    ids = index.fill("x", SECRET_A, pairs(10))
    assert ids == [scripts.script_id(SECRET_A, a, q) for a, q in pairs(10)]
    known = index.exam("x", SECRET_A)
    assert {sid: pair for sid, pair in known.by_id.items()} == dict(
        zip(ids, pairs(10), strict=True)
    )
    assert index.fill("x", SECRET_A, reversed(pairs(10))) == ids[::-1]


def test_the_least_recently_used_exam_is_dropped_past_the_bound() -> None:
    index = ScriptIndex(max_entries=25)
    a = index.fill("a", SECRET_A, pairs(10))
    index.fill("b", SECRET_B, pairs(10))
    index.exam("a", SECRET_A)  # a used again: b is now the oldest
    index.fill("c", SECRET_A, pairs(10))
    assert len(index.exam("a", SECRET_A).by_id) == 10
    assert index.exam("b", SECRET_B).by_id == {}  # dropped, recomputed on demand
    assert index.fill("a", SECRET_A, pairs(10)) == a
    # One exam larger than the bound is kept whole: the exam in use is never dropped.
    index.fill("big", SECRET_B, pairs(40))
    assert len(index.exam("big", SECRET_B).by_id) == 40
