"""Moving totals by the difference (rescoring.rescore) equals recomputing them from scratch."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.exams import with_key_changes
from examvault.domain.rescoring import Scorer, rescore, touched
from examvault.domain.totals import Totals
from tests.unit.test_rescoring import CHANGES, EXAM, from_scratch, responses_for


def stored_rows(scorer: Scorer, stored: dict[str, str | None]) -> list[tuple[str, Any, str, str]]:
    """Answer rows as a save under `scorer`'s key leaves them."""
    out = []
    for q, text in stored.items():
        e = scorer.entry(q, text)
        out.append((q, text, e.outcome, e.text))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(responses_for(EXAM), min_size=1, max_size=5), CHANGES, CHANGES)
def test_moving_by_the_difference_equals_recomputing(
    attempts: list[dict[str, str | None]], first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    """Two key changes regraded at once (v1 → v3): rows, totals and the total before."""
    v2 = with_key_changes(EXAM, 2, first)
    v3 = with_key_changes(v2, 3, second)
    old, new = Scorer(EXAM), Scorer(v3)
    questions = touched([EXAM, v2, v3])
    for stored in attempts:
        rows = stored_rows(old, stored)
        totals = from_scratch(EXAM, stored)
        mine = [r for r in rows if r[0] in questions]
        before, changed = rescore(totals, mine, questions, new, old, blank=old)
        assert totals.dumps() == from_scratch(v3, stored).dumps()
        assert before == from_scratch(EXAM, stored).whole.score
        # The rows it says changed are exactly those the new key scores differently.
        assert {q for q, _ in changed} == {
            q for q, t, o, s in mine if (new.entry(q, t).outcome, new.entry(q, t).text) != (o, s)
        }
        # Once more, with the rows and the key version written back: nothing moves.
        again = Totals.loads(totals.dumps())
        rows2 = stored_rows(new, {q: t for q, t, _, _ in mine})
        before2, changed2 = rescore(again, rows2, questions, new, old, blank=None)
        assert again.dumps() == totals.dumps() and not changed2 and before2 == before
