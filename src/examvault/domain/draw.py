"""Question pools: which questions of a drawn section each candidate gets (pure).

A section with `draw: k` gives each candidate k of its questions. The choice must be the
same on every process and host and after any restart, and it is never stored: it is
recomputed from the exam id, its version, the candidate id and the section id. So it
rests on SHA-256 alone, not on Python's `hash()` (salted per process) and not on
`random.Random.sample` (whose algorithm Python may change between versions): every
question gets the digest of (exam, version, candidate, section, question) and the k
smallest digests win. Each candidate's ranking of a pool is thus an independent uniform
permutation, and two candidates mostly get different questions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def pick(
    exam_id: str,
    version: int,
    candidate_id: str,
    section_id: str,
    question_ids: Sequence[str],
    k: int,
) -> tuple[str, ...]:
    """The k questions of a pool this candidate gets, in the definition's order."""
    if k >= len(question_ids):
        return tuple(question_ids)
    seed = hashlib.sha256(f"{exam_id}\0{version}\0{candidate_id}\0{section_id}\0".encode())

    def digest(qid: str) -> bytes:
        h = seed.copy()
        h.update(qid.encode())
        return h.digest()

    chosen = set(sorted(question_ids, key=digest)[:k])
    return tuple(q for q in question_ids if q in chosen)
