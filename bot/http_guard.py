"""What every HTTP request goes through before any route: bounded bodies, JSON errors, headers.

``GuardMiddleware`` is a plain ASGI middleware, outermost in the app (``bot/app.py``):

- **Body cap before parsing.** A ``Content-Length`` over ``MAX_BODY_BYTES`` is refused at once;
  a body without one (chunked) is counted as it arrives and refused as soon as it passes the
  cap, so no route ever reads more than ``MAX_BODY_BYTES``: 413 ``body_too_large``.
- **Never a bare 500.** An unexpected error answers the documented JSON error (500
  ``internal_error``) and is logged with its type only (no request data). The exception is not
  re-raised, so the server keeps the keep-alive connection usable for the next request.
- **HSTS** when cookies are secure (the app is behind HTTPS): browsers then never try plain
  HTTP for this host again.

Every JSON error of the app has the same shape: ``{"error": "<code>", "message": "<what to do>"}``
(``json_error``).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HSTS = "max-age=31536000; includeSubDomains"
INTERNAL_ERROR_MESSAGE = (
    "Something went wrong on our side. Please try again in a minute. / "
    "Une erreur s'est produite de notre côté. Veuillez réessayer dans une minute."
)


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The app's one error shape."""
    return JSONResponse(
        status_code=status, content={"error": code, "message": message}, headers=headers
    )


def too_many_requests(retry_after: int, message: str) -> JSONResponse:
    """429 with ``Retry-After`` (seconds) and a message the person can read."""
    return json_error(429, "rate_limited", message, {"Retry-After": str(retry_after)})


def client_address(request: Request) -> str:
    """The client's address as the server saw it. Behind a reverse proxy, uvicorn rewrites it
    from ``X-Forwarded-For`` for the proxies listed in ``FORWARDED_ALLOW_IPS`` (uvicorn's own
    setting); the header is never trusted here directly (anyone can send it)."""
    return request.client.host if request.client else "unknown"


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a body passes the cap (the route stops reading)."""


def _is_too_large(exc: BaseException) -> bool:
    """``BodyTooLarge``, also as raised through a task group (Starlette's ``BaseHTTPMiddleware``
    reads the body in one and re-raises an ``ExceptionGroup``)."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup(BodyTooLarge) is not None
    return isinstance(exc, BodyTooLarge)


def _error_body(status: int, code: str, message: str) -> tuple[Message, Message]:
    body = json.dumps({"error": code, "message": message}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The guard's own errors answer before any route (or its headers): never cached.
            (b"cache-control", b"no-store"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts = hsts

    def _too_large_message(self) -> str:
        return f"The request body is over {self.max_body_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._send_error(send, 413, "body_too_large", self._too_large_message())
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if self.hsts:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"strict-transport-security", HSTS.encode()),
                    ]
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception as exc:  # the last line of defence: JSON, and the connection lives
            if _is_too_large(exc):
                if not started:
                    await self._send_error(send, 413, "body_too_large", self._too_large_message())
                return
            # Where it happened (frames only): the exception's message can quote request data.
            log.error(
                "unexpected error %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            if not started:
                await self._send_error(send, 500, "internal_error", INTERNAL_ERROR_MESSAGE)

    async def _send_error(self, send: Send, status: int, code: str, message: str) -> None:
        start, body = _error_body(status, code, message)
        if self.hsts:
            start["headers"].append((b"strict-transport-security", HSTS.encode()))
        await send(start)
        await send(body)
