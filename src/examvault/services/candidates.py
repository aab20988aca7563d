"""Candidates: registration, their room and accommodation, and finding who a token
belongs to (tokens are made and looked up as services/tokens.py says)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import MICROS, Clock
from examvault.domain import deadlines
from examvault.domain.exams import IDENT_PATTERN
from examvault.services import audit
from examvault.services.tokens import TokenCache, hash_token, new_token
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import attempts, candidates, exams

_IDENT = re.compile(IDENT_PATTERN)
MAX_PER_REQUEST = 10_000


class Person(NamedTuple):
    """A candidate to register: id, name, and the exam day's room and accommodation."""

    id: str
    name: str
    room: str | None = None
    extra_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Candidate:
    """Who a candidate token belongs to."""

    exam_id: str
    id: str
    name: str


class Directory:
    """Registration, and token → candidate, cached; unknown tokens are not cached, so new
    ones are seen."""

    def __init__(self, store: Store, writes: Writes, clock: Clock, limit: int = 200_000) -> None:
        self._store = store
        self._writes = writes
        self._clock = clock
        self._tokens = TokenCache(
            self._load, limit, group_of=lambda c: c.exam_id, load_group=self._load_exam
        )

    async def find(self, token: str) -> Candidate | None:
        """Who holds this candidate token, or None."""
        return await self._tokens.find(token)

    async def settle(self) -> None:
        """Let a background read of an exam's tokens finish (at stop)."""
        await self._tokens.settle()

    async def _load(self, digest: str) -> Candidate | None:
        async with self._store.read() as conn:
            row = await candidates.by_token_hash(conn, digest)
        return None if row is None else Candidate(exam_id=row.exam_id, id=row.id, name=row.name)

    async def _load_exam(self, one: Candidate) -> list[tuple[str, Candidate]]:
        """Every token of `one`'s exam: its candidates start in the same second."""
        async with self._store.read() as conn:
            rows = await candidates.tokens_of_exam(conn, one.exam_id)
        return [(r.token_hash, Candidate(exam_id=one.exam_id, id=r.id, name=r.name)) for r in rows]

    async def register(
        self, exam_id: str, people: Sequence[tuple[str, str] | Person], actor: str
    ) -> list[dict[str, str]]:
        """Register candidates, all or none; their tokens, shown only now."""
        issued: list[dict[str, str]] = await self._writes.run(
            Register(exam_id, [Person(*p) for p in people], actor, self._clock.now())
        )
        return issued

    async def change(self, exam_id: str, candidate_id: str, body: Any, actor: str) -> None:
        """Change a candidate's room or accommodation (PATCH); an attempt in progress
        moves its deadline by the difference at once."""
        room, extra = parse_change(body)
        await self._writes.run(
            ChangeCandidate(exam_id, candidate_id, room, extra, actor, self._clock.now())
        )


def parse_registration(body: Any) -> list[Person]:
    """Check `{"candidates": [{"id", "name"}]}`; raise InvalidBody naming each fault."""
    if not isinstance(body, dict) or not isinstance(body.get("candidates"), list):
        raise errors.InvalidBody(
            [{"loc": ["body", "candidates"], "msg": 'expected {"candidates": [{"id", "name"}]}'}]
        )
    rows = body["candidates"]
    faults: list[dict[str, Any]] = []
    if len(rows) > MAX_PER_REQUEST:
        faults.append({"loc": ["body", "candidates"], "msg": f"at most {MAX_PER_REQUEST}"})
    extra = sorted(set(body) - {"candidates"})
    faults += [{"loc": ["body", k], "msg": "unknown field"} for k in extra]
    out: list[Person] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        loc = ["body", "candidates", i]
        if not isinstance(row, dict):
            faults.append({"loc": loc, "msg": "expected an object"})
            continue
        cid, name = row.get("id"), row.get("name", "")
        faults += [
            {"loc": [*loc, k], "msg": "unknown field"} for k in sorted(set(row) - _PERSON_FIELDS)
        ]
        room, extra = row.get("room"), row.get("extra_seconds", 0)
        if room is not None and not deadlines.is_room(room):
            faults.append({"loc": [*loc, "room"], "msg": _ROOM_MSG})
        if not deadlines.is_extra_seconds(extra):
            faults.append({"loc": [*loc, "extra_seconds"], "msg": _EXTRA_MSG})
        # fullmatch: IDENT_PATTERN ends in `$`, which `match` lets pass before a final "\n".
        if not isinstance(cid, str) or not _IDENT.fullmatch(cid):
            faults.append({"loc": [*loc, "id"], "msg": f"an id matching {IDENT_PATTERN}"})
            continue
        if not isinstance(name, str) or len(name) > 500:
            faults.append({"loc": [*loc, "name"], "msg": "a name of at most 500 characters"})
            continue
        if cid in seen:
            faults.append({"loc": [*loc, "id"], "msg": f"{cid!r} appears twice"})
        seen.add(cid)
        out.append(Person(cid, name, room, extra))
    if faults:
        raise errors.InvalidBody(faults)
    return out


_PERSON_FIELDS = {"id", "name", "room", "extra_seconds"}
_ROOM_MSG = f"null or a room matching {deadlines.ROOM_PATTERN}"
_EXTRA_MSG = f"an integer from 0 to {deadlines.MAX_EXTRA_SECONDS}"


def parse_change(body: Any) -> tuple[str | bool | None, int | None]:
    """Check a PATCH body (`room`, `extra_seconds`, both optional): (room or False when
    absent, extra_seconds or None when absent)."""
    if not isinstance(body, dict):
        raise errors.InvalidBody([{"loc": ["body"], "msg": "expected an object"}])
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"}
        for k in sorted(set(body) - {"room", "extra_seconds"})
    ]
    room: str | bool | None = body.get("room", False)
    if "room" in body and room is not None and not deadlines.is_room(room):
        faults.append({"loc": ["body", "room"], "msg": _ROOM_MSG})
    extra = body.get("extra_seconds")
    if "extra_seconds" in body and not deadlines.is_extra_seconds(extra):
        faults.append({"loc": ["body", "extra_seconds"], "msg": _EXTRA_MSG})
    if faults:
        raise errors.InvalidBody(faults)
    return room, extra


@dataclass(eq=False)
class ChangeCandidate:
    """Change a candidate's room and/or accommodation; an attempt in progress (or paused)
    moves its deadline and end by the difference in the same transaction, so the sweeper
    never seals it at the end it had before."""

    exam_id: str
    candidate_id: str
    room: str | bool | None  # False: unchanged
    extra_seconds: int | None  # None: unchanged
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> None:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        row = await candidates.one(conn, self.exam_id, self.candidate_id)
        if row is None:
            raise errors.NotFound(f"no candidate {self.candidate_id!r}")
        attempt = await attempts.of_candidate_locked(conn, self.exam_id, self.candidate_id)
        diff = 0 if self.extra_seconds is None else self.extra_seconds - row.extra_seconds
        if diff and attempt is not None:
            # An attempt past its end is sealed there (by whichever comes first): it is
            # as good as submitted, and a change must not bring it back.
            if attempt.status == "submitted" or deadlines.ended(
                attempt.end_at, attempt.paused_at, self.now
            ):
                raise errors.AttemptSubmitted(
                    "the attempt is submitted (or past its end); its extra time cannot change"
                )
            if not attempt.reopened:
                await attempts.move_deadline(conn, attempt.id, diff * MICROS)
        changes: dict[str, Any] = {}
        if self.room is not False and self.room != row.room:
            changes["room"] = self.room
        if self.extra_seconds is not None and diff:
            changes["extra_seconds"] = self.extra_seconds
        if not changes:
            return  # a request that changes nothing writes no audit entry (docs/api.md)
        await candidates.change(conn, self.exam_id, self.candidate_id, changes)
        await audit.record(
            conn,
            self.now,
            self.actor,
            "candidate_changed",
            self.exam_id,
            {"candidate_id": self.candidate_id, **changes},
        )


@dataclass(eq=False)
class Register:
    """Register candidates on an exam, all or none."""

    exam_id: str
    people: list[Person]
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> list[dict[str, str]]:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        ids = [p.id for p in self.people]
        taken = await candidates.taken(conn, self.exam_id, ids)
        if taken:
            raise errors.AlreadyRegistered(
                f"{len(taken)} candidates are already registered", ids=sorted(taken)
            )
        issued = [(p, new_token()) for p in self.people]
        await candidates.insert_many(
            conn,
            [
                {
                    "exam_id": self.exam_id,
                    "id": p.id,
                    "name": p.name,
                    "token_hash": hash_token(token),
                    "registered_at": self.now,
                    "room": p.room,
                    "extra_seconds": p.extra_seconds,
                }
                for p, token in issued
            ],
        )
        await audit.record(
            conn, self.now, self.actor, "candidates_registered", self.exam_id, {"ids": ids}
        )
        return [{"id": p.id, "token": token} for p, token in issued]
