"""Supervision of Rasa and the action server under ``intake run``.

Both are started (``Services``, each in its own process group) and waited for; then one watcher
per child notices when it exits, sweeps what it left (a forked worker still holding the port),
and starts it again after a back-off that doubles from ``backoff_start`` up to ``backoff_max``
(1, 2, 4 ... 60 s; back to the start once a child has stayed up for ``stable_seconds``). Every
restart is logged and counted; ``status`` is what ``/healthz`` shows (bot/runtime/health.py).

A child counts as ready only when it answers over HTTP *and* the socket listening on its port
belongs to the process this supervisor started (``bot/runtime/ports.py``), and for Rasa, when
it has the expected model loaded and accepts this run's token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.engine import api_params
from bot.runtime import ports
from bot.runtime.services import Services, stop_group

log = logging.getLogger(__name__)

# A fresh connection per check: one kept from before a restart would fail once.
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)

NAMES = ("actions", "rasa")


@dataclass
class ChildStatus:
    state: str = "stopped"  # starting | up | restarting | stopped
    pid: int | None = None
    restarts: int = 0
    last_exit: int | None = None  # the exit status of the last unexpected exit
    up_since: float | None = None  # time.monotonic() when it became ready


@dataclass
class Supervisor:
    services: Services
    backoff_start: float = 1.0
    backoff_max: float = 60.0
    stable_seconds: float = 60.0
    ready_timeout: float = 240.0
    poll_seconds: float = 0.5
    children: dict[str, ChildStatus] = field(
        default_factory=lambda: {name: ChildStatus() for name in NAMES}
    )
    _watchers: list[asyncio.Task] = field(default_factory=list)
    _client: httpx.AsyncClient | None = None  # one for every probe (making one costs ~0.1 s)
    _listeners: dict[str, set[int]] = field(default_factory=dict)  # name -> verified inodes

    @property
    def expected_model(self) -> str:
        return Path(self.services.model).name

    async def start(self) -> None:
        """Start both and wait until both are ready; raise ``RuntimeError`` with the log tail
        when one exits or is not ready in time (a first start is not retried: the operator
        sees why at once). Then watch them."""
        self._client = httpx.AsyncClient(timeout=3.0, limits=NO_KEEPALIVE)
        for name in NAMES:
            self._spawn(name)
        results = await asyncio.gather(*(self._wait_ready(name) for name in NAMES))
        for name, ready in zip(NAMES, results, strict=True):
            if not ready:
                state = "exited early" if self._exited(name) else "was not ready in time"
                raise RuntimeError(f"{name} {state}:\n{self.services.log_tail(name)}")
        self._watchers = [asyncio.create_task(self._watch(name)) for name in NAMES]

    async def stop(self) -> None:
        """Stop watching, then stop Rasa and the action server (bounded: SIGTERM, wait,
        SIGKILL)."""
        for watcher in self._watchers:
            watcher.cancel()
        for watcher in self._watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await asyncio.to_thread(self.services.stop)
        for child in self.children.values():
            child.state, child.pid, child.up_since = "stopped", None, None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def owns_listener(self, name: str) -> bool | None:
        """Does the process listening on the child's port belong to the child we started?
        None when it cannot be told (no /proc) or nothing was started."""
        pid = self.children[name].pid
        if pid is None or not ports.PROC.joinpath("net", "tcp").exists():
            return None
        known = self._listeners.get(name)
        if known and known & ports.tree_sockets(pid):
            return True  # the listener found before is still held by the same child
        found = ports.listeners_in_tree(self.services.port(name), pid)
        if found:
            self._listeners[name] = found
        return found is not None

    def _spawn(self, name: str) -> None:
        getattr(self.services, f"start_{name}")()
        self._listeners.pop(name, None)
        child = self.children[name]
        child.state = "restarting" if child.restarts else "starting"
        child.pid, child.up_since = self.services.processes[name].pid, None

    def _exited(self, name: str) -> bool:
        process = self.services.processes.get(name)
        return process is None or process.poll() is not None

    async def probe(self, name: str) -> bool:
        """One readiness check of the child we started."""
        settings = self.services.settings
        client = self._client
        if client is None:
            return False
        try:
            if name == "rasa":
                response = await client.get(
                    f"{self.services.rasa_url}/status",
                    params=api_params(settings.rasa_auth_token),
                )
                model = response.json().get("model_file") if response.is_success else None
                answered = bool(model) and Path(model).name == self.expected_model
            else:
                response = await client.get(f"{self.services.actions_url}/health")
                answered = response.status_code == 200
        except (httpx.HTTPError, ValueError):
            return False
        return answered and await asyncio.to_thread(self.owns_listener, name) is not False

    async def _wait_ready(self, name: str) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._exited(name):
                return False
            if await self.probe(name):
                child = self.children[name]
                child.state, child.up_since = "up", time.monotonic()
                return True
            await asyncio.sleep(self.poll_seconds)
        return False

    def backoff(self, failures: int) -> float:
        """Delay before restart number ``failures`` (0-based) in a row."""
        return min(self.backoff_max, self.backoff_start * 2**failures)

    async def _watch(self, name: str) -> None:
        child = self.children[name]
        failures = 0
        while True:
            process = self.services.processes[name]
            while process.poll() is None:  # noqa: ASYNC110 - a Popen has nothing to await
                await asyncio.sleep(self.poll_seconds)
            up_for = time.monotonic() - child.up_since if child.up_since is not None else 0.0
            if up_for >= self.stable_seconds:
                failures = 0
            delay = self.backoff(failures)
            failures += 1
            child.restarts += 1
            child.state, child.pid, child.up_since = "restarting", None, None
            child.last_exit = process.returncode
            log.warning(
                "%s (pid %d) exited with status %s; restart %d in %.0f s",
                name,
                process.pid,
                process.returncode,
                child.restarts,
                delay,
            )
            # What the dead child left in its process group (a worker holding the port) goes.
            await asyncio.to_thread(stop_group, process, 5.0)
            await asyncio.sleep(delay)
            self._spawn(name)
            if await self._wait_ready(name):
                log.info("%s is up again (pid %d), restart %d", name, child.pid, child.restarts)
                continue
            log.warning("%s did not become ready after restart %d", name, child.restarts)
            # Still running but not answering as expected: stop it; the loop backs off again.
            await asyncio.to_thread(stop_group, self.services.processes[name], 10.0)

    def status(self, name: str) -> ChildStatus:
        return self.children[name]
