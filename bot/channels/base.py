"""What every push channel (SMS, Telegram) shares: the shape of a channel and its pipeline.

A channel module has the same four parts, in this order:

    verify(request)          the signature / secret token; 403 otherwise
    parse(body)              -> ``InboundMessage`` (or None: ignored on purpose, logged)
    render(reply, language)  -> the ``Part`` objects one reply becomes on that medium
    send(address, part)      -> the provider's id for what was sent (``SendError`` otherwise)

The webhook calls ``Pipeline.accept``: the message is stored (idempotent on the channel's own id)
and answered in the background, so the provider gets its acknowledgement at once; replies go out
through the durable outbox (``bot/channels/outbox.py``), never from the request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError, StatementError

from bot.conversation import ConversationService, InboundMessage
from bot.engine import Reply
from bot.language import Language
from bot.logging_setup import describe, frames
from bot.store.channels import OptOutSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One physical message: its text and channel extras (a Telegram inline keyboard)."""

    text: str
    extra: dict[str, Any] | None = None


class SendError(Exception):
    """Sending failed. ``retryable``: try again later; ``opted_out``: never message again."""

    def __init__(
        self,
        code: str,
        *,
        retryable: bool,
        opted_out: OptOutSource | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.opted_out = opted_out
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """An HTTP ``Retry-After`` header (seconds, or an HTTP date) as seconds from now; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class Sender(Protocol):
    name: str

    def render(self, reply: Reply, language: Language) -> list[Part]: ...

    async def send(self, address: str, part: Part) -> str: ...


class Deleted(StrEnum):
    """What became of a message we asked the provider to delete (erasure: ``bot/erasure.py``)."""

    DELETED = "deleted"
    GONE = "gone"  # the provider does not have it (deleted before, or never kept)
    NOT_DELETABLE = "not_deletable"  # the provider refuses for good (Telegram: older than 48 h)


@dataclass
class Pipeline:
    """Store now, answer in the background, then wake the outbox."""

    conversations: ConversationService
    wake_outbox: Callable[[], None]
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def accept(self, msg: InboundMessage) -> bool:
        """Returns True when the message is new (False: a duplicate delivery, dropped, or one
        the database refused: acknowledged all the same, so that the provider does not
        redeliver a poison message for ever; the log line says why, without its content)."""
        try:
            accepted = await self.conversations.accept(msg)
        except OperationalError:
            raise  # the database is down or busy: 503, the provider retries later (bot/app.py)
        except (StatementError, UnicodeError) as exc:
            log.error(
                "inbound not storable, acknowledged and dropped channel=%s error=%s",
                msg.channel,
                type(exc).__name__,
            )
            return False
        if accepted.duplicate:
            return False
        task = asyncio.create_task(self._answer(accepted.conversation_id, msg.language_hint))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _answer(self, conversation_id: str, hint: str | None) -> None:
        try:
            await self.conversations.answer(conversation_id, hint)
        except Exception as exc:  # the message stays stored; the retry worker answers it later
            # Type and frames only: the error of a message's path can quote its text.
            log.error(
                "answering failed conversation=%s error=%s\n%s",
                conversation_id,
                describe(exc),
                frames(exc.__traceback__),
            )
        finally:
            self.wake_outbox()

    async def drain(self) -> None:
        """Wait for answers in progress (shut-down, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# What a database cannot store in text: NUL (PostgreSQL refuses it) and lone surrogates (not
# encodable as UTF-8; JSON's "\\ud800" decodes to one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with every character a database cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+|\n+")


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces that each ``fits``, at sentence ends, else at spaces.

    Nothing is dropped: a word too long for one piece is cut where it must be.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for chunk in _chunks(text, fits):
        joined = f"{current} {chunk}" if current else chunk
        if fits(joined):
            current = joined
        else:
            if current:
                pieces.append(current)
            current = chunk
    if current:
        pieces.append(current)
    return pieces


def _chunks(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Sentences; a sentence that does not fit alone becomes words; a word, slices."""
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        if fits(sentence):
            out.append(sentence)
            continue
        for word in sentence.split():
            while word:  # the longest fitting prefix each time; never the whole rest
                cut = _longest_fitting_prefix(word, fits)
                out.append(word[:cut])
                word = word[cut:]
    return out


def _longest_fitting_prefix(word: str, fits: Callable[[str], bool]) -> int:
    """The length of the longest prefix of ``word`` that fits (at least 1: a character that fits
    nowhere is cut alone), assuming that a prefix of a fitting text fits too.

    Galloping (1, 2, 4... characters) then bisecting: O(L log L) work for a piece of length L,
    never a call on the whole rest of the word, so one long unbroken word (a pasted link, a
    script's garbage) costs time linear in its length, not quadratic (docs/security.md)."""
    good, probe = 0, 1
    while probe <= len(word) and fits(word[:probe]):
        good, probe = probe, probe * 2
    if probe <= len(word):
        bad = probe  # the first prefix found too long
    elif good == len(word) or fits(word):
        return len(word)
    else:
        bad = len(word)
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(word[:middle]):
            good = middle
        else:
            bad = middle
    return max(good, 1)
