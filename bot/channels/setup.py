"""Starting and stopping the channels with the app: the outbox worker, and PTB's Application
(``initialize`` + ``start`` in the lifespan, ``stop`` + ``shutdown`` on the way out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot.channels import sms, telegram, whatsapp
from bot.channels.base import Pipeline, Sender
from bot.channels.outbox import Outbox, OutboxPolicy
from bot.channels.window import Gate, WhatsAppWindow
from bot.conversation import ConversationService
from bot.settings import Settings
from bot.store.models import utcnow

log = logging.getLogger(__name__)


@dataclass
class Channels:
    pipeline: Pipeline
    outbox: Outbox
    telegram: Application | None
    window: WhatsAppWindow | None = None  # WhatsApp's 24-hour window (None: WhatsApp off)


@contextlib.asynccontextmanager
async def open_channels(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    conversations: ConversationService,
    *,
    run_worker: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Channels]:
    """``clock``: the time WhatsApp's 24-hour window is measured with (tests move it)."""
    senders: dict[str, Sender] = {}
    gates: dict[str, Gate] = {}
    window: WhatsAppWindow | None = None
    application: Application | None = None
    if settings.sms_enabled:
        senders[sms.CHANNEL] = sms.TwilioSender(settings)
    if settings.whatsapp_enabled:
        senders[whatsapp.CHANNEL] = whatsapp.WhatsAppSender(settings)
        window = WhatsAppWindow(
            sessions,
            settings.whatsapp_templates,
            settings.whatsapp_template_variables,
            channel=whatsapp.CHANNEL,
            clock=clock,
        )
        gates[whatsapp.CHANNEL] = window
        if not window.has_template:
            log.warning(
                "whatsapp: no template configured (WHATSAPP_TEMPLATE_SID_EN/FR): messages held "
                "outside the 24-hour window wait silently until the person writes"
            )
    if settings.telegram_enabled:
        application = telegram.build_application(settings)
        await application.initialize()  # calls getMe: fails fast on a wrong token or URL
        await application.start()
        senders[telegram.CHANNEL] = telegram.TelegramSender(application)
    outbox = Outbox(sessions, senders, conversations, outbox_policy(settings), gates=gates)
    # Erasure jobs send the receipt and delete messages at Twilio and Telegram with them.
    conversations.erasure_service().senders = senders
    for name in senders:  # replies the retry worker produced later go out at once
        conversations.delivery_hooks[name] = lambda _c, _id: _wake(outbox)
    pipeline = Pipeline(conversations, outbox.wake)
    worker = asyncio.create_task(outbox.run()) if run_worker and senders else None
    if senders:
        log.info("channels on: %s", ", ".join(sorted(senders)))
    try:
        yield Channels(pipeline, outbox, application, window)
    finally:
        await pipeline.drain()
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if application is not None:
            await application.stop()
            await application.shutdown()
        for sender in senders.values():
            close = getattr(sender, "close", None)
            if close is not None:
                close()


def outbox_policy(settings: Settings) -> OutboxPolicy:
    return OutboxPolicy(
        retry_budget_seconds=settings.outbox_retry_budget_seconds,
        retry_base_seconds=settings.outbox_retry_base_seconds,
        max_backoff_seconds=settings.outbox_max_backoff_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        concurrency=settings.outbox_concurrency,
    )


async def _wake(outbox: Outbox) -> None:
    outbox.wake()
