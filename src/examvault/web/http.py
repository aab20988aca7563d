"""uvicorn's HTTP protocol (httptools), with each response sent in one `send()`.

uvicorn writes a response's status line and headers in one `transport.write` and its
body in another. uvloop sends each at once, so every response left as two TCP segments:
two system calls here, and two wake-ups and two reads for the client. Over loopback, the
kernel delivers a segment to the receiver in the sender's system call, which doubles
the cost again. At 2,000 `live` polls a second beside the saves, those two writes were
16 % of the server's samples (py-spy; docs/performance.md, "… one send per response …").
aiohttp's server joins them for the same reason (aio-libs/aiohttp#10991); uvicorn has no
such option, so this protocol gives uvicorn's a transport that joins them.

`OneSend` holds the first write of a step of the event loop and joins it to the next
write made in the same step, which leaves at once. A write that nothing follows leaves
at the end of that step (`call_soon`): nothing waits longer than the step that made it,
and the order of the bytes never changes. Closing the transport sends what is held
first, as a transport's own `close()` sends its buffer.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneSend:
    """A transport whose two writes of one step leave in one send (see the module)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._held = None
            self._transport.write(held + data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `OneSend` transport (`examvault serve` uses it)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        one_send = OneSend(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, one_send))
