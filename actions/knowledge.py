"""Answers to program questions, looked up at run time in the content pack.

One action answers every topic: the topic is the intent Rasa recognised, the language is the
``language`` slot. The pack is re-read when its file changes, so an operator's wording edit is
live on the next message without retraining or restarting.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import TEXTS, Language
from actions.safety import CLASSIFIER_ONLY_BAR, answer_check, answer_crisis
from bot import knowledge, safety
from bot.live_file import LiveFile

log = logging.getLogger(__name__)

_live = LiveFile(knowledge.load_pack, errors=(knowledge.ContentError,))


def current_pack() -> knowledge.Pack:
    """The pack, reloaded when the file changed; a broken edit keeps the last good pack."""
    return _live.get(knowledge.PACK_PATH)


URGENT_TOPIC = "urgent_help"  # the classifier's crisis intent: answered by actions/safety.py


def answer(dispatcher: CollectingDispatcher, topic_id: str, lang: Language) -> bool:
    """Send a topic's replies; False when the pack has no such topic."""
    pack = current_pack()
    topic = pack.topics.get(topic_id)
    if topic is None:
        return False
    texts = pack.replies(topic.id, lang)
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        buttons = (
            [{"title": TEXTS["talk_to_person"][lang], "payload": "/human_handoff"}]
            if last and topic.offer_caseworker
            else []
        )
        dispatcher.utter_message(text=text, buttons=buttons)
    log.info("answered topic=%s language=%s", topic.id, lang)
    return True


def topic_titles(language: Language) -> dict[str, str]:
    return {tid: topic.title[language] for tid, topic in current_pack().topics.items()}


class ActionAnswerTopic(Action):
    """Answer the recognised program topic in the person's language."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang: Language = "fr" if tracker.get_slot("language") == "fr" else "en"
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name") or ""
        found = safety.crisis_in(latest.get("text") or "")
        if found is None and intent == URGENT_TOPIC:
            # The classifier alone: the whole answer at its bar, the gentle check under it.
            confidence = float((latest.get("intent") or {}).get("confidence") or 0.0)
            if confidence < CLASSIFIER_ONLY_BAR:
                return answer_check(dispatcher, tracker)
        if intent == URGENT_TOPIC or found is not None:
            return await answer_crisis(dispatcher, tracker, found)
        if not answer(dispatcher, intent, lang):
            # An intent without a topic in the pack: say so rather than guess an answer.
            log.error("no content for topic=%s", intent)
            dispatcher.utter_message(
                text=TEXTS["no_content"][lang],
                buttons=[{"title": TEXTS["talk_to_person"][lang], "payload": "/human_handoff"}],
            )
        return []
