"""Texts the custom actions build themselves (the rest are responses in nlu/domain/)."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "fr"]

# Button titles of the topics the clarification may suggest, one per intent.
TOPIC_TITLES: dict[str, dict[Language, str]] = {
    "program_what": {"en": "What is the program?", "fr": "C'est quoi, le programme?"},
    "program_status": {"en": "Is it still open?", "fr": "Est-il encore ouvert?"},
    "program_who_runs": {"en": "Who runs it?", "fr": "Qui le gère?"},
    "program_where": {"en": "Where is it offered?", "fr": "Où est-il offert?"},
    "program_eligibility": {"en": "Who can take part?", "fr": "Qui peut participer?"},
    "program_benefits": {"en": "What do people get?", "fr": "Qu'est-ce qu'on reçoit?"},
    "program_in_kind": {"en": "Is it paid in cash?", "fr": "Est-ce versé en argent?"},
}

TEXTS: dict[str, dict[Language, str]] = {
    "clarify": {
        "en": "Sorry, I'm not sure I understood. Did you mean one of these?",
        "fr": "Désolé, je ne suis pas certain d'avoir compris. "
        "Vouliez-vous dire l'un de ces sujets?",
    },
    "clarify_no_guess": {
        "en": "Sorry, I didn't understand. You can ask about the program, or talk to a person.",
        "fr": "Désolé, je n'ai pas compris. Vous pouvez poser une question sur le programme ou "
        "parler à une personne.",
    },
    "talk_to_person": {"en": "Talk to a person", "fr": "Parler à une personne"},
}
