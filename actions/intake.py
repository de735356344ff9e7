"""The intake form: consent, one question per message, validation, summary and submission.

Rasa runs the form (``intake_form`` in nlu/domain/intake.yml; every answer is taken as text);
this module asks the questions (``action_ask_<slot>``), validates and normalises each answer
(``validate_intake_form``, with the parsers of ``bot.intake.parse``), saves the answers in the
app's store after every message, and submits the referral at the end.

Interruptions are handled in the validation, so the form resumes by itself whatever the topic:
- "talk to a person" -> a contact-request referral with the answers so far, then the question
  again;
- a question the assistant has an answer for (a program topic of the content pack, or any
  intent with an ``utter_<intent>`` response) -> that answer, then the question again;
- control words (bot/intake/control.py, the same in English and French): "cancel" / "never
  mind" / "laisse faire" / "annuler" pause the form (answers saved, Continue / Start over
  offered); "start over" / "recommencer" restart it; "skip this question" / "non je voulais
  juste passer la question" skip the question (or ask it again when it cannot be skipped).

No question is asked the same way a third time: an answer not understood is asked again once
with an example; a second one is kept as written (``<key>_as_written``, the key "unknown"), the
consent counts as a no, and the final "send" offers choices, then pauses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import knowledge
from actions.i18n import Language
from actions.intake_texts import CONSENT_VERSION, text
from actions.safety import answer_crisis
from actions.store import language_of, rules, store
from bot import referrals, safety
from bot.intake import parse, progress, vocabulary
from bot.intake.control import Control, control_word
from bot.intake.text import fold, has_phrase
from bot.logging_setup import describe, frames
from bot.store.intake import IntakeStatus
from bot.store.safety import FlagSource

log = logging.getLogger(__name__)

FORM = "intake_form"
# Below this NLU confidence a message is taken as an answer, never as a question; a message that
# does not parse as an answer to the question asked needs less ("attendez, c'est ouvert?" 0.76).
INTERRUPTION_CONFIDENCE = 0.8
# The classifier's urgent_help takes less: a crisis missed costs far more than a false alarm.
CRISIS_CONFIDENCE = 0.5
ANSWER_CRISIS_CONFIDENCE = 0.9
UNPARSED_INTERRUPTION_CONFIDENCE = 0.6
# Intents that are answers or small talk, never a question to answer mid-form.
NOT_INTERRUPTIONS = frozenset(
    {"affirm", "deny", "greet", "goodbye", "thanks", "nlu_fallback", "start_intake",
     "intake_continue", "intake_restart", "intake_skip_question", "human_handoff"}
)  # fmt: skip
# A program topic is answered from the content pack (actions/knowledge.py), not a response.
TOPIC_PREFIX = "topic:"
# Intents that steer the form when the message is not an answer to the question asked. Not
# "start over": it erases answers, so only the words themselves do it ("blorp again" is no
# reason to lose everything).
CONTROL_INTENTS = {"intake_skip_question": Control.SKIP}
# Intents whose answer is not named utter_<intent>.
RESPONSE_OF = {"choose_language": "utter_language_set"}
HANDOFF_WORDS = frozenset(
    {"talk to a person", "a person", "human", "real person", "agent", "caseworker",
     "talk to someone", "humain", "une personne", "quelqu'un", "quelquun", "intervenant",
     "intervenante", "parler a quelqu'un", "parler a une personne", "vrai personne"}
)  # fmt: skip


@dataclass(frozen=True)
class Context:
    language: Language
    channel: str
    citizenship: str | None
    today: date


@dataclass(frozen=True)
class Field:
    slot: str
    key: str  # the main intake value, used when an answer could not be understood twice
    keys: tuple[str, ...]  # every intake value the answer sets (to restore saved progress)
    parse: Callable[[str, Context], dict[str, Any] | None]
    buttons: tuple[tuple[str, str], ...] = ()  # (text key, payload)
    label: str = ""  # its vocabulary field in the summary, when not ``key``

    @property
    def label_key(self) -> str:
        return self.label or self.key


YES_NO_DK = (("btn_yes", "yes"), ("btn_no", "no"), ("btn_dont_know", "I don't know"))
YES_NO_PREFER = (("btn_yes", "yes"), ("btn_no", "no"), ("btn_prefer_not", "prefer not to say"))

FIELDS: tuple[Field, ...] = (
    Field("intake_consent", "consent", ("consent",), lambda t, c: parse.consent(t),
          (("btn_yes", "yes"), ("btn_no", "no"))),
    Field("intake_first_name", "first_name", ("first_name",),
          lambda t, c: parse.first_name(t), (("btn_skip", "skip"),)),
    Field("intake_location", "area", ("area", "city"), lambda t, c: parse.location(t)),
    Field("intake_status", "immigration_status", ("immigration_status",),
          lambda t, c: parse.immigration_status(t),
          tuple((f"status_{s}", str(i)) for i, s in enumerate(parse.STATUSES, start=1))),
    Field("intake_decision_date", "decision_date_text", ("decision_date", "decision_date_text"),
          lambda t, c: parse.decision_date(t, c.language, c.today),
          (("btn_dont_know", "I don't know"),), label="decision_date"),
    Field("intake_citizenship", "citizenship", ("citizenship",),
          lambda t, c: parse.citizenship(t)),
    Field("intake_return_country", "return_country", ("return_country",),
          lambda t, c: parse.return_country(t, c.citizenship), (("btn_same", "same"),)),
    Field("intake_party", "party", ("adults", "children", "minor_alone", "age"),
          lambda t, c: parse.travel_party(t)),
    # Asked only when the party answer gave no age and no other adult travels (docs/intake.md).
    Field("intake_age", "age", ("age",), lambda t, c: parse.age(t), (("btn_skip", "skip"),)),
    Field("intake_passport", "passport", ("passport",), lambda t, c: parse.passport(t),
          YES_NO_DK),
    Field("intake_health", "health_needs", ("health_needs", "health_details"),
          lambda t, c: parse.health(t), (("btn_no", "no"),)),
    Field("intake_safety", "safety_concerns", ("safety_concerns",),
          lambda t, c: parse.safety(t), YES_NO_PREFER),
    Field("intake_criminality", "criminality", ("criminality",),
          lambda t, c: parse.criminality(t), YES_NO_PREFER),
    Field("intake_prior_return", "prior_return", ("prior_return",),
          lambda t, c: parse.prior_return(t), YES_NO_DK),
    Field("intake_contact", "contact_preference", ("contact_preference",),
          lambda t, c: parse.contact_preference(t)),
    Field("intake_phone", "phone", ("phone",), lambda t, c: parse.phone(t),
          (("btn_skip", "skip"),)),
    Field("intake_notes", "notes", ("notes",), lambda t, c: parse.notes(t),
          (("btn_no", "no"),)),
    Field("intake_confirm", "confirm", (), lambda t, c: parse.confirmation(t),
          (("btn_send", "send"), ("btn_change", "change"))),
)  # fmt: skip
BY_SLOT = {f.slot: f for f in FIELDS}
ANSWER_SLOTS = [f.slot for f in FIELDS if f.slot not in ("intake_consent", "intake_confirm")]
HELPER_SLOTS = ("intake_stage", "intake_reask")
# intake_reask: the slot asked a second time; with this suffix, the summary's third ask (choices).
CHOICES = "#choices"
# How the form ends early (required_slots returns nothing; action_intake_done says why).
ENDED = ("declined", "paused", "stuck", "crisis")
UNSKIPPABLE = frozenset({"intake_consent", "intake_confirm"})
SENSITIVE = frozenset({"health_needs", "safety_concerns", "criminality", "phone", "notes"})


# -- reading the tracker ------------------------------------------------------------------


def channel_of(tracker: Tracker) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return str(metadata.get("channel") or "web")


def context(tracker: Tracker) -> Context:
    saved = tracker.get_slot("intake_citizenship")  # raw text while it is being validated
    citizenship = saved.get("citizenship") if isinstance(saved, dict) else None
    return Context(language_of(tracker), channel_of(tracker), citizenship, date.today())


def _merged(slots: dict[str, Any]) -> dict[str, Any]:
    """Slot values (dicts of intake values) merged into one intake record."""
    intake: dict[str, Any] = {}
    for value in slots.values():
        if isinstance(value, dict):
            intake.update(value)
    return intake


def intake_of(tracker: Tracker) -> dict[str, Any]:
    """The normalised answers held in the form's slots, merged into one intake record."""
    return _merged({slot: tracker.get_slot(slot) for slot in ANSWER_SLOTS})


def _asked_slots(slots: list[str], channel: str) -> list[str]:
    """The questions asked on this channel: the phone only on Telegram (SMS already has a
    number; the web chat has none to give)."""
    return slots if channel == "telegram" else [s for s in slots if s != "intake_phone"]


def _buttons(field: Field, language: Language) -> list[dict[str, str]]:
    return [{"title": text(key, language), "payload": payload} for key, payload in field.buttons]


# -- the store (synchronous; called in a worker thread) -----------------------------------


def _save(conversation_id: str, values: dict[str, Any], language: str) -> None:
    with Session(store()) as session:
        progress.save_answers(session, conversation_id, values, language)


def _consent(conversation_id: str, given: bool, language: str) -> None:
    with Session(store()) as session:
        progress.record_consent(session, conversation_id, given, CONSENT_VERSION, language)


def _saved(conversation_id: str) -> tuple[str | None, bool, dict[str, Any]]:
    with Session(store()) as session:
        saved = progress.get(session, conversation_id)
        if saved is None:
            return None, False, {}
        return saved.status, bool(saved.consent_given), dict(saved.answers or {})


def _handoff(conversation_id: str, language: str) -> str | None:
    # The answers so far are already saved (after every answer): the referral reads them.
    with Session(store()) as session:
        referral = referrals.request_contact(session, conversation_id, language, rules=rules())
        return referral.id if referral else None


def _flag_minor_alone(conversation_id: str) -> None:
    with Session(store()) as session:
        referrals.raise_flags(
            session,
            conversation_id,
            ["unaccompanied_minor"],
            source=FlagSource.INTAKE,
            rules=rules(),
        )
    log.warning("minor travelling alone: conversation flagged conversation=%s", conversation_id)


def _submit(conversation_id: str, language: str, intake: dict[str, Any]) -> tuple[str, str]:
    with Session(store()) as session:
        progress.save_answers(session, conversation_id, intake, language)
        submitted = referrals.submit_intake(
            session, conversation_id, intake=intake, language=language, rules=rules()
        )
        if submitted is None:
            raise LookupError("unknown conversation")
        referral, result = submitted
        return referral.id, result.outcome


def _clear(conversation_id: str) -> None:
    with Session(store()) as session:
        progress.clear_answers(session, conversation_id)


# -- asking -------------------------------------------------------------------------------


def _summary(tracker: Tracker, language: Language, channel: str) -> str:
    intake = intake_of(tracker)
    if channel == "sms":  # shared phones are common: never echo answers by SMS
        answered = sum(1 for slot in ANSWER_SLOTS if tracker.get_slot(slot))  # {}: not asked
        return text("summary_sms", language, count=answered)
    lines = [text("summary_title", language)]
    for spec in vocabulary.SUMMARY_FIELDS:
        value = _display(spec.key, intake, language)
        if value is not None:
            lines.append(f"{spec.summary_label(language)}: {value}")
    return "\n".join(lines)


def _display(key: str, intake: dict[str, Any], language: Language) -> str | None:
    """One answer as the person reads it back (``bot.intake.vocabulary`` holds the words)."""
    written = intake.get(f"{key}_as_written")
    if key == "decision_date":
        written = written or intake.get("decision_date_text_as_written")
    if written:  # not understood: shown as typed
        return text("as_written", language, value=written)
    if key == "party":
        adults, children = intake.get("adults"), intake.get("children")
        if adults is None and children is None:
            return vocabulary.value_label(key, parse.UNKNOWN, language) if (
                "adults" in intake or key in intake) else None  # fmt: skip
        units = vocabulary.UNITS
        return (
            f"{adults or 0} {units['adults'][language]}, "
            f"{children or 0} {units['children'][language]}"
        )
    if key not in intake:
        return None
    value = intake[key]
    if value is None:
        return "-"
    if key == "decision_date":
        return intake.get("decision_date_text") or value
    if key == "area" and intake.get("city"):
        return f"{vocabulary.value_label(key, value, language)} ({intake['city']})"
    if key == "health_needs" and intake.get("health_details"):
        return intake["health_details"]
    return vocabulary.value_label(key, value, language)


def _change_buttons(tracker: Tracker, language: Language) -> list[dict[str, str]]:
    """The summary's third ask: "Send", then one button per answer that can be changed."""
    buttons = [{"title": text("btn_send", language), "payload": "send"}]
    for field in FIELDS:
        value = tracker.get_slot(field.slot)
        if field.slot in ANSWER_SLOTS and isinstance(value, dict) and value:
            title = vocabulary.FIELDS[field.label_key].summary_label(language)
            buttons.append({"title": title, "payload": f"{parse.CHANGE_PAYLOAD}{field.slot}"})
    return buttons


def ask(slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
    field = BY_SLOT[slot]
    language = language_of(tracker)
    channel = channel_of(tracker)
    reask = tracker.get_slot("intake_reask")
    again = reask == slot
    buttons = _buttons(field, language)
    if slot == "intake_consent":
        if again:
            dispatcher.utter_message(text=text("consent_example", language), buttons=buttons)
            return
        for key in ("consent_what", "consent_pilot_closed", "consent_who"):
            dispatcher.utter_message(text=text(key, language))
        dispatcher.utter_message(text=text("consent_ask", language), buttons=buttons)
        return
    if slot == "intake_confirm":
        if reask == slot + CHOICES:  # third ask: choices, not the same words again
            dispatcher.utter_message(
                text=text("confirm_choices", language),
                buttons=_change_buttons(tracker, language),
            )
            return
        if again:
            dispatcher.utter_message(text=text("confirm_which", language))
            return
        dispatcher.utter_message(text=_summary(tracker, language, channel))
        dispatcher.utter_message(text=text("confirm_ask", language), buttons=buttons)
        return
    name = slot.removeprefix("intake_")
    if again:  # the answer was not understood: an example, then the question again
        example = text(f"ex_{name}", language)
        dispatcher.utter_message(text=f"{text('not_understood', language)} {example}")
    dispatcher.utter_message(text=text(f"ask_{name}", language), buttons=buttons)


def _ask_action(slot: str) -> type[Action]:
    class AskAction(Action):
        def name(self) -> str:
            return f"action_ask_{slot}"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
        ) -> list[dict[str, Any]]:
            ask(slot, tracker, dispatcher)
            return []

    AskAction.__name__ = AskAction.__qualname__ = f"ActionAsk_{slot}"
    return AskAction


# Module attributes, so that the action server's worker processes can import them by name.
for _field in FIELDS:
    _cls = _ask_action(_field.slot)
    globals()[_cls.__name__] = _cls


# -- validating ---------------------------------------------------------------------------


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def wants_person(message: str, intent: str | None, confidence: float) -> bool:
    if message.strip() == "/human_handoff":
        return True
    if intent == "human_handoff" and confidence >= INTERRUPTION_CONFIDENCE:
        return True
    return has_phrase(fold(message), HANDOFF_WORDS) and len(message) <= 60


def control_of(message: str, intent: str | None, confidence: float, understood: bool) -> (
    Control | None
):  # fmt: skip
    """The control word a message is (bot/intake/control.py); an answer that does not parse
    may also be recognised by its intent ("oops, I meant skip that one, not stop")."""
    control = control_word(message)
    if control is not None or understood or confidence < INTERRUPTION_CONFIDENCE:
        return control
    return CONTROL_INTENTS.get(intent or "")


def interruption_response(
    message: str, intent: str | None, confidence: float, understood: bool, domain: dict
) -> str | None:
    """The response that answers a question asked mid-form, or None if it is an answer."""
    # A message that is not a valid answer needs less confidence to be taken as a question.
    needed = INTERRUPTION_CONFIDENCE if understood else UNPARSED_INTERRUPTION_CONFIDENCE
    if intent is None or intent in NOT_INTERRUPTIONS or confidence < needed:
        return None
    if understood and "?" not in message:
        return None  # "Toronto" answers the location question even if it sounds like a topic
    if intent in knowledge.current_pack().topics:
        return TOPIC_PREFIX + intent
    response = RESPONSE_OF.get(intent, f"utter_{intent}")
    return response if response in (domain.get("responses") or {}) else None


class ValidateIntakeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("intake_stage") in ENDED:
            return []  # the form ends; action_intake_done says the right thing
        return _asked_slots(domain_slots, channel_of(tracker))

    async def validate_answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if isinstance(value, dict):
            return {slot: value}  # already normalised (restored answers, at form activation)
        if value is None:
            # A slot cleared when the form starts (rasa_sdk validates every slot set since the
            # last message): nothing was answered, so nothing to re-ask.
            return {slot: None}
        field = BY_SLOT[slot]
        message = str(value or "")[:2000]
        ctx = context(tracker)
        conversation_id = tracker.sender_id
        intent, confidence = _intent(tracker)

        found = safety.crisis_in(message)
        # The classifier alone: at CRISIS_CONFIDENCE for a message that is not an answer to the
        # question; a valid answer ("ici, le soir" to the contact question) needs far more.
        needed = (
            CRISIS_CONFIDENCE if field.parse(message, ctx) is None else ANSWER_CRISIS_CONFIDENCE
        )
        if found is not None or (intent == knowledge.URGENT_TOPIC and confidence >= needed):
            # A crisis beats the form: emergency guidance, an urgent referral, no more questions
            # (the answers so far stay saved). The app's patterns usually answered it already.
            await answer_crisis(dispatcher, tracker, found)
            log.warning("crisis during intake: form stopped")
            return {slot: None, "intake_stage": "crisis"}
        if wants_person(message, intent, confidence):
            referral_id = await asyncio.to_thread(_handoff, conversation_id, ctx.language)
            log.info("handoff requested during intake referral=%s", referral_id)
            dispatcher.utter_message(text=text("handoff_in_form", ctx.language))
            return {slot: None}

        values = field.parse(message, ctx)
        control = control_of(message, intent, confidence, values is not None)
        if control is Control.CONTINUE:  # "Continue" pressed while the form runs: ask again
            return {slot: None}
        if control is Control.PAUSE:
            log.info("intake paused by the person conversation=%s", conversation_id)
            stage = "paused" if slot != "intake_consent" else "declined"  # no answers yet
            return {slot: None, "intake_reask": None, "intake_stage": stage}
        if control is Control.RESTART:
            return await self._restart(slot, dispatcher, ctx, conversation_id)
        if control is Control.SKIP:
            skipped = field.parse("skip", ctx) if slot not in UNSKIPPABLE else None
            if skipped is None:  # the consent and the final "send" need an answer
                return await self._not_understood(slot, message, dispatcher, tracker, ctx)
            dispatcher.utter_message(text=text("skipped", ctx.language))
            return await self._accept(slot, skipped, dispatcher, tracker, ctx)

        response = interruption_response(message, intent, confidence, values is not None, domain)
        if response is not None:
            if response.startswith(TOPIC_PREFIX):  # a program question: the content pack answers
                knowledge.answer(dispatcher, response.removeprefix(TOPIC_PREFIX), ctx.language)
            else:
                dispatcher.utter_message(response=response)
            return {slot: None}  # the form asks its question again
        if values is None:
            return await self._not_understood(slot, message, dispatcher, tracker, ctx)
        return await self._accept(slot, values, dispatcher, tracker, ctx)

    async def _not_understood(
        self,
        slot: str,
        message: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ctx: Context,
    ) -> dict[str, Any]:
        """Asked again once with an example; never the same way a third time: then the answer
        is kept as written, the consent counts as a no, the summary offers choices."""
        reask = tracker.get_slot("intake_reask")
        if reask not in (slot, slot + CHOICES):
            return {slot: None, "intake_reask": slot}
        if slot == "intake_consent":  # only an explicit yes starts the intake
            return await self._accept(slot, {"consent": False}, dispatcher, tracker, ctx)
        if slot == "intake_confirm":
            if reask == slot:
                return {slot: None, "intake_reask": slot + CHOICES}
            # Choices offered and still unclear: nothing is sent, the answers stay saved.
            return {slot: None, "intake_stage": "stuck", "intake_reask": None}
        field = BY_SLOT[slot]
        values = {field.key: parse.UNKNOWN, f"{field.key}_as_written": message[:200]}
        return await self._accept(slot, values, dispatcher, tracker, ctx)

    async def _restart(
        self, slot: str, dispatcher: CollectingDispatcher, ctx: Context, conversation_id: str
    ) -> dict[str, Any]:
        """ "Start over" inside the form: the answers go (the consent stays), first question."""
        if slot == "intake_consent":
            return {slot: None, "intake_reask": None}  # nothing to clear: the consent again
        await asyncio.to_thread(_clear, conversation_id)
        log.info("intake restarted by the person conversation=%s", conversation_id)
        dispatcher.utter_message(text=text("restarted", ctx.language))
        cleared: dict[str, Any] = {s: None for s in ANSWER_SLOTS}
        return {**cleared, "intake_confirm": None, "intake_reask": None}

    async def _accept(
        self,
        slot: str,
        values: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ctx: Context,
    ) -> dict[str, Any]:
        conversation_id = tracker.sender_id
        if slot == "intake_consent":
            given = bool(values["consent"])
            await asyncio.to_thread(_consent, conversation_id, given, ctx.language)
            log.info("intake consent %s conversation=%s", "given" if given else "declined",
                     conversation_id)  # fmt: skip
            if not given:
                return {slot: values, "intake_stage": "declined", "intake_reask": None}
            return {slot: values, "intake_reask": None}
        if slot == "intake_confirm":
            if values["action"] == "submit":
                return {slot: values, "intake_reask": None}
            target = values.get("slot")
            if target not in ANSWER_SLOTS or target not in _asked_slots(list(BY_SLOT), ctx.channel):
                # "change" alone: which one? (asked again, then choices)
                return await self._not_understood(slot, "", dispatcher, tracker, ctx)
            dispatcher.utter_message(text=text("confirm_change_ok", ctx.language))
            return {slot: None, target: None, "intake_reask": None}
        result: dict[str, Any] = {slot: values, "intake_reask": None}
        if slot in ("intake_party", "intake_age"):
            result.update(_with_age(slot, values, tracker.get_slot))
        merged = _merged(result)
        await asyncio.to_thread(_save, conversation_id, merged, ctx.language)
        if merged.get("minor_alone") is True:  # urgent now, on any referral, not at submission
            await asyncio.to_thread(_flag_minor_alone, conversation_id)
        if slot == "intake_safety" and values.get("safety_concerns") == "yes":
            dispatcher.utter_message(text=text("safety_note", ctx.language))
        return result


def _with_age(slot: str, values: dict[str, Any], get_slot: Callable[[str], Any]) -> dict[str, Any]:
    """The age question and the travel party kept consistent (``parse.with_age``): an age in
    the party answer fills the age question; a later age updates the party (minor_alone)."""
    if slot == "intake_party":
        age_slot = get_slot("intake_age")
        if isinstance(values.get("age"), int):
            return {"intake_age": {"age": values["age"]}}
        if isinstance(age_slot, dict) and "age" in age_slot:
            return {"intake_party": parse.with_age(values, age_slot)}
        return {"intake_age": None if parse.age_needed(values) else {}}
    party = get_slot("intake_party")
    return {"intake_party": parse.with_age(party, values)} if isinstance(party, dict) else {}


def _validator(slot: str) -> Callable[..., Any]:
    async def validate(
        self: ValidateIntakeForm,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        return await self.validate_answer(slot, value, dispatcher, tracker, domain)

    return validate


for _field in FIELDS:  # validate_intake_consent, validate_intake_first_name, ...
    setattr(ValidateIntakeForm, f"validate_{_field.slot}", _validator(_field.slot))


# -- starting, resuming, ending ----------------------------------------------------------


def _reset(consent: bool) -> list[dict[str, Any]]:
    events = [SlotSet(slot, None) for slot in ANSWER_SLOTS]
    events += [SlotSet("intake_confirm", None), SlotSet("intake_stage", None),
               SlotSet("intake_reask", None)]  # fmt: skip
    events.append(SlotSet("intake_consent", {"consent": True} if consent else None))
    return events


def restored_slots(answers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The form's slots rebuilt from the answers saved in the app's store."""
    slots: dict[str, dict[str, Any]] = {}
    for field in FIELDS:
        if field.slot not in ANSWER_SLOTS:
            continue
        written = f"{field.key}_as_written"
        value = {k: answers[k] for k in (*field.keys, written) if k in answers}
        if written in value and field.key not in value:
            value[field.key] = parse.UNKNOWN
        if value:
            slots[field.slot] = value
    party = slots.get("intake_party")
    if "intake_age" not in slots and party is not None and not parse.age_needed(party):
        slots["intake_age"] = {}  # not needed: another adult travels
    return slots


def _restore(answers: dict[str, Any]) -> list[dict[str, Any]]:
    events = _reset(consent=True)
    events += [SlotSet(slot, value) for slot, value in restored_slots(answers).items()]
    return events


def _continue_buttons(language: Language) -> list[dict[str, str]]:
    return [
        {"title": text("btn_continue", language), "payload": "/intake_continue"},
        {"title": text("btn_restart", language), "payload": "/intake_restart"},
    ]


class ActionIntakeStart(Action):
    """ "I want to go home": start the form, or offer to continue / update a saved intake."""

    def name(self) -> str:
        return "action_intake_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        status, consent, answers = await asyncio.to_thread(_saved, tracker.sender_id)
        if status == IntakeStatus.IN_PROGRESS and consent and answers:
            dispatcher.utter_message(
                text=text("welcome_back", language), buttons=_continue_buttons(language)
            )
            return []
        if status == IntakeStatus.SUBMITTED:
            dispatcher.utter_message(
                text=text("already_sent", language),
                buttons=[
                    {"title": text("btn_restart", language), "payload": "/intake_restart"},
                    {"title": text("btn_person", language), "payload": "/human_handoff"},
                ],
            )
            return []
        return [*_reset(consent=False), FollowupAction(FORM)]


class ActionIntakeResume(Action):
    """ "Continue": the saved answers (from the app's store) go back into the form."""

    def name(self) -> str:
        return "action_intake_resume"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        status, consent, answers = await asyncio.to_thread(_saved, tracker.sender_id)
        if not consent or status == IntakeStatus.DECLINED:
            dispatcher.utter_message(text=text("nothing_to_continue", language_of(tracker)))
            return [*_reset(consent=False), FollowupAction(FORM)]
        return [*_restore(answers), FollowupAction(FORM)]


class ActionIntakeRestart(Action):
    """ "Start over": the answers are cleared (the consent record stays) and the form restarts."""

    def name(self) -> str:
        return "action_intake_restart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        status, consent, _ = await asyncio.to_thread(_saved, tracker.sender_id)
        if consent and status != IntakeStatus.DECLINED:
            await asyncio.to_thread(_clear, tracker.sender_id)
            return [*_reset(consent=True), FollowupAction(FORM)]
        return [*_reset(consent=False), FollowupAction(FORM)]


class ActionIntakeSkipQuestion(Action):
    """ "Wait no, I just meant cancel the question" / "non je voulais juste passer la question"
    after the form was paused: the form resumes with the question it was at skipped (or asked
    again, for the consent and the final "send"). Inside the form the validation does this."""

    def name(self) -> str:
        return "action_intake_skip_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        status, consent, answers = await asyncio.to_thread(_saved, tracker.sender_id)
        if status != IntakeStatus.IN_PROGRESS or not consent:
            dispatcher.utter_message(text=text("no_question_to_skip", language))
            return []
        slots = restored_slots(answers)
        asked = _asked_slots([f.slot for f in FIELDS], channel_of(tracker))
        pending = next((s for s in asked if s in ANSWER_SLOTS and s not in slots), None)
        events = _restore(answers)
        if pending is not None:
            ctx = context(tracker)
            skipped = BY_SLOT[pending].parse("skip", ctx)
            if skipped is not None:
                values = {pending: skipped, **_with_age(pending, skipped, slots.get)}
                await asyncio.to_thread(_save, tracker.sender_id, _merged(values), language)
                events += [SlotSet(slot, value) for slot, value in values.items()]
                dispatcher.utter_message(text=text("skipped", language))
        return [*events, FollowupAction(FORM)]


class ActionIntakeDone(Action):
    """The form ended: declined, paused, or confirmed (screen, create the referral, tell them)."""

    def name(self) -> str:
        return "action_intake_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        stage = tracker.get_slot("intake_stage")
        if stage == "declined":
            dispatcher.utter_message(text=text("declined", language))
            return _reset(consent=False)
        if stage == "crisis":  # the emergency guidance was the answer; nothing more now
            return [SlotSet("intake_stage", None), SlotSet("intake_reask", None)]
        if stage in ("paused", "stuck"):  # stuck: the summary's choices did not help either
            buttons = _continue_buttons(language)
            if stage == "stuck":
                buttons.append({"title": text("btn_person", language), "payload": "/human_handoff"})
            dispatcher.utter_message(text=text(stage, language), buttons=buttons)
            return [SlotSet("intake_stage", None), SlotSet("intake_reask", None)]
        intake = intake_of(tracker)
        try:
            referral_id, outcome = await asyncio.to_thread(
                _submit, tracker.sender_id, language, intake
            )
        except Exception as exc:  # the answers are saved; the person can try again
            # Type and frames only: a database error can quote the answers (logging_setup).
            log.error(
                "intake submission failed conversation=%s error=%s\n%s",
                tracker.sender_id,
                describe(exc),
                frames(exc.__traceback__),
            )
            dispatcher.utter_message(text=text("sent_failed", language))
            return [SlotSet("intake_confirm", None)]
        log.info("intake submitted referral=%s outcome=%s", referral_id, outcome)
        dispatcher.utter_message(text=text(f"sent_{outcome}", language))
        dispatcher.utter_message(
            text=text("next_steps", language),
            buttons=[{"title": text("btn_person", language), "payload": "/human_handoff"}],
        )
        return []


class ActionSessionStart(Action):
    """A new Rasa session (after the session expiry in core.yml): the default behaviour (slots
    carried over), plus an offer to continue an unfinished intake saved in the app's store."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        for key, value in tracker.slots.items():
            if value is not None and key != "requested_slot" and not key.startswith("session_"):
                events.append(SlotSet(key, value))
        try:
            status, consent, answers = await asyncio.to_thread(_saved, tracker.sender_id)
        except Exception as exc:  # never block a conversation on the offer
            log.error(
                "could not read intake progress conversation=%s error=%s",
                tracker.sender_id,
                describe(exc),
            )
            status, consent, answers = None, False, {}
        if status == IntakeStatus.IN_PROGRESS and consent and answers:
            language = language_of(tracker)
            dispatcher.utter_message(
                text=text("welcome_back", language), buttons=_continue_buttons(language)
            )
        events.append(ActionExecuted("action_listen"))
        return events
