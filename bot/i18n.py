"""Messages the app itself sends (not the assistant's answers, which live in nlu/domain/).

Every key has an English and a French text; ``tests/unit/test_i18n.py`` enforces it and measures
the SMS cost of each.
"""

from __future__ import annotations

from bot.language import Language

MESSAGES: dict[str, dict[Language, str]] = {
    # Sent once when Rasa does not answer; the message is kept and answered when it is back.
    "engine_unavailable": {
        "en": "Thanks, we got your message. The assistant is briefly unavailable and will "
        "answer you shortly.",
        "fr": "Merci, nous avons bien reçu votre message. L'assistant est momentanément "
        "indisponible et vous répondra sous peu.",
    },
}


def t(key: str, language: Language) -> str:
    return MESSAGES[key][language]
