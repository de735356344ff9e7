"""Start and stop the two helper processes: the Rasa server and the action server.

Used by ``intake run`` and by the end-to-end tests, so both run the assistant the same way.
Both bind to loopback only: only the app talks to them.
"""

from __future__ import annotations

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
from bot.runtime import rasa_env
from bot.settings import PROJECT_ROOT, RASA_TOKEN_FILE, Settings
from bot.store.db import ensure_sqlite_dir

# Rasa's SQL tracker store, with every event's data encrypted under the app's data keys.
TRACKER_STORE_TYPE = "bot.rasa_plugins.encrypted_tracker_store.EncryptedSQLTrackerStore"


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
    """endpoints.yml and credentials.yml for ``rasa run``, under the data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    endpoints = settings.data_dir / "rasa-endpoints.yml"
    credentials = settings.data_dir / "rasa-credentials.yml"
    endpoints_config: dict = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.actions_port}/webhook"},
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
    endpoints.write_text(yaml.safe_dump(endpoints_config, sort_keys=False))
    credentials.write_text(yaml.safe_dump({"rest": None}))
    return endpoints, credentials


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
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.actions_port}"

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        self.processes[name] = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop them in order
        )

    def start_actions(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "SANIC_HOST": "127.0.0.1",
                "DATABASE_URL": self.settings.database_url,
                "INTAKE_DATA_DIR": str(self.settings.data_dir),
                "PYTHONPATH": str(PROJECT_ROOT),
                **crypto.ensure_installed(self.settings).environ(),  # data keys (bot/crypto.py)
            }
        )
        self._spawn(
            "actions",
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(self.settings.actions_port),
            ],
            env,
        )

    def start_rasa(self) -> None:
        endpoints, credentials = write_rasa_config(self.settings)
        env = rasa_env.rasa_environ()
        # The token reaches Rasa through the environment (readable by this user only), not the
        # command line, which every local user can read in the process list.
        env[RASA_TOKEN_ENV] = self.settings.rasa_auth_token
        # The tracker store encrypts events with the app's keys (bot/rasa_plugins/).
        env.update(crypto.ensure_installed(self.settings).environ())
        self._write_token_file()
        self._spawn(
            "rasa",
            [
                str(rasa_env.venv_dir() / "bin" / "python"),
                "-c",
                _RASA_WITH_TOKEN,
                "run",
                "--model",
                str(self.model),
                "--enable-api",  # /status and /model/parse: health checks and NLU evaluation
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.settings.rasa_port),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
            ],
            env,
        )

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
        if name is None or name == "rasa":
            (self.settings.data_dir / RASA_TOKEN_FILE).unlink(missing_ok=True)
        for key in [name] if name else list(self.processes):
            process = self.processes.pop(key, None)
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
