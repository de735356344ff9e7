"""Per-conversation ordering: one holder at a time, in this process and across processes.

The one module that chooses how (``ConversationLocks.for_engine``):

- SQLite (one app process, one writer): an ``asyncio.Lock`` per key, in process memory.
- PostgreSQL (several app processes): the same in-process lock (tasks of one process queue on it
  without touching the database), then a session-level advisory lock on a connection of its own,
  keyed on a 64-bit hash of the key (``pg_try_advisory_lock``). PostgreSQL releases it when the
  holder unlocks, or when its connection ends: a process killed with ``kill -9`` frees its
  conversations at once, with no lease to wait out.

A holder keeps one connection while it holds the lock (the time of one Rasa turn). These come
from a pool of their own (``LOCK_POOL_SIZE`` + ``LOCK_POOL_OVERFLOW`` per process), never from the
app's: lock holders waiting for a query connection held by other lock holders would deadlock.
Count them in PostgreSQL's ``max_connections`` (README, Production).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import sibling_engine

log = logging.getLogger(__name__)

_FIRST_WAIT = 0.02  # seconds between tries while another process holds the lock (doubling)
_LONGEST_WAIT = 0.25
LOCK_POOL_SIZE = 10
LOCK_POOL_OVERFLOW = 30


def advisory_key(key: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class ConversationLocks:
    def __init__(self, db: AsyncEngine | None = None) -> None:
        """``db``: a PostgreSQL engine for the cross-process advisory lock; None: in-process
        only (SQLite, or a single process)."""
        self._db = db
        self._local: dict[str, asyncio.Lock] = {}

    @classmethod
    def for_engine(cls, db: AsyncEngine) -> ConversationLocks:
        """In-process locks on SQLite; on PostgreSQL, advisory locks on connections of a pool
        of their own to the same database."""
        if db.dialect.name != "postgresql":
            return cls(None)
        pool = sibling_engine(db, pool_size=LOCK_POOL_SIZE, max_overflow=LOCK_POOL_OVERFLOW)
        return cls(pool)

    async def aclose(self) -> None:
        if self._db is not None:
            await self._db.dispose()

    @property
    def cross_process(self) -> bool:
        return self._db is not None

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._local.get(key)
        if lock is None:
            lock = self._local[key] = asyncio.Lock()
        return lock

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Wait for the lock of ``key``, hold it for the block."""
        async with self._lock(key):
            if self._db is None:
                yield
                return
            async with self._advisory(key, wait=True) as held:
                assert held
                yield

    @contextlib.asynccontextmanager
    async def try_hold(self, key: str) -> AsyncIterator[bool]:
        """Take the lock of ``key`` only if nobody holds it (True); False at once otherwise
        (the retry worker leaves a conversation that is being answered)."""
        lock = self._lock(key)
        if lock.locked():
            yield False
            return
        async with lock:
            if self._db is None:
                yield True
                return
            async with self._advisory(key, wait=False) as held:
                yield held

    @contextlib.asynccontextmanager
    async def _advisory(self, key: str, *, wait: bool) -> AsyncIterator[bool]:
        assert self._db is not None
        number = advisory_key(key)
        conn = await self._db.connect()
        held = False
        try:
            delay = _FIRST_WAIT
            while True:
                held = bool(
                    await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": number})
                )
                await conn.commit()  # never "idle in transaction" while holding the lock
                if held or not wait:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LONGEST_WAIT)
            yield held
        finally:
            # Shielded: a task cancelled while it holds the lock (or while the try that took it
            # was on its way back) must still release it.
            await asyncio.shield(self._release(conn))

    @staticmethod
    async def _release(conn: AsyncConnection) -> None:
        """Every advisory lock of the session, whether or not this side knows it got it (a
        cancellation may come between the server taking it and the answer): a connection of
        this pool holds one lock at most, and must go back to the pool holding none."""
        try:
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
            await conn.commit()
        except BaseException:  # unknown state: the session ends, and its locks with it
            log.warning("advisory unlock failed; connection discarded")
            with contextlib.suppress(Exception):
                await conn.invalidate()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
