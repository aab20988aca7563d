"""Bearer tokens of candidates and invigilators: made, stored and looked up alike.

A token is shown once, at registration; only its SHA-256 is stored. Tokens carry 192
random bits, so a plain hash is enough (no salt or slow hash: nothing to brute-force),
and looking a token up by its hash compares no secret byte by byte. The lookup is
cached per process: a registration never changes once made. Unknown tokens are not
cached, so a token registered through another process is found at its first use.

At the start of an exam every candidate's first request arrives in the same second, each
with a token this process has not seen. So the first token found of a group (an exam)
brings the whole group's tokens with it, in one read instead of one read per candidate;
lookups that miss while that read runs wait for it rather than read one by one. A
group is read again at most every `regroup_seconds` (candidates registered later are
still found one by one meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
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

    def __init__(
        self,
        load: Callable[[str], Awaitable[T | None]],
        limit: int,
        *,
        group_of: Callable[[T], Hashable] | None = None,
        load_group: Callable[[T], Awaitable[Sequence[tuple[str, T]]]] | None = None,
        regroup_seconds: float = 60.0,
    ) -> None:
        self._load = load
        self._cache: OrderedDict[str, T] = OrderedDict()
        self._limit = limit
        self._group_of = group_of
        self._load_group = load_group
        self._regroup_seconds = regroup_seconds
        self._grouped: dict[Hashable, float] = {}
        self._grouping: asyncio.Task[None] | None = None

    async def find(self, token: str) -> T | None:
        """Who holds this token, or None; `load` reads the store on a miss."""
        digest = hash_token(token)
        found = self._cache.get(digest)
        if found is not None:
            return found
        grouping = self._grouping
        if grouping is not None and not grouping.done():
            await asyncio.shield(grouping)
            found = self._cache.get(digest)
            if found is not None:
                return found
        found = await self._load(digest)
        if found is None:
            return None
        self._put(digest, found)
        self._maybe_group(found)
        return found

    def _put(self, digest: str, found: T) -> None:
        self._cache[digest] = found
        if len(self._cache) > self._limit:
            self._cache.popitem(last=False)

    def _maybe_group(self, found: T) -> None:
        if self._group_of is None or self._load_group is None:
            return
        if self._grouping is not None and not self._grouping.done():
            return
        group = self._group_of(found)
        now = time.monotonic()
        if now - self._grouped.get(group, -self._regroup_seconds) < self._regroup_seconds:
            return
        self._grouped[group] = now
        if len(self._grouped) > 10_000:  # a long-running process, many exams
            self._grouped.clear()
        self._grouping = asyncio.create_task(self._read_group(found))

    async def settle(self) -> None:
        """Wait for a read of a whole group begun in the background, if one is running:
        at stop, before the store's engines go. Left running, it would be dropped with
        the event loop while holding a pooled connection, and that connection never
        given back (SQLAlchemy warns of it whenever the collector finds it)."""
        if self._grouping is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._grouping

    async def _read_group(self, found: T) -> None:
        assert self._load_group is not None
        try:
            members = await self._load_group(found)
        except Exception:  # a lookup one by one still works; the group waits its turn
            return
        for digest, member in members[: self._limit]:
            self._put(digest, member)
