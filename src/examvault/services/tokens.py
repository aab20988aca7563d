"""Bearer tokens of candidates and invigilators: made, stored and looked up alike.

A token is shown once, at registration; only its SHA-256 is stored. Tokens carry 192
random bits, so a plain hash is enough (no salt or slow hash: nothing to brute-force),
and looking a token up by its hash compares no secret byte by byte. The lookup is
cached per process: a registration never changes once made. Unknown tokens are not
cached, so a token registered through another process is found at its first use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class TokenCache(Generic[T]):
    """Token hash → who holds it, bounded (the oldest entry goes first)."""

    def __init__(self, load: Callable[[str], Awaitable[T | None]], limit: int) -> None:
        self._load = load
        self._cache: OrderedDict[str, T] = OrderedDict()
        self._limit = limit

    async def find(self, token: str) -> T | None:
        """Who holds this token, or None; `load` reads the store on a miss."""
        digest = hash_token(token)
        found = self._cache.get(digest)
        if found is not None:
            return found
        found = await self._load(digest)
        if found is None:
            return None
        self._cache[digest] = found
        if len(self._cache) > self._limit:
            self._cache.popitem(last=False)
        return found
