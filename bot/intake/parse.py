"""Parse and normalise intake answers typed in English or French, on any channel.

Every parser takes the raw text and returns a dict of normalised intake values, or ``None``
when the answer cannot be understood (the form then asks again, once, with an example). None
of them raises, whatever the input (``tests/unit/test_intake_parse.py`` checks it with
hypothesis). Optional questions accept "skip" / "I don't know" / "je sais pas".
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import phonenumbers

from bot.intake import countries
from bot.intake.text import fold, has_phrase, words

Values = dict[str, Any]
UNKNOWN = "unknown"  # the person skipped the question or did not know

MAX_FREE_TEXT = 500

SKIP = frozenset(
    {
        "skip", "idk", "i dont know", "i don't know", "dont know", "don't know", "dunno",
        "not sure", "no idea", "pass", "next", "unknown", "unsure", "i do not know", "dk",
        "je sais pas", "je ne sais pas", "sais pas", "jsp", "j sais pas", "chais pas",
        "aucune idee", "passer", "suivant", "inconnu", "pas sur", "pas sure", "je passe",
        "ne sais pas", "je ne sais", "?", "??", "???",
    }
)  # fmt: skip
PREFER_NOT = frozenset(
    {
        "prefer not to say", "prefer not", "rather not say", "rather not", "i prefer not",
        "no comment", "prefer not to answer", "je prefere ne pas le dire",
        "je prefere ne pas repondre", "prefere ne pas", "je prefere ne pas",
        "pas de commentaire", "je ne veux pas repondre", "i dont want to say",
        "i don't want to say", "je ne veux pas le dire",
    }
)  # fmt: skip
YES = frozenset(
    {
        "yes", "y", "ya", "yah", "yeah", "yep", "yup", "yea", "ye", "yes please", "ok", "okay",
        "k", "sure", "of course", "correct", "right", "i agree", "agree", "yes i agree",
        "yes i do", "i do", "i have", "yes i have", "oui", "o", "ouais", "ouai", "ouep", "wi",
        "oui oui", "d'accord", "daccord", "dac", "bien sur", "j'accepte", "jaccepte",
        "accepte", "je suis d'accord", "je suis daccord", "exact", "c'est ca", "oui j'en ai",
        "oui je veux", "yes i want", "go", "go ahead", "vas y", "allez",
    }
)  # fmt: skip
NO = frozenset(
    {
        "no", "n", "nope", "nah", "no thanks", "no thank you", "not really", "never", "none",
        "i don't", "i dont", "no i don't", "no i dont", "don't", "i do not", "not at all",
        "non", "nan", "non merci", "pas vraiment", "jamais", "aucun", "aucune", "pas du tout",
        "je refuse", "refuse", "i refuse", "no i have not", "no i haven't", "i haven't",
        "non jamais", "rien", "nothing", "nothing else", "no nothing", "non rien", "nada",
    }
)  # fmt: skip


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9' ]+", " ", fold(text)).strip()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", _key(text).replace("'", "'")).strip()


def is_skip(text: str) -> bool:
    key = _norm(text)
    return key in SKIP or fold(text).strip() in {"?", "??", "???"}


def is_prefer_not(text: str) -> bool:
    return has_phrase(_norm(text), PREFER_NOT)


def yes_no(text: str) -> str | None:
    """ "yes" / "no" for the many ways people say it, else None."""
    key = _norm(text)
    if not key or is_skip(text):
        return None
    if key in YES:
        return "yes"
    if key in NO:
        return "no"
    first = key.split()[0]
    if first in {"yes", "yeah", "yep", "oui", "ouais", "ya", "sure"}:
        return "yes"
    if first in {"no", "non", "nope", "nah", "never", "jamais"}:
        return "no"
    return None


def _choice_number(text: str, count: int) -> int | None:
    """ "2" or "2." -> 2 when it is one of the numbered options shown (SMS replies)."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", text)
    if match and 1 <= int(match.group(1)) <= count:
        return int(match.group(1))
    return None


# -- consent ------------------------------------------------------------------------------


def consent(text: str) -> Values | None:
    choice = _choice_number(text, 2)
    answer = {1: "yes", 2: "no"}.get(choice or 0) or yes_no(text)
    if answer is None:
        return None
    return {"consent": answer == "yes"}


# -- first name ---------------------------------------------------------------------------

_NAME_PREFIX = re.compile(
    r"^(my name is|my name's|name is|i am|i'm|im|it's|its|call me|this is|je m'appelle|"
    r"je mappelle|je m appelle|mon nom est|mon prenom est|moi c'est|c'est|je suis|appelez moi)\s+",
    re.IGNORECASE,
)


def first_name(text: str) -> Values | None:
    if is_skip(text) or _norm(text) in {"no", "non", "prefer not", "rather not"}:
        return {"first_name": UNKNOWN}
    raw = re.sub(r"\s+", " ", str(text)).strip().strip(".!,")
    raw = _NAME_PREFIX.sub("", raw).strip()
    if not raw or len(raw) > 40 or any(ch.isdigit() for ch in raw):
        return None
    if not all(ch.isalpha() or ch in " '-." for ch in raw) or len(raw.split()) > 3:
        return None
    if raw.islower():
        raw = " ".join(part[:1].upper() + part[1:] for part in raw.split())
    return {"first_name": raw}


# -- where they live ----------------------------------------------------------------------

# Municipalities of the Greater Toronto Area (the City of Toronto, its former boroughs and the
# regions of Peel, York, Durham and Halton), folded. Everything else is left to a caseworker.
GTA_PLACES = frozenset(
    {
        "toronto", "north york", "scarborough", "etobicoke", "york", "east york", "downtown",
        "mississauga", "brampton", "caledon", "markham", "vaughan", "richmond hill", "aurora",
        "newmarket", "king city", "stouffville", "whitchurch stouffville", "east gwillimbury",
        "georgina", "pickering", "ajax", "whitby", "oshawa", "clarington", "uxbridge", "scugog",
        "oakville", "burlington", "milton", "halton hills", "georgetown", "woodbridge",
        "thornhill", "concord", "maple", "bolton", "gta", "the gta", "grand toronto",
        "region du grand toronto", "rgt", "greater toronto", "greater toronto area", "to",
    }
)  # fmt: skip


def location(text: str) -> Values | None:
    if is_skip(text):
        return {"area": UNKNOWN, "city": None}
    key = _norm(text)
    for place in sorted(GTA_PLACES, key=len, reverse=True):
        if has_phrase(key, frozenset({place})) and place != "to":
            return {
                "area": "gta",
                "city": None
                if place.startswith(("gta", "the gta", "grand", "region", "rgt", "greater"))
                else place.title(),
            }
    if key == "to":
        return {"area": "gta", "city": "Toronto"}
    answer = yes_no(text)
    if answer == "yes":
        return {"area": "gta", "city": None}
    if answer == "no":
        # "no, I live in Hamilton": keep the place for the caseworker to judge "near the GTA".
        rest = re.sub(r"^(no|non|nope|nah)\b[\s,]*", "", key)
        rest = re.sub(
            r"^(i live in|i am in|i m in|im in|in|je vis a|j'habite a|je suis a|a)\b", "", rest
        ).strip()
        return {"area": "outside" if not rest else "unclear", "city": rest[:80] or None}
    if 2 <= len(key) <= 60 and re.fullmatch(r"[a-z' .-]+", key):
        return {"area": "unclear", "city": key.title()}  # a place we do not know
    return None


# -- immigration situation ----------------------------------------------------------------

STATUSES = ("refused", "appeal_pending", "removal_order", "withdrawn", "other", UNKNOWN)
_STATUS_WORDS: list[tuple[str, frozenset[str]]] = [
    ("withdrawn", frozenset({"withdrew", "withdrawn", "withdraw", "retire", "retiree",
                             "abandoned", "abandon", "abandonne", "retiree ma demande"})),
    ("removal_order", frozenset({"removal", "removal order", "deport", "deported",
                                 "deportation", "departure order", "renvoi",
                                 "mesure de renvoi", "expulsion", "expulse", "ordre de renvoi",
                                 "interdiction de sejour"})),
    ("appeal_pending", frozenset({"appeal", "appealed", "appealing", "review", "pending",
                                  "waiting", "judicial review", "federal court", "prra", "rad",
                                  "appel", "en appel", "revision", "en attente", "erar", "sar",
                                  "controle judiciaire", "cour federale", "recours"})),
    ("refused", frozenset({"refused", "rejected", "denied", "negative", "failed", "refusal",
                           "refuse", "refusee", "rejete", "rejetee", "deboute", "deboutee",
                           "negatif", "negative decision", "decision negative"})),
    ("other", frozenset({"other", "autre", "something else", "never claimed", "no claim",
                         "visa", "pas de demande", "jamais demande"})),
]  # fmt: skip


def immigration_status(text: str) -> Values | None:
    choice = _choice_number(text, len(STATUSES))
    if choice:
        return {"immigration_status": STATUSES[choice - 1]}
    if is_skip(text):
        return {"immigration_status": UNKNOWN}
    key = _norm(text)
    for status, phrases in _STATUS_WORDS:
        if has_phrase(key, phrases):
            return {"immigration_status": status}
    return None


# -- dates --------------------------------------------------------------------------------

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "janvier": 1, "janv": 1, "february": 2, "feb": 2, "fevrier": 2,
    "fev": 2, "fevr": 2, "march": 3, "mar": 3, "mars": 3, "april": 4, "apr": 4, "avril": 4,
    "avr": 4, "may": 5, "mai": 5, "june": 6, "jun": 6, "juin": 6, "july": 7, "jul": 7,
    "juillet": 7, "juil": 7, "august": 8, "aug": 8, "aout": 8, "september": 9, "sep": 9,
    "sept": 9, "septembre": 9, "october": 10, "oct": 10, "octobre": 10, "november": 11,
    "nov": 11, "novembre": 11, "december": 12, "dec": 12, "decembre": 12,
}  # fmt: skip
_RELATIVE = frozenset(
    {
        "yesterday", "today", "last week", "last month", "last year", "this week", "this month",
        "weeks ago", "days ago", "months ago", "ago", "recently", "next week", "next month",
        "tomorrow", "hier", "aujourd'hui", "aujourdhui", "semaine derniere", "mois dernier",
        "annee derniere", "il y a", "recemment", "la semaine prochaine", "mois prochain",
        "demain", "cette semaine", "ce mois ci",
    }
)  # fmt: skip


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _guess_year(month: int, day: int, today: date) -> date | None:
    """No year given: the latest such date up to two months ahead (decisions are in the past,
    a removal date may be soon)."""
    options = [_safe_date(today.year + d, month, day) for d in (-1, 0, 1)]
    valid = [o for o in options if o is not None and (o - today).days <= 60]
    return max(valid) if valid else None


def _year(text: str) -> int:
    value = int(text)
    return value + 2000 if value < 100 else value


def parse_date(text: str, language: str = "en", today: date | None = None) -> date | None:
    """A calendar date from "March 3", "3 mars", "le 1er mars 2026", "03/03/2026", "2026-03-03".

    Numeric day/month order: French reads day first; English takes whichever order is the only
    valid one and, when both are, returns None (ambiguous: kept as text for a caseworker).
    """
    today = today or date.today()
    key = fold(text).replace("1er", "1").replace("premier", "1")
    key = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", key)
    iso = re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", key)
    if iso:
        return _safe_date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    numeric = re.search(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b", key)
    if numeric:
        a, b = int(numeric.group(1)), int(numeric.group(2))
        year = _year(numeric.group(3)) if numeric.group(3) else None
        if language == "fr" or a > 12:
            day, month = a, b
        elif b > 12:
            month, day = a, b
        elif a == b:
            day = month = a
        else:
            return None  # 03/04: March 4 or April 3?
        return _safe_date(year, month, day) if year else _guess_year(month, day, today)
    tokens = key.replace(",", " ").split()
    month = next((MONTHS[t.strip(".")] for t in tokens if t.strip(".") in MONTHS), None)
    if month is None:
        return None
    numbers = [int(t) for t in tokens if t.isdigit()]
    days = [n for n in numbers if 1 <= n <= 31]
    years = [n for n in numbers if 1990 <= n <= 2100]
    if not days:
        return None
    if years:
        return _safe_date(years[0], month, days[0])
    return _guess_year(month, days[0], today)


def decision_date(text: str, language: str = "en", today: date | None = None) -> Values | None:
    if is_skip(text) or _norm(text) in {"no", "non", "none", "aucune"}:
        return {"decision_date": None, "decision_date_text": UNKNOWN}
    raw = re.sub(r"\s+", " ", str(text)).strip()[:80]
    parsed = parse_date(text, language, today)
    if parsed is not None:
        return {"decision_date": parsed.isoformat(), "decision_date_text": raw}
    key = _norm(text)
    has_month = any(t.strip(".") in MONTHS for t in key.split())
    if has_phrase(key, _RELATIVE) or has_month or re.search(r"\d", key):
        return {"decision_date": None, "decision_date_text": raw}  # "last week": kept as said
    return None


# -- countries ----------------------------------------------------------------------------

_SAME = frozenset(
    {
        "same", "the same", "same country", "same as above", "same one", "home", "my country",
        "back home", "same place", "meme", "le meme", "la meme", "pareil", "meme pays",
        "le meme pays", "mon pays", "chez moi", "idem",
    }
)  # fmt: skip


def citizenship(text: str) -> Values | None:
    if is_skip(text):
        return {"citizenship": UNKNOWN}
    code = countries.resolve(text)
    return {"citizenship": code} if code else None


def return_country(text: str, citizenship_code: str | None = None) -> Values | None:
    if is_skip(text):
        return {"return_country": UNKNOWN}
    if _norm(text) in _SAME or yes_no(text) == "yes":
        if citizenship_code and citizenship_code != UNKNOWN:
            return {"return_country": citizenship_code}
        return None
    code = countries.resolve(text)
    return {"return_country": code} if code else None


# -- who travels --------------------------------------------------------------------------

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "no": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "aucun": 0,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "my": 1, "mon": 1, "ma": 1,
}  # fmt: skip
_CHILD = (
    r"(kids?|child|children|childs|sons?|daughters?|bab(?:y|ies)|enfants?|fils|filles?|"
    r"bebes?|petits?|ados?|teens?|teenagers?)"
)
_ADULT = r"(adults?|adultes?|grown ups?|people|persons?|personnes?)"
_PARTNER = re.compile(
    r"\b(wife|husband|spouse|partner|girlfriend|boyfriend|femme|mari|epoux|epouse|conjoint|"
    r"conjointe|copine|copain|mother|father|mom|mum|dad|mere|pere|brother|sister|frere|soeur)\b"
)
_ALONE = frozenset(
    {
        "alone", "just me", "only me", "me", "myself", "me alone", "by myself", "me only",
        "seul", "seule", "moi", "moi seul", "moi seule", "juste moi", "seulement moi",
        "personne", "nobody", "no one", "none", "just myself", "moi meme",
    }
)  # fmt: skip
_MINOR = re.compile(
    r"\b(i am|i m|im|je suis|j ai)\s*(1[0-7]|[0-9])\s*(years?|yrs?|ans)?\b|under 18|"
    r"moins de 18|mineur|mineure|minor\b"
)


def _count(token: str) -> int | None:
    if token.isdigit():
        return int(token) if int(token) <= 30 else None
    return NUMBER_WORDS.get(token)


def travel_party(text: str) -> Values | None:
    """Who travels, counting the person: "2 kids" -> 1 adult + 2 children."""
    if is_skip(text):
        return {"adults": None, "children": None, "minor_alone": False}
    key = _norm(text).replace("'", " ")
    minor = bool(_MINOR.search(key))
    if key in _ALONE or key in {"no", "non", "no one else", "personne d autre"}:
        return {"adults": 0 if minor else 1, "children": 1 if minor else 0, "minor_alone": minor}
    tokens = key.split()
    children = 0
    adults = None
    found = False
    for i, token in enumerate(tokens):
        kind = (
            "child" if re.fullmatch(_CHILD, token) else "adult" if re.fullmatch(_ADULT, token)
            else None
        )  # fmt: skip
        if kind is None:
            continue
        # The count is just before the word, or one word before ("2 little kids").
        counts = [_count(t) for t in tokens[max(0, i - 2) : i][::-1]]
        value = next((c for c in counts if c is not None), None)
        if value is None:
            continue
        found = True
        if kind == "child":
            children += value
        else:
            adults = (adults or 0) + value
    if not found and re.search(rf"\b{_CHILD}\b", key):
        children, found = 1, True  # "me and my son"
    partner = bool(_PARTNER.search(key))
    if not found and not partner:
        return None  # a bare "3" is ambiguous: ask again with an example
    if adults is None:
        adults = 0 if minor else 1 + (1 if partner else 0)
    return {"adults": adults, "children": children, "minor_alone": minor and adults == 0}


# -- yes / no / don't know questions ------------------------------------------------------


def passport(text: str) -> Values | None:
    key = _norm(text)
    if is_skip(text):
        return {"passport": UNKNOWN}
    if has_phrase(key, frozenset({"expired", "expire", "perime", "perimee", "old"})):
        return {"passport": "expired"}
    choice = _choice_number(text, 3)
    if choice:
        return {"passport": ("yes", "no", UNKNOWN)[choice - 1]}
    answer = yes_no(text)
    if answer:
        return {"passport": answer}
    if has_phrase(key, frozenset({"lost", "perdu", "stolen", "vole", "taken", "confisque"})):
        return {"passport": "no"}
    return None


def health(text: str) -> Values | None:
    """Free text: any need is kept as written (for the caseworker); "no" means none."""
    if is_skip(text):
        return {"health_needs": UNKNOWN, "health_details": None}
    key = _norm(text)
    if not key:
        return None
    if yes_no(text) == "no" or key in {"nothing", "rien", "none", "no needs", "aucun besoin"}:
        return {"health_needs": "no", "health_details": None}
    detail = None if yes_no(text) == "yes" else str(text).strip()[:MAX_FREE_TEXT]
    return {"health_needs": "yes", "health_details": detail}


_FEAR = frozenset(
    {
        "afraid", "scared", "fear", "danger", "dangerous", "unsafe", "threat", "threatened",
        "kill", "killed", "persecuted", "persecution", "peur", "crains", "crainte", "menace",
        "menaces", "menacee", "menace de mort", "tuer", "dangereux", "en danger", "persecute",
    }
)  # fmt: skip


def safety(text: str) -> Values | None:
    if is_prefer_not(text):
        return {"safety_concerns": "prefer_not_to_say"}
    if is_skip(text):
        return {"safety_concerns": UNKNOWN}
    choice = _choice_number(text, 3)
    if choice:
        return {"safety_concerns": ("yes", "no", "prefer_not_to_say")[choice - 1]}
    answer = yes_no(text)
    if answer:
        return {"safety_concerns": answer}
    if has_phrase(_norm(text), _FEAR):
        return {"safety_concerns": "yes"}
    return None


def criminality(text: str) -> Values | None:
    if is_prefer_not(text) or is_skip(text):
        return {"criminality": "prefer_not_to_say"}
    choice = _choice_number(text, 3)
    if choice:
        return {"criminality": ("yes", "no", "prefer_not_to_say")[choice - 1]}
    answer = yes_no(text)
    return {"criminality": answer} if answer else None


def prior_return(text: str) -> Values | None:
    if is_skip(text):
        return {"prior_return": UNKNOWN}
    choice = _choice_number(text, 3)
    if choice:
        return {"prior_return": ("yes", "no", UNKNOWN)[choice - 1]}
    answer = yes_no(text)
    return {"prior_return": answer} if answer else None


# -- contact ------------------------------------------------------------------------------


def contact_preference(text: str) -> Values | None:
    if is_skip(text) or _norm(text) in {"anytime", "any time", "n'importe quand", "peu importe"}:
        return {"contact_preference": "any"}
    raw = re.sub(r"\s+", " ", str(text)).strip()[:200]
    return {"contact_preference": raw} if len(words(raw)) >= 1 else None


def phone(text: str, region: str = "CA") -> Values | None:
    if is_skip(text) or yes_no(text) == "no":
        return {"phone": None}
    raw = str(text).strip()
    if len(raw) > 40 or len(re.findall(r"\d", raw)) < 7:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return {"phone": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)}


def notes(text: str) -> Values | None:
    if is_skip(text) or yes_no(text) == "no":
        return {"notes": None}
    raw = str(text).strip()[:MAX_FREE_TEXT]
    return {"notes": raw} if raw else None


# -- the summary: submit, or which answer to change ---------------------------------------

# Words that name a question, to correct one answer ("change my country", "corriger le pays").
FIELD_WORDS: list[tuple[str, frozenset[str]]] = [
    ("intake_return_country", frozenset({"return", "retour", "destination", "go back to",
                                         "retourner"})),
    ("intake_citizenship", frozenset({"country", "pays", "citizenship", "nationality",
                                      "citoyennete", "nationalite"})),
    ("intake_first_name", frozenset({"name", "first name", "nom", "prenom"})),
    ("intake_location", frozenset({"city", "gta", "toronto", "location", "where i live",
                                   "address", "ville", "lieu", "adresse", "region"})),
    ("intake_decision_date", frozenset({"date", "decision date", "when"})),
    ("intake_status", frozenset({"status", "situation", "claim", "statut", "demande",
                                 "immigration"})),
    ("intake_party", frozenset({"people", "family", "kids", "children", "adults",
                                "travel", "famille", "enfants", "adultes", "personnes"})),
    ("intake_passport", frozenset({"passport", "document", "travel document", "passeport",
                                   "titre de voyage"})),
    ("intake_health", frozenset({"health", "medical", "mobility", "sante", "mobilite"})),
    ("intake_safety", frozenset({"safety", "fear", "securite", "peur", "danger"})),
    ("intake_criminality", frozenset({"crime", "criminal", "charge", "charged", "casier",
                                      "judiciaire", "accusation"})),
    ("intake_prior_return", frozenset({"before", "previous", "prior", "already",
                                       "deja", "avant"})),
    ("intake_phone", frozenset({"phone", "number", "telephone", "numero"})),
    ("intake_contact", frozenset({"contact", "reach", "joindre", "moment", "quand"})),
    ("intake_notes", frozenset({"notes", "anything else", "else", "autre chose", "message"})),
]  # fmt: skip
_SUBMIT = frozenset(
    {
        "send", "submit", "send it", "yes send", "confirm", "done", "good", "looks good",
        "all good", "correct", "that's right", "thats right", "envoyer", "envoie", "envoyez",
        "soumettre", "confirmer", "c'est bon", "cest bon", "parfait", "tout est bon",
    }
)  # fmt: skip
_CHANGE = frozenset(
    {
        "change", "correct", "fix", "edit", "modify", "update", "wrong", "corriger", "changer",
        "modifier", "corrige", "change my", "erreur", "faux",
    }
)  # fmt: skip


def confirmation(text: str) -> Values | None:
    """{"action": "submit"} or {"action": "change", "slot": "intake_x" | None}, else None."""
    key = _norm(text)
    choice = _choice_number(text, 2)
    wants_change = choice == 2 or has_phrase(key, _CHANGE - {"correct"}) or key.startswith("no")
    if wants_change or has_phrase(key, frozenset({"correct the", "correct my"})):
        for slot, phrases in FIELD_WORDS:
            if has_phrase(key, phrases):
                return {"action": "change", "slot": slot}
        return {"action": "change", "slot": None}
    if choice == 1 or key in _SUBMIT or yes_no(text) == "yes":
        return {"action": "submit"}
    for slot, phrases in FIELD_WORDS:  # "country" alone: they want to change it
        if key in phrases:
            return {"action": "change", "slot": slot}
    return None
