"""The exam day's time rules (docs/api.md, Exam day): pure functions of an attempt's parts.

    deadline = min(started_at + duration, closes_at) + extra + extended + paused

Times are microseconds since the epoch (the store's unit), lengths are seconds unless
their name says micros. An attempt stores its deadline and end (deadline + grace); every
action moves them by a difference computed here, in the transaction of the action.
"""

from __future__ import annotations

import re

from examvault.clock import MICROS

ROOM_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_EXTRA_SECONDS = 86_400
_ROOM = re.compile(ROOM_PATTERN)


def deadline(
    started_at: int,
    duration_seconds: int,
    closes_at: int | None,
    extra_seconds: int = 0,
    extended_seconds: int = 0,
    paused_micros: int = 0,
) -> int:
    """The deadline of an attempt from its parts."""
    base = started_at + duration_seconds * MICROS
    if closes_at is not None:
        base = min(base, closes_at)
    return base + (extra_seconds + extended_seconds) * MICROS + paused_micros


def end(deadline_at: int, grace_seconds: int) -> int:
    """The instant the attempt ends: its deadline plus the grace."""
    return deadline_at + grace_seconds * MICROS


def ended(end_at: int, paused_at: int | None, now: int) -> bool:
    """Whether the attempt's end has passed: never while it is paused."""
    return paused_at is None and now > end_at


def remaining_seconds(deadline_at: int, now: int, paused_at: int | None) -> float:
    """Seconds left before the deadline (the grace not included), frozen while paused."""
    at = now if paused_at is None else paused_at
    return max(0, deadline_at - at) / MICROS


def resumed_deadline(deadline_at: int, paused_at: int, now: int) -> int:
    """The deadline after a pause that began at `paused_at` ends at `now`."""
    return deadline_at + max(0, now - paused_at)


def is_room(value: object) -> bool:
    """Whether a value is a valid room name."""
    return isinstance(value, str) and _ROOM.fullmatch(value) is not None


def is_extra_seconds(value: object) -> bool:
    """Whether a value is a valid accommodation (whole seconds, 0 to a day)."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EXTRA_SECONDS
    )
