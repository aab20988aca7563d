"""Each response leaves in one send (web/http.py), and nothing else about HTTP changes:
a real uvicorn server on a real socket, with the protocol `examvault serve` uses."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from examvault.web.http import HttpProtocol, OneSend

Writes = list[bytes]


class _Recorder:
    """A transport that records what is written to it, for OneSend's own tests."""

    def __init__(self) -> None:
        self.writes: Writes = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"extra:{name}"


async def _one_step() -> None:
    await asyncio.sleep(0)


async def test_two_writes_of_one_step_leave_as_one() -> None:
    inner = _Recorder()
    transport = OneSend(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert inner.writes == []  # held until the body comes
    transport.write(bytearray(b"body"))
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    await _one_step()
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]  # nothing left to flush


async def test_a_lone_write_leaves_at_the_end_of_its_step_in_order() -> None:
    inner = _Recorder()
    transport = OneSend(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"first")
    await _one_step()
    assert inner.writes == [b"first"]
    transport.write(b"second")
    transport.write(b"third")
    transport.write(memoryview(b"fourth"))
    await _one_step()
    assert b"".join(inner.writes) == b"firstsecondthirdfourth"


async def test_close_sends_what_is_held_first_and_the_rest_is_the_transports() -> None:
    inner = _Recorder()
    transport = OneSend(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert inner.writes == [b"last words"] and inner.closed
    await _one_step()  # the flush scheduled by the write finds nothing held
    assert inner.writes == [b"last words"]
    assert transport.get_extra_info("peername") == "extra:peername"


# Through uvicorn, on a socket.

_SEEN: list[Writes] = []  # the real transport's writes, one list per connection


class _RecordingProtocol(HttpProtocol):
    """HttpProtocol over a transport that records what reaches the socket."""

    def connection_made(self, transport: Any) -> None:
        writes: Writes = []
        _SEEN.append(writes)
        real_write = transport.write

        class Spy:
            def __getattr__(self, name: str) -> Any:
                return getattr(transport, name)

            def write(self, data: bytes) -> None:
                writes.append(bytes(data))
                real_write(data)

        super().connection_made(Spy())


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":  # a body in three parts, with waits between them
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.001)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    body = scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def _serving() -> AsyncIterator[int]:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()  # connections wait in the backlog until the server takes them
    config = uvicorn.Config(_app, http=_RecordingProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head, await reader.readexactly(length)


async def test_a_response_reaches_the_socket_in_one_write_and_keep_alive_holds() -> None:
    _SEEN.clear()
    async with _serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in (b"/first", b"/second"):
            writer.write(b"GET " + path + b" HTTP/1.1\r\nhost: x\r\n\r\n")
            head, body = await _read_response(reader)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == path
        # two requests in one packet (pipelined): two answers, in order
        writer.write(b"GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n")
        assert (await _read_response(reader))[1] == b"/a"
        assert (await _read_response(reader))[1] == b"/b"
        writer.close()
        await writer.wait_closed()
    writes = _SEEN[0]
    assert len(writes) == 4, writes  # one write per response, headers and body together
    assert all(w.startswith(b"HTTP/1.1 200 OK") for w in writes)
    assert writes[0].endswith(b"/first")


async def test_a_streamed_body_arrives_whole_and_in_order() -> None:
    _SEEN.clear()
    async with _serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        raw = await reader.read()  # to the close
        writer.close()
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert chunked == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"


async def test_a_malformed_request_is_still_answered_400() -> None:
    async with _serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        raw = await reader.read()
        writer.close()
    assert raw.startswith(b"HTTP/1.1 400 Bad Request")
