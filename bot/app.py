"""The ASGI app: ``create_app()`` wires settings, the store, the engine and the channels.

Start-up and shut-down live in the lifespan: the database engine, the Rasa client and the retry
worker that answers messages kept while Rasa was unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import crypto, logging_setup, retention
from bot.caseworker import routes as caseworker
from bot.channels import preview, sms, telegram, web, whatsapp
from bot.channels.setup import open_channels
from bot.conversation import ConversationService
from bot.engine import RasaEngine
from bot.erasure import ErasureService
from bot.http_guard import GuardMiddleware, json_error
from bot.ratelimit import RateLimits
from bot.settings import PROJECT_ROOT, WEB_TOKEN_SECRET_FILE, Settings, load_or_create_secret
from bot.store.db import create_engine, session_factory
from bot.store.locks import ConversationLocks

if TYPE_CHECKING:
    from bot.runtime.health import StackHealth

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
    locks = ConversationLocks.for_engine(db)
    conversations = ConversationService(
        session_factory(db),
        engine,
        default_language=settings.default_language,  # type: ignore[arg-type]
        intents=domain_intents(),
        screening_rules_path=settings.screening_rules_path,
        locks=locks,
    )
    # Erasure jobs reach Rasa's tracker store; ``open_channels`` gives them the senders.
    conversations.erasure = open_erasure(settings, session_factory(db), {})
    try:
        yield Runtime(db, engine, conversations)
    finally:
        await engine.aclose()
        await locks.aclose()
        await db.dispose()


# The web chat and its API: nothing kept in the browser's cache (a shared computer shows no
# earlier visit's page or replies) and no address sent on to the site the quick exit opens.
PRIVATE_PREFIXES = ("/chat", "/channels/web/", "/channels/preview")
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def _private_pages(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    if request.url.path.startswith(PRIVATE_PREFIXES):
        response.headers.update(PRIVATE_HEADERS)
    return response


def open_erasure(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], senders: Mapping[str, Any]
) -> ErasureService:
    """The erasure service with the tracker store and the channel senders (app and CLI)."""
    return ErasureService(
        sessions,
        tracker_url=settings.rasa_tracker_db_url,
        senders=senders,
        retry_base_seconds=settings.erasure_retry_base_seconds,
        poll_seconds=settings.erasure_poll_seconds,
    )


async def _retry_worker(service: ConversationService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await service.process_pending()
        except Exception as exc:  # the worker must outlive a failed round (database busy...)
            # Type and frames only: the error can quote a message (bot/logging_setup.py).
            log.error(
                "retry worker round failed error=%s\n%s",
                logging_setup.describe(exc),
                logging_setup.frames(exc.__traceback__),
            )


def _from_this_machine(request: Request) -> bool:
    """A direct request from loopback (not one a reverse proxy forwarded)."""
    host = request.client.host if request.client else ""
    forwarded = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    return host in ("127.0.0.1", "::1", "localhost") and not forwarded


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool = True,
    stack_health: StackHealth | None = None,
) -> FastAPI:
    """``stack_health`` (``intake run`` / ``intake serve``): ``/healthz`` also checks that the
    Rasa and the action server it reaches are the expected ones and reports their state."""
    settings = settings or Settings.from_env()
    logging_setup.configure(settings.log_level)
    # Databases, logs, secrets: this user only (0600 / 0700), old files included.
    logging_setup.private_files()
    logging_setup.secure_data_dir(settings.data_dir)

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
            # Erasure jobs and the retention schedule (bot/erasure.py, bot/retention.py).
            erasure = runtime.conversations.erasure_service()
            app.state.erasure = erasure
            workers = (
                [
                    asyncio.create_task(
                        _retry_worker(runtime.conversations, settings.retry_interval_seconds)
                    ),
                    asyncio.create_task(erasure.run()),
                ]
                if run_worker
                else []
            )
            if run_worker and settings.retention_enabled:
                workers.append(
                    asyncio.create_task(
                        retention.run(
                            app.state.sessions,
                            erasure,
                            retention.Policy.from_settings(settings),
                            settings.retention_interval_minutes * 60,
                        )
                    )
                )
            log.info("app started; engine at %s", settings.rasa_url)
            try:
                yield
            finally:
                for worker in workers:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                if stack_health is not None:
                    await stack_health.aclose()

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
    app.state.web_tokens = web.WebTokens(
        settings.web_token_secret
        or load_or_create_secret(settings.data_dir / WEB_TOKEN_SECRET_FILE)
    )
    app.middleware("http")(logging_setup.request_log_middleware)
    app.middleware("http")(_private_pages)
    # Outermost: the body cap and the JSON answer to an unexpected error (bot/http_guard.py).
    app.add_middleware(
        GuardMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.cookie_secure
    )
    app.include_router(web.router)
    app.include_router(sms.router)
    app.include_router(whatsapp.router)
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
        """200 only when the database and the engine (Rasa, with a model loaded) both answer;
        with ``stack_health``, Rasa must be the expected one with the expected model, and the
        action server must answer too ("rasa" and "action_server" say what is happening)."""
        database_ok = True
        try:
            async with request.app.state.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            database_ok = False
        extra: dict = {}
        if stack_health is None:
            engine_ok = await request.app.state.engine.is_ready()
            ok = database_ok and engine_ok
        else:
            rasa, actions = await stack_health.report()
            engine_ok = rasa["state"] == "up"
            ok = database_ok and engine_ok and actions["state"] == "up"
            if _from_this_machine(request):
                extra = {"rasa": rasa, "action_server": actions}
            else:  # pids, models and exit codes are for the operator, not the internet
                extra = {
                    "rasa": {"state": rasa["state"]},
                    "action_server": {"state": actions["state"]},
                }
        return JSONResponse(
            status_code=200 if ok else 503,
            content={
                "status": "ok" if ok else "unavailable",
                "database": "ok" if database_ok else "unavailable",
                "engine": "ok" if engine_ok else "unavailable",
                **extra,
            },
        )

    @app.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        page = resources.files("bot.web").joinpath("chat.html").read_text(encoding="utf-8")
        # The quick exit's destination, set by the operator (WEB_EXIT_URL).
        return HTMLResponse(page.replace("{{EXIT_URL}}", html.escape(settings.web_exit_url)))

    @app.get("/", include_in_schema=False)
    async def index() -> JSONResponse:
        return JSONResponse({"chat": "/chat", "health": "/healthz", "api_schema": "/openapi.json"})

    return app
