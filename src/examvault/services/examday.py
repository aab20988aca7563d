"""The exam day's interventions (docs/api.md, Exam day): actions on attempts,
announcements, and the cheap `live` read of a candidate's page.

An action is one op of the group-commit writer: it locks the attempts it reaches
(`FOR UPDATE` on PostgreSQL; SQLite's writer holds the file), judges each one at the
instant it runs, moves deadlines and ends in its own transaction and records itself in
the audit trail there. The sweeper's conditional UPDATE therefore sees either the end
before the action (and the action then finds the attempt sealed) or the one after.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import MICROS, Clock, format_time
from examvault.domain import deadlines, views
from examvault.metrics import Metrics
from examvault.services import audit
from examvault.services.candidates import Candidate
from examvault.services.catalog import Catalog
from examvault.services.invigilators import Staff
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import announcements, attempts, candidates, exams

ACTIONS = ("extend", "pause", "resume", "reopen", "submit")
# The reasons an action may skip a candidate, in the order the first that applies is given.
_SKIPS = {
    "extend": ("ended", "submitted"),
    "pause": ("not_started", "ended", "submitted", "already_paused"),
    "resume": ("not_paused",),
    "reopen": ("not_submitted", "exam_closed"),
    "submit": ("not_started", "ended", "submitted"),
}
_SECONDS = {"extend": (1, 86_400), "reopen": (60, 86_400)}
MAX_TARGETS = 10_000
_DAY_ENTRIES = {"extend", "pause", "resume", "reopen", "invigilator_submit", "announcement"}
LIVE_CACHE_MICROS = 2 * MICROS
# How long a read of `live` polls waits for more polls to join it (see ExamDay._poll).
LIVE_GATHER_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Action:
    """A checked body of POST …/actions: what, how long, why, and exactly one target."""

    action: str
    reason: str
    seconds: int | None = None
    candidates: tuple[str, ...] | None = None
    room: str | None = None
    everyone: bool = False


def parse_action(body: Any) -> Action:
    """Check an action's body; InvalidBody naming each fault."""
    if not isinstance(body, dict):
        raise errors.InvalidBody([{"loc": ["body"], "msg": "expected an object"}])
    known = {"action", "seconds", "reason", "candidates", "room", "all"}
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"} for k in sorted(set(body) - known)
    ]
    action, reason, seconds = body.get("action"), body.get("reason"), body.get("seconds")
    if action not in ACTIONS:
        faults.append({"loc": ["body", "action"], "msg": f"one of {', '.join(ACTIONS)}"})
    if not isinstance(reason, str) or not 1 <= len(reason) <= 500:
        faults.append({"loc": ["body", "reason"], "msg": "a reason of 1 to 500 characters"})
    if action in _SECONDS:
        low, high = _SECONDS[action]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
            faults.append({"loc": ["body", "seconds"], "msg": f"an integer from {low} to {high}"})
    elif "seconds" in body:
        faults.append({"loc": ["body", "seconds"], "msg": f"not allowed for {action!r}"})
    targets = [k for k in ("candidates", "room", "all") if k in body]
    if len(targets) != 1:
        faults.append({"loc": ["body"], "msg": 'exactly one target: "candidates", "room" or "all"'})
    ids = body.get("candidates")
    if "candidates" in body:
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_TARGETS:
            faults.append({"loc": ["body", "candidates"], "msg": f"1 to {MAX_TARGETS} ids"})
        else:
            faults += [
                {"loc": ["body", "candidates", i], "msg": "a candidate id"}
                for i, c in enumerate(ids)
                if not isinstance(c, str)
            ]
    if "room" in body and not deadlines.is_room(body["room"]):
        faults.append({"loc": ["body", "room"], "msg": f"a room matching {deadlines.ROOM_PATTERN}"})
    if "all" in body and body["all"] is not True:
        faults.append({"loc": ["body", "all"], "msg": "true"})
    if faults:
        raise errors.InvalidBody(faults)
    return Action(
        action=str(action),
        reason=str(reason),
        seconds=seconds if action in _SECONDS else None,
        candidates=None if ids is None else tuple(dict.fromkeys(ids)),
        room=body.get("room"),
        everyone="all" in body,
    )


def _why(action: str, row: Any | None, closed: bool, now: int) -> str | None:
    """Why this action skips the candidate whose attempt is `row`, or None to apply it."""
    paused = row is not None and views.is_paused(row)
    # Past its end and not paused, or sealed at its end (by a sweeper, a touch, or a
    # close that came after it).
    ended = (
        row is not None
        and not paused
        and (now > row.end_at or (row.submitted_at is not None and row.submitted_at >= row.end_at))
    )
    facts = {
        "not_started": row is None,
        "ended": ended,
        "submitted": row is not None and row.status == "submitted",
        "already_paused": paused,
        "not_paused": not paused,
        # An attempt past its end is as good as sealed, whether or not a sweeper has come
        # by yet: a reopen applies to it as to a sealed one.
        "not_submitted": row is None or (row.status != "submitted" and not ended),
        "exam_closed": closed,
    }
    return next((why for why in _SKIPS[action] if facts[why]), None)


@dataclass(eq=False)
class Act:
    """One action on its targets, in one transaction; the answer of POST …/actions."""

    exam_id: str
    action: Action
    staff: Staff
    catalog: Catalog
    clock: Clock
    metrics: Metrics
    sealed: int = 0

    async def apply(self, conn: AsyncConnection) -> dict[str, Any]:
        a = self.action
        header = await exams.header(conn, self.exam_id, lock=True)
        if header is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        exam = await self.catalog.get(conn, self.exam_id, header.version, header.key_version)
        rooms = await self._targets(conn)
        ids = sorted(rooms)
        rows = await attempts.of_candidates_locked(conn, self.exam_id, ids)
        # Read once the attempts are locked: no sweeper can seal them from now until the
        # commit, so what is judged here is what is written.
        now = self.clock.now()
        applied: list[str] = []
        skipped: list[dict[str, str]] = []
        started: list[Any] = []  # the attempt rows the action applies to
        for cid in ids:
            row = rows.get(cid)
            why = _why(a.action, row, header.closed_at is not None, now)
            if why is not None:
                skipped.append({"candidate_id": cid, "why": why})
                continue
            applied.append(cid)
            if row is not None:
                started.append(row)
        attempt_ids = [r.id for r in started]
        if a.action == "extend":
            assert a.seconds is not None
            await candidates.add_extended(conn, self.exam_id, applied, a.seconds)
            await attempts.move_deadlines(conn, attempt_ids, a.seconds * MICROS)
        elif a.action == "resume":  # each by the length of its own pause
            for row in started:
                await attempts.change(conn, row.id, _resumed(row, now, exam.grace_seconds))
        else:
            values = self._same_change(now, exam.grace_seconds)
            await attempts.change_many(conn, attempt_ids, values)
        if a.action == "submit":
            self.sealed = len(applied)
        action_id = secrets.token_hex(8)
        after = await candidates.with_attempts(
            conn, self.exam_id, "status", "deadline", "submit_kind", "paused_at",
            candidate_ids=applied,
        ) if applied else []  # fmt: skip
        target: dict[str, Any] = (
            {"candidates": list(a.candidates)}
            if a.candidates is not None
            else {"room": a.room}
            if a.room is not None
            else {"all": True}
        )
        await audit.record(
            conn,
            now,
            self.staff.actor,
            "invigilator_submit" if a.action == "submit" else a.action,
            self.exam_id,
            {
                "action_id": action_id,
                "reason": a.reason,
                "seconds": a.seconds,
                **target,
                "rooms": sorted({r for r in rooms.values() if r is not None}),
                "applied": applied,
                "skipped": skipped,
            },
        )
        return {
            "action_id": action_id,
            "action": a.action,
            "applied": [_row(r) for r in after],
            "skipped": skipped,
        }

    def after_commit(self) -> None:
        if self.sealed:
            self.metrics.submissions.labels("invigilator").inc(self.sealed)

    async def _targets(self, conn: AsyncConnection) -> dict[str, str | None]:
        """candidate id → room of every target; 403 outside the staff's rooms (nothing
        applied), 422 naming an unknown candidate."""
        a, staff = self.action, self.staff
        if a.candidates is not None:
            found = await candidates.rooms_of(conn, self.exam_id, ids=a.candidates)
            unknown = [
                {"loc": ["body", "candidates", i], "msg": f"no candidate {c!r}"}
                for i, c in enumerate(a.candidates)
                if c not in found
            ]
            if unknown:
                raise errors.InvalidBody(unknown, "unknown candidates; nothing was applied")
            outside = sorted(c for c, room in found.items() if not staff.covers(room))
            if outside:
                raise errors.Forbidden(f"outside your rooms: {', '.join(outside[:20])}")
            return found
        if a.room is not None:
            if not staff.covers(a.room):
                raise errors.Forbidden(f"room {a.room!r} is not one of yours")
            return await candidates.rooms_of(conn, self.exam_id, rooms=[a.room])
        return await candidates.rooms_of(conn, self.exam_id, rooms=staff.rooms)

    def _same_change(self, now: int, grace_seconds: int) -> dict[str, Any]:
        """The columns pause, reopen and submit set, the same on every attempt."""
        a = self.action.action
        if a == "pause":
            return {"paused_at": now}
        if a == "reopen":
            assert self.action.seconds is not None
            deadline = now + self.action.seconds * MICROS
            return {
                "status": "in_progress",
                "deadline": deadline,
                "end_at": deadlines.end(deadline, grace_seconds),
                "submitted_at": None,
                "submit_kind": None,
                "paused_at": None,
                "reopened": True,
            }
        return {  # submit
            "status": "submitted",
            "submit_kind": "invigilator",
            "submitted_at": now,
            "paused_at": None,
        }


def _resumed(row: Any, now: int, grace_seconds: int) -> dict[str, Any]:
    """The columns a resume sets: the deadline moves by the pause's exact length."""
    deadline = deadlines.resumed_deadline(row.deadline, row.paused_at, now)
    return {
        "paused_at": None,
        "paused_micros": row.paused_micros + (now - row.paused_at),
        "deadline": deadline,
        "end_at": deadlines.end(deadline, grace_seconds),
    }


def _row(r: Any) -> dict[str, Any]:
    paused = r.status == "in_progress" and r.paused_at is not None
    return {
        "candidate_id": r.candidate_id,
        "attempt_id": r.attempt_id,
        "status": "paused" if paused else (r.status or "absent"),
        "deadline": format_time(r.deadline),
        "submit_kind": r.submit_kind,
    }


def parse_announcement(body: Any) -> tuple[str, str | None]:
    """Check `{"text", "room"}`; InvalidBody naming each fault."""
    if not isinstance(body, dict):
        raise errors.InvalidBody([{"loc": ["body"], "msg": "expected an object"}])
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"} for k in sorted(set(body) - {"text", "room"})
    ]
    text, room = body.get("text"), body.get("room")
    if not isinstance(text, str) or not 1 <= len(text) <= 2_000:
        faults.append({"loc": ["body", "text"], "msg": "a text of 1 to 2000 characters"})
    if room is not None and not deadlines.is_room(room):
        faults.append(
            {"loc": ["body", "room"], "msg": f"null or a room matching {deadlines.ROOM_PATTERN}"}
        )
    if faults:
        raise errors.InvalidBody(faults)
    return str(text), room


@dataclass(eq=False)
class Announce:
    """Append an announcement (one per room of an invigilator's, for `room: null`)."""

    exam_id: str
    text: str
    room: str | None
    staff: Staff
    now: int

    async def apply(self, conn: AsyncConnection) -> dict[str, Any]:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        if self.room is not None and not self.staff.covers(self.room):
            raise errors.Forbidden(f"room {self.room!r} is not one of yours")
        rooms: Sequence[str | None] = (
            [self.room] if self.room is not None or self.staff.rooms is None else self.staff.rooms
        )
        made = []
        for room in rooms:
            new_id = await announcements.add(
                conn, self.exam_id, room, self.text, self.now, self.staff.actor
            )
            made.append(
                {"id": new_id, "text": self.text, "room": room, "at": format_time(self.now)}
            )
        await audit.record(
            conn,
            self.now,
            self.staff.actor,
            "announcement",
            self.exam_id,
            {"ids": [m["id"] for m in made], "rooms": list(rooms), "text": self.text},
        )
        return made[0]


class ExamDay:
    """The exam day's operations: actions, announcements, and the candidate's `live`."""

    def __init__(
        self, store: Store, writes: Writes, catalog: Catalog, clock: Clock, metrics: Metrics
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.writes = writes
        self.catalog = catalog
        self.clock = clock
        # (exam, room) → (read at, announcements): `live` reads them at most every 2 s.
        self._notes: dict[tuple[str, str | None], tuple[int, list[dict[str, Any]]]] = {}
        # `live` polls waiting for the next read, by attempt id, and the task reading them.
        self._polls: dict[str, list[asyncio.Future[_Seen | None]]] = {}
        self._polling: asyncio.Task[None] | None = None
        self.gather_seconds = LIVE_GATHER_SECONDS

    async def act(self, exam_id: str, body: Any, staff: Staff) -> dict[str, Any]:
        staff.check_exam(exam_id)
        action = parse_action(body)
        result: dict[str, Any] = await self.writes.run(
            Act(exam_id, action, staff, self.catalog, self.clock, self.metrics)
        )
        return result

    async def announce(self, exam_id: str, body: Any, staff: Staff) -> dict[str, Any]:
        staff.check_exam(exam_id)
        text, room = parse_announcement(body)
        made: dict[str, Any] = await self.writes.run(
            Announce(exam_id, text, room, staff, self.clock.now())
        )
        return made

    async def announcements(self, exam_id: str, staff: Staff) -> list[dict[str, Any]]:
        staff.check_exam(exam_id)
        async with self.store.read() as conn:
            await self.catalog.exam_of(conn, exam_id)
            rows = await announcements.of_exam(conn, exam_id, rooms=staff.rooms)
        return [{"id": r.id, "text": r.text, "room": r.room, "at": format_time(r.at)} for r in rows]

    async def audit(self, exam_id: str, staff: Staff) -> list[dict[str, Any]]:
        """The audit trail an invigilator may read: its own entries, and the exam day's
        entries that reached only its rooms (the admin reads everything)."""
        staff.check_exam(exam_id)
        entries = await audit.entries(self.store, exam_id)
        if staff.rooms is None and staff.is_admin:
            return entries
        async with self.store.read() as conn:
            rooms = await candidates.rooms_of(conn, exam_id)

        def mine(e: dict[str, Any]) -> bool:
            if e["actor"] == staff.actor:
                return True
            d = e["detail"]
            if e["action"] == "candidate_changed":
                return staff.covers(rooms.get(d.get("candidate_id")))
            if e["action"] in _DAY_ENTRIES and isinstance(d.get("rooms"), list):
                ids = list(d.get("applied", [])) + [s["candidate_id"] for s in d.get("skipped", [])]
                return all(staff.covers(r) for r in d["rooms"]) and all(
                    staff.covers(rooms.get(c)) for c in ids
                )
            return False

        return [e for e in entries if mine(e)]

    async def candidate_notes(self, exam_id: str, room: str | None) -> list[dict[str, Any]]:
        """What a candidate of this room is told: the whole exam's and the room's
        announcements, oldest first; read again at most every 2 s per process."""
        now = self.clock.now()
        cached = self._notes.get((exam_id, room))
        if cached is not None and now - cached[0] < LIVE_CACHE_MICROS:
            return cached[1]
        notes = views.announcements(await announcements.for_room_quick(self.store, exam_id, room))
        if len(self._notes) > 10_000:
            self._notes.clear()
        self._notes[(exam_id, room)] = (now, notes)
        return notes

    async def live(self, candidate: Candidate, attempt_id: str) -> bytes:
        """The page's poll, as its JSON body: status, pause, deadline, time left,
        announcements; no write."""
        seen = await self._poll(attempt_id)
        if seen is None or seen.candidate_id != candidate.id or seen.exam_id != candidate.exam_id:
            raise errors.NotFound("no such attempt")
        return seen.body

    async def _poll(self, attempt_id: str) -> _Seen | None:
        """The attempt's `live` answer, read together with every other poll that arrives
        meanwhile.

        10,000 pages poll about 2,000 times a second; one read transaction each cost more
        than the rest of the request (docs/performance.md). So the polls that arrive while
        a read is running, or within the 50 ms before it begins (`gather_seconds`), wait
        for it, and it reads them all in one snapshot (`attempts.live_many`): one read for
        many at 2,000 polls/s, for at most 50 ms more on a poll sent every 5 s (gathering
        10 ms, a poll cost the server 163 µs of CPU; 50 ms, 123 µs: docs/performance.md).
        The attempt's state is never cached: each answer comes from a read begun after its
        poll arrived (only the announcements may be 2 s old).
        """
        waiter: asyncio.Future[_Seen | None] = asyncio.get_running_loop().create_future()
        self._polls.setdefault(attempt_id, []).append(waiter)
        if self._polling is None or self._polling.done():
            self._polling = asyncio.create_task(self._read_polls())
        return await waiter

    async def settle(self) -> None:
        """Let the read of the waiting polls finish (at stop, before the store's engines
        go): a task dropped with the event loop mid-read never gives its connection
        back."""
        if self._polling is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling

    async def _read_polls(self) -> None:
        """Read the waiting polls, batch after batch, until none is left; each attempt's
        answer is made once, for every poll of it in the batch."""
        while self._polls:
            await asyncio.sleep(self.gather_seconds)  # let the polls of the next 50 ms join
            batch, self._polls = self._polls, {}
            try:
                rows = await attempts.live_many(self.store, list(batch))
                now = self.clock.now()
                server_time = format_time(now)
                answers: dict[str, _Seen | None] = {}
                for attempt_id in batch:
                    row = rows.get(attempt_id)
                    answers[attempt_id] = None if row is None else _Seen(
                        row.candidate_id,
                        row.exam_id,
                        _live_body(row, await self.candidate_notes(row.exam_id, row.room),
                                   now, server_time),
                    )  # fmt: skip
            except Exception as exc:  # each poll of the batch gets the error (503 if away)
                for waiters in batch.values():
                    for w in waiters:
                        if not w.done():
                            w.set_exception(exc)
                continue
            for attempt_id, waiters in batch.items():
                for w in waiters:
                    if not w.done():  # a poll whose client went away was cancelled
                        w.set_result(answers[attempt_id])


@dataclass(frozen=True, slots=True)
class _Seen:
    """One attempt's `live` answer, read for the polls of one batch, and whose it is."""

    candidate_id: str
    exam_id: str
    body: bytes


def _live_body(
    row: attempts.LiveRow, notes: list[dict[str, Any]], now: int, server_time: str
) -> bytes:
    paused = views.is_paused(row)
    return orjson.dumps(
        {
            "status": "paused" if paused else row.status,
            "paused": paused,
            "deadline": format_time(row.deadline),
            "remaining_seconds": views.remaining(row, now),
            "server_time": server_time,
            "announcements": notes,
        }
    )
