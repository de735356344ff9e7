"""The ASGI app: ``create_app()`` wires settings, the store, the engine and the channels.

Start-up and shut-down live in the lifespan: the database engine, the Rasa client and the retry
worker that answers messages kept while Rasa was unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto, logging_setup, tracker_store
from bot.caseworker import routes as caseworker
from bot.channels import preview, sms, telegram, web
from bot.channels.setup import open_channels
from bot.conversation import ConversationService
from bot.engine import RasaEngine
from bot.http_guard import GuardMiddleware, json_error
from bot.ratelimit import RateLimits
from bot.settings import PROJECT_ROOT, Settings
from bot.store.db import create_engine, session_factory

log = logging.getLogger(__name__)

DOMAIN_DIR = PROJECT_ROOT / "nlu" / "domain"


def domain_intents(directory: Path = DOMAIN_DIR) -> frozenset[str]:
    """Intents a button payload may trigger directly ("/program_what")."""
    names = set()
    for path in sorted(directory.glob("*.yml")):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in domain.get("intents", []):
            names.add(item if isinstance(item, str) else next(iter(item)))
    return frozenset(names)


@dataclass
class Runtime:
    db: AsyncEngine
    engine: RasaEngine
    conversations: ConversationService


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The database, the engine client and the conversation service (the app and the shell)."""
    crypto.ensure_installed(settings)  # the keys of the data at rest (bot/crypto.py)
    db = create_engine(settings.database_url)
    engine = RasaEngine(
        settings.rasa_url, settings.rasa_timeout_seconds, auth_token=settings.rasa_auth_token
    )
    conversations = ConversationService(
        session_factory(db),
        engine,
        default_language=settings.default_language,  # type: ignore[arg-type]
        intents=domain_intents(),
        screening_rules_path=settings.screening_rules_path,
    )
    try:
        yield Runtime(db, engine, conversations)
    finally:
        await engine.aclose()
        await db.dispose()


async def _retry_worker(service: ConversationService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await service.process_pending()
        except Exception:  # the worker must outlive a failed round (database busy...)
            log.exception("retry worker round failed")


def create_app(settings: Settings | None = None, *, run_worker: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()
    logging_setup.configure(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_runtime(settings) as runtime,
            # SMS and Telegram: the outbox worker and PTB's Application (started, then stopped).
            open_channels(
                settings, session_factory(runtime.db), runtime.conversations, run_worker=run_worker
            ) as channels,
        ):
            app.state.db = runtime.db
            app.state.sessions = session_factory(runtime.db)
            app.state.engine = runtime.engine
            app.state.conversations = runtime.conversations
            app.state.channels = channels
            runtime.conversations.tracker_eraser = functools.partial(
                tracker_store.erase_conversations, settings.rasa_tracker_db_url
            )
            worker = (
                asyncio.create_task(
                    _retry_worker(runtime.conversations, settings.retry_interval_seconds)
                )
                if run_worker
                else None
            )
            log.info("app started; engine at %s", settings.rasa_url)
            try:
                yield
            finally:
                if worker is not None:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker

    app = FastAPI(
        title="AVRR intake assistant",
        version="0.1.0",
        summary="Bilingual (EN/FR) intake assistant: channels, conversations and caseworker queue.",
        lifespan=lifespan,
        # The schema is served (/openapi.json); the Swagger and ReDoc pages are not: they load
        # scripts from a CDN, which the app's strict content security policy would not allow.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.rate_limits = RateLimits(settings.rate_limit_storage_url, settings.rate_limits)
    app.middleware("http")(logging_setup.request_log_middleware)
    # Outermost: the body cap and the JSON answer to an unexpected error (bot/http_guard.py).
    app.add_middleware(
        GuardMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.cookie_secure
    )
    app.include_router(web.router)
    app.include_router(sms.router)
    app.include_router(telegram.router)
    app.include_router(preview.router)
    caseworker.install(app)  # /caseworker (web app) and /api/v1 (integration API)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return json_error(
            503,
            "database_unavailable",
            "The service is busy. Please try again in a minute. / "
            "Le service est occupé. Veuillez réessayer dans une minute.",
            {"Retry-After": "30"},
        )

    @app.get("/healthz", tags=["operations"])
    async def healthz(request: Request) -> JSONResponse:
        """200 only when the database and the engine (Rasa, with a model loaded) both answer."""
        database_ok = True
        try:
            async with request.app.state.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            database_ok = False
        engine_ok = await request.app.state.engine.is_ready()
        ok = database_ok and engine_ok
        return JSONResponse(
            status_code=200 if ok else 503,
            content={
                "status": "ok" if ok else "unavailable",
                "database": "ok" if database_ok else "unavailable",
                "engine": "ok" if engine_ok else "unavailable",
            },
        )

    @app.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        page = resources.files("bot.web").joinpath("chat.html").read_text(encoding="utf-8")
        return HTMLResponse(page)

    @app.get("/", include_in_schema=False)
    async def index() -> JSONResponse:
        return JSONResponse({"chat": "/chat", "health": "/healthz", "api_schema": "/openapi.json"})

    return app
