"""The script index: script id → (attempt id, question id), kept in the process.

A script id is an HMAC of the attempt and question ids under the exam's secret
(domain/scripts.py), so it cannot be turned back into its script: resolving one means
deriving the ids of the exam's scripts until it turns up. Doing that on every
`PUT …/marks` cost a read and an HMAC per script of every question the caller marks.

The mapping is a pure function of the secret, which never changes once an exam has one
(`script_keys.ensure`: the first one wins). So an entry, once computed, is true for ever
and in every process: nothing needs invalidating, and a process that has not seen an id
yet (another server process listed it, or nobody listed it at all) falls back to the full
computation before it calls the id unknown. Whether the script may still be marked (its
attempt submitted, its answer present) is not the index's business: `ApplyMarks` checks
that in the writing transaction, as it always did.

Kept in memory, not in a table, because a table would make every first listing a write
of the shared writer and buys nothing a second process cannot recompute. Memory is
bounded: whole exams are dropped, least recently used first, once the entries of all
exams pass `MAX_ENTRIES` (about 200 bytes each); a dropped exam is recomputed on its
next use. It holds attempt ids, so nothing here is ever returned by a route.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from examvault.domain import scripts

MAX_ENTRIES = 1_000_000

Pair = tuple[str, str]  # (attempt id, question id)


@dataclass(slots=True)
class ExamScripts:
    """One exam's known scripts, both ways."""

    secret: str
    by_id: dict[str, Pair] = field(default_factory=dict)
    by_pair: dict[Pair, str] = field(default_factory=dict)

    def id_of(self, attempt_id: str, question_id: str) -> str:
        """The script id, computed (and remembered) if not known yet."""
        pair = (attempt_id, question_id)
        sid = self.by_pair.get(pair)
        if sid is None:
            sid = scripts.script_id(self.secret, attempt_id, question_id)
            self.by_pair[pair] = sid
            self.by_id[sid] = pair
        return sid


class ScriptIndex:
    """Every process's own index of the exams it has listed or marked."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._exams: OrderedDict[str, ExamScripts] = OrderedDict()
        self._max_entries = max_entries

    def exam(self, exam_id: str, secret: str) -> ExamScripts:
        """The exam's index (empty the first time), marked as just used."""
        known = self._exams.get(exam_id)
        if known is None or known.secret != secret:
            known = self._exams[exam_id] = ExamScripts(secret)
        self._exams.move_to_end(exam_id)
        return known

    def fill(self, exam_id: str, secret: str, pairs: Iterable[Pair]) -> list[str]:
        """The script ids of `pairs` (in their order), remembering them; then drop the
        least recently used other exams while the index holds too many entries."""
        known = self.exam(exam_id, secret)
        ids = [known.id_of(a, q) for a, q in pairs]
        total = sum(len(e.by_id) for e in self._exams.values())
        while total > self._max_entries and len(self._exams) > 1:
            _, dropped = self._exams.popitem(last=False)
            total -= len(dropped.by_id)
        return ids
