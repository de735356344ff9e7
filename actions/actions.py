"""Custom actions: keep the language slot in step with the app, clarify, and hand off."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.i18n import TEXTS
from actions.knowledge import topic_titles
from actions.safety import answer_crisis
from actions.store import language_of, rules, store
from bot import referrals, safety

log = logging.getLogger(__name__)

# How many topics a clarification offers, and the least confidence worth offering.
MAX_SUGGESTIONS = 3
MIN_SUGGESTION_CONFIDENCE = 0.05
# Topics never worth suggesting as "did you mean": they are not questions about the program.
NOT_SUGGESTED = frozenset({"out_of_scope", "urgent_help"})


class ActionSyncLanguage(Action):
    """Fill the ``language`` slot from the metadata the app sends with every message.

    Runs as the slot's custom mapping, so on every user message, before any response is chosen.
    """

    def name(self) -> str:
        return "action_sync_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        wanted = metadata.get("language")
        if wanted in ("en", "fr") and wanted != tracker.get_slot("language"):
            return [SlotSet("language", wanted)]
        return []


class ActionClarify(Action):
    """Not understood: offer the likeliest topics as buttons, and a person."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language_of(tracker)
        latest = tracker.latest_message or {}
        found = safety.crisis_in(latest.get("text") or "")
        if found is not None:  # never answer danger with "did you mean...?"
            return await answer_crisis(dispatcher, tracker, found)
        ranking = latest.get("intent_ranking") or []
        titles = topic_titles(lang)
        # Gibberish is recognised as its own intent ("nonsense"): guessing topics from it would
        # only be noise, so the person gets the plain "not understood" text and a person.
        if (latest.get("intent") or {}).get("name") == "nonsense":
            ranking = []
        topics = [
            item["name"]
            for item in ranking
            if item.get("name") in titles
            and item.get("name") not in NOT_SUGGESTED
            and float(item.get("confidence") or 0) >= MIN_SUGGESTION_CONFIDENCE
        ][:MAX_SUGGESTIONS]
        buttons = [{"title": titles[t], "payload": f"/{t}"} for t in topics]
        buttons.append({"title": TEXTS["talk_to_person"][lang], "payload": "/human_handoff"})
        text = TEXTS["clarify" if topics else "clarify_no_guess"][lang]
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionRequestHuman(Action):
    """Put the person in the caseworker queue (a contact-request referral), then confirm."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # The sender id is the app's conversation id (opaque; no personal data).
        referral_id = await asyncio.to_thread(
            self._request, tracker.sender_id, language_of(tracker)
        )
        if referral_id is None:
            log.warning("handoff for an unknown conversation")
        else:
            log.info("handoff requested referral=%s", referral_id)
        dispatcher.utter_message(response="utter_handoff")
        return []

    @staticmethod
    def _request(conversation_id: str, language: str) -> str | None:
        with Session(store()) as session:
            referral = referrals.request_contact(session, conversation_id, language, rules=rules())
            return referral.id if referral else None
