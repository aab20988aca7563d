"""Script ids and the marks body (domain/scripts.py)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examvault.domain import scripts
from examvault.errors import InvalidBody

SECRET = "00" * 32
idents = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(idents, idents, idents)
def test_a_script_id_is_stable_opaque_and_unrelated_to_its_neighbours(
    attempt: str, question: str, other: str
) -> None:
    sid = scripts.script_id(SECRET, attempt, question)
    assert sid == scripts.script_id(SECRET, attempt, question)
    assert len(sid) == scripts.SCRIPT_ID_CHARS and sid.isalnum()
    if other != question:
        assert scripts.script_id(SECRET, attempt, other) != sid
    if other != attempt:
        assert scripts.script_id(SECRET, other, question) != sid
    # Another exam's secret gives another id for the same attempt and question.
    assert scripts.script_id("11" * 32, attempt, question) != sid


def test_the_separator_keeps_ids_apart() -> None:
    assert scripts.script_id(SECRET, "ab", "c") != scripts.script_id(SECRET, "a", "bc")


def test_a_good_marks_body_is_read_exactly() -> None:
    items = scripts.parse_marks(
        {
            "marks": [
                {"script_id": "a", "mark": "13/2", "comment": "ok"},
                {"script_id": "b", "mark": 0},
            ]
        }
    )
    assert [(i.index, i.script_id, i.mark, i.comment) for i in items] == [
        (0, "a", Fraction(13, 2), "ok"),
        (1, "b", Fraction(0), None),
    ]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"marks": []},
        {"marks": [{"script_id": "a", "mark": 1}] * 2},
        {"marks": [{"script_id": "a"}]},
        {"marks": [{"script_id": "a", "mark": "x" * 101}]},
        {"marks": [{"script_id": "a", "mark": True}]},
        {"marks": [{"script_id": "a", "mark": "1/0"}]},
        {"marks": [{"script_id": "a", "mark": 1, "comment": 5}]},
        {"marks": [{"script_id": "a", "mark": 1, "extra": 5}]},
        {"marks": [{"script_id": "", "mark": 1}]},
        {"marks": [3]},
        {"marks": [{"script_id": "a", "mark": 1}], "more": 1},
        {"marks": [{"script_id": str(i), "mark": 1} for i in range(501)]},
    ],
)
def test_a_bad_marks_body_is_refused_whole(body: Any) -> None:
    with pytest.raises(InvalidBody):
        scripts.parse_marks(body)
