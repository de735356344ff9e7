"""How ``intake run`` and ``intake serve`` live and stop: signals and the app's HTTP server.

SIGTERM (systemd, Docker, Kubernetes) and SIGINT (Ctrl-C) both stop everything cleanly, at any
moment: while migrating or training, a signal raises ``Shutdown`` (a ``BaseException``, like
``KeyboardInterrupt``), which unwinds through every clean-up; once the asyncio part runs, a
signal only sets an event that the main coroutine waits on, so nothing is interrupted halfway
(no child started but not yet recorded) and the clean-up (stopping the app, then Rasa and the
action server) runs in order.

uvicorn installs its own handlers and, after a signal-triggered shutdown, raises that signal
again, which with SIGTERM's default action ends the process before any clean-up: the app's
server here (``AppServer``) leaves signals to this module and is stopped through its
``should_exit`` flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

HANDLED = (signal.SIGTERM, signal.SIGINT)


class Shutdown(BaseException):  # like KeyboardInterrupt: not an error
    """A stop signal arrived while the synchronous start-up ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """SIGTERM / SIGINT handling for one command. Before ``notify`` the first signal raises
    ``Shutdown`` in the main thread; after it, every signal calls the callback in the loop."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._notify: Callable[[], None] | None = None

    def notify(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self._notify = lambda: loop.call_soon_threadsafe(event.set)
        if self.received is not None:
            self._notify()

    def detach(self) -> None:
        """Back to raising ``Shutdown`` (the event loop is about to close)."""
        self._notify = None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.received is None
        self.received = signum
        if self._notify is not None:
            log.info("%s received: stopping", signal.Signals(signum).name)
            self._notify()
        elif first:
            raise Shutdown(signum)
        # a second signal during the clean-up: the clean-up is bounded, let it finish


@contextlib.contextmanager
def handled_signals() -> Iterator[Signals]:
    """Install the handlers for the duration of a command; restore the previous ones after."""
    signals = Signals()
    previous = {sig: signal.signal(sig, signals._handle) for sig in HANDLED}
    try:
        yield signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class AppServer(uvicorn.Server):
    """uvicorn's server without its own signal handling (``Signals`` owns SIGTERM/SIGINT)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_app(
    app: Any, sock: socket.socket, stop: asyncio.Event, *, log_level: str = "info"
) -> None:
    """Serve ``app`` on the already-bound ``sock`` until ``stop`` is set (then finish the
    requests in flight and run the app's shutdown) or the server ends by itself."""
    config = uvicorn.Config(
        app,
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=10,
        # No logging set-up of uvicorn's own: its lines go through the app's handler, which
        # never prints an exception's message (bot/logging_setup.py).
        log_config=None,
    )
    server = AppServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await serving
