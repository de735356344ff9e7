"""Control words inside the intake form, the same in English and French.

What a person writes to steer the form rather than answer it (docs/intake.md, "Control words"):

- ``PAUSE``: "cancel", "nevermind", "forget it", "later", "laisse faire", "laisse tomber",
  "annuler", "oublie ça", "plus tard": the form stops, the answers stay saved, and the person
  is offered *Continue* / *Start over*.
- ``RESTART``: "restart", "start over", "recommencer", "on recommence": the answers are
  cleared (the consent stays) and the questions start again.
- ``SKIP``: "skip this question", "passer la question", "wait no i just meant cancel the
  question", "non je voulais juste passer la question": that question is skipped (or asked
  again if it cannot be skipped: the consent and the final "send").
- ``CONTINUE``: the *Continue* button pressed while the form is already running: the question
  is simply asked again.

On SMS, STOP / CANCEL / END / QUIT / UNSUBSCRIBE / STOPALL / ARRET are the carrier's opt-out
words; the app handles them before Rasa (bot/keywords.py), so they never reach this module there.

A control word must be (nearly) the whole message: "I cancelled my appeal" is an answer.
"""

from __future__ import annotations

import enum
import re

from bot.intake.text import fold


class Control(enum.StrEnum):
    PAUSE = "pause"
    RESTART = "restart"
    SKIP = "skip"
    CONTINUE = "continue"


PAUSE_WORDS = frozenset(
    {
        # English
        "cancel", "cancel it", "cancel this", "cancel that", "cancel the form",
        "cancel the intake", "cancel everything", "nevermind", "never mind", "nvm",
        "forget it", "forget about it", "forget this", "later", "not now", "pause",
        "stop the form", "stop the questions", "i ll continue later", "continue later",
        "i ll do it later", "do it later", "another time", "maybe later",
        # French
        "laisse faire", "laisse tomber", "laissez faire", "laissez tomber", "annuler",
        "annule", "annulez", "annule ca", "annuler ca", "annuler le formulaire", "oublie ca",
        "oubliez ca", "oublie ca stp", "oublie", "plus tard", "pas maintenant", "une autre fois",
        "arreter le formulaire", "arreter les questions", "je continue plus tard",
        "on arrete", "on arrete ca", "laisse", "bof laisse faire",
    }
)  # fmt: skip
RESTART_WORDS = frozenset(
    {
        "restart", "start over", "start again", "start from the beginning", "begin again",
        "from the beginning", "start from scratch", "restart the form", "reset",
        "recommencer", "recommence", "on recommence", "tout recommencer",
        "recommencer a zero", "on recommence a zero", "reprendre du debut",
        "reprendre depuis le debut", "depuis le debut", "repartir a zero", "on repart a zero",
        "intake_restart",
    }
)  # fmt: skip
CONTINUE_WORDS = frozenset({"intake_continue"})  # the button payload, "/" folded away
# Skipping one question: a skip verb with "question" / "this one", or "next question".
_SKIP = re.compile(
    r"\b(skip|pass|cancel|passer|passe|passez|sauter|saute|annuler|annule|ignore|ignorer)\b"
    r".{0,20}\b(question|q|this one|that one|celle ci|celle la|celle-ci|celle-la|"
    r"cette question|la question)\b"
    r"|\b(next question|question suivante|la suivante|prochaine question|skip it|"
    r"skip this|skip that|passe a la suivante|on passe|je passe)\b"
)
# Politeness and hesitation around a control word do not change it.
_AROUND = re.compile(
    r"^((ok|okay|oh|ah|euh|hmm|um|uh|well|bon|ben|non|no|please|pls|svp|stp|just|juste|"
    r"alors|actually|en fait|wait|attends|attendez|can we|can you|could you|let s|lets|"
    r"i want to|i wanna|je veux|on peut|tu peux|vous pouvez)\s+)+|(\s+(please|pls|plz|svp|stp|"
    r"merci|thanks|thx|now|maintenant|for now|pour l instant|pour le moment))+$"
)
MAX_SKIP_LENGTH = 80


def _key(text: str) -> str:
    folded = fold(text).replace("'", " ")
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9/_ ]+", " ", folded)).strip()


def control_word(text: str) -> Control | None:
    """The control word ``text`` is, or None when it is an answer (or anything else)."""
    key = _key(text)
    if not key:
        return None
    if key in CONTINUE_WORDS:
        return Control.CONTINUE
    core = _AROUND.sub("", key).strip()
    for words, control in ((RESTART_WORDS, Control.RESTART), (PAUSE_WORDS, Control.PAUSE)):
        if key in words or core in words:
            return control
    if len(key) <= MAX_SKIP_LENGTH and _SKIP.search(key):
        return Control.SKIP
    return None
