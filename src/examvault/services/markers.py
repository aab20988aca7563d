"""Markers: registration, and finding who a marker token belongs to.

Tokens are made, stored and looked up like candidates' and invigilators'
(services/tokens.py): shown once, kept as their SHA-256, the lookup cached per process.
A marker marks one exam's manual questions (`questions = None`: all of them) and may
call only the scripts and marks routes (docs/marking.md).
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
from examvault.domain import scripts
from examvault.domain.exams import IDENT_PATTERN
from examvault.services import audit
from examvault.services.catalog import Catalog
from examvault.services.tokens import TokenCache, hash_token, new_token
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import markers, script_keys

_IDENT = re.compile(IDENT_PATTERN)
MAX_PER_REQUEST = 1_000


@dataclass(frozen=True, slots=True)
class Marker:
    """Who marks: the admin (every exam, every manual question) or a marker (one exam,
    its questions; `questions = None`: every manual question of it)."""

    name: str  # `marked_by` in a script: the marker's id, or "admin"
    exam_id: str | None = None
    questions: tuple[str, ...] | None = None

    @property
    def actor(self) -> str:
        """The audit trail's actor."""
        return "admin" if self.exam_id is None else f"marker:{self.name}"

    def describe(self) -> dict[str, Any]:
        """`GET /staff/me` for a marker token: its id, exam and questions (null: every
        manual question), so the marking page (/mark) knows which exam to open."""
        return {
            "role": "marker",
            "id": self.name,
            "exam_id": self.exam_id,
            "rooms": None,
            "questions": None if self.questions is None else list(self.questions),
        }

    def check_exam(self, exam_id: str) -> None:
        """403 unless this marker marks the exam."""
        if self.exam_id is not None and self.exam_id != exam_id:
            raise errors.Forbidden("a marker token marks its own exam only")

    def may_mark(self, question_id: str) -> bool:
        """Whether this marker marks the question (it must also be manual)."""
        return self.questions is None or question_id in self.questions


ADMIN_MARKER = Marker("admin")


class Markers:
    """Registration, and token → marker, cached; unknown tokens are not cached."""

    def __init__(
        self, store: Store, writes: Writes, catalog: Catalog, clock: Clock, limit: int = 20_000
    ) -> None:
        self._store = store
        self._writes = writes
        self._catalog = catalog
        self._clock = clock
        self._tokens = TokenCache(self._load, limit)

    async def find(self, token: str) -> Marker | None:
        """Who holds this marker token, or None."""
        return await self._tokens.find(token)

    async def _load(self, digest: str) -> Marker | None:
        async with self._store.read() as conn:
            row = await markers.by_token_hash(conn, digest)
        if row is None:
            return None
        questions = None if row.questions is None else tuple(orjson.loads(row.questions))
        return Marker(row.id, row.exam_id, questions)

    async def register(self, exam_id: str, body: Any, actor: str) -> list[dict[str, str]]:
        """Register markers, all or none; their tokens, shown only now (an id already
        registered: 409, as for candidates and invigilators)."""
        people = parse_markers(body)
        async with self._store.read() as conn:
            exam, _ = await self._catalog.exam_of(conn, exam_id)
        manual = set(exam.manual_questions)
        faults = [
            {"loc": ["body", "markers", i, "questions"], "msg": f"{qid!r} is not a manual question"}
            for i, (_, _, qs) in enumerate(people)
            for qid in qs or ()
            if qid not in manual
        ]
        if faults:
            raise errors.InvalidBody(faults)
        issued: list[dict[str, str]] = await self._writes.run(
            RegisterMarkers(exam_id, people, actor, self._clock.now())
        )
        return issued


def parse_markers(body: Any) -> list[tuple[str, str, list[str] | None]]:
    """Check `{"markers": [{"id", "name", "questions"}]}`; InvalidBody naming each fault."""
    if not isinstance(body, dict) or not isinstance(body.get("markers"), list):
        raise errors.InvalidBody(
            [{"loc": ["body", "markers"], "msg": 'expected {"markers": [...]}'}]
        )
    rows = body["markers"]
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"} for k in sorted(set(body) - {"markers"})
    ]
    if not 1 <= len(rows) <= MAX_PER_REQUEST:
        faults.append({"loc": ["body", "markers"], "msg": f"1 to {MAX_PER_REQUEST} items"})
    out: list[tuple[str, str, list[str] | None]] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        loc: list[Any] = ["body", "markers", i]
        if not isinstance(row, dict):
            faults.append({"loc": loc, "msg": "expected an object"})
            continue
        faults += [
            {"loc": [*loc, k], "msg": "unknown field"}
            for k in sorted(set(row) - {"id", "name", "questions"})
        ]
        mid, name, questions = row.get("id"), row.get("name", ""), row.get("questions")
        if not isinstance(mid, str) or not _IDENT.fullmatch(mid):
            faults.append({"loc": [*loc, "id"], "msg": f"an id matching {IDENT_PATTERN}"})
            continue
        if mid in seen:
            faults.append({"loc": [*loc, "id"], "msg": f"{mid!r} appears twice"})
        seen.add(mid)
        if not isinstance(name, str) or len(name) > 500:
            faults.append({"loc": [*loc, "name"], "msg": "a name of at most 500 characters"})
            continue
        if questions is not None and (
            not isinstance(questions, list)
            or not 1 <= len(questions) <= 5_000
            or not all(isinstance(q, str) and _IDENT.fullmatch(q) for q in questions)
        ):
            faults.append(
                {"loc": [*loc, "questions"], "msg": "null or a non-empty list of question ids"}
            )
            continue
        out.append((mid, name, None if questions is None else sorted(set(questions))))
    if faults:
        raise errors.InvalidBody(faults)
    return out


@dataclass(eq=False)
class RegisterMarkers:
    """Register markers on an exam, all or none; give the exam its script secret."""

    exam_id: str
    people: Sequence[tuple[str, str, list[str] | None]]
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> list[dict[str, str]]:
        taken = await markers.taken(conn, self.exam_id, [p[0] for p in self.people])
        if taken:
            raise errors.AlreadyRegistered(
                f"{len(taken)} markers are already registered", ids=sorted(taken)
            )
        await script_keys.ensure(conn, self.exam_id, scripts.new_secret())
        issued = [(mid, name, qs, new_token()) for mid, name, qs in self.people]
        await markers.insert_many(
            conn,
            [
                {
                    "exam_id": self.exam_id,
                    "id": mid,
                    "name": name,
                    "questions": None if qs is None else orjson.dumps(qs).decode(),
                    "token_hash": hash_token(token),
                    "registered_at": self.now,
                }
                for mid, name, qs, token in issued
            ],
        )
        await audit.record(
            conn,
            self.now,
            self.actor,
            "markers_registered",
            self.exam_id,
            {"markers": [{"id": mid, "questions": qs} for mid, _, qs, _ in issued]},
        )
        return [{"id": mid, "token": token} for mid, _, _, token in issued]
