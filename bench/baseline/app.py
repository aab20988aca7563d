"""The baseline server: raw answers during the exam, everything else inside submit.

What it does is what the incident's portal did, on our stack, without sleeps or
artificial slowness:
- a save reads the attempt's raw-answers JSON, merges the items (highest `seq` wins, so
  the same load tool's retries are safe), and writes the document back: nothing scored;
- a submit, in one request and one transaction, reads every question's marking rule
  with a query of its own, scores every answer, computes section statistics over every
  submitted attempt, the percentile of this score among them, builds the result object,
  and stores it.
It is given a fair chance: the same durability (SQLite WAL + synchronous=FULL, or
PostgreSQL), `BEGIN IMMEDIATE` for writes on SQLite (so SQLite's lock upgrade is not
what fails it), the same busy timeout and uvicorn settings as examvault. It has no
server-side clock: like the portal, it relies on the page to submit at the deadline.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from examvault.domain import marking
from examvault.domain.answers import check_response, normal_form
from examvault.domain.exams import Exam, compile_exam, key_for, parse_definition
from examvault.domain.views import number

meta = sa.MetaData()
exams = sa.Table(
    "exams",
    meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("duration", sa.Integer, nullable=False),
    sa.Column("grace", sa.Integer, nullable=False),
)
rules = sa.Table(
    "marking_rules",
    meta,
    sa.Column("exam_id", sa.String(64), primary_key=True),
    sa.Column("question_id", sa.String(64), primary_key=True),
    sa.Column("section_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("marking", sa.Text, nullable=False),
)
candidates = sa.Table(
    "candidates",
    meta,
    sa.Column("exam_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
)
attempts = sa.Table(
    "attempts",
    meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("exam_id", sa.String(64), nullable=False),
    sa.Column("candidate_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("deadline", sa.Float, nullable=False),
    sa.Column("raw_answers", sa.Text, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("submitted_at", sa.Float),
    sa.Column("submit_kind", sa.String(16)),
    sa.Column("score", sa.String(64)),
    sa.Column("score_num", sa.Float),
    sa.Column("result", sa.Text),
    sa.UniqueConstraint("exam_id", "candidate_id"),
)


class Problem(Exception):
    """An error answered as problem+json, as docs/api.md asks of every error."""

    def __init__(self, status: int, title: str, kind: str = "about:blank") -> None:
        super().__init__(title)
        self.status, self.title, self.kind = status, title, kind


def _engines(url: str) -> tuple[AsyncEngine, AsyncEngine]:
    if url.startswith("sqlite"):
        aurl = url.replace("sqlite://", "sqlite+aiosqlite://", 1)
        write = create_async_engine(aurl, pool_size=10, max_overflow=10)
        read = create_async_engine(aurl, pool_size=10, max_overflow=10)
        for engine, immediate in ((write, True), (read, False)):
            _sqlite(engine, immediate)
        return read, write
    aurl = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(aurl, pool_size=10, max_overflow=10)
    return engine, engine


def _sqlite(engine: AsyncEngine, immediate: bool) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _now() -> float:
    return time.time()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _json(request_body: bytes) -> Any:
    try:
        return json.loads(request_body, parse_float=Decimal) if request_body else None
    except ValueError:
        raise Problem(400, "Malformed JSON") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, default=lambda d: str(d) if isinstance(d, Decimal) else d)


def create_app() -> FastAPI:
    """The baseline app; the database URL comes from BASELINE_DATABASE_URL."""
    url = os.environ["BASELINE_DATABASE_URL"]
    admin_token = os.environ["EXAMVAULT_ADMIN_TOKEN"]
    read, write = _engines(url)
    compiled: dict[str, Exam] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with write.begin() as conn:
            await conn.run_sync(meta.create_all)
        yield
        await read.dispose()
        await write.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> Response:
        body = {"type": exc.kind, "title": exc.title, "status": exc.status, "detail": exc.title}
        return JSONResponse(body, exc.status, media_type="application/problem+json")

    def _admin(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {admin_token}":
            raise Problem(401, "Unauthorized")

    async def _candidate(conn: AsyncConnection, request: Request) -> Any:
        auth = request.headers.get("authorization", "")
        row = (
            await conn.execute(
                sa.select(candidates).where(candidates.c.token_hash == _hash(auth[7:]))
            )
        ).first()
        if row is None:
            raise Problem(401, "Unauthorized")
        return row

    async def _attempt(conn: AsyncConnection, request: Request, attempt_id: str) -> Any:
        who = await _candidate(conn, request)
        row = (await conn.execute(sa.select(attempts).where(attempts.c.id == attempt_id))).first()
        if row is None or row.candidate_id != who.id or row.exam_id != who.exam_id:
            raise Problem(404, "Not found")
        return row

    def _view(row: Any) -> dict[str, Any]:
        return {
            "attempt_id": row.id,
            "exam_id": row.exam_id,
            "status": row.status,
            "started_at": _iso(row.started_at),
            "deadline": _iso(row.deadline),
            "server_time": _iso(_now()),
            "submitted_at": _iso(row.submitted_at),
            "submit_kind": row.submit_kind,
            "sections": [],
            "answers": json.loads(row.raw_answers),
            "last_seq": row.last_seq,
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        async with read.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/api/v1/exams", status_code=201)
    async def put_exam(request: Request) -> Response:
        _admin(request)
        doc = _json(await request.body())
        exam = parse_definition(doc)
        async with write.begin() as conn:
            found = (await conn.execute(sa.select(exams.c.id).where(exams.c.id == exam.id))).first()
            if found:
                return JSONResponse({"id": exam.id, "version": 1}, 200)
            await conn.execute(
                exams.insert().values(
                    id=exam.id,
                    definition=_dumps(doc),
                    duration=exam.duration_seconds,
                    grace=exam.grace_seconds,
                )
            )
            rows, pos = [], 0
            for s in doc["sections"]:
                for q in s["questions"]:
                    rows.append(
                        {
                            "exam_id": exam.id,
                            "question_id": q["id"],
                            "section_id": s["id"],
                            "position": pos,
                            "type": q["type"],
                            "answer": _dumps(q["answer"]),
                            "marking": _dumps(q.get("marking", "plus4")),
                        }
                    )
                    pos += 1
            await conn.execute(rules.insert(), rows)
        return JSONResponse({"id": exam.id, "version": 1}, 201)

    @app.post("/api/v1/exams/{exam_id}/candidates", status_code=201)
    async def register(exam_id: str, request: Request) -> dict[str, Any]:
        _admin(request)
        body = _json(await request.body())
        issued, rows = [], []
        for c in body["candidates"]:
            token = secrets.token_urlsafe(24)
            rows.append(
                {
                    "exam_id": exam_id,
                    "id": c["id"],
                    "name": c.get("name", ""),
                    "token_hash": _hash(token),
                }
            )
            issued.append({"id": c["id"], "token": token})
        async with write.begin() as conn:
            await conn.execute(candidates.insert(), rows)
        return {"candidates": issued}

    @app.post("/api/v1/exams/{exam_id}/attempts")
    async def start(exam_id: str, request: Request) -> Response:
        async with write.begin() as conn:
            who = await _candidate(conn, request)
            if who.exam_id != exam_id:
                raise Problem(404, "Not found")
            row = (
                await conn.execute(
                    sa.select(attempts).where(
                        attempts.c.exam_id == exam_id, attempts.c.candidate_id == who.id
                    )
                )
            ).first()
            status = 200
            if row is None:
                ex = (await conn.execute(sa.select(exams).where(exams.c.id == exam_id))).one()
                now = _now()
                await conn.execute(
                    attempts.insert().values(
                        id=secrets.token_hex(12),
                        exam_id=exam_id,
                        candidate_id=who.id,
                        status="in_progress",
                        started_at=now,
                        deadline=now + ex.duration,
                        raw_answers="{}",
                        last_seq=0,
                    )
                )
                row = (
                    await conn.execute(
                        sa.select(attempts).where(
                            attempts.c.exam_id == exam_id, attempts.c.candidate_id == who.id
                        )
                    )
                ).one()
                status = 201
        return JSONResponse(_view(row), status)

    @app.get("/api/v1/attempts/{attempt_id}")
    async def view(attempt_id: str, request: Request) -> dict[str, Any]:
        async with read.connect() as conn:
            return _view(await _attempt(conn, request, attempt_id))

    async def _merge(
        conn: AsyncConnection, row: Any, items: list[Any]
    ) -> tuple[list[int], list[int], int]:
        """Merge items into the raw document: the highest seq per question wins."""
        exam = compiled.get(row.exam_id)
        if exam is None:  # cached: a portal validates against its in-memory exam, too
            ex = (await conn.execute(sa.select(exams).where(exams.c.id == row.exam_id))).one()
            doc = json.loads(ex.definition, parse_float=Decimal)
            exam = compiled[row.exam_id] = compile_exam(parse_definition(doc), version=1)
        answers = json.loads(row.raw_answers, parse_float=Decimal)
        accepted, stale, last = [], [], row.last_seq
        for it in sorted(items, key=lambda i: i["seq"]):
            q = exam.by_id.get(it.get("question_id"))
            if q is None or check_response(q, it.get("response")) is not None:
                raise Problem(422, "Invalid answer")
            held = answers.get(q.id)
            entry = {
                "response": it.get("response"),
                "seq": it["seq"],
                "marked_for_review": bool(it.get("marked_for_review")),
            }
            if held is None or held["seq"] < it["seq"]:
                answers[q.id] = entry
                accepted.append(it["seq"])
                last = max(last, it["seq"])
            elif held["seq"] == it["seq"] and normal_form(q, held["response"]) == normal_form(
                q, it.get("response")
            ):
                accepted.append(it["seq"])
            else:
                stale.append(it["seq"])
        await conn.execute(
            attempts.update()
            .where(attempts.c.id == row.id)
            .values(raw_answers=_dumps(answers), last_seq=last)
        )
        return accepted, stale, last

    @app.put("/api/v1/attempts/{attempt_id}/answers")
    async def save(attempt_id: str, request: Request) -> dict[str, Any]:
        body = _json(await request.body())
        async with write.begin() as conn:
            row = await _attempt(conn, request, attempt_id)
            ex = (
                await conn.execute(sa.select(exams.c.grace).where(exams.c.id == row.exam_id))
            ).one()
            if row.status == "submitted":
                raise Problem(409, "Submitted", "urn:examvault:submitted")
            if _now() > row.deadline + ex.grace:
                raise Problem(409, "Past the deadline", "urn:examvault:past-deadline")
            accepted, stale, last = await _merge(conn, row, body["answers"])
        return {
            "accepted": accepted,
            "stale": stale,
            "last_seq": last,
            "server_time": _iso(_now()),
            "deadline": _iso(row.deadline),
        }

    @app.post("/api/v1/attempts/{attempt_id}/submit")
    async def submit(attempt_id: str, request: Request) -> dict[str, Any]:
        body = _json(await request.body())
        async with write.begin() as conn:
            row = await _attempt(conn, request, attempt_id)
            if row.status == "submitted":
                return _submitted(row, [])
            if body and body.get("answers"):
                await _merge(conn, row, body["answers"])
                row = (await conn.execute(sa.select(attempts).where(attempts.c.id == row.id))).one()
            result, whole, whole_num = await _score_everything(conn, row)
            now = _now()
            await conn.execute(
                attempts.update()
                .where(attempts.c.id == row.id)
                .values(
                    status="submitted",
                    submitted_at=now,
                    submit_kind="manual",
                    score=str(whole),
                    score_num=whole_num,
                    result=_dumps(result),
                )
            )
            row = (await conn.execute(sa.select(attempts).where(attempts.c.id == row.id))).one()
        return _submitted(row, [])

    def _submitted(row: Any, late: list[int]) -> dict[str, Any]:
        return {
            "status": "submitted",
            "submitted_at": _iso(row.submitted_at),
            "submit_kind": row.submit_kind,
            "result": json.loads(row.result),
            "late": late,
        }

    async def _score_everything(
        conn: AsyncConnection, row: Any
    ) -> tuple[dict[str, Any], Fraction, float]:
        """The incident's submission: a rule query per question, stats, percentiles."""
        answers = json.loads(row.raw_answers, parse_float=Decimal)
        qids = (
            (
                await conn.execute(
                    sa.select(rules.c.question_id)
                    .where(rules.c.exam_id == row.exam_id)
                    .order_by(rules.c.position)
                )
            )
            .scalars()
            .all()
        )
        sections: dict[str, dict[str, Any]] = {}
        whole = Fraction(0)
        counts = dict.fromkeys(marking.OUTCOMES, 0)
        for qid in qids:
            r = (
                await conn.execute(
                    sa.select(rules).where(
                        rules.c.exam_id == row.exam_id, rules.c.question_id == qid
                    )
                )
            ).one()
            mk_raw = json.loads(r.marking, parse_float=Decimal)
            mk = (
                marking.PRESETS[mk_raw]
                if isinstance(mk_raw, str)
                else marking.Marking(
                    correct=marking.parse_mark(mk_raw.get("correct", 1)),
                    wrong=marking.parse_mark(mk_raw.get("wrong", 0)),
                    unanswered=marking.parse_mark(mk_raw.get("unanswered", 0)),
                    partial=mk_raw.get("partial", "none"),
                    partial_per_option=marking.parse_mark(mk_raw.get("partial_per_option", 1)),
                )
            )
            rule = marking.Rule(
                type=r.type,
                key=key_for(r.type, json.loads(r.answer, parse_float=Decimal)),
                marking=mk,
            )
            held = answers.get(qid)
            raw = None if held is None else held["response"]
            response: marking.Response = (
                None
                if marking.is_unanswered(raw)
                else (
                    str(raw)
                    if r.type == "single"
                    else frozenset(raw)
                    if r.type == "multiple"
                    else marking.read_number(raw)
                )
            )
            outcome, points = marking.score(rule, response)
            sec = sections.setdefault(
                r.section_id,
                {"id": r.section_id, "score": Fraction(0), "max_score": Fraction(0)}
                | dict.fromkeys(marking.OUTCOMES, 0),
            )
            sec["score"] += points
            sec["max_score"] += mk.correct
            sec[outcome] += 1
            counts[outcome] += 1
            whole += points
        # section statistics and percentile among everyone submitted so far
        others = (
            await conn.execute(
                sa.select(attempts.c.score_num, attempts.c.result).where(
                    attempts.c.exam_id == row.exam_id, attempts.c.status == "submitted"
                )
            )
        ).all()
        mine = float(whole)
        scores = [o.score_num for o in others] + [mine]
        below = sum(1 for s in scores if s < mine)
        percentile = round(100.0 * below / len(scores), 2)
        stats: dict[str, dict[str, float]] = {}
        for sid, sec in sections.items():
            values = [float(json.loads(o.result)["sections_raw"].get(sid, 0)) for o in others]
            values.append(float(sec["score"]))
            stats[sid] = {"mean": sum(values) / len(values), "max": max(values)}
        result = {
            "score": number(whole),
            "max_score": number(sum((s["max_score"] for s in sections.values()), Fraction(0))),
            **counts,
            "sections": [
                {**s, "score": number(s["score"]), "max_score": number(s["max_score"])}
                for s in sections.values()
            ],
            "section_stats": stats,
            "sections_raw": {k: float(s["score"]) for k, s in sections.items()},
            "rank": 1 + sum(1 for s in scores if s > mine),
            "percentile": percentile,
        }
        return result, whole, mine

    @app.get("/api/v1/attempts/{attempt_id}/result")
    async def result(attempt_id: str, request: Request) -> Any:
        async with read.connect() as conn:
            row = await _attempt(conn, request, attempt_id)
        if row.result is None:
            raise Problem(409, "Not released", "urn:examvault:not-released")
        return json.loads(row.result)

    @app.get("/api/v1/exams/{exam_id}/results")
    async def results(exam_id: str, request: Request) -> dict[str, Any]:
        _admin(request)
        async with read.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(candidates.c.id.label("cand_id"), attempts)
                    .select_from(
                        candidates.outerjoin(
                            attempts,
                            sa.and_(
                                attempts.c.exam_id == candidates.c.exam_id,
                                attempts.c.candidate_id == candidates.c.id,
                            ),
                        )
                    )
                    .where(candidates.c.exam_id == exam_id)
                    .order_by(candidates.c.id)
                )
            ).all()
        out = []
        for r in rows:
            res = json.loads(r.result) if r.result else None
            out.append(
                {
                    "candidate_id": r.cand_id,
                    "attempt_id": r.id,
                    "status": r.status or "absent",
                    "score": number(Fraction(r.score)) if r.score else None,
                    "submitted_at": _iso(r.submitted_at),
                    "submit_kind": r.submit_kind,
                    "rank": None,
                    "percentile": res and res["percentile"],
                }
            )
        return {"results": out}

    return app
