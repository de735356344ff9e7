"""The one path every inbound message takes, whatever its channel (the spine of the app).

    channel verified and parsed it  ->  receive():
      1. persist the inbound message, idempotent on the channel's own message id
      2. safety layer (``bot/safety.py``), before anything else, in every state (a form, a
         caseworker's conversation, after STOP, Rasa down): a crisis (self-harm, violence or
         danger now, a medical emergency) is answered by the app itself with emergency guidance
         (``content/crisis.yml``), puts the conversation on top of the caseworker queue (an
         urgent referral flagged ``crisis``) and stops any form in Rasa; it never reaches Rasa,
         so it never starts a form. A close removal date or a fear of detention raises its flag
         (on every referral from the conversation, now and later) and goes on to Rasa.
      3. keyword layer (``engine_input``): a numbered option ("1", "deux") becomes its button's
         payload; STOP/ARRET, START/REPRENDRE, HELP/AIDE, delete-my-data and media-only messages
         are answered by the app itself; HUMAN/HUMAIN/AGENT becomes Rasa's human_handoff intent;
         language menus and switches. SMS opt-out words (Twilio's: STOP, CANCEL, END, QUIT...)
         opt out only on SMS; elsewhere "cancel" reaches the form. An opted-out contact gets
         nothing until START, except HELP, delete-my-data and crisis guidance.
      4. route: a conversation a caseworker has taken is left for them; otherwise the engine
      5. engine (Rasa over HTTP); if it does not answer, the message stays ``pending``, the
         person gets one short notice in their language, and ``process_pending`` (run by the
         retry worker) answers it when Rasa is back
      6. replies are stored as outbound messages; the channel renders them (web: in the
         response; SMS and Telegram: the durable outbox in ``bot/channels/outbox.py`` sends them)

Messages of one conversation are processed one at a time and in order (a per-conversation
lock, ``bot/store/locks.py``: in process memory on SQLite, a PostgreSQL advisory lock across app
processes), so a retry never overtakes a newer message. Each message goes into Rasa once: it is
counted before it is handed over, and a message handed over before is first looked up in Rasa's
tracker (``_ask_engine``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crisis, keywords, referrals, safety
from bot import language as lang
from bot.engine import (
    APP_MESSAGE_ID,
    AnswerInProgress,
    Button,
    EngineUnavailable,
    RasaEngine,
    Reply,
)
from bot.i18n import t
from bot.intake import screening
from bot.store.channels import ContactOptOut, OptOutSource
from bot.store.locks import ConversationLocks
from bot.store.models import (
    Author,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
    utcnow,
)
from bot.store.safety import ConversationFlag, FlagSource

if TYPE_CHECKING:
    from bot.erasure import ErasureService
    from bot.store.privacy import ErasureJob

log = logging.getLogger(__name__)

# How long the retry worker leaves a just-received message to the request that stored it.
RECEIVED_GRACE_SECONDS = 5.0

_INTENT_TRIGGER = re.compile(r"^/([A-Za-z_]+)$")
_LEADING_SLASHES = re.compile(r"^[\s/]+")
_CHOOSE_LANGUAGE = re.compile(r'^/choose_language\{\s*"language"\s*:\s*"(en|fr)"\s*\}$')


@dataclass(frozen=True)
class InboundMessage:
    """A message as a channel hands it over, already verified."""

    channel: str
    address: str  # the channel's id for the person: personal data, never logged
    channel_message_id: str
    text: str
    language_hint: str | None = None
    media: bool = False  # the message carried a photo, voice note, sticker... (we read text only)
    # The provider's own id of the message when ``channel_message_id`` is not it (Telegram: the
    # update id is; the message id lets an erasure delete the message from the chat).
    provider_message_id: int | None = None


def _inbound_payload(msg: InboundMessage) -> dict | None:
    payload: dict = {}
    if msg.media:
        payload["media"] = True
    if msg.provider_message_id is not None:
        payload["provider_message_id"] = msg.provider_message_id
    return payload or None


@dataclass(frozen=True)
class StoredReply:
    id: int
    reply: Reply


@dataclass(frozen=True)
class Outcome:
    conversation_id: str
    message_id: int
    duplicate: bool
    replies: list[StoredReply]


# Called after replies were stored outside a channel request (the retry worker), so that push
# channels (SMS, Telegram) can send them. The web chat pulls instead and needs no hook.
DeliveryHook = Callable[[str, str], Awaitable[None]]  # (channel, conversation_id)


class Command(StrEnum):
    """What the app answers itself, without Rasa."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    DELETE_ASK = "delete_ask"
    DELETE_CONFIRM = "delete_confirm"
    DELETE_CANCEL = "delete_cancel"
    TEXT_ONLY = "text_only"
    UNSUPPORTED_LANGUAGE = "unsupported_language"  # clearly not English or French


# The payload of "Talk to a person": Rasa's human_handoff intent creates the contact request.
HUMAN_PAYLOAD = "/human_handoff"

# Payloads of the "erase my data?" buttons: accepted only right after the question was asked.
DELETE_CONFIRM_PAYLOAD = "/delete_confirm"
DELETE_CANCEL_PAYLOAD = "/delete_cancel"

_KEYWORD_COMMANDS = {
    keywords.Keyword.STOP: Command.OPT_OUT,
    keywords.Keyword.START: Command.OPT_IN,
    keywords.Keyword.HELP: Command.HELP,
    keywords.Keyword.DELETE: Command.DELETE_ASK,
}

# Channels that show buttons as numbered options, so "1" / "deux" pick one (bot/channels/sms.py,
# bot/channels/whatsapp.py).
NUMBERED_OPTION_CHANNELS = frozenset({"sms", "whatsapp"})
# What an opted-out contact can still ask for (and get an answer to).
ALLOWED_AFTER_OPT_OUT = frozenset(
    {Command.OPT_IN, Command.HELP, Command.DELETE_ASK, Command.DELETE_CONFIRM,
     Command.DELETE_CANCEL}
)  # fmt: skip


@dataclass(frozen=True)
class EngineInput:
    language: lang.Language
    text: str
    command: Command | None = None  # set when the app answers itself instead of Rasa
    # A keyword of both languages ("STOP", "START", "INFO") before we know the person's
    # language: the app answers in English and French.
    bilingual: bool = False


def engine_input(
    text: str,
    current: lang.Language | None,
    hint: str | None,
    default: lang.Language,
    intents: frozenset[str],
    options: Sequence[str] = (),
    numbered: bool = False,
    media: bool = False,
    channel: str = "web",
) -> EngineInput:
    """The keyword layer: what to send Rasa for this text, and in which language to answer.

    ``options`` are the button payloads of the last reply; ``numbered`` when the channel showed
    them as numbered options (SMS), so that "1" or "deux" picks one. ``channel`` decides which
    words opt out (``bot/keywords.py``).
    """
    stripped = text.strip()
    if media and not stripped:
        return EngineInput(lang.resolve(current, "", hint, default), "", Command.TEXT_ONLY)
    number = keywords.option_number(stripped) if numbered else None
    if number is not None and 1 <= number <= len(options):
        stripped = options[number - 1]  # "2" -> the second button's payload
    if stripped in (DELETE_CONFIRM_PAYLOAD, DELETE_CANCEL_PAYLOAD) and stripped in options:
        confirm = stripped == DELETE_CONFIRM_PAYLOAD
        command = Command.DELETE_CONFIRM if confirm else Command.DELETE_CANCEL
        return EngineInput(current or default, stripped, command)
    keyword = keywords.match(stripped, channel)
    if keyword is not None:
        language = keyword.language or lang.resolve(current, "", hint, default)
        if keyword.keyword == keywords.Keyword.HUMAN:
            return EngineInput(language, HUMAN_PAYLOAD)
        unknown = keyword.language is None and current is None and hint not in ("en", "fr")
        command = _KEYWORD_COMMANDS[keyword.keyword]
        return EngineInput(language, stripped, command, bilingual=unknown)
    chosen = _CHOOSE_LANGUAGE.match(stripped)
    if chosen:  # a language button
        return EngineInput(chosen.group(1), "/choose_language")  # type: ignore[arg-type]
    if lang.asks_for_language_menu(stripped):
        return EngineInput(current or default, "/ask_language")
    switch = lang.explicit_switch(stripped)
    if switch:
        return EngineInput(switch, "/choose_language")
    language = lang.resolve(current, stripped, hint, default)
    trigger = _INTENT_TRIGGER.match(stripped)
    if trigger and trigger.group(1) in intents:
        return EngineInput(language, stripped)  # a button payload such as "/program_what"
    if lang.unsupported_language(stripped) is not None:  # answered in both EN and FR
        unchanged = lang.resolve(current, "", hint, default)
        return EngineInput(unchanged, stripped, Command.UNSUPPORTED_LANGUAGE)
    # Rasa reads a leading "/" as an intent (with entities): never let a person inject one,
    # however many slashes and spaces come first ("/ /greet{...}").
    return EngineInput(language, _LEADING_SLASHES.sub("", stripped) or "?")


class ConversationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        engine: RasaEngine,
        *,
        default_language: lang.Language,
        intents: frozenset[str],
        screening_rules_path: Path,
        today: Callable[[], date] = date.today,
        locks: ConversationLocks | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._default_language = default_language
        self._intents = intents
        self._rules_path = screening_rules_path
        self._today = today
        self._locks = locks or ConversationLocks()
        self.delivery_hooks: dict[str, DeliveryHook] = {}
        # The durable erasure jobs (bot/erasure.py): the app sets one with the tracker store
        # and the channel senders; without it, only the app's own rows are erased.
        self.erasure: ErasureService | None = None
        # Web chat: the erasure receipt, answered in the HTTP response (``receive``).
        self._receipts: dict[int, Reply] = {}

    # -- 1. persist ------------------------------------------------------------------------

    async def receive(self, msg: InboundMessage) -> Outcome:
        """Store and answer one message (the web chat waits for the replies)."""
        accepted = await self.accept(msg)
        if not accepted.duplicate:
            await self.answer(accepted.conversation_id, msg.language_hint)
        replies = await self.replies_to(accepted.message_id)
        receipt = self._receipts.pop(accepted.message_id, None)
        if receipt is not None and not replies:  # everything was erased: only the receipt
            replies = [StoredReply(0, receipt)]
        return Outcome(accepted.conversation_id, accepted.message_id, accepted.duplicate, replies)

    async def accept(self, msg: InboundMessage) -> Outcome:
        """Step 1 only: store the message, idempotent on its channel id (push channels call
        this in the webhook, acknowledge at once, then ``answer`` in the background; if the
        process stops in between, the retry worker answers the stored message)."""
        async with self._locks.hold(f"{msg.channel}:{msg.address}"):
            conversation_id, message_id, duplicate = await self._persist(msg)
        if duplicate:
            log.info("duplicate inbound dropped channel=%s message=%s", msg.channel, message_id)
        return Outcome(conversation_id, message_id, duplicate, [])

    async def answer(self, conversation_id: str, language_hint: str | None = None) -> int:
        """Steps 2-5 for every unanswered message of the conversation, in order."""
        async with self._locks.hold(conversation_id):
            return await self._process(conversation_id, language_hint=language_hint)

    async def _persist(self, msg: InboundMessage) -> tuple[str, int, bool]:
        async with self._sessions() as s:
            existing = await self._find_inbound(s, msg.channel, msg.channel_message_id)
            if existing:
                return existing.conversation_id, existing.id, True
            conversation = await self._open_conversation(s, msg.channel, msg.address)
            message = Message(
                conversation_id=conversation.id,
                direction=Direction.IN,
                author=Author.PERSON,
                channel=msg.channel,
                channel_message_id=msg.channel_message_id,
                text=msg.text,
                payload=_inbound_payload(msg),
                status=InboundStatus.RECEIVED,
            )
            s.add(message)
            try:
                await s.commit()
            except IntegrityError:
                # Another worker stored the same delivery first: it is a duplicate.
                await s.rollback()
                existing = await self._find_inbound(s, msg.channel, msg.channel_message_id)
                if existing is None:
                    raise
                return existing.conversation_id, existing.id, True
            log.info(
                "inbound stored channel=%s conversation=%s message=%s chars=%d",
                msg.channel,
                conversation.id,
                message.id,
                len(msg.text),
            )
            return conversation.id, message.id, False

    @staticmethod
    async def _find_inbound(
        s: AsyncSession, channel: str, channel_message_id: str
    ) -> Message | None:
        return await s.scalar(
            select(Message).where(
                Message.channel == channel, Message.channel_message_id == channel_message_id
            )
        )

    @staticmethod
    async def _open_conversation(s: AsyncSession, channel: str, address: str) -> Conversation:
        contact = await s.scalar(select(Contact).where(Contact.matches(channel, address)))
        if contact is None:
            contact = Contact(channel=channel, address=address)
            s.add(contact)
            await s.flush()
        conversation = await s.scalar(
            select(Conversation)
            .where(
                Conversation.contact_id == contact.id,
                Conversation.status != ConversationStatus.CLOSED,
            )
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )
        if conversation is None:
            conversation = Conversation(
                contact_id=contact.id, channel=channel, language=contact.language
            )
            s.add(conversation)
            await s.flush()
        return conversation

    # -- 2-5. keyword layer, route, engine, store replies ----------------------------------

    async def _process(self, conversation_id: str, language_hint: str | None = None) -> int:
        """Answer every unanswered inbound message of a conversation, oldest first.

        Returns how many messages were answered. No database transaction is held open while
        Rasa is called, so a slow engine never blocks other writers (SQLite has only one).
        """
        async with self._sessions() as s:
            conversation = await s.get(Conversation, conversation_id)
            if conversation is None:
                return 0
            # A caseworker owns it: their person's messages wait for them, unanswered by the
            # bot; only the app's own keywords (STOP, START, HELP, delete) are still answered.
            with_caseworker = conversation.status == ConversationStatus.HUMAN
            backlog = list(
                await s.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == Direction.IN,
                        Message.status.in_([InboundStatus.RECEIVED, InboundStatus.PENDING]),
                    )
                    .order_by(Message.id)
                )
            )
            current = conversation.language
            channel = conversation.channel
            contact_id = conversation.contact_id
            # A crisis flag whose form stop has not reached Rasa yet (Rasa was down).
            engine_stale = await s.scalar(
                select(ConversationFlag.flag)
                .where(
                    ConversationFlag.conversation_id == conversation_id,
                    ConversationFlag.engine_synced.is_(False),
                )
                .limit(1)
            ) is not None
        answered = 0
        for message in backlog:
            media = bool((message.payload or {}).get("media"))
            options, after_safety = await self._last_reply(conversation_id)
            step = engine_input(
                message.text,
                current,  # type: ignore[arg-type]
                language_hint,
                self._default_language,
                self._intents,
                options=options,
                numbered=channel in NUMBERED_OPTION_CHANNELS,
                media=media,
                channel=channel,
            )
            # 2. safety first: in every state, before keywords, routing and Rasa.
            # A photo or voice note's caption is text like any other (Telegram's caption,
            # Twilio's Body beside MediaUrl); a media without text cannot be assessed.
            signals = self._assess(message.text, step.language)
            # Right after a safety reply: "ok" / "I called 911" gets a short supportive reply,
            # "no" to "are you safe?" is a crisis (bot/safety.py: after_safety_reply).
            follow_up = (
                safety.after_safety_reply(message.text, after_safety)
                if after_safety and signals.crisis is None and step.command is None
                else None
            )
            if follow_up == safety.AfterSafety.CRISIS:
                signals = replace(signals, crisis=safety.Crisis(None, None))
            elif follow_up is not None and not with_caseworker:
                kind = "support" if follow_up == safety.AfterSafety.SUPPORT else "safe"
                await self._answer_follow_up(conversation_id, message.id, kind, step.language)
                current = step.language
                answered += 1
                continue
            if signals.flags:
                await self._raise_flags(conversation_id, signals)
            if signals.crisis is not None:
                current = await self._answer_crisis(
                    conversation_id,
                    message.id,
                    message.text,
                    signals.crisis,
                    step.language,
                    current is not None,
                )
                engine_stale = not await self._stop_form(conversation_id)
                answered += 1
                continue
            if with_caseworker and step.command in (None, Command.UNSUPPORTED_LANGUAGE):
                continue
            opted_out = await self.is_opted_out(contact_id)
            if step.command == Command.OPT_IN and not opted_out:
                step = EngineInput(step.language, "/greet")  # Telegram's /start: just hello
            if opted_out and step.command not in ALLOWED_AFTER_OPT_OUT:
                # Opted out: store what they sent, answer nothing (a second STOP included).
                await self._mark_handled(message.id, step.language)
                log.info("opted-out contact: no reply conversation=%s", conversation_id)
            elif step.command is not None:
                if not await self._answer_command(
                    conversation_id, contact_id, message.id, step, always_send=opted_out
                ):
                    return answered  # the contact and everything about them were erased
            else:
                try:
                    if engine_stale:
                        await self._sync_engine(conversation_id)
                        engine_stale = False
                    replies = await self._ask_engine(conversation_id, message, step, channel)
                except EngineUnavailable as exc:
                    await self._defer(
                        conversation_id,
                        backlog[answered:],
                        step.language,
                        notify=not isinstance(exc, AnswerInProgress),
                    )
                    return answered
                await self._store_replies(conversation_id, message.id, step.language, replies)
            current = step.language
            answered += 1
        return answered

    async def _ask_engine(
        self, conversation_id: str, message: Message, step: EngineInput, channel: str
    ) -> list[Reply]:
        """Rasa's replies to ``message``, which goes into Rasa at most once.

        The attempt is counted (committed) before the call; a message counted before may have
        reached Rasa (the app died, or the answer was lost on the way back), so Rasa's tracker is
        read first: if it holds the message (by the app's id in its metadata), its replies are
        taken from there. Raises ``EngineUnavailable`` (``AnswerInProgress`` when Rasa is still
        on it)."""
        key = str(message.id)
        if message.attempts > 0:
            found = await self._engine.replies_in_tracker(conversation_id, key)
            if found is not None:
                log.info(
                    "engine already had the message, replies read from its tracker "
                    "conversation=%s message=%s replies=%d",
                    conversation_id,
                    message.id,
                    len(found),
                )
                return found
        async with self._sessions() as s:
            row = await s.get(Message, message.id)
            if row is not None:
                row.attempts += 1
                await s.commit()
        metadata = {"language": step.language, "channel": channel, APP_MESSAGE_ID: key}
        return await self._engine.send(conversation_id, step.text, metadata)

    # -- the safety layer -------------------------------------------------------------------

    def _rules(self) -> screening.RuleSet:
        return screening.current_rules(self._rules_path)

    def _assess(self, text: str, language: lang.Language) -> safety.Signals:
        rules = self._rules()
        return safety.assess(text, language, self._today(), rules.urgent_within_days)

    async def _raise_flags(self, conversation_id: str, signals: safety.Signals) -> None:
        """Record the flags on the conversation and on its open referral, if any (a crisis also
        creates the referral: ``_answer_crisis``)."""
        rules = self._rules()
        async with self._sessions() as s:
            await s.run_sync(
                lambda sync: referrals.raise_flags(
                    sync, conversation_id, signals.flags, source=FlagSource.PATTERNS, rules=rules
                )
            )
        log.warning("safety flags raised flags=%s conversation=%s", signals.flags, conversation_id)

    async def _answer_crisis(
        self,
        conversation_id: str,
        message_id: int,
        text: str,
        found: safety.Crisis,
        current: lang.Language,
        known: bool,
    ) -> lang.Language:
        """Emergency guidance, every time, whatever the state; an urgent referral on top of the
        queue; any form in Rasa stopped. Works with Rasa down. Returns the reply language."""
        # The language of the words that matched ("jveux mourir" gets French even as a first
        # message, or after a STOP that set no language), unless the message is mostly in the
        # conversation's language.
        language: lang.Language = current
        if found.language in ("en", "fr") and found.language != current:
            counts = lang.scores(text)
            if not known or counts[found.language] >= counts[current]:  # type: ignore[index]
                language = found.language  # type: ignore[assignment]
        # Another language (Spanish, Portuguese): the guidance in English and in French.
        languages = (
            [language, "fr" if language == "en" else "en"]
            if found.language == "other"
            else [language]
        )
        content = crisis.load()
        rules = self._rules()
        async with self._sessions() as s:
            referral = await s.run_sync(
                lambda sync: referrals.request_contact(sync, conversation_id, language, rules=rules)
            )
            message = await s.get(Message, message_id)
            assert message is not None
            for reply_language in languages:
                s.add(
                    self._outbound(
                        conversation_id,
                        message,
                        "\n\n".join(content.replies(found.concern, reply_language)),
                        {"always_send": True, "safety": "crisis"},
                        reply_language,  # type: ignore[arg-type]
                        Author.SYSTEM,
                    )
                )
            message.status = InboundStatus.HANDLED
            message.language = language
            conversation = await s.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.language = language
            await s.commit()
        log.warning(
            "crisis answered concern=%s conversation=%s referral=%s",
            found.concern,
            conversation_id,
            referral.id if referral else None,
        )
        return language

    async def _stop_form(self, conversation_id: str) -> bool:
        """Stop Rasa's form after a crisis; False (retried before Rasa's next turn) when Rasa
        is down."""
        try:
            await self._sync_engine(conversation_id)
        except EngineUnavailable:
            log.warning(
                "form not stopped yet (engine unavailable) conversation=%s", conversation_id
            )
            return False
        return True

    async def _sync_engine(self, conversation_id: str) -> None:
        """Stop Rasa's form and record that Rasa is in step with the conversation's crisis
        flags. Raises ``EngineUnavailable``."""
        await self._engine.stop_form(conversation_id)
        async with self._sessions() as s:
            await s.run_sync(lambda sync: referrals.mark_engine_synced(sync, conversation_id))

    # -- the app's own answers (keyword layer) --------------------------------------------

    async def _answer_follow_up(
        self, conversation_id: str, message_id: int, kind: str, language: lang.Language
    ) -> None:
        """The short reply after a safety reply (``support`` or ``safe`` of crisis.yml): sent
        like the crisis answer (even after an opt-out); never reaches Rasa, so no form."""
        async with self._sessions() as s:
            message = await s.get(Message, message_id)
            assert message is not None
            text = crisis.load().text(kind, language)
            payload = {"always_send": True, "safety": kind}
            s.add(self._outbound(conversation_id, message, text, payload, language, Author.SYSTEM))
            message.status = InboundStatus.HANDLED
            message.language = language
            await s.commit()
        log.info("safety follow-up answered kind=%s conversation=%s", kind, conversation_id)

    async def _last_reply(self, conversation_id: str) -> tuple[list[str], str | None]:
        """The button payloads of the last reply we sent ("1" picks one), and which safety
        reply it was, if any (``crisis.reply_kind``)."""
        async with self._sessions() as s:
            last = await s.scalar(
                select(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.OUT,
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        if last is None:
            return [], None
        options = [b.payload for b in Reply.from_stored(last.text, last.payload).buttons]
        return options, crisis.load().reply_kind(last.text, last.payload)

    async def is_opted_out(self, contact_id: str) -> bool:
        async with self._sessions() as s:
            return await s.get(ContactOptOut, contact_id) is not None

    async def _mark_handled(self, message_id: int, language: lang.Language) -> None:
        async with self._sessions() as s:
            message = await s.get(Message, message_id)
            if message is not None:
                message.status = InboundStatus.HANDLED
                message.language = language
                await s.commit()

    async def _answer_command(
        self,
        conversation_id: str,
        contact_id: str,
        message_id: int,
        step: EngineInput,
        *,
        always_send: bool = False,
    ) -> bool:
        """STOP, START, HELP, delete-my-data, media: the app answers. False once erased.

        ``always_send``: the contact opted out, and this is one of the few answers they still
        get (HELP, the erase question and its outcome)."""
        language = step.language
        command = step.command
        if command == Command.DELETE_CONFIRM:
            from bot.erasure import RECEIPT_CHANNELS, receipt_text

            job = await self.erase_contact(contact_id, language=language)
            if job is not None and job.receipt_channel not in RECEIPT_CHANNELS:
                # The web chat pulls: the receipt is the answer to this very request.
                self._receipts[message_id] = Reply(receipt_text(job.reference, language))
            return False
        if command == Command.DELETE_ASK:
            reply = Reply(
                t("delete_ask", language),
                (
                    Button(t("delete_yes", language), DELETE_CONFIRM_PAYLOAD),
                    Button(t("delete_no", language), DELETE_CANCEL_PAYLOAD),
                ),
            )
        elif command == Command.UNSUPPORTED_LANGUAGE:
            human = Button(t("person_button_bilingual", language), HUMAN_PAYLOAD)
            reply = Reply(t("unsupported_language", language), (human,))
        else:
            key = {
                Command.OPT_OUT: "opted_out",
                Command.OPT_IN: "opted_in",
                Command.HELP: "help",
                Command.DELETE_CANCEL: "delete_kept",
                Command.TEXT_ONLY: "text_only",
            }[command]  # type: ignore[index]
            both = "\n".join((t(key, "en"), t(key, "fr")))  # fits 2 SMS segments (tested)
            reply = Reply(both if step.bilingual else t(key, language))
        async with self._sessions() as s:
            if command == Command.OPT_OUT:
                await self._set_opt_out(s, contact_id, OptOutSource.KEYWORD)
            elif command == Command.OPT_IN:
                await s.execute(delete(ContactOptOut).where(ContactOptOut.contact_id == contact_id))
            message = await s.get(Message, message_id)
            assert message is not None
            out = self._outbound(
                conversation_id, message, reply.text, reply.to_payload(), language, Author.SYSTEM
            )
            if step.bilingual:
                out.language = None  # English and French in one reply: no single language
            if command == Command.OPT_OUT or always_send:
                # Sent even though the contact opted out: the confirmation, HELP, erasure.
                out.payload = {**(out.payload or {}), "always_send": True}
            s.add(out)
            message.status = InboundStatus.HANDLED
            message.language = language
            conversation = await s.get(Conversation, conversation_id)
            if conversation is not None and not step.bilingual:  # still unknown if bilingual
                conversation.language = language
            await s.commit()
        log.info("keyword answered command=%s conversation=%s", command, conversation_id)
        return True

    @staticmethod
    async def _set_opt_out(s: AsyncSession, contact_id: str, source: OptOutSource) -> None:
        if await s.get(ContactOptOut, contact_id) is None:
            s.add(ContactOptOut(contact_id=contact_id, source=source))

    async def opt_out(self, contact_id: str, source: OptOutSource) -> None:
        """Stop messaging a contact (a channel learnt they cannot or do not want to receive)."""
        async with self._sessions() as s:
            await self._set_opt_out(s, contact_id, source)
            try:
                await s.commit()
            except IntegrityError:  # recorded concurrently: same result
                await s.rollback()
        log.info("contact opted out source=%s contact=%s", source, contact_id)

    async def opt_out_address(self, channel: str, address: str, source: OptOutSource) -> None:
        """``opt_out`` for a channel address (nothing to do for someone we never talked to)."""
        async with self._sessions() as s:
            contact_id = await s.scalar(select(Contact.id).where(Contact.matches(channel, address)))
        if contact_id is not None:
            await self.opt_out(contact_id, source)

    def erasure_service(self) -> ErasureService:
        if self.erasure is None:
            from bot.erasure import ErasureService

            self.erasure = ErasureService(self._sessions)
        return self.erasure

    async def erase_contact(
        self,
        contact_id: str,
        *,
        language: str | None = None,
        reason: str = "person",
        actor: str = "person",
        actor_user_id: str | None = None,
    ) -> ErasureJob | None:
        """Erase a contact and everything about them, as a durable job (``bot/erasure.py``):
        the app's rows now, then Rasa's tracker events, the receipt with the job's reference,
        and the messages at Twilio and Telegram, retried by the worker until done. None when
        the contact is already gone."""
        from bot.erasure import Receipt
        from bot.store.privacy import ErasureReason

        async with self._sessions() as s:
            contact = await s.get(Contact, contact_id)
            if contact is None:
                return None
            receipt = Receipt(
                contact.channel,
                contact.address,
                language or contact.language or self._default_language,
            )
        service = self.erasure_service()
        job = await service.request(
            contact_ids=[contact_id],
            reason=ErasureReason(reason),
            actor=actor,
            actor_user_id=actor_user_id,
            receipt=receipt,
        )
        try:
            await service.run_job(job.id)  # what fails now is retried by the worker
        except Exception as exc:  # the job is stored: the worker finishes it
            log.error("erasure not run now job=%s error=%s", job.id, type(exc).__name__)
        log.info("contact erasure started job=%s reason=%s", job.id, reason)
        return job

    async def _defer(
        self,
        conversation_id: str,
        backlog: list[Message],
        language: lang.Language,
        *,
        notify: bool = True,
    ) -> None:
        """Keep the messages for the retry worker; tell the person once per outage (not when
        Rasa has the message and is only slow to finish it: ``notify`` False)."""
        already_told = not notify or any(m.status == InboundStatus.PENDING for m in backlog)
        async with self._sessions() as s:
            for m in backlog:
                row = await s.get(Message, m.id)
                if row is not None and row.status == InboundStatus.RECEIVED:
                    row.status = InboundStatus.PENDING
            conversation = await s.get(Conversation, conversation_id)
            if conversation is not None and conversation.language is None:
                conversation.language = language
            if not already_told:
                s.add(
                    self._outbound(
                        conversation_id,
                        backlog[-1],
                        t("engine_unavailable", language),
                        None,
                        language,
                        Author.SYSTEM,
                    )
                )
            await s.commit()
        log.warning(
            "engine unavailable: %d message(s) pending conversation=%s",
            len(backlog),
            conversation_id,
        )

    async def _store_replies(
        self, conversation_id: str, message_id: int, language: lang.Language, replies: list[Reply]
    ) -> None:
        async with self._sessions() as s:
            message = await s.get(Message, message_id)
            conversation = await s.get(Conversation, conversation_id)
            assert message is not None and conversation is not None
            for reply in replies:
                s.add(
                    self._outbound(
                        conversation_id,
                        message,
                        reply.text,
                        reply.to_payload(),
                        language,
                        Author.ASSISTANT,
                    )
                )
            message.status = InboundStatus.ANSWERED
            message.language = language
            conversation.language = language
            contact = await s.get(Contact, conversation.contact_id)
            if contact is not None:
                contact.language = language
            await s.commit()

    @staticmethod
    def _outbound(
        conversation_id: str,
        in_reply_to: Message,
        text: str,
        payload: dict | None,
        language: lang.Language,
        author: Author,
    ) -> Message:
        return Message(
            conversation_id=conversation_id,
            direction=Direction.OUT,
            author=author,
            channel=in_reply_to.channel,
            text=text,
            payload=payload,
            language=language,
            status=OutboundStatus.QUEUED,
            in_reply_to_id=in_reply_to.id,
        )

    # -- reading replies and retrying ------------------------------------------------------

    async def replies_to(self, message_id: int) -> list[StoredReply]:
        async with self._sessions() as s:
            rows = await s.scalars(
                select(Message)
                .where(Message.in_reply_to_id == message_id, Message.direction == Direction.OUT)
                .order_by(Message.id)
            )
            return [StoredReply(r.id, Reply.from_stored(r.text, r.payload)) for r in rows]

    async def outbound_after(
        self, channel: str, address: str, after_id: int, limit: int = 50
    ) -> list[StoredReply]:
        """Outbound messages to one contact newer than ``after_id`` (the web chat's poll)."""
        async with self._sessions() as s:
            rows = await s.scalars(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(
                    Contact.matches(channel, address),
                    Message.direction == Direction.OUT,
                    Message.id > after_id,
                )
                .order_by(Message.id)
                .limit(limit)
            )
            return [StoredReply(r.id, Reply.from_stored(r.text, r.payload)) for r in rows]

    async def process_pending(self) -> int:
        """Retry every conversation with unanswered messages; returns how many were answered.

        A message just received is left to the request that stored it for
        ``RECEIVED_GRACE_SECONDS`` (its answer task holds the channel's language hint); after
        that it was left behind (the process stopped in between) and is answered here."""
        left_behind = utcnow() - timedelta(seconds=RECEIVED_GRACE_SECONDS)
        async with self._sessions() as s:
            rows = await s.execute(
                select(Message.conversation_id, Message.channel)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.status != ConversationStatus.HUMAN,
                    Message.direction == Direction.IN,
                    or_(
                        Message.status == InboundStatus.PENDING,
                        and_(
                            Message.status == InboundStatus.RECEIVED,
                            Message.created_at < left_behind,
                        ),
                    ),
                )
                .distinct()
            )
            todo = [(cid, channel) for cid, channel in rows]
        answered = 0
        for conversation_id, channel in todo:
            async with self._locks.try_hold(conversation_id) as held:
                if not held:
                    continue  # a request (here or in another process) is answering it now
                done = await self._process(conversation_id)
            answered += done
            hook = self.delivery_hooks.get(channel)
            if done and hook is not None:
                await hook(channel, conversation_id)
        if answered:
            log.info("retry worker answered %d pending message(s)", answered)
        return answered
