"""Rate limits and quotas on the public routes, with the ``limits`` library.

One ``RateLimits`` per app (``app.state.rate_limits``). Each rule is named in
``Settings.rate_limits`` ("web_post_address": "30/minute;300/hour"); a request hits every window
of a rule (a moving window each), and is refused when any of them is full. Storage is in memory
(one app process) or Redis (``RATE_LIMIT_STORAGE_URL=redis://...``: several app processes share
the counts).

Identifiers (a client address, a web chat user id) are personal data: they are hashed before
they become a storage key, so neither Redis nor a memory dump holds them in clear.

When the storage fails (Redis down), requests are let through and a warning is logged: a rate
limiter must not take the assistant down with it (the body cap and the bounded work per request
still hold).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until a request would be allowed again (when refused)


ALLOWED = Decision(True)


def _storage_uri(url: str) -> tuple[str, dict[str, str]]:
    """``memory://`` / ``redis://host:port/db`` -> the library's async storage string."""
    if url.startswith(("redis://", "rediss://")):
        return f"async+{url}", {"implementation": "redispy"}
    return "async+memory://", {}


def _key(identifier: str) -> str:
    return hashlib.blake2b(identifier.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class RateLimits:
    def __init__(self, storage_url: str, rules: dict[str, str], prefix: str = "intake") -> None:
        uri, options = _storage_uri(storage_url)
        self._storage = storage_from_string(uri, key_prefix=prefix, **options)  # type: ignore[arg-type]
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(value) for name, value in rules.items()
        }

    async def hit(self, rule: str, identifier: str) -> Decision:
        """Count one request of ``identifier`` under ``rule``; refused when a window is full."""
        key = _key(identifier)
        try:
            for item in self._rules[rule]:
                if not await self._limiter.hit(item, rule, key):
                    stats = await self._limiter.get_window_stats(item, rule, key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    log.warning("rate limit reached rule=%s window=%s", rule, item)
                    return Decision(False, wait)
        except Exception as exc:  # storage down: let the request through, say so
            log.warning("rate limit storage unavailable: %s", type(exc).__name__)
        return ALLOWED

    async def reset(self) -> None:
        """Forget every count (tests; an operator after a false alarm)."""
        await self._storage.reset()
