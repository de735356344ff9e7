"""Which language a person writes in, and when the conversation should switch.

Rules (issue 2): the first message sets the language; later, only a clear switch changes it:
an explicit request ("English", "en français", a language button) or a message long enough to
be sure that is plainly in the other language. Short or ambiguous messages ("ok", "1",
"merci") keep the current language, so a French speaker who types "ok" is not flipped to English.

A word-list scorer rather than a statistical detector: SMS text is short, unaccented and full
of abbreviations ("cmb", "jsp", "pls") that general detectors get wrong, and a list is easy to
review and extend.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")

# Words that are frequent in one language and rare in the other. Compared without accents.
_EN_WORDS = frozenset(
    """
    the an and or but is are was were be been am i im i'm you your u ur r my me we our they
    their he she it its it's this that these those what wat wot how hw who why when where which
    can cant can't could would should will wont won't do does did dont don't didnt have has had
    not no yes yeah yep ya please pls plz thanks thank thx ty hello hi hey bye goodbye with
    without for from to of in on at about into if then than so just only also too very much many
    any some get got give go going come back home help need want know idk dunno there here
    program money cash ticket plane apply eligible still open run runs who speak talk
    person someone human english people refugee claim refused family kids children country leave
    return free cost pay paid work live living toronto
    """.split()
)
_FR_WORDS = frozenset(
    """
    le la les un une des du de d l au aux et ou mais est sont etait etre suis es sommes je j jai
    j'ai tu t te toi vous votre vos mon ma mes ton ta tes nous notre il elle ils elles on ce c
    c'est cest ca ça cette ces qui que quoi qu quel quelle quels quelles comment combien cmb
    pourquoi pk pq quand qd ou où avec sans pour par dans sur sous chez si alors donc aussi tres
    très beaucoup peu pas ne n plus rien tout tous tt oui ouais non merci mrc bonjour bjr salut
    slt bonsoir svp stp sil s'il plait plaît aide aider besoin veux veut voudrais peux peut
    pouvez faut sais jsp sait avoir fait faire aller rentrer retour retourner partir programme
    argent billet avion demande asile refuse refusé debouté débouté famille enfants pays quitter
    gratuit payer payé travail vis habite parler quelqu'un quelqu personne francais français
    anglais langue
    """.split()
)

# Explicit requests to use a language. Matched on the whole (normalised) message.
_SWITCH_PATTERNS: dict[Language, re.Pattern[str]] = {
    "en": re.compile(
        r"^(?:(?:in|speak|use|switch to|talk in|reply in|answer in|en|parle[rz]?|parlez)\s+)?"
        r"(?:english|anglais|eng)(?:\s+(?:please|pls|plz|svp|stp|s'il vous plait))?$"
    ),
    "fr": re.compile(
        r"^(?:(?:in|speak|use|switch to|talk in|reply in|answer in|en|parle[rz]?|parlez)\s+)?"
        r"(?:french|francais|fr)(?:\s+(?:please|pls|plz|svp|stp|s'il vous plait))?$"
    ),
}
_MENU_PATTERN = re.compile(r"^(?:language|langue|languages|langues)$")  # also "/language"

# A mid-conversation switch needs this many known words and a clear lead over the other language.
_MIN_WORDS_TO_SWITCH = 3
_MIN_LEAD_TO_SWITCH = 2


def normalise(text: str) -> str:
    """Lowercase, strip accents and punctuation (apostrophes kept), squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    no_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w'\s]", " ", no_accents.replace("’", "'"))
    return " ".join(cleaned.split())


def _strip(word: str) -> str:
    return normalise(word)


_EN = frozenset(_strip(w) for w in _EN_WORDS)
_FR = frozenset(_strip(w) for w in _FR_WORDS)


def scores(text: str) -> dict[Language, int]:
    """How many words of the message belong to each language's list."""
    norm = normalise(text)
    # "j'ai" counts as "j'ai", "j" and "ai"; elisions are a strong French signal.
    tokens = norm.split()
    expanded = tokens + [part for tok in tokens if "'" in tok for part in tok.split("'") if part]
    en = sum(1 for tok in expanded if tok in _EN)
    fr = sum(1 for tok in expanded if tok in _FR)
    # Accented letters are French evidence that survives missing vocabulary.
    if re.search(r"[àâçéèêëîïôûùüÿœ]", text.lower()):
        fr += 1
    return {"en": en, "fr": fr}


def detect(text: str) -> Language | None:
    """The language of a message, or None when the message does not say."""
    s = scores(text)
    if s["en"] == s["fr"]:
        return None
    return "en" if s["en"] > s["fr"] else "fr"


def explicit_switch(text: str) -> Language | None:
    """The language a person explicitly asks for ("English", "en français svp"), if any."""
    norm = normalise(text)
    for lang, pattern in _SWITCH_PATTERNS.items():
        if pattern.match(norm):
            return lang
    return None


def asks_for_language_menu(text: str) -> bool:
    return bool(_MENU_PATTERN.match(normalise(text)))


def resolve(current: Language | None, text: str, hint: str | None, default: Language) -> Language:
    """The language to answer this message in, given the conversation's current one.

    ``hint`` is a channel's guess (Telegram's ``language_code``), used only when the message
    itself does not tell and the conversation has no language yet.
    """
    switch = explicit_switch(text)
    if switch:
        return switch
    if current is None:
        detected = detect(text)
        if detected:
            return detected
        hinted = (hint or "").split("-")[0].lower()
        return hinted if hinted in LANGUAGES else default  # type: ignore[return-value]
    s = scores(text)
    other: Language = "fr" if current == "en" else "en"
    if s[other] >= _MIN_WORDS_TO_SWITCH and s[other] - s[current] >= _MIN_LEAD_TO_SWITCH:
        return other
    return current
