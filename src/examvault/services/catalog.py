"""The compiled exams of this process: a cache of rules, never stale.

Compiled exams are cached by (id, version, key_version). A version changes only while
no attempt exists, and every attempt records the version it was started on; the key
version is read from the exams row in each write transaction. So a key change made
through any host is seen by every host at its next write, and a cached entry is never
stale: a new key version is simply a new cache key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.domain import exact_json
from examvault.domain.exams import Exam, ExamDef, compile_exam, left_out, with_key_changes
from examvault.domain.totals import Totals
from examvault.store.queries import exam_keys, exams


class Catalog:
    """Compiled exams of this process, bounded in number."""

    def __init__(self, limit: int = 256) -> None:
        self._cache: OrderedDict[tuple[str, int, int], Exam] = OrderedDict()
        self._by_version: dict[tuple[str, int], Exam] = {}
        self._empty: dict[tuple[str, int, int], str] = {}
        self._limit = limit
        # The writer thread and the request loop both use the cache.
        self._lock = threading.Lock()

    def questions_of(self, exam_id: str, version: int) -> Exam | None:
        """Some compiled form of this exam version, if one is cached, whatever its key.

        Checking a save needs only the questions and options, which a key change never
        alters; scoring reads the current key version inside the write transaction.
        """
        return self._by_version.get((exam_id, version))

    def empty_totals(self, exam: Exam, candidate_id: str) -> str:
        """`Totals.empty(exam).dumps()`, computed once per exam version and key: every
        attempt starts from it, and at the start of an exam every student starts.

        An exam with pools has one per candidate (only the drawn questions count as
        unanswered); those are computed each time, not kept.
        """
        if exam.has_draw:
            return Totals.empty(exam, left_out(exam, candidate_id)).dumps()
        key = (exam.id, exam.version, exam.key_version)
        text = self._empty.get(key)
        if text is None:
            text = Totals.empty(exam).dumps()
            with self._lock:
                if len(self._empty) >= self._limit:
                    self._empty.clear()
                self._empty[key] = text
        return text

    async def get(
        self, conn: AsyncConnection, exam_id: str, version: int, key_version: int
    ) -> Exam:
        """The exam at this version and key version, compiled once per process."""
        key = (exam_id, version, key_version)
        with self._lock:
            exam = self._cache.get(key)
            if exam is not None:
                self._cache.move_to_end(key)
                return exam
        row = await exams.stored(conn, exam_id)
        if row is None or row.version != version:
            raise errors.NotFound("no such exam version")
        exam = compile_exam(
            ExamDef.model_validate(exact_json.loads(row.definition)), version=version
        )
        if key_version > 1:
            changes: list[dict[str, Any]] = []
            for text in await exam_keys.changes_up_to(conn, exam_id, key_version):
                changes.extend(exact_json.loads(text))
            exam = with_key_changes(exam, key_version, changes)
        with self._lock:
            self._cache[key] = exam
            self._by_version[(exam_id, version)] = exam
            if len(self._cache) > self._limit:
                old_key, _ = self._cache.popitem(last=False)
                self._by_version.pop(old_key[:2], None)
        return exam

    async def current(self, conn: AsyncConnection, exam_id: str) -> Exam | None:
        """The exam as it stands now, or None when there is no such exam."""
        header = await exams.header(conn, exam_id)
        if header is None:
            return None
        return await self.get(conn, exam_id, header.version, header.key_version)

    async def exam_of(self, conn: AsyncConnection, exam_id: str) -> tuple[Exam, exams.Header]:
        """The exam as it stands (current key) and its header; NotFound when there is none."""
        header = await exams.header(conn, exam_id)
        if header is None:
            raise errors.NotFound(f"no exam {exam_id!r}")
        return await self.get(conn, exam_id, header.version, header.key_version), header
