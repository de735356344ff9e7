"""The one way a caseworker's words reach a person: ``send_reply``.

The message is stored as an outbound ``queued`` row in the conversation's channel, exactly like
the assistant's replies, so the same outbox delivers it: push channels (SMS, Telegram) through
their delivery hook, the web chat through its poll (``GET /channels/web/messages``).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import DeliveryHook
from bot.store.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Message,
    OutboundStatus,
)

log = logging.getLogger(__name__)


class OptedOut(Exception):
    """The person said STOP: nothing may be sent to them."""


def opted_out(contact: Contact | None) -> bool:
    # The opt-out flag arrives with the SMS/Telegram work (STOP/ARRET); until then no contact
    # has one. Read defensively so this module works before and after that lands.
    if contact is None:
        return False
    return bool(getattr(contact, "opted_out_at", None) or getattr(contact, "opted_out", False))


async def send_reply(
    s: AsyncSession,
    hooks: dict[str, DeliveryHook],
    conversation: Conversation,
    text: str,
    *,
    author: Author = Author.CASEWORKER,
) -> Message:
    """Stores the message (committing ``s``, with whatever else the caller added) and asks the
    channel to deliver it. Raises ``OptedOut`` (and stores nothing) if the person opted out."""
    contact = await s.get(Contact, conversation.contact_id)
    if opted_out(contact):
        raise OptedOut(conversation.id)
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.OUT,
        author=author,
        channel=conversation.channel,
        text=text,
        payload=None,
        language=conversation.language,
        status=OutboundStatus.QUEUED,
    )
    s.add(message)
    await s.commit()
    log.info(
        "%s message queued conversation=%s message=%s chars=%d",
        author,
        conversation.id,
        message.id,
        len(text),
    )
    hook = hooks.get(conversation.channel)
    if hook is not None:
        await hook(conversation.channel, conversation.id)
    return message
