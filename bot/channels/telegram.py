"""Telegram with python-telegram-bot 22: webhook in, inline keyboards out.

    POST /channels/telegram/webhook   Telegram's updates -> 200 at once

The request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to ``TELEGRAM_WEBHOOK_SECRET``
(constant-time comparison), else 403. ``update_id`` is the channel message id, so a repeated
update is dropped by the unique constraint. PTB is used as the Bot API client: the
``Application`` (no Updater; never ``run_polling`` in the server) is started and stopped in the
app's lifespan, sends go through its ``AIORateLimiter`` (retries on 429) from the outbox.

Handled on purpose: text and commands (/start /help /language /stop /delete are words of the
keyword layer), button presses (callback queries: answered, their data is the payload), media
(a polite "text only" reply), the person blocking the bot (``my_chat_member`` "kicked": opted
out), and ignored with a log line: edited messages, group and channel posts, service messages and
every other update type.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.channels.base import Deleted, Part, Pipeline, SendError, split_text, storable
from bot.conversation import InboundMessage
from bot.engine import Reply
from bot.http_guard import json_error
from bot.language import Language
from bot.settings import Settings
from bot.store.channels import OptOutSource

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/channels/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MAX_BODY_BYTES = 256 * 1024
RATE_LIMIT_RETRIES = 3
MAX_ID = 2**63 - 1  # a BIGINT; every Telegram id fits (chat ids need 52 bits)
MAX_UPDATE_NODES = 10_000  # JSON values in one update: a real one has a few dozen

router = APIRouter(prefix="/channels/telegram", tags=["telegram"])


def build_application(settings: Settings) -> Application:
    """The PTB application: our base URL, explicit timeouts, flood-limit retries, no Updater."""
    timeout = settings.channel_send_timeout_seconds
    builder: ApplicationBuilder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .updater(None)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .pool_timeout(timeout)
    )
    return builder.build()


# -- render ------------------------------------------------------------------------------


def render(reply: Reply) -> list[Part]:
    """Text within Telegram's length limit; buttons as an inline keyboard on the last part."""
    pieces = split_text(reply.text, lambda s: len(s) <= MessageLimit.MAX_TEXT_LENGTH) or [""]
    rows = [
        [{"text": b.title, "callback_data": b.payload}]
        for b in reply.buttons
        if 0 < len(b.payload.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    ]
    if not rows and not pieces[-1]:
        return []
    if not pieces[-1]:
        pieces[-1] = "…"  # Telegram refuses an empty text; a keyboard needs a message
    parts = [Part(p) for p in pieces[:-1]]
    parts.append(Part(pieces[-1], {"keyboard": rows} if rows else None))
    return parts


# -- parse -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    message: InboundMessage | None
    callback_query_id: str | None = None
    ignored: str | None = None  # why nothing is processed (logged, no personal data)
    blocked: str | None = None  # the chat whose person blocked the bot: opt them out


def _command(text: str) -> str:
    """ "/start@OurBot payload" -> "/start payload" (group-style mention of the bot)."""
    if text.startswith("/"):
        head, _, rest = text.partition(" ")
        head = head.split("@", 1)[0]
        return f"{head} {rest}".strip()
    return text


def _bounded_ids(data: Any) -> bool:
    """Every integer in the update fits in a signed 64-bit column (Telegram's ids do: chat ids
    need 52 bits). A 200-digit ``update_id`` or ``chat.id`` comes from no real Telegram."""
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_UPDATE_NODES:
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_ID:
            return False
    return True


def parse(data: Any, bot: Bot, max_chars: int) -> Parsed:
    """A webhook body -> the app's message, or the reason it is ignored. Never raises."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return Parsed(None, ignored="malformed")
    if not _bounded_ids(data):
        return Parsed(None, ignored="id_out_of_range")
    try:
        update = Update.de_json(data, bot)
    except Exception:  # a body PTB cannot read: acknowledge and ignore
        return Parsed(None, ignored="malformed")
    if update is None:
        return Parsed(None, ignored="malformed")
    try:
        return _parse_update(update, data, max_chars)
    except (AttributeError, TypeError, ValueError):  # PTB does not check field types
        return Parsed(None, ignored="malformed")


def _private(chat: Any) -> bool:
    """Only one-to-one chats: groups and channels are ignored (no intake in public)."""
    return chat is not None and chat.type == "private" and isinstance(chat.id, int)


def _text(value: Any) -> str | None:
    """A non-empty string, with what a database cannot store (NUL, lone surrogates) replaced."""
    return storable(value) if isinstance(value, str) and value else None


def _parse_update(update: Update, data: dict[str, Any], max_chars: int) -> Parsed:
    message_id = f"u{update.update_id}"
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        query_id = _text(query.id)
        if not _private(chat) or not _text(query.data):
            return Parsed(None, query_id, ignored="callback_outside_private_chat")
        hint = _text(query.from_user.language_code) if query.from_user else None
        text = str(_text(query.data))[:max_chars]
        return Parsed(InboundMessage(CHANNEL, str(chat.id), message_id, text, hint), query_id)
    member = update.my_chat_member
    if member is not None:
        if _private(member.chat) and member.new_chat_member.status == "kicked":
            return Parsed(None, ignored="bot_blocked", blocked=str(member.chat.id))
        return Parsed(None, ignored="my_chat_member")
    if update.message is None:
        kind = next((k for k in data if k != "update_id"), "empty")
        return Parsed(None, ignored=f"update_type:{kind}"[:48])
    m = update.message
    if not _private(m.chat):
        return Parsed(None, ignored="group_or_channel_chat")
    hint = _text(m.from_user.language_code) if m.from_user else None
    if text := _text(m.text):
        text = _command(text)[:max_chars]
        return Parsed(
            InboundMessage(
                CHANNEL, str(m.chat.id), message_id, text, hint, provider_message_id=m.message_id
            )
        )
    if m.effective_attachment is not None:
        caption = (_text(m.caption) or "")[:max_chars]
        return Parsed(
            InboundMessage(
                CHANNEL,
                str(m.chat.id),
                message_id,
                caption,
                hint,
                True,
                provider_message_id=m.message_id,  # erasure deletes it from the chat (< 48 h)
            )
        )
    return Parsed(None, ignored="service_message")


# -- send --------------------------------------------------------------------------------


class TelegramSender:
    name = CHANNEL

    def __init__(self, application: Application) -> None:
        self.application = application

    def render(self, reply: Reply, language: Language) -> list[Part]:
        return render(reply)

    async def send(self, address: str, part: Part) -> str:
        keyboard = (part.extra or {}).get("keyboard")
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(**button) for button in row] for row in keyboard]
            )
            if keyboard
            else None
        )
        try:
            sent = await self.application.bot.send_message(
                chat_id=int(address), text=part.text, reply_markup=markup
            )
        except RetryAfter as exc:  # still flooded after the rate limiter's own retries
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise SendError("429", retryable=True, retry_after=seconds) from exc
        except Forbidden as exc:  # the person blocked the bot
            raise SendError("403", retryable=False, opted_out=OptOutSource.BLOCKED) from exc
        except BadRequest as exc:
            raise SendError("400", retryable=False) from exc
        except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, bad token: retry later
            raise SendError(type(exc).__name__, retryable=True) from exc
        return str(sent.message_id)

    async def delete_message(self, chat_id: int, message_id: int) -> Deleted:
        """deleteMessage: the Bot API allows it for messages less than 48 hours old (erasure).
        Raises ``SendError`` (retryable) on a network or server error."""
        try:
            await self.application.bot.delete_message(chat_id=chat_id, message_id=message_id)
        except BadRequest as exc:
            if "not found" in str(exc).lower():
                return Deleted.GONE
            return Deleted.NOT_DELETABLE  # "message can't be deleted" (too old...)
        except Forbidden:  # the person blocked the bot or deleted the chat
            return Deleted.NOT_DELETABLE
        except RetryAfter as exc:
            raise SendError("429", retryable=True) from exc
        except (NetworkError, TelegramError) as exc:
            raise SendError(type(exc).__name__, retryable=True) from exc
        return Deleted.DELETED


# -- route -------------------------------------------------------------------------------


async def handle(data: Any, bot: Bot, pipeline: Pipeline, max_chars: int) -> Parsed:
    """Process one update (the webhook and the polling mode both come here)."""
    parsed = parse(data, bot, max_chars)
    if parsed.callback_query_id is not None:
        try:  # stops the client's progress spinner; losing it is harmless
            await bot.answer_callback_query(parsed.callback_query_id)
        except TelegramError as exc:
            log.info("callback query not answered: %s", type(exc).__name__)
    if parsed.blocked is not None:  # stop now rather than at the next failed send
        await pipeline.conversations.opt_out_address(CHANNEL, parsed.blocked, OptOutSource.BLOCKED)
    if parsed.message is None:
        log.info("telegram update ignored reason=%s", parsed.ignored)
        return parsed
    await pipeline.accept(parsed.message)
    return parsed


@router.post("/webhook")
async def webhook(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    channels = request.app.state.channels
    if not settings.telegram_enabled or channels.telegram is None:
        return JSONResponse(
            status_code=404,
            content={"error": "channel_disabled", "message": "Telegram is not configured."},
        )
    expected = settings.telegram_webhook_secret.encode()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        log.warning("telegram webhook rejected: bad secret token")
        return Response(status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return json_error(
            413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes."
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[...", deep
        log.info("telegram update ignored reason=invalid_json")
        return Response(status_code=200)  # a 4xx would only make Telegram resend it
    await handle(data, channels.telegram.bot, channels.pipeline, settings.max_text_chars)
    return Response(status_code=200)


# -- operator commands: register the webhook; polling for local development ------------------


async def register_webhook(bot: Bot, public_base_url: str, secret: str) -> str:
    """``intake telegram-webhook``: point Telegram at this app, with the secret token."""
    url = f"{public_base_url}{WEBHOOK_PATH}"
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    return url


async def poll_once(
    bot: Bot, pipeline: Pipeline, max_chars: int, offset: int | None, long_poll_seconds: int = 30
) -> int | None:
    """One long-poll round of ``intake telegram-poll``; returns the next offset.

    Uses ``getUpdates`` directly (not ``run_polling``) so updates go through ``handle`` exactly
    like webhook updates do.
    """
    updates = await bot.get_updates(
        offset=offset, timeout=long_poll_seconds, allowed_updates=ALLOWED_UPDATES
    )
    for update in updates:
        await handle(update.to_dict(), bot, pipeline, max_chars)
        offset = update.update_id + 1
    return offset
