"""The safety layer inside Rasa: the second detector under the app's patterns.

The app answers every crisis its reviewed patterns recognise before Rasa sees the message
(``bot/conversation.py``). What reaches Rasa can still be a crisis in words the patterns do not
know: the intent classifier's ``urgent_help`` (and the patterns again, for messages the app
let through while a form was active) end here, with the same answer, the same urgent referral,
and any form stopped, so recall never depends on one model.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.i18n import TEXTS
from actions.store import language_of, rules, store
from bot import crisis, referrals, safety
from bot.safety import Concern
from bot.store.safety import FlagSource

log = logging.getLogger(__name__)

# The classifier-only bar outside the form (bot/safety.py owns it; chosen on the dev sets).
CLASSIFIER_ONLY_BAR = safety.CLASSIFIER_ONLY_BAR


def _raise_crisis(conversation_id: str, language: str, source: FlagSource) -> str | None:
    with Session(store()) as session:
        current = rules()
        referrals.raise_flags(session, conversation_id, ["crisis"], source=source, rules=current)
        referrals.mark_engine_synced(session, conversation_id)  # this turn stops the form
        referral = referrals.request_contact(session, conversation_id, language, rules=current)
        return referral.id if referral else None


async def answer_crisis(
    dispatcher: CollectingDispatcher, tracker: Tracker, concern: Concern | None
) -> list[dict[str, Any]]:
    """Emergency guidance, an urgent referral, and any form stopped (events returned)."""
    language = language_of(tracker)
    text = "\n\n".join(crisis.load().replies(concern, language))
    dispatcher.utter_message(text=text)
    source = FlagSource.CLASSIFIER if concern is None else FlagSource.PATTERNS
    referral_id = await asyncio.to_thread(_raise_crisis, tracker.sender_id, language, source)
    log.warning("crisis answered in the actions source=%s referral=%s", source, referral_id)
    if (tracker.active_loop or {}).get("name"):
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


def answer_check(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The gentle check: "Are you safe right now?", 911, and a person. No flag and no
    referral; the app reads the answer ("no" is a crisis: ``bot/conversation.py``)."""
    language = language_of(tracker)
    dispatcher.utter_message(
        text=crisis.load().text("check", language),
        buttons=[{"title": TEXTS["talk_to_person"][language], "payload": "/human_handoff"}],
    )
    log.info("safety check sent (classifier under its bar)")
    return []
