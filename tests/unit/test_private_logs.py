"""Logs and files without personal data (issue 12, item 5): every database engine hides bound
values, exceptions are logged by type and frames only, Rasa and the action server never run at
DEBUG because of ``LOG_LEVEL``, and what the app writes is readable by its user only."""

from __future__ import annotations

import ast
import asyncio
import io
import logging
import os
import re
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from bot import logging_setup
from bot.runtime import rasa_env, services
from bot.runtime.services import Services, service_log_environ, write_rasa_config
from bot.settings import PROJECT_ROOT, Settings, SettingsError, load_or_create_secret
from bot.store import db
from tests.helpers import free_port, wait_for

CANARY = "Maria Canary-Lopez +14165550199"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- engines ------------------------------------------------------------------------------


def test_no_engine_is_made_outside_the_one_factory() -> None:
    """Every engine of the app, the action server, the tracker erasure and the migrations comes
    from bot/store/db.py, which hides bound values: no other module uses SQLAlchemy's engine
    makers (imported by name, or as ``sqlalchemy.create_engine``)."""
    makers = {"create_engine", "create_async_engine"}
    offenders = []
    for folder in ("bot", "actions", "migrations", "benchmarks", "scripts"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if path == PROJECT_ROOT / "bot" / "store" / "db.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                imported = (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("sqlalchemy")
                    and any(alias.name in makers for alias in node.names)
                )
                attribute = isinstance(node, ast.Attribute) and node.attr in makers
                if imported or attribute:
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert offenders == []


async def test_engines_hide_the_values_of_a_failed_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    app_engine = db.create_engine(url)
    sync = db.sync_engine(url)
    monkeypatch.setenv("DATABASE_URL", url)
    from actions import store as action_store

    action_store.store.cache_clear()
    try:
        engines = [app_engine.sync_engine, sync, action_store.store()]
        assert all(e.hide_parameters for e in engines)
        with sync.begin() as conn:
            conn.execute(text("CREATE TABLE t (v TEXT CHECK (v NOT LIKE '%Canary%'))"))
        with pytest.raises(StatementError) as failed, sync.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": CANARY})
        assert CANARY not in str(failed.value) and "hidden" in str(failed.value)
        async with app_engine.begin() as conn:
            with pytest.raises(StatementError) as failed_async:
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": CANARY})
        assert CANARY not in str(failed_async.value)
    finally:
        action_store.store().dispose()
        action_store.store.cache_clear()
        sync.dispose()
        await app_engine.dispose()


# -- exceptions ---------------------------------------------------------------------------


def _failing() -> None:
    try:
        int(CANARY)
    except ValueError as exc:
        raise RuntimeError(f"could not store {CANARY!r}") from exc


def test_an_exception_is_logged_by_type_and_frames_never_by_message() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging_setup.NoValuesFormatter(logging_setup.FORMAT))
    logger = logging.getLogger("tests.private")
    logger.addHandler(handler)
    try:
        try:
            _failing()
        except RuntimeError as exc:
            logger.exception("a library logs with a traceback")
            assert logging_setup.describe(exc) == "RuntimeError<-ValueError"
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert CANARY not in written and "Canary" not in written
    assert "RuntimeError<-ValueError" in written
    assert "in _failing" in written  # where it happened is still there


def test_the_app_installs_the_formatter_on_its_handlers() -> None:
    logging_setup.configure("INFO")
    assert all(
        isinstance(h.formatter, logging_setup.NoValuesFormatter)
        for h in logging.getLogger().handlers
    )
    assert logging.getLogger("sqlalchemy.engine").level == logging.WARNING


# -- Rasa and the action server's level ---------------------------------------------------


def test_log_level_debug_does_not_reach_rasa_or_the_action_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "DEBUG")
    monkeypatch.delenv("RASA_LOG_LEVEL", raising=False)
    settings = Settings.from_env()
    assert settings.log_level == "DEBUG" and settings.rasa_log_level == "INFO"
    env = {**os.environ, **service_log_environ(settings)}
    assert env["LOG_LEVEL"] == "INFO" and env["LOG_LEVEL_LIBRARIES"] == "WARNING"
    assert services.actions_log_flag(settings) == "-v"
    monkeypatch.setenv("RASA_LOG_LEVEL", "warning")
    quiet = Settings.from_env()
    assert service_log_environ(quiet)["LOG_LEVEL"] == "WARNING"
    assert services.actions_log_flag(quiet) == "--quiet"


def test_rasa_log_level_debug_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_LOG_LEVEL", "DEBUG")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert any("RASA_LOG_LEVEL" in p and "never DEBUG" in p for p in refused.value.problems)


def test_rasa_itself_reads_the_level_we_give_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's own logging set-up, in Rasa's environment, with the app's LOG_LEVEL=DEBUG and
    what ``Services`` sets on top: the ``rasa`` logger is at INFO, the libraries at WARNING
    (``LOG_LEVEL_LIBRARIES=DEBUG`` from the app's environment does not reach them either)."""
    python = rasa_env.venv_dir() / "bin" / "python"
    if not python.exists():
        pytest.skip("needs the Rasa environment (scripts/test.sh builds it)")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "DEBUG")
    monkeypatch.delenv("RASA_LOG_LEVEL", raising=False)
    env = rasa_env.rasa_environ(service_log_environ(Settings.from_env()))
    probe = (
        "import logging; from rasa.utils.common import configure_logging_and_warnings; "
        "configure_logging_and_warnings(None); "
        "print(logging.getLevelName(logging.getLogger('rasa').level), "
        "logging.getLevelName(logging.getLogger('apscheduler').level))"
    )
    done = subprocess.run(
        [str(python), "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["INFO", "WARNING"]


def test_the_action_server_started_with_log_level_debug_logs_no_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real action server, started the way ``intake run`` starts it, from an environment
    with LOG_LEVEL=DEBUG: it serves, its log has INFO lines and not one DEBUG line, and the
    log file is this user's only."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "DEBUG")
    monkeypatch.delenv("RASA_LOG_LEVEL", raising=False)
    settings = replace(
        Settings.from_env(),
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'intake.db'}",
        actions_port=free_port(),
    )
    runner = Services(settings, tmp_path / "no-model.tar.gz", tmp_path / "logs")
    runner.start_actions()
    try:

        async def healthy() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"{runner.actions_url}/health", timeout=2)
                    return response.status_code == 200
            except httpx.HTTPError:
                return False

        asyncio.run(wait_for(healthy, timeout=90))
    finally:
        runner.stop()
    log = (tmp_path / "logs" / "actions.log").read_text(errors="replace")
    assert "INFO" in log, log[-2000:]
    assert not re.search(r"\bDEBUG\b", log), log[-2000:]
    # Its lines go through the app's formatter (no exception message): "<time> INFO name: ..."
    assert re.search(r"\d INFO rasa_sdk[\w.]*: ", log), log[-2000:]
    assert mode(tmp_path / "actions-logging.yml") == 0o600
    assert mode(tmp_path / "logs" / "actions.log") == 0o600
    assert mode(tmp_path / "logs") == 0o700


# -- files --------------------------------------------------------------------------------


def test_generated_rasa_config_and_secrets_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    settings = replace(
        Settings.from_env(),
        data_dir=data_dir,
        rasa_tracker_db_url="postgresql://rasa:tracker-s3cret@127.0.0.1:5432/trackers",
    )
    endpoints, credentials = write_rasa_config(settings)
    assert "tracker-s3cret" in endpoints.read_text()
    assert mode(endpoints) == 0o600 and mode(credentials) == 0o600
    assert mode(data_dir) == 0o700
    # An endpoints file an older version left readable is closed before it is rewritten.
    endpoints.chmod(0o644)
    write_rasa_config(settings)
    assert mode(endpoints) == 0o600
    secret = load_or_create_secret(data_dir / "keys" / "secret")
    assert mode(data_dir / "keys" / "secret") == 0o600 and mode(data_dir / "keys") == 0o700
    assert load_or_create_secret(data_dir / "keys" / "secret") == secret  # made once


def test_databases_and_old_files_in_the_data_directory_are_closed(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    (data_dir / "logs").mkdir(parents=True)
    data_dir.chmod(0o755)
    old = [data_dir / "intake.db", data_dir / "intake.db-wal", data_dir / "logs" / "rasa.log"]
    for path in old:
        path.write_text("old")
        path.chmod(0o644)
    logging_setup.secure_data_dir(data_dir)
    assert mode(data_dir) == 0o700 and mode(data_dir / "logs") == 0o700
    assert all(mode(p) == 0o600 for p in old)


def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        logging_setup.private_files()
        path = tmp_path / "fresh" / "intake.db"
        engine = db.sync_engine(f"sqlite:///{path}")
        db.ensure_sqlite_dir(f"sqlite:///{path}")
        db.install_sqlite_pragmas(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('x')"))
            wal = Path(f"{path}-wal")
            assert wal.exists() and mode(wal) == 0o600
        engine.dispose()
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
    finally:
        os.umask(previous)


def test_the_cli_closes_files_for_every_command(tmp_path: Path) -> None:
    """``intake`` sets the umask before any command: a database ``intake migrate`` makes is
    this user's only."""
    path = tmp_path / "cli" / "intake.db"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{path}", "INTAKE_DATA_DIR": str(tmp_path)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
