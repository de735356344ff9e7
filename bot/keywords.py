"""Keywords the app answers itself, on every channel, before anything reaches Rasa.

A keyword is the WHOLE message (like Twilio's own STOP filtering), compared without case,
accents, punctuation or a leading "/": "Arrêt", "ARRET", "/stop" and "stop!" all opt out, but
"I want to stop my claim" is an ordinary message. Canadian SMS rules require HELP, AIDE, INFO,
STOP and ARRET to be answered in the matching language, so French keywords also set French.

Twilio's own opt-out words (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE, and
ARRET) opt out on SMS, because the carrier and Twilio enforce them whatever we do: the app must
agree with them. On the web chat and Telegram, "cancel", "end" and "quit" mean what the person
means inside a conversation (stop the form), so they go on to the assistant.

WhatsApp: nobody enforces opt-out words there (Twilio filters them on SMS only), so the app does,
and chooses them as for a conversation: STOP, ARRET, UNSUBSCRIBE, STOPALL (every channel) and the
words that can only mean "no more messages" (OPTOUT, "opt out", REVOKE) opt out; CANCEL, END and
QUIT, which people type inside a form to stop the form, go on to the assistant as on Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.language import Language, normalise


class Keyword(StrEnum):
    STOP = "stop"  # opt out: confirm once, then send nothing on any channel
    START = "start"  # opt back in
    HELP = "help"  # who we are, how to stop, how to reach a person
    HUMAN = "human"  # talk to a person: Rasa's human_handoff intent creates the referral
    DELETE = "delete"  # erase my data (asks for confirmation first)


@dataclass(frozen=True)
class Match:
    keyword: Keyword
    language: Language | None  # the language the word belongs to, when it tells


# Normalised whole-message forms -> (keyword, language it implies or None when shared).
_WORDS: dict[str, tuple[Keyword, Language | None]] = {
    "stop": (Keyword.STOP, None),
    "unsubscribe": (Keyword.STOP, "en"),
    "stopall": (Keyword.STOP, "en"),
    "arret": (Keyword.STOP, "fr"),
    "arrete": (Keyword.STOP, "fr"),
    "arreter": (Keyword.STOP, "fr"),
    "start": (Keyword.START, None),
    "unstop": (Keyword.START, "en"),
    "reprendre": (Keyword.START, "fr"),
    "help": (Keyword.HELP, "en"),
    "info": (Keyword.HELP, None),
    "aide": (Keyword.HELP, "fr"),
    "human": (Keyword.HUMAN, "en"),
    "humain": (Keyword.HUMAN, "fr"),
    "agent": (Keyword.HUMAN, None),
    "delete": (Keyword.DELETE, "en"),
    "delete my data": (Keyword.DELETE, "en"),
    "supprimer": (Keyword.DELETE, "fr"),
    "supprimer mes donnees": (Keyword.DELETE, "fr"),
}


# Twilio's opt-out words that mean "stop the form" in a conversation: opt-out on SMS only, where
# the carrier enforces them whatever we do.
_SMS_ONLY: dict[str, tuple[Keyword, Language | None]] = {
    "cancel": (Keyword.STOP, "en"),
    "end": (Keyword.STOP, "en"),
    "quit": (Keyword.STOP, "en"),
}

# Twilio's opt-out words that can only mean "no more messages": on SMS and WhatsApp (the two
# channels where people know them from text messaging).
_MESSAGING_OPT_OUT: dict[str, tuple[Keyword, Language | None]] = {
    "optout": (Keyword.STOP, "en"),
    "opt out": (Keyword.STOP, "en"),
    "revoke": (Keyword.STOP, "en"),
}

_BY_CHANNEL: dict[str, dict[str, tuple[Keyword, Language | None]]] = {
    "sms": {**_SMS_ONLY, **_MESSAGING_OPT_OUT},
    "whatsapp": _MESSAGING_OPT_OUT,
}


def match(text: str, channel: str = "sms") -> Match | None:
    """The keyword this whole message is, if any, on this channel.

    A Telegram command ("/help", "/delete") is the same in every language: it keeps the
    conversation's language instead of implying English.
    """
    stripped = text.strip()
    key = normalise(stripped.lstrip("/"))
    found = _WORDS.get(key) or _BY_CHANNEL.get(channel, {}).get(key)
    if found is None:
        return None
    keyword, language = found
    return Match(keyword, None if stripped.startswith("/") else language)


# Replies to a numbered list of options on SMS and WhatsApp: "1", "1.", "un", "deux"...
_NUMBERS: dict[str, int] = {
    "un": 1,
    "une": 1,
    "one": 1,
    "deux": 2,
    "two": 2,
    "trois": 3,
    "three": 3,
    "quatre": 4,
    "four": 4,
    "cinq": 5,
    "five": 5,
}


def option_number(text: str) -> int | None:
    """The option a reply picks ("2", "2.", "deux", "#2"), or None when it is not a number."""
    norm = normalise(text)
    if norm.isdigit() and len(norm) <= 2:
        return int(norm)
    return _NUMBERS.get(norm)
