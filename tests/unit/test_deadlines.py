"""The exam day's deadline rule, as pure functions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from examvault.domain import deadlines as d

M = d.MICROS
times = st.integers(min_value=0, max_value=10**15)
secs = st.integers(min_value=0, max_value=86_400)


@given(times, st.integers(1, 86_400), st.none() | times, secs, secs, st.integers(0, 10**12))
def test_the_deadline_is_the_earlier_end_plus_every_addition(
    start: int, duration: int, closes: int | None, extra: int, extended: int, paused: int
) -> None:
    got = d.deadline(start, duration, closes, extra, extended, paused)
    base = start + duration * M if closes is None else min(start + duration * M, closes)
    assert got == base + extra * M + extended * M + paused
    assert got >= d.deadline(start, duration, closes)
    assert d.end(got, 30) == got + 30 * M


@given(times, st.integers(0, 10**12), st.integers(0, 10**12))
def test_a_pause_moves_the_deadline_by_its_exact_length(
    deadline: int, before: int, length: int
) -> None:
    paused_at = deadline - before
    assert d.resumed_deadline(deadline, paused_at, paused_at + length) == deadline + length
    # While paused the remaining time stands still, whatever the clock says.
    frozen = d.remaining_seconds(deadline, paused_at, paused_at)
    assert d.remaining_seconds(deadline, paused_at + length, paused_at) == frozen
    assert frozen == max(0, before) / M


@given(times, st.none() | times, times)
def test_no_end_applies_while_paused(end_at: int, paused_at: int | None, now: int) -> None:
    assert d.ended(end_at, paused_at, now) == (paused_at is None and now > end_at)


def test_rooms_and_accommodations() -> None:
    assert d.is_room("R1") and d.is_room("a.b_c-9") and d.is_room("x" * 64)
    assert not any(d.is_room(v) for v in ("", "x" * 65, "R 1", "é", None, 3))
    assert d.is_extra_seconds(0) and d.is_extra_seconds(86_400)
    assert not any(d.is_extra_seconds(v) for v in (-1, 86_401, True, 1.5, "10", None))
