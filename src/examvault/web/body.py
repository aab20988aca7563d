"""Reading a JSON body in docs/api.md's order: size (413), content type (415), JSON (400).

Bodies are read here rather than by the framework because the order of checks is part
of the contract (a token error before a size error, a size error before a parse error)
and because numbers must be read as decimals: a JSON 0.1 is the decimal 0.1.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.types import Receive

from examvault import errors

# A lone UTF-16 surrogate is not text: it cannot be encoded as UTF-8, so it cannot be
# stored, logged or echoed in a problem. JSON lets one in through a `\ud800` escape, and
# `json.loads` of bytes lets in its UTF-8-like form (bytes ED A0..BF) as well. Only a body
# with one of these is walked; a valid pair is joined into one character by the parser.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def lone_surrogate_at(value: Any, loc: list[Any]) -> list[Any] | None:
    """Where in a parsed document a string (a value or a field name) is not valid Unicode."""
    stack: list[tuple[Any, list[Any]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if lone_surrogate_at(key, []) is not None:
                    return where  # the field name itself: never copy it into a loc
                stack.append((child, [*where, key]))
        elif isinstance(item, list | tuple):
            stack.extend((child, [*where, i]) for i, child in enumerate(item))
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


# One decoder for every body (`json.loads` with options builds a new one each call); the
# bytes are decoded as `json.loads` decodes them.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_bytes(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    return await receive_bytes(request.receive, request.headers.get("content-length"), limit)


async def receive_bytes(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The raw body from ASGI messages (413 past `limit`; a client gone is a 499)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # gone in the middle of its body: nothing was done, nothing to say
            raise errors.ClientClosed()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json(request: Request, limit: int, *, required: bool = True) -> Any:
    """The parsed body, or None when it is optional and absent."""
    raw = await read_bytes(request, limit)
    return parse_json(raw, request.headers.get("content-type", ""), required=required)


def parse_json(raw: bytes, content_type: str, *, required: bool = True) -> Any:
    """A body's JSON value, or None when it is optional and absent; 400/415/422 else."""
    if not raw.strip():
        if required:
            raise errors.InvalidBody([{"loc": ["body"], "msg": "a JSON body is required"}])
        return None
    if not _is_json(content_type):
        raise errors.UnsupportedMediaType("send the body as Content-Type: application/json")
    try:
        value = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except (ValueError, RecursionError, ArithmeticError) as exc:
        why = f"not valid JSON: {str(exc)[:200]}"
        raise errors.MalformedBody(
            f"the body is {why}", errors=[{"loc": ["body"], "msg": why}]
        ) from None
    if _MAYBE_SURROGATE.search(raw) and (where := lone_surrogate_at(value, ["body"])):
        why = "a string holds a lone UTF-16 surrogate, which is not text"
        raise errors.MalformedBody(
            f"the body is not valid JSON text: {why}", errors=[{"loc": where, "msg": why}]
        )
    if value is None:
        # Every body of this API is an object. A `null` must not pass for "no body": a
        # submit sent `null` would otherwise seal the attempt as if it had no body at all.
        raise errors.InvalidBody([{"loc": ["body"], "msg": "expected an object, not null"}])
    return value
