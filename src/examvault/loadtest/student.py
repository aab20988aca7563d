"""One simulated exam page, and the HTTP client all pages share.

A page behaves as the real one must: every change gets the next `seq` and waits in an
outbox until the server acknowledges it; connection errors, timeouts, 429 and 503 are
retried with jittered exponential backoff that honours `Retry-After`; the last unsent
changes ride in the submit body. Every loop here is bounded both in tries and in time,
so a dead server ends the run with failures counted, never with a hang.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from examvault.loadtest.scenarios import Scenario

RETRYABLE = frozenset({429, 503})
MAX_TRIES = 60
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0


class GaveUp(Exception):
    """A request that could not be completed within its tries or the run's time limit."""


@dataclass(slots=True)
class Recorder:
    """Every completed request of the run, for percentiles and the timeline.

    Latency is measured from the first send to the final answer, retries included:
    that is the time a student waits until a change is durable, which is what matters.
    """

    t0: float = field(default_factory=time.monotonic)
    # (seconds since t0 at completion, latency in seconds)
    starts: list[tuple[float, float]] = field(default_factory=list)
    saves: list[tuple[float, float]] = field(default_factory=list)
    submits: list[tuple[float, float]] = field(default_factory=list)
    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def retry(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


def _nodelay_socket(addr_info: Any) -> socket.socket:
    """Sockets with Nagle off: small request bodies must not wait for a delayed ACK."""
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def check_local(url: str) -> None:
    """Refuse any target but this machine: a load tool must not be aimed elsewhere."""
    host = (urlsplit(url).hostname or "").lower()
    if host != "127.0.0.1":
        raise ValueError(f"loadtest only targets 127.0.0.1, not {host!r}")


class Http:
    """An aiohttp session with the retry policy of an exam page."""

    def __init__(
        self,
        base_url: str,
        *,
        connections: int,
        recorder: Recorder,
        stop_at: float,
        cafile: str | None = None,
    ):
        """`cafile`: the certificates to trust for an https:// URL (a proxy's own)."""
        check_local(base_url)
        self.base = base_url.rstrip("/") + "/api/v1"
        self.root = base_url.rstrip("/")
        self.recorder = recorder
        self.stop_at = stop_at
        tls: ssl.SSLContext | bool = ssl.create_default_context(cafile=cafile) if cafile else True
        connector = aiohttp.TCPConnector(
            limit=connections, force_close=False, socket_factory=_nodelay_socket, ssl=tls
        )
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=5)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def close(self) -> None:
        await self.session.close()

    async def call(
        self, method: str, path: str, token: str, body: Any = None, *, rng: random.Random
    ) -> tuple[int, Any]:
        """Send until an answer that retrying cannot change; return (status, JSON body)."""
        data = None if body is None else orjson.dumps(body)
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(MAX_TRIES):
            if time.monotonic() > self.stop_at:
                break
            retry_after: float | None = None
            try:
                self.recorder.requests += 1
                async with self.session.request(
                    method, self.base + path, data=data, headers=headers
                ) as resp:
                    raw = await resp.read()
                    if resp.status not in RETRYABLE:
                        return resp.status, _body(raw)
                    self.recorder.retry(str(resp.status))
                    retry_after = _retry_after(resp.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.recorder.retry(type(exc).__name__)
            await asyncio.sleep(_backoff(attempt, retry_after, rng))
        raise GaveUp(f"{method} {path}")


def _body(raw: bytes) -> Any:
    """The JSON body, or its text when it is not JSON (a framework's bare 500 page)."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:300].decode(errors="replace")


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, min(float(value), 30.0))
    except ValueError:
        return None


def _backoff(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Full-jitter exponential backoff, never shorter than the server's Retry-After.

    The jitter spreads thousands of clients refused in the same instant over the next
    window instead of sending them all back together.
    """
    exp = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    delay = rng.uniform(0, exp)
    if retry_after is not None:
        delay += retry_after * rng.uniform(0.5, 1.0) + retry_after * 0.5
    return delay


@dataclass(slots=True)
class Student:
    """One candidate's page: its outbox, what the server acknowledged, how it ended."""

    cid: str
    token: str
    questions: Sequence[tuple[str, str]]  # (question id, type)
    rng: random.Random
    submits: bool
    attempt_id: str = ""
    seq: int = 0
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: set[int] = field(default_factory=set)
    acked_count: int = 0
    refused: int = 0
    submitted_at: list[str] = field(default_factory=list)
    submit_kind: str | None = None
    submit_ok: bool = False
    failed: str | None = None
    local_end: float = 0.0  # monotonic time of deadline + grace, from the server's clock

    def change(self, qid: str, qtype: str, clear: bool = False) -> None:
        """The student picks (or clears) an answer: a new item with the next seq."""
        self.seq += 1
        response: Any = None if clear else _response(qtype, self.rng)
        item = {
            "question_id": qid,
            "response": response,
            "seq": self.seq,
            "marked_for_review": self.rng.random() < 0.05,
            "time_spent_ms": self.rng.randint(1000, 90000),
        }
        self.history[self.seq] = item
        self.outbox[qid] = item  # a newer change replaces an unsent older one

    def ack(self, items: Sequence[dict[str, Any]], accepted: set[int], done: set[int]) -> None:
        """Record the server's answer: `accepted` are durable, `done` leave the outbox."""
        for it in items:
            seq, qid = it["seq"], it["question_id"]
            if seq in accepted:
                self.acked_count += 1
                if qid not in self.acked or self.acked[qid]["seq"] < seq:
                    self.acked[qid] = it
            if seq in done and qid in self.outbox and self.outbox[qid]["seq"] == seq:
                del self.outbox[qid]

    def pending(self) -> list[dict[str, Any]]:
        items = sorted(self.outbox.values(), key=lambda it: it["seq"])
        self.sent.update(it["seq"] for it in items)
        return items

    async def start(self, http: Http, exam_id: str) -> None:
        began = time.monotonic()
        status, body = await http.call(
            "POST", f"/exams/{exam_id}/attempts", self.token, rng=self.rng
        )
        if status not in (200, 201):
            raise GaveUp(f"start: {status} {body}")
        done = time.monotonic()
        http.recorder.starts.append((done - http.recorder.t0, done - began))
        self.attempt_id = body["attempt_id"]
        self.seq = max(self.seq, int(body.get("last_seq") or 0))
        from datetime import datetime

        deadline = datetime.fromisoformat(body["deadline"].replace("Z", "+00:00"))
        server_now = datetime.fromisoformat(body["server_time"].replace("Z", "+00:00"))
        self.local_end = time.monotonic() + (deadline - server_now).total_seconds()

    async def flush(self, http: Http) -> None:
        """PUT the outbox until it is empty (acknowledged, stale or refused)."""
        for _ in range(20):
            items = self.pending()
            if not items:
                return
            began = time.monotonic()
            status, body = await http.call(
                "PUT",
                f"/attempts/{self.attempt_id}/answers",
                self.token,
                {"answers": items},
                rng=self.rng,
            )
            now = time.monotonic()
            if status == 200:
                http.recorder.saves.append((now - http.recorder.t0, now - began))
                accepted = set(body["accepted"])
                self.ack(items, accepted, accepted | set(body["stale"]))
            elif status == 409:  # past the end or submitted: kept in the journal, not counted
                self.refused += len(items)
                self.ack(items, set(), {it["seq"] for it in items})
            else:
                http.recorder.fail(f"save {status}")
                self.failed = f"save answered {status}: {body}"
                self.ack(items, set(), {it["seq"] for it in items})
        if self.outbox:
            raise GaveUp("outbox never emptied")

    async def submit(self, http: Http) -> None:
        """POST submit with the unsent changes in the body; retried until answered."""
        items = self.pending()
        body_out = {"answers": items} if items else None
        began = time.monotonic()
        status, body = await http.call(
            "POST", f"/attempts/{self.attempt_id}/submit", self.token, body_out, rng=self.rng
        )
        now = time.monotonic()
        if status != 200:
            http.recorder.fail(f"submit {status}")
            self.failed = f"submit answered {status}: {body}"
            return
        http.recorder.submits.append((now - http.recorder.t0, now - began))
        late = set(body.get("late") or [])
        self.refused += len(late)
        seqs = {it["seq"] for it in items}
        self.ack(items, seqs - late, seqs)
        self.submitted_at.append(body["submitted_at"])
        self.submit_kind = body["submit_kind"]
        self.submit_ok = True

    async def run(self, http: Http, exam_id: str, scenario: Scenario, submit_at: float) -> None:
        """The whole exam: start, answer and revisit with think time, then finish."""
        try:
            await asyncio.sleep(self.rng.uniform(0, scenario.start_window))
            await self.start(http, exam_id)
            work_end = submit_at
            if self.submits and scenario.submit_mode == "mixed":
                # manual submitters in a mixed exam finish at their own pace, spread out
                work_end = time.monotonic() + self.rng.uniform(0.4, 1.0) * (
                    submit_at - time.monotonic()
                )
            if not self.submits:
                # stop changing answers a safe margin before the server ends the attempt
                work_end = min(work_end, self.local_end - 1.0)
            await self._work(http, scenario, work_end)
            if self.submits:
                if scenario.submit_mode == "all":
                    pause = (
                        submit_at - time.monotonic() + self.rng.uniform(0, scenario.submit_spread)
                    )
                    await asyncio.sleep(max(0.0, pause))
                await self.submit(http)
        except GaveUp as exc:
            http.recorder.fail("gave up")
            self.failed = f"gave up: {exc}"

    async def _work(self, http: Http, scenario: Scenario, work_end: float) -> None:
        saves = max(1, scenario.saves_per_student)
        revisits = min(scenario.revisits, saves - 1)
        first = saves - revisits
        chunk = -(-len(self.questions) // first)
        for n in range(saves):
            left = work_end - time.monotonic()
            think = max(0.0, left / (saves - n + 1)) * self.rng.uniform(0.5, 1.5)
            await asyncio.sleep(min(think, max(0.0, left - 0.2)))
            if n < first:
                for qid, qtype in self.questions[n * chunk : (n + 1) * chunk]:
                    self.change(qid, qtype)
            else:
                for qid, qtype in self.rng.sample(
                    list(self.questions), min(3, len(self.questions))
                ):
                    self.change(qid, qtype, clear=self.rng.random() < 0.1)
            await self.flush(http)
        if self.submits:
            # one last change the page has not sent yet: it must travel in the submit body
            qid, qtype = self.rng.choice(list(self.questions))
            self.change(qid, qtype)


def _response(qtype: str, rng: random.Random) -> Any:
    if qtype == "single":
        return rng.choice("ABCD")
    if qtype == "multiple":
        return sorted(rng.sample("ABCD", rng.randint(1, 3)))
    return rng.choice(["2.5", "2.45", "2.55", "2.56", "3", 2, "-1e0", "2.500"])
