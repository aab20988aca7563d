"""After the run: hold the server to its promise, using only the clients' own records.

Three checks, per student, against what the server now reports:
1. every acknowledged answer is in the stored attempt (the latest acknowledged `seq` per
   question, or a later one this client sent whose acknowledgement was lost in a crash);
2. the attempt is submitted exactly once, with the kind the scenario expects, and every
   submit response the client saw names the same `submitted_at`;
3. its score equals a recomputation from the client's final responses with the pure
   scoring code (`examvault.marking`), not with anything the server returned.
An acknowledged answer in an attempt still not submitted after its deadline plus grace
counts as lost too: in the incident, that is exactly how the students' work was lost
("saved as zeros"). One in an attempt whose end has not come yet (its submit failed)
is counted as stranded: stored, not yet in any result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import aiohttp

from examvault.domain.answers import normal_form
from examvault.domain.exams import Exam, compile_exam, left_out, parse_definition
from examvault.domain.marking import Response, round_half_away, score
from examvault.loadtest.student import GaveUp, Http, Student


@dataclass(slots=True)
class Verdict:
    """The counts of the verification; `problems` holds the first few in words."""

    students: int = 0
    answers_sent: int = 0
    answers_acked: int = 0
    lost_missing: int = 0
    lost_unsubmitted: int = 0
    stranded: int = 0
    refused_late: int = 0
    submissions_ok: int = 0
    submissions_failed: int = 0
    kind_mismatch: int = 0
    submitted_twice: int = 0
    score_mismatch: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_missing + self.lost_unsubmitted

    def note(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lost": self.lost}


def compiled(definition: Mapping[str, Any]) -> Exam:
    """The exam as this client defined it, compiled by the pure core to score with."""
    doc = json.loads(json.dumps(definition), parse_float=Decimal)
    return compile_exam(parse_definition(doc), version=1)


async def fetch_exact(http: Http, path: str, token: str) -> Any:
    """GET with numbers read as Decimal, so that scores compare exactly."""
    for _ in range(30):
        try:
            async with http.session.get(
                http.base + path, headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                raw = await resp.read()
                if resp.status == 200:
                    return json.loads(raw, parse_float=Decimal)
                if resp.status not in (429, 503):
                    raise GaveUp(f"GET {path}: {resp.status} {raw[:200]!r}")
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        await asyncio.sleep(0.5)
    raise GaveUp(f"GET {path}")


async def verify(
    http: Http,
    admin_token: str,
    exam_id: str,
    definition: Mapping[str, Any],
    students: Sequence[Student],
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> Verdict:
    """Check every student against the admin results and the candidate attempt view."""
    exam = compiled(definition)
    if rows is None:
        rows = (await fetch_exact(http, f"/exams/{exam_id}/results", admin_token))["results"]
    by_cid = {r["candidate_id"]: r for r in rows}
    gate = asyncio.Semaphore(64)

    async def view(s: Student) -> Any:
        if not s.attempt_id:
            return None
        async with gate:
            return await fetch_exact(http, f"/attempts/{s.attempt_id}", s.token)

    views = await asyncio.gather(*(view(s) for s in students))
    verdict = Verdict(students=len(students))
    for s, v in zip(students, views, strict=True):
        check_student(verdict, exam, s, v, by_cid.get(s.cid))
    return verdict


def check_student(
    verdict: Verdict, exam: Exam, s: Student, view: Any, row: Mapping[str, Any] | None
) -> None:
    """Apply the three checks to one student and add what they find to `verdict`."""
    verdict.answers_sent += len(s.sent)
    verdict.answers_acked += s.acked_count
    verdict.refused_late += s.refused
    stored: dict[str, Any] = (view or {}).get("answers", {})
    final: dict[str, dict[str, Any]] = {}
    for qid, item in s.acked.items():
        got = stored.get(qid)
        if got is not None and got["seq"] > item["seq"]:
            mine = s.history.get(got["seq"])
            if mine is not None and mine["question_id"] == qid and _same(exam, qid, mine, got):
                final[qid] = mine  # sent by this client; only its acknowledgement was lost
                continue
        if got is None or got["seq"] != item["seq"] or not _same(exam, qid, item, got):
            verdict.lost_missing += 1
            verdict.note(f"{s.cid}: acknowledged {qid} seq {item['seq']} not stored ({got})")
            continue
        final[qid] = item
    submitted = row is not None and row.get("status") == "submitted"
    if not submitted:
        # Past its end the server owed this attempt a seal with every answer: they are
        # lost (the incident's "saved as zeros"). Before its end they are still stored
        # and will be sealed at the deadline: stranded by a failed submit, not lost.
        if view is not None and _past_end(view):
            verdict.lost_unsubmitted += len(final)
        else:
            verdict.stranded += len(final)
        verdict.submissions_failed += 1
        verdict.note(f"{s.cid}: not submitted ({row and row.get('status')}; {s.failed})")
        return
    assert row is not None
    expected_kind = "manual" if s.submits else "auto"
    ok = True
    if row.get("submit_kind") != expected_kind:
        verdict.kind_mismatch += 1
        ok = False
        verdict.note(f"{s.cid}: submit_kind {row.get('submit_kind')}, expected {expected_kind}")
    if s.submits and (not s.submit_ok or set(s.submitted_at) != {row.get("submitted_at")}):
        verdict.submitted_twice += 1
        ok = False
        verdict.note(f"{s.cid}: submitted_at {s.submitted_at} vs {row.get('submitted_at')}")
    expected = recompute(exam, final, left_out(exam, s.cid))
    if Decimal(str(row.get("score"))) != expected:
        verdict.score_mismatch += 1
        ok = False
        verdict.note(f"{s.cid}: score {row.get('score')} but recomputed {expected}")
    if ok:
        verdict.submissions_ok += 1
    else:
        verdict.submissions_failed += 1


def recompute(
    exam: Exam, final: Mapping[str, Mapping[str, Any]], left_out: frozenset[str] = frozenset()
) -> Decimal:
    """The score of the client's final responses, rounded as the API rounds (2 places)."""
    total = Fraction(0)
    for q in exam.questions:
        if q.id in left_out:  # a pool question this candidate was not given
            continue
        item = final.get(q.id)
        response: Response = None if item is None else normal_form(q, item["response"])
        total += score(q.rule, response)[1]
    return round_half_away(total, 2)


def _past_end(view: Mapping[str, Any]) -> bool:
    """True when the server's clock is past the attempt's deadline plus grace."""
    deadline = datetime.fromisoformat(str(view["deadline"]).replace("Z", "+00:00"))
    now = datetime.fromisoformat(str(view["server_time"]).replace("Z", "+00:00"))
    grace = int(view.get("grace_seconds") or 0)
    return (now - deadline).total_seconds() > grace


def _same(exam: Exam, qid: str, mine: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Same response once normalised (numbers as decimals, option sets unordered)."""
    q = exam.by_id[qid]
    return bool(normal_form(q, mine["response"]) == normal_form(q, stored["response"]))
