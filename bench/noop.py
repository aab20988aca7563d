"""A bare ASGI no-op: 200 and two bytes for any request, under the same uvicorn settings
as `examvault serve` (uvloop, httptools, no access log, one process).

    .venv/bin/python bench/noop.py --port 8001

It is the ceiling of bench/ceiling.py: what HTTP parsing and the event loop alone allow
on this machine, measured with the same wrk and in the same run as examvault.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]

HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="bench/noop.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,  # as `examvault serve` without --forwarded-allow-ips
        log_level="warning",
    )


if __name__ == "__main__":
    main()
