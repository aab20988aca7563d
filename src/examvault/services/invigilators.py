"""Invigilators: registration, and finding who an invigilator token belongs to.

Tokens are made, stored and looked up like candidates' (services/tokens.py): shown once,
kept as their SHA-256, the lookup cached per process.
An invigilator acts for one exam, on its rooms (`rooms = None`: every room).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock
from examvault.domain import deadlines
from examvault.domain.exams import IDENT_PATTERN
from examvault.services import audit
from examvault.services.tokens import TokenCache, hash_token, new_token
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import exams, invigilators

_IDENT = re.compile(IDENT_PATTERN)
MAX_PER_REQUEST = 1_000


@dataclass(frozen=True, slots=True)
class Staff:
    """Who acts on an exam day: the admin (every exam, every room) or an invigilator (one
    exam, its rooms; `rooms = None`: every room)."""

    actor: str
    exam_id: str | None = None
    rooms: tuple[str, ...] | None = None

    @property
    def is_admin(self) -> bool:
        return self.exam_id is None

    def describe(self) -> dict[str, Any]:
        """`GET /staff/me`: the role, the invigilator's id, its exam and rooms (null: all)."""
        if self.is_admin:
            return {"role": "admin", "id": None, "exam_id": None, "rooms": None}
        return {
            "role": "invigilator",
            "id": self.actor.removeprefix("invigilator:"),
            "exam_id": self.exam_id,
            "rooms": None if self.rooms is None else list(self.rooms),
        }

    def check_exam(self, exam_id: str) -> None:
        """403 unless this staff member may act on the exam."""
        if self.exam_id is not None and self.exam_id != exam_id:
            raise errors.Forbidden("an invigilator token acts on its own exam only")

    def covers(self, room: str | None) -> bool:
        """Whether a candidate of this room is within reach."""
        return self.rooms is None or (room is not None and room in self.rooms)


ADMIN = Staff("admin")


class Invigilators:
    """Registration, and token → invigilator, cached; unknown tokens are not cached."""

    def __init__(self, store: Store, writes: Writes, clock: Clock, limit: int = 20_000) -> None:
        self._store = store
        self._writes = writes
        self._clock = clock
        self._tokens = TokenCache(self._load, limit)

    async def find(self, token: str) -> Staff | None:
        """Who holds this invigilator token, or None."""
        return await self._tokens.find(token)

    async def _load(self, digest: str) -> Staff | None:
        async with self._store.read() as conn:
            row = await invigilators.by_token_hash(conn, digest)
        if row is None:
            return None
        rooms = None if row.rooms is None else tuple(orjson.loads(row.rooms))
        return Staff(f"invigilator:{row.id}", row.exam_id, rooms)

    async def register(self, exam_id: str, body: Any, actor: str) -> list[dict[str, str]]:
        """Register invigilators, all or none; their tokens, shown only now."""
        people = parse_invigilators(body)
        issued: list[dict[str, str]] = await self._writes.run(
            RegisterInvigilators(exam_id, people, actor, self._clock.now())
        )
        return issued


def parse_invigilators(body: Any) -> list[tuple[str, str, list[str] | None]]:
    """Check `{"invigilators": [{"id", "name", "rooms"}]}`; InvalidBody naming each fault."""
    if not isinstance(body, dict) or not isinstance(body.get("invigilators"), list):
        raise errors.InvalidBody(
            [{"loc": ["body", "invigilators"], "msg": 'expected {"invigilators": [...]}'}]
        )
    rows = body["invigilators"]
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"} for k in sorted(set(body) - {"invigilators"})
    ]
    if not 1 <= len(rows) <= MAX_PER_REQUEST:
        faults.append({"loc": ["body", "invigilators"], "msg": f"1 to {MAX_PER_REQUEST} items"})
    out: list[tuple[str, str, list[str] | None]] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        loc = ["body", "invigilators", i]
        if not isinstance(row, dict):
            faults.append({"loc": loc, "msg": "expected an object"})
            continue
        faults += [
            {"loc": [*loc, k], "msg": "unknown field"}
            for k in sorted(set(row) - {"id", "name", "rooms"})
        ]
        iid, name, rooms = row.get("id"), row.get("name", ""), row.get("rooms")
        if not isinstance(iid, str) or not _IDENT.fullmatch(iid):
            faults.append({"loc": [*loc, "id"], "msg": f"an id matching {IDENT_PATTERN}"})
            continue
        if iid in seen:
            faults.append({"loc": [*loc, "id"], "msg": f"{iid!r} appears twice"})
        seen.add(iid)
        if not isinstance(name, str) or len(name) > 500:
            faults.append({"loc": [*loc, "name"], "msg": "a name of at most 500 characters"})
            continue
        if rooms is not None and (
            not isinstance(rooms, list) or not rooms or not all(deadlines.is_room(r) for r in rooms)
        ):
            faults.append({"loc": [*loc, "rooms"], "msg": "null or a non-empty list of rooms"})
            continue
        out.append((iid, name, None if rooms is None else sorted(set(rooms))))
    if faults:
        raise errors.InvalidBody(faults)
    return out


@dataclass(eq=False)
class RegisterInvigilators:
    """Register invigilators on an exam, all or none."""

    exam_id: str
    people: Sequence[tuple[str, str, list[str] | None]]
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> list[dict[str, str]]:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        ids = [p[0] for p in self.people]
        taken = await invigilators.taken(conn, self.exam_id, ids)
        if taken:
            raise errors.AlreadyRegistered(
                f"{len(taken)} invigilators are already registered", ids=sorted(taken)
            )
        issued = [(iid, name, rooms, new_token()) for iid, name, rooms in self.people]
        await invigilators.insert_many(
            conn,
            [
                {
                    "exam_id": self.exam_id,
                    "id": iid,
                    "name": name,
                    "rooms": None if rooms is None else orjson.dumps(rooms).decode(),
                    "token_hash": hash_token(token),
                    "registered_at": self.now,
                }
                for iid, name, rooms, token in issued
            ],
        )
        await audit.record(
            conn,
            self.now,
            self.actor,
            "invigilators_registered",
            self.exam_id,
            {"invigilators": [{"id": iid, "rooms": rooms} for iid, _, rooms, _ in issued]},
        )
        return [{"id": iid, "token": token} for iid, _, _, token in issued]
