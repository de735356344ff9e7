"""Rate limits with the ``limits`` library: in memory, and in the real Redis on loopback (the
storage several app processes share); a storage that is down lets requests through, loudly."""

from __future__ import annotations

import logging
import uuid

import pytest
import redis

from bot.ratelimit import RateLimits

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if not redis_available():  # .ci/run starts Redis: CI runs this case
        pytest.fail(f"Redis at {REDIS_URL} is not reachable")
    return REDIS_URL


async def test_a_rule_refuses_past_its_window_with_a_retry_after(storage_url: str) -> None:
    limits = RateLimits(storage_url, {"web": "3/minute"}, prefix=f"test-{uuid.uuid4().hex}")
    decisions = [await limits.hit("web", "203.0.113.7") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 1 <= decisions[-1].retry_after <= 60
    # Another address has its own count.
    assert (await limits.hit("web", "203.0.113.8")).allowed
    await limits.reset()
    assert (await limits.hit("web", "203.0.113.7")).allowed


async def test_every_window_of_a_rule_counts(storage_url: str) -> None:
    limits = RateLimits(storage_url, {"web": "5/minute;2/hour"}, prefix=f"t-{uuid.uuid4().hex}")
    assert [(await limits.hit("web", "x")).allowed for _ in range(3)] == [True, True, False]


async def test_two_app_processes_share_the_count_in_redis() -> None:
    if not redis_available():
        pytest.fail(f"Redis at {REDIS_URL} is not reachable")
    prefix = f"shared-{uuid.uuid4().hex}"
    one, two = (RateLimits(REDIS_URL, {"web": "2/minute"}, prefix=prefix) for _ in range(2))
    assert (await one.hit("web", "a")).allowed and (await two.hit("web", "a")).allowed
    assert not (await one.hit("web", "a")).allowed
    await one.reset()


async def test_identifiers_are_hashed_in_the_storage() -> None:
    if not redis_available():
        pytest.fail(f"Redis at {REDIS_URL} is not reachable")
    prefix = f"hashed-{uuid.uuid4().hex}"
    limits = RateLimits(REDIS_URL, {"web": "2/minute"}, prefix=prefix)
    await limits.hit("web", "198.51.100.23")
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys(f"{prefix}*")]
    assert keys and not any("198.51.100.23" in k for k in keys)
    await limits.reset()


async def test_a_storage_that_is_down_lets_requests_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = RateLimits("redis://127.0.0.1:1/0", {"web": "1/minute"})
    caplog.set_level(logging.WARNING)
    assert (await limits.hit("web", "a")).allowed
    assert (await limits.hit("web", "a")).allowed
    assert "rate limit storage unavailable" in caplog.text
