"""Logging without personal data.

Log lines carry ids, counts and states, never message text, names or phone numbers. Uvicorn's
access log is replaced by ``request_log_middleware`` because it prints query strings.

**Exceptions are logged by type and frames, never by message** (issue 12). An exception's
message can quote the data that caused it: a database error quotes the SQL and, unless the
engine hides them, its bound values (a message's text, a phone number); a parser error quotes
its input. So:

- code that catches an exception in a path that carries personal data logs ``describe(exc)``
  (the type, and the types of its causes) with the ids it knows, never ``log.exception``;
- every handler the app installs formats ``exc_info`` with ``NoValuesFormatter``: the frames
  (file, line, function and the source line, all from our code, never runtime values) and the
  exception types, not the messages. A ``log.exception`` anywhere in the process (a library's
  included) then cannot print a value either;
- every database engine hides bound values from its errors (``hide_parameters``,
  ``bot/store/db.py``).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

from starlette.requests import Request
from starlette.responses import Response

access = logging.getLogger("bot.access")
_log = logging.getLogger(__name__)


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Files the app writes (databases, logs, generated configs, secrets): this user only.
PRIVATE_UMASK = 0o077


def describe(exc: BaseException) -> str:
    """``"OuterType<-CauseType"``: an exception's type and its causes' types, no message."""
    names, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    return "<-".join(names)


def frames(tb: TracebackType | None) -> str:
    """Where it happened: file, line, function and source line of each frame; no values."""
    return "".join(traceback.format_tb(tb)).rstrip()


class NoValuesFormatter(logging.Formatter):
    """Formats an exception as its frames and types only: its message is never printed."""

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]
        _type, exc, tb = ei
        if exc is None:
            return "Traceback (frames only)"
        return f"Traceback (frames only; the message is not logged):\n{frames(tb)}\n{describe(exc)}"


def configure(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(NoValuesFormatter(FORMAT))
    # SQLAlchemy logs statements with their values at INFO when asked to (echo): never here.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # httpx logs full URLs at INFO; they can carry tokens (Telegram) or numbers.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # The twilio client logs request URLs and parameters at INFO (phone numbers).
    logging.getLogger("twilio").setLevel(logging.WARNING)


def private_files() -> None:
    """From now on, files and directories this process creates are readable by this user only
    (0600 / 0700): the SQLite databases and their WAL files, logs, the generated Rasa
    endpoints file (it holds the tracker database's password) and secrets."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` created if needed, and closed to other users (0700) either way."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path, text: str) -> None:
    """Write ``path`` readable by this user only (0600), whatever the umask; an existing file
    is closed to others before anything is written into it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def secure_data_dir(data_dir: Path) -> None:
    """Close the data directory and what an older version left in it with default modes: the
    directory and its ``logs/`` 0700, every file directly in them 0600."""
    for directory in (data_dir, data_dir / "logs"):
        if directory == data_dir or directory.is_dir():
            private_dir(directory)
            for path in directory.iterdir():
                if path.is_file() and not path.is_symlink():
                    try:
                        path.chmod(0o600)
                    except PermissionError:  # another user's file (a Rasa in its own account)
                        _log.warning("cannot close %s to other users: not ours", path.name)


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
