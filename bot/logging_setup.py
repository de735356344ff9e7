"""Logging without personal data.

Log lines carry ids, counts and states, never message text, names or phone numbers. Uvicorn's
access log is replaced by ``request_log_middleware`` because it prints query strings (which can
hold a chat user id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

access = logging.getLogger("bot.access")


def configure(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # httpx logs full URLs at INFO; they can carry tokens (Telegram) or numbers.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # The twilio client logs request URLs and parameters at INFO (phone numbers).
    logging.getLogger("twilio").setLevel(logging.WARNING)


async def request_log_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    # The path only: no query string, no body, no client address.
    access.info(
        "%s %s %d %.0fms", request.method, request.url.path, response.status_code, elapsed_ms
    )
    return response
