"""Candidates: registration, and finding who a token belongs to.

A token is shown once, at registration; only its SHA-256 is stored. Tokens carry 192
random bits, so a plain hash is enough (no salt or slow hash: nothing to brute-force),
and looking a token up by its hash compares no secret byte by byte. The lookup is
cached per process: a registration never changes once made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock
from examvault.domain.exams import IDENT_PATTERN
from examvault.services import audit
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import candidates, exams

_IDENT = re.compile(IDENT_PATTERN)
MAX_PER_REQUEST = 10_000


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh candidate token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


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
        self._cache: OrderedDict[str, Candidate] = OrderedDict()
        self._limit = limit

    async def find(self, token: str) -> Candidate | None:
        digest = hash_token(token)
        found = self._cache.get(digest)
        if found is not None:
            return found
        async with self._store.read() as conn:
            row = await candidates.by_token_hash(conn, digest)
        if row is None:
            return None
        found = Candidate(exam_id=row.exam_id, id=row.id, name=row.name)
        self._cache[digest] = found
        if len(self._cache) > self._limit:
            self._cache.popitem(last=False)
        return found

    async def register(
        self, exam_id: str, people: list[tuple[str, str]], actor: str
    ) -> list[dict[str, str]]:
        """Register candidates, all or none; their tokens, shown only now."""
        issued: list[dict[str, str]] = await self._writes.run(
            Register(exam_id, people, actor, self._clock.now())
        )
        return issued


def parse_registration(body: Any) -> list[tuple[str, str]]:
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
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        loc = ["body", "candidates", i]
        if not isinstance(row, dict):
            faults.append({"loc": loc, "msg": "expected an object"})
            continue
        cid, name = row.get("id"), row.get("name", "")
        faults += [
            {"loc": [*loc, k], "msg": "unknown field"} for k in sorted(set(row) - {"id", "name"})
        ]
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
        out.append((cid, name))
    if faults:
        raise errors.InvalidBody(faults)
    return out


@dataclass(eq=False)
class Register:
    """Register candidates on an exam, all or none."""

    exam_id: str
    people: list[tuple[str, str]]
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> list[dict[str, str]]:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        ids = [cid for cid, _ in self.people]
        taken = await candidates.taken(conn, self.exam_id, ids)
        if taken:
            raise errors.AlreadyRegistered(
                f"{len(taken)} candidates are already registered", ids=sorted(taken)
            )
        issued = [(cid, name, new_token()) for cid, name in self.people]
        await candidates.insert_many(
            conn,
            [
                {
                    "exam_id": self.exam_id,
                    "id": cid,
                    "name": name,
                    "token_hash": hash_token(token),
                    "registered_at": self.now,
                }
                for cid, name, token in issued
            ],
        )
        await audit.record(
            conn, self.now, self.actor, "candidates_registered", self.exam_id, {"ids": ids}
        )
        return [{"id": cid, "token": token} for cid, _, token in issued]
