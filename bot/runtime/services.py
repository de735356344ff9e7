"""Start and stop the two helper processes: the Rasa server and the action server.

Used by ``intake run`` (through ``bot/runtime/supervisor.py``, which restarts them when they
die), ``intake rasa`` / ``intake actions`` and the end-to-end tests, so all run them the same
way. Both bind to loopback unless ``RASA_HOST`` / ``ACTIONS_HOST`` say otherwise.

Each child runs in its own process group (its own session): a Ctrl-C in the terminal reaches
only ``intake``, which stops them in order, and stopping one stops everything it started
(SIGTERM to the group, a bounded wait, then SIGKILL to whatever is left of the group).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy.engine import make_url

from bot import crypto
from bot.engine import api_params
from bot.logging_setup import FORMAT, private_dir, private_file
from bot.runtime import rasa_env
from bot.runtime.ports import connect_host
from bot.settings import PROJECT_ROOT, RASA_TOKEN_FILE, SERVICE_LOG_LEVELS, Settings
from bot.store.db import ensure_sqlite_dir

# Rasa's SQL tracker store, with every event's data encrypted under the app's data keys.
TRACKER_STORE_TYPE = "bot.rasa_plugins.encrypted_tracker_store.EncryptedSQLTrackerStore"

log = logging.getLogger(__name__)


def tracker_store_config(url: str) -> dict:
    """Rasa's SQL tracker store settings for a plain URL (its own database or file)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        ensure_sqlite_dir(url)
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": parsed.database}
    if backend in ("postgresql", "postgres"):
        config = {
            "type": TRACKER_STORE_TYPE,
            "dialect": "postgresql",
            "url": parsed.host or "127.0.0.1",
            "port": parsed.port or 5432,
            "db": parsed.database,
        }
        if parsed.username:
            config["username"] = parsed.username
        if parsed.password:
            config["password"] = parsed.password
        return config
    raise ValueError(f"unsupported tracker store database {backend!r}")


def write_rasa_config(settings: Settings) -> tuple[Path, Path]:
    """endpoints.yml and credentials.yml for ``rasa run``, under the data directory, readable
    by this user only (0600): the endpoints hold the tracker database's password."""
    private_dir(settings.data_dir)
    endpoints = settings.data_dir / "rasa-endpoints.yml"
    credentials = settings.data_dir / "rasa-credentials.yml"
    endpoints_config: dict = {
        "action_endpoint": {"url": f"{settings.action_server_url}/webhook"},
        "tracker_store": tracker_store_config(settings.rasa_tracker_db_url),
    }
    if settings.rasa_lock_store_url:  # redis://host:port/db, for several Rasa servers
        lock = make_url(settings.rasa_lock_store_url)
        endpoints_config["lock_store"] = {
            "type": "redis",
            "url": lock.host,
            "port": lock.port or 6379,
            "db": int(lock.database or 0),
        }
    _write_atomically(endpoints, yaml.safe_dump(endpoints_config, sort_keys=False))
    _write_atomically(credentials, yaml.safe_dump({"rest": None}))
    return endpoints, credentials


def _write_atomically(path: Path, text: str) -> None:
    """Several Rasa servers started at once on one machine (deploy/) write the same files: a
    reader never sees one half-written. Readable by this user only: the tracker store's
    database password may be in it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def service_log_level(settings: Settings) -> str:
    """Rasa's and the action server's level: ``RASA_LOG_LEVEL``, never ``LOG_LEVEL``, never
    DEBUG (Rasa logs message text and slot values at DEBUG)."""
    level = settings.rasa_log_level.upper()
    return level if level in SERVICE_LOG_LEVELS else "INFO"


def service_log_environ(settings: Settings) -> dict[str, str]:
    """The logging variables both processes read, set here so that nothing inherited from the
    app's environment (``LOG_LEVEL=DEBUG``, ``LOG_LEVEL_LIBRARIES=DEBUG``) reaches them: Rasa
    reads ``LOG_LEVEL``, Rasa and rasa_sdk read ``LOG_LEVEL_LIBRARIES`` (SQLAlchemy, sanic...,
    whose INFO can print statements and their values)."""
    level = service_log_level(settings)
    return {
        "LOG_LEVEL": level,
        "LOG_LEVEL_LIBRARIES": "WARNING" if level == "INFO" else level,
    }


def write_actions_logging(settings: Settings) -> Path:
    """The action server's logging set-up (rasa_sdk's ``--logging-config_file``): its log lines
    at ``RASA_LOG_LEVEL`` through the app's ``NoValuesFormatter``, so that an action's exception
    (rasa_sdk logs them with a traceback) prints its type and frames, never its message."""
    path = private_dir(settings.data_dir) / "actions-logging.yml"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"no_values": {"()": "bot.logging_setup.NoValuesFormatter", "fmt": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "no_values",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": service_log_level(settings), "handlers": ["stderr"]},
    }
    private_file(path, yaml.safe_dump(config, sort_keys=False))
    return path


def actions_log_flag(settings: Settings) -> str:
    """rasa_sdk takes its level from a flag only (``-v`` INFO, ``--quiet`` WARNING)."""
    return "-v" if service_log_level(settings) == "INFO" else "--quiet"


RASA_TOKEN_ENV = "INTAKE_RASA_AUTH_TOKEN"  # noqa: S105 - the name of a variable
# `rasa run ... --auth-token <token>` with the token taken from the environment. Rasa's HTTP API
# (trackers, /status, loading a model) then refuses any call without ?token=; the REST channel
# the app sends messages to stays open (bot/engine.py).
_RASA_WITH_TOKEN = (
    "import os, sys; from rasa.__main__ import main; "
    # One argument, "--auth-token=<token>": a token that begins with "-" (token_urlsafe makes
    # one in 64) would otherwise be read as an option ("expected one argument").
    f"sys.argv = ['rasa', *sys.argv[1:], '--auth-token=' + os.environ.pop({RASA_TOKEN_ENV!r})]; "
    "sys.exit(main())"
)


@dataclass
class Services:
    settings: Settings
    model: Path
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{connect_host(self.settings.rasa_host)}:{self.settings.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{connect_host(self.settings.actions_host)}:{self.settings.actions_port}"

    def port(self, name: str) -> int:
        return self.settings.rasa_port if name == "rasa" else self.settings.actions_port

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        private_dir(self.log_dir)
        path = self.log_dir / f"{name}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # also a log an older version made with default modes
        log = os.fdopen(fd, "ab")  # lives with the process
        self.processes[name] = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop them in order
        )

    def actions_command(self) -> tuple[list[str], dict[str, str]]:
        """The action server's command line and environment (``intake actions`` execs it)."""
        env = dict(os.environ)
        env.update(
            {
                "SANIC_HOST": self.settings.actions_host,
                "DATABASE_URL": self.settings.database_url,
                "INTAKE_DATA_DIR": str(self.settings.data_dir),
                "PYTHONPATH": str(PROJECT_ROOT),
                **crypto.ensure_installed(self.settings).environ(),  # data keys (bot/crypto.py)
            }
        )
        args = [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(self.settings.actions_port),
            actions_log_flag(self.settings),
            "--logging-config_file",  # (sic: rasa_sdk's spelling)
            str(write_actions_logging(self.settings)),
        ]
        return args, {**env, **service_log_environ(self.settings)}

    def start_actions(self) -> None:
        self._spawn("actions", *self.actions_command())

    def rasa_command(self) -> tuple[list[str], dict[str, str]]:
        """Rasa's command line and environment (``intake rasa`` execs it)."""
        endpoints, credentials = write_rasa_config(self.settings)
        env = rasa_env.rasa_environ()
        # The token reaches Rasa through the environment (readable by this user only), not the
        # command line, which every local user can read in the process list.
        env[RASA_TOKEN_ENV] = self.settings.rasa_auth_token
        # The tracker store encrypts events with the app's keys (bot/rasa_plugins/).
        env.update(crypto.ensure_installed(self.settings).environ())
        args = [
            str(rasa_env.venv_dir() / "bin" / "python"),
            "-c",
            _RASA_WITH_TOKEN,
            "run",
            "--model",
            str(self.model),
            "--enable-api",  # /status and /model/parse: health checks and NLU evaluation
            "--interface",
            self.settings.rasa_host,
            "--port",
            str(self.settings.rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(credentials),
        ]
        return args, {**env, **service_log_environ(self.settings)}

    def start_rasa(self) -> None:
        args, env = self.rasa_command()
        self._write_token_file()
        self._spawn("rasa", args, env)

    def start(self) -> None:
        self.start_actions()
        self.start_rasa()

    def _write_token_file(self) -> None:
        """`intake shell` and `intake telegram-poll` read it to talk to this Rasa (settings.py);
        readable by this user only."""
        token_file = self.settings.data_dir / RASA_TOKEN_FILE
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.unlink(missing_ok=True)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.settings.rasa_auth_token)

    def wait_ready(self, timeout: float = 240.0) -> None:
        """Block until both answer (Rasa with its model loaded), or raise with the log tail."""
        deadline = time.monotonic() + timeout
        pending = {"actions": f"{self.actions_url}/health", "rasa": f"{self.rasa_url}/status"}
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
                params = api_params(self.settings.rasa_auth_token) if name == "rasa" else {}
                try:
                    response = httpx.get(url, params=params, timeout=2.0)
                except httpx.HTTPError:
                    continue
                if response.status_code == 200 and (
                    name != "rasa" or response.json().get("model_file")
                ):
                    del pending[name]
            time.sleep(0.5)
        if pending:
            tails = "\n".join(self.log_tail(n) for n in pending)
            raise RuntimeError(f"not ready after {timeout:.0f}s: {sorted(pending)}\n{tails}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, name: str | None = None, timeout: float = 20.0) -> None:
        """Stop one child (or all, together): SIGTERM to each process group, wait up to
        ``timeout``, then SIGKILL what is left of a group."""
        if name is None or name == "rasa":
            (self.settings.data_dir / RASA_TOKEN_FILE).unlink(missing_ok=True)
        keys = [name] if name else list(self.processes)
        stopping = [(k, p) for k in keys if (p := self.processes.pop(k, None)) is not None]
        started = time.monotonic()
        for _key, process in stopping:  # all at once: the app that used them is stopped
            _terminate_group(process)
        for key, process in stopping:
            stop_group(process, max(0.0, started + timeout - time.monotonic()), terminate=False)
            log.info(
                "%s (pid %d) stopped after %.1f s, status %s",
                key,
                process.pid,
                time.monotonic() - started,
                process.returncode,
            )


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when nothing is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)


def _terminate_group(process: subprocess.Popen) -> None:
    pgid = process.pid  # start_new_session: the child leads its own group
    if process.poll() is None or _group_alive(pgid):
        _signal_group(pgid, signal.SIGTERM)


def stop_group(process: subprocess.Popen, timeout: float = 20.0, *, terminate: bool = True) -> None:
    """SIGTERM to the process group ``process`` leads (unless ``terminate`` is False: already
    sent), wait up to ``timeout`` for the whole group to be gone, then SIGKILL whatever
    remains (also after the leader died alone: a worker it forked must not keep the port)."""
    pgid = process.pid
    if terminate:
        _terminate_group(process)
    deadline = time.monotonic() + timeout
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(max(0.0, deadline - time.monotonic()))
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None or _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
        process.wait()
        gone_by = time.monotonic() + 5.0  # SIGKILL cannot be refused: gone within moments
        while _group_alive(pgid) and time.monotonic() < gone_by:
            time.sleep(0.01)
