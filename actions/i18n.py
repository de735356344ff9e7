"""Texts the custom actions build themselves (program answers are in content/program.yml)."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "fr"]

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
    "no_content": {
        "en": "Sorry, I don't have an answer to that yet. A caseworker can help you.",
        "fr": "Désolé, je n'ai pas encore de réponse à cela. Un intervenant peut vous aider.",
    },
}
