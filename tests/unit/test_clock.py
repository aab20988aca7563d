"""The server's times as the API writes them (clock.format_time): RFC 3339 in UTC with a
Z, a fraction only when there is one, and exactly the instant it was given."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from examvault.clock import format_time, to_micros

# From 1970 to the end of 9999, the years RFC 3339 can write.
INSTANTS = st.integers(min_value=0, max_value=253_402_300_799_999_999)


@given(INSTANTS)
def test_a_written_time_reads_back_as_the_same_microsecond(micros: int) -> None:
    text = format_time(micros)
    assert text.endswith("Z")
    assert to_micros(datetime.fromisoformat(text.replace("Z", "+00:00"))) == micros


@given(INSTANTS)
def test_a_fraction_is_written_only_when_there_is_one_and_without_trailing_zeros(
    micros: int,
) -> None:
    text = format_time(micros)
    whole, dot, fraction = text.removesuffix("Z").partition(".")
    assert len(whole) == len("2026-12-05T07:22:30")
    assert bool(dot) == (micros % 1_000_000 != 0)
    assert not fraction.endswith("0")


def test_the_same_second_at_two_microseconds() -> None:
    second = to_micros(datetime(2026, 12, 5, 7, 22, 30, tzinfo=UTC))
    assert format_time(second) == "2026-12-05T07:22:30Z"
    assert format_time(second + 1) == "2026-12-05T07:22:30.000001Z"
    assert format_time(second + 250_000) == "2026-12-05T07:22:30.25Z"
    assert format_time(None) is None
