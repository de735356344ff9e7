"""Fixtures shared by all tests: databases (SQLite and the real PostgreSQL), headless Chromium."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot import crypto

# The data keys of every test in this process (bot/crypto.py): the app, the CLI and the column
# types use the installed keyring; the action server and Rasa get it in their environment.
crypto.install(crypto.Keyring.generate("tests"))

# The PostgreSQL these machines run (trust auth). Each test run gets its own database.
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # CI must have PostgreSQL: fail, never skip silently
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.set(drivername="postgresql").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on a fresh SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    # A fresh schema per test: drop everything the previous test created.
    engine = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield base


# Debian's Chromium, driven by Playwright (browser downloads are not possible on these machines).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
expect.set_options(timeout=15_000)  # pages poll every 3 s; CI machines are slow and shared


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = "needs Debian's chromium (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests, never skip them silently
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


# Property-based tests: no per-example deadline (these machines are shared and noisy; timing
# is measured in benchmarks, never asserted in tests).
try:
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("intake", deadline=None)
    hypothesis_settings.load_profile("intake")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
