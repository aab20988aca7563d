"""The results table: one row per registered candidate, as JSON rows or as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from examvault.clock import format_time
from examvault.domain import views
from examvault.domain.exams import Exam
from examvault.domain.totals import Totals

COUNTS = ("correct", "partial", "wrong", "unanswered")


def row(exam: Exam, r: Any, closed: bool) -> dict[str, Any]:
    """One candidate's row; ranks only once the exam is closed."""
    submitted = r.status == "submitted"
    totals = Totals.loads(r.totals) if submitted else None
    ranks = orjson.loads(r.section_ranks) if (closed and submitted and r.section_ranks) else None
    out: dict[str, Any] = {
        "candidate_id": r.candidate_id,
        "attempt_id": r.attempt_id,
        "status": r.status or "absent",
        "score": views.number(totals.whole.score) if totals else None,
        "max_score": views.number(exam.max_score),
        "sections": {s.id: views.number(totals.sections[s.id].score) for s in exam.sections}
        if totals
        else None,
    }
    for i, name in enumerate(COUNTS):
        out[name] = totals.whole.counts[i] if totals else None
    out["pending_marks"] = totals.whole.pending if totals else None
    out |= {
        "rank": r.rank if closed and submitted else None,
        "percentile": views.decimal_number(r.percentile) if closed and submitted else None,
        "submitted_at": format_time(r.submitted_at),
        "submit_kind": r.submit_kind,
        "section_ranks": {k: v[0] for k, v in ranks.items()} if ranks else None,
        "section_percentiles": {k: views.decimal_number(v[1]) for k, v in ranks.items()}
        if ranks
        else None,
    }
    return out


def results_csv(exam: Exam, rows: list[dict[str, Any]]) -> str:
    """The results table as CSV: sections flattened, null as an empty cell."""
    sids = [s.id for s in exam.sections]
    header = [
        "candidate_id", "attempt_id", "status", "score", "max_score",
        *[f"section.{s}" for s in sids],
        *COUNTS, "pending_marks", "rank", "percentile", "submitted_at", "submit_kind",
        *[f"section_rank.{s}" for s in sids],
        *[f"section_percentile.{s}" for s in sids],
    ]  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        sec = r["sections"] or {}
        sr = r["section_ranks"] or {}
        sp = r["section_percentiles"] or {}
        values = [
            r["candidate_id"],
            r["attempt_id"],
            r["status"],
            r["score"],
            r["max_score"],
            *[sec.get(s) for s in sids],
            *[r[c] for c in COUNTS],
            r["pending_marks"],
            r["rank"],
            r["percentile"],
            r["submitted_at"],
            r["submit_kind"],
            *[sr.get(s) for s in sids],
            *[sp.get(s) for s in sids],
        ]  # fmt: skip
        writer.writerow(["" if v is None else v for v in values])
    return buf.getvalue()
