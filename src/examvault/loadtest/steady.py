"""Steady autosave: acknowledged saves per second at a fixed concurrency, and the ceiling.

The ceiling is the same server's rate on a no-op endpoint (`GET /healthz`) with the same
client and concurrency, measured in the same run: it is what HTTP parsing and the event
loop alone allow on this machine, so the ratio saves/ceiling says how much the durable
write path costs on top of HTTP. The client may run in several processes, because one
Python process cannot produce as many requests as the server can answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import uvloop

from examvault.loadtest.report import percentile
from examvault.loadtest.scenarios import exam_document
from examvault.loadtest.student import Http, Recorder, _nodelay_socket


@dataclass(frozen=True, slots=True)
class Seat:
    """One started attempt the benchmark writes to."""

    token: str
    attempt_id: str


async def register(
    http: Http, admin: str, count: int, questions: int, rng: random.Random
) -> tuple[str, list[str]]:
    """A new exam of `questions` questions and `count` registered candidates' tokens."""
    exam_id = f"steady-{random.randrange(1 << 30):x}"
    await http.call("POST", "/exams", admin, exam_document(exam_id, questions, 36000, 30), rng=rng)
    tokens: list[str] = []
    for i in range(0, count, 1000):
        chunk = [{"id": f"S{n:05d}"} for n in range(i, min(count, i + 1000))]
        status, body = await http.call(
            "POST", f"/exams/{exam_id}/candidates", admin, {"candidates": chunk}, rng=rng
        )
        assert status == 201, body
        tokens += [c["token"] for c in body["candidates"]]
    return exam_id, tokens


async def prepare(url: str, admin: str, seats: int, questions: int) -> list[Seat]:
    """An exam and `seats` started attempts; writes are spread over them to stay under
    the per-candidate rate limit, as a real exam's saves are."""
    rng = random.Random(7)
    http = Http(url, connections=64, recorder=Recorder(), stop_at=time.monotonic() + 300)
    try:
        exam_id, tokens = await register(http, admin, seats, questions, rng)

        async def start(token: str) -> Seat:
            status, body = await http.call("POST", f"/exams/{exam_id}/attempts", token, rng=rng)
            assert status in (200, 201), body
            return Seat(token, body["attempt_id"])

        return list(await asyncio.gather(*(start(t) for t in tokens)))
    finally:
        await http.close()


async def hammer(
    url: str,
    seats: list[Seat],
    concurrency: int,
    seconds: float,
    mode: str,
    questions: int,
    first_seq: int = 0,
) -> dict[str, Any]:
    """`concurrency` loops sending back to back for `seconds`; counts, latencies, and for
    saves the highest seq acknowledged per (attempt, question), to check none was lost.
    A later run on the same seats starts above the earlier one's seqs (`first_seq`)."""
    connector = aiohttp.TCPConnector(limit=concurrency, socket_factory=_nodelay_socket)
    ok = 0
    other: dict[int, int] = {}
    lat: list[float] = []
    seq = dict.fromkeys(range(len(seats)), first_seq)
    acked: dict[tuple[str, str], int] = {}
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.monotonic() + seconds

        async def loop(w: int) -> None:
            nonlocal ok
            i = w
            while time.monotonic() < end:
                began = time.monotonic()
                key: tuple[str, str] | None = None
                sent = 0
                if mode == "healthz":
                    resp_ctx = session.get(f"{url}/healthz")
                else:
                    n = i % len(seats)
                    seq[n] += 1
                    # single-choice questions are every third one (see exam_document)
                    qid = f"q{3 * (seq[n] % max(1, questions // 3)):03d}"
                    item = {
                        "question_id": qid,
                        "response": "B",
                        "seq": seq[n],
                    }
                    key = (seats[n].attempt_id, qid)
                    sent = seq[n]
                    resp_ctx = session.put(
                        f"{url}/api/v1/attempts/{seats[n].attempt_id}/answers",
                        data=orjson.dumps({"answers": [item]}),
                        headers={
                            "Authorization": f"Bearer {seats[n].token}",
                            "Content-Type": "application/json",
                        },
                    )
                    i += concurrency
                try:
                    async with resp_ctx as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                if status == 200:
                    ok += 1
                    lat.append(time.monotonic() - began)
                    if key is not None:
                        acked[key] = max(acked.get(key, 0), sent)
                else:
                    other[status] = other.get(status, 0) + 1
                    await asyncio.sleep(0.01)

        await asyncio.gather(*(loop(w) for w in range(concurrency)))
    return {"ok": ok, "other": other, "lat": lat, "acked": acked}


def _hammer_process(args: tuple[str, list[Seat], int, float, str, int]) -> dict[str, Any]:
    return uvloop.run(hammer(*args))


def measure(
    url: str,
    seats: list[Seat],
    *,
    concurrency: int,
    seconds: float,
    mode: str,
    processes: int = 1,
    questions: int = 10,
) -> dict[str, Any]:
    """Run `mode` ("save" or "healthz") from `processes` client processes; the rate and p99.

    Each process gets its own slice of the seats, so two processes never write to the
    same attempt and every seq stays increasing.
    """
    per = max(1, concurrency // processes)
    share = max(1, len(seats) // processes)
    jobs = [
        (url, seats[p * share : (p + 1) * share], per, seconds, mode, questions)
        for p in range(processes)
    ]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        parts = list(pool.map(_hammer_process, jobs))
    lat = [x for p in parts for x in p["lat"]]
    ok = sum(p["ok"] for p in parts)
    other: dict[str, int] = {}
    for p in parts:
        for k, n in p["other"].items():
            other[str(k)] = other.get(str(k), 0) + n
    p99 = percentile(lat, 99)
    p50 = percentile(lat, 50)
    return {
        "mode": mode,
        "concurrency": per * processes,
        "client_processes": processes,
        "seconds": seconds,
        "ok": ok,
        "per_s": round(ok / seconds, 1),
        "p50_ms": None if p50 is None else round(p50 * 1000, 2),
        "p99_ms": None if p99 is None else round(p99 * 1000, 2),
        "not_ok": other,
    }
