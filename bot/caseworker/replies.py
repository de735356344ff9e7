"""The one way a caseworker's words reach a person: ``send_reply``.

The message is stored as an outbound ``queued`` row in the conversation's channel, exactly like
the assistant's replies, so the same outbox delivers it: push channels (SMS, Telegram) through
their delivery hook, the web chat through its poll (``GET /channels/web/messages``).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import DeliveryHook
from bot.store.channels import ContactOptOut
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


async def opted_out(s: AsyncSession, contact: Contact | None) -> bool:
    # The same record the keyword layer writes on STOP / ARRET and the outbox honours.
    return contact is not None and await s.get(ContactOptOut, contact.id) is not None


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
    if await opted_out(s, contact):
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
