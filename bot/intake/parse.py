"""Parse and normalise intake answers typed in English or French, on any channel.

Every parser takes the raw text and returns a dict of normalised intake values, or ``None``
when the answer cannot be understood (the form then asks again, once, with an example). None
of them raises, whatever the input (``tests/unit/test_intake_parse.py`` checks it with
hypothesis). Optional questions accept "skip" / "I don't know" / "je sais pas".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

import phonenumbers

from bot.intake import countries, places
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
        "i don't want to say", "je ne veux pas le dire", "prefere pas dire", "pref pas dire",
        "prefere pas", "pref pas", "prefer not to tell", "i'd rather not", "id rather not",
        "would rather not", "prefere pas le dire", "prefere ne pas dire", "aime mieux pas",
        "aime mieux ne pas", "j'aime mieux pas", "pas envie de le dire", "pas envie de dire",
        "pas envie de repondre", "veux pas le dire", "veux pas dire", "veux pas repondre",
        "dont want to answer", "don't want to answer", "i dont wanna say", "dont wanna say",
        "not telling", "je prefere pas", "jprefere pas", "j prefere pas",
    }
)  # fmt: skip
# A longer message that contains "rather not" ("I would rather not go back, I'm afraid") is
# an answer, not a refusal to answer.
PREFER_NOT_MAX_WORDS = 7
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


def is_prefer_not(text: str) -> bool:
    key = _norm(text)
    return len(key.split()) <= PREFER_NOT_MAX_WORDS and has_phrase(key, PREFER_NOT)


# "i dont know my uncle did the papers", "jsp non plus": a don't-know that says more. Taken as
# a skip unless it asks something ("i dont know, can i still apply?").
_DONT_KNOW_PREFIX = re.compile(
    r"^(?:i dont know|i don't know|i do not know|idk|dunno|no idea|not sure|"
    r"je sais pas|je ne sais pas|jsp|j sais pas|chais pas|aucune idee|pas sur|pas sure)\b"
)


def is_skip(text: str) -> bool:
    """ "skip", "idk", "jsp", and "rather not say" (only where prefer_not_to_say is not an
    answer of its own: the safety and criminality questions check is_prefer_not first)."""
    key = _norm(text)
    if key in SKIP or fold(text).strip() in {"?", "??", "???"} or is_prefer_not(text):
        return True
    return bool(_DONT_KNOW_PREFIX.match(key)) and "?" not in text


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

_LIVE_IN = re.compile(
    r"^(i live in|i m living in|im living in|i am in|i m in|im in|i stay in|in|at|je vis a|"
    r"je vis au|j'habite a|j habite a|jhabite a|j'habite au|j habite au|je suis a|je suis au|"
    r"je reste a|jreste a|a|au)\b"
)


def location(text: str) -> Values | None:
    """``gta`` (yes, or a GTA municipality), ``outside`` (no, or a place known to be outside
    the GTA: bot/intake/places.py), ``unclear`` (a place on neither list), ``unknown``."""
    if is_skip(text):
        return {"area": UNKNOWN, "city": None}
    key = _norm(text)
    if key == "to":
        return {"area": "gta", "city": "Toronto"}
    named = places.classify(key)
    if named is not None and named[0] != "unclear":
        return {"area": named[0], "city": named[1]}
    answer = yes_no(text)
    rest = re.sub(r"^(no|non|nope|nah|yes|oui|yeah|ya|ouais)\b[\s,]*", "", key)
    rest = _LIVE_IN.sub("", rest).strip()
    if named is None and answer == "yes":
        return {"area": "gta", "city": None}
    if named is None and answer == "no" and not rest:
        return {"area": "outside", "city": None}
    # "no, I live in Hamilton": keep the place for the caseworker to judge "around the GTA".
    if 2 <= len(rest) <= 60 and re.fullmatch(r"[a-z' .-]+", rest):
        return {"area": "unclear", "city": rest.title()}
    return None


# -- immigration situation ----------------------------------------------------------------

STATUSES = ("refused", "appeal_pending", "removal_order", "withdrawn", "other", UNKNOWN)
_WITHDRAWN = frozenset(
    {"withdrew", "withdrawn", "withdraw", "retire", "retiree", "abandoned", "abandon",
     "abandonne", "retiree ma demande"}
)  # fmt: skip
_REMOVAL = frozenset(
    {"removal", "removal order", "deport", "deported", "deportation", "departure order",
     "renvoi", "mesure de renvoi", "expulsion", "expulse", "ordre de renvoi",
     "interdiction de sejour"}
)  # fmt: skip
_OTHER = frozenset(
    {"other", "autre", "something else", "never claimed", "no claim", "visa",
     "pas de demande", "jamais demande"}
)  # fmt: skip
# The status answer is read as a sequence of events, the last one deciding, so that
# "refused ... pis mon appel aussi", "appeal refused too", "no appeal" and "refused, so I
# appealed" each mean what they say. Words are compared folded (no accents, lower case).
_APPEAL = frozenset(
    {"appeal", "appeals", "appealed", "appealing", "rad", "prra", "jr", "judicial review",
     "federal court", "review", "appel", "dappel", "appels", "sar", "erar", "recours",
     "controle judiciaire", "cour federale", "revision"}
)  # fmt: skip
_REFUSAL = frozenset(
    {"refused", "rejected", "denied", "negative", "neg", "failed", "refusal", "dismissed",
     "lost", "turned down", "said no", "refuse", "refusee", "refusees", "refuses", "refus",
     "rejete", "rejetee", "rejetees", "deboute", "deboutee", "negatif",
     "negatifs", "perdu", "perdue", "echoue", "dit non"}
)  # fmt: skip
_PENDING = frozenset(
    {"waiting", "wait", "pending", "in process", "in progress", "ongoing", "no answer yet",
     "no decision yet", "not decided", "hearing", "filed", "submitted", "en attente",
     "attends", "attend", "en cours", "pas encore de reponse", "pas de reponse",
     "pas encore de decision", "depose", "deposee", "audience", "j attends"}
)  # fmt: skip
_TOO = frozenset(
    {"too", "also", "as well", "aswell", "both", "twice", "aussi", "itou", "pareil",
     "egalement", "de meme", "la meme chose", "les deux", "deux fois"}
)  # fmt: skip
_NEGATION = frozenset(
    {"no", "not", "never", "didnt", "dont", "cant", "cannot", "couldnt", "without", "wont",
     "havent", "pas", "sans", "aucun", "aucune", "jamais", "plus", "ni", "non"}
)  # fmt: skip
# Between a refusal and the appeal it refused: "lost my appeal", "refused by the RAD",
# "negative at IRB and at RAD", "refusee a la CISR et a la SAR", "perdu mon appel".
_LINK = frozenset(
    {"and", "n", "by", "at", "from", "the", "my", "our", "his", "her", "their", "an", "a", "et",
     "par", "au", "aux", "la", "le", "les", "l", "mon", "ma", "mes", "son", "sa", "notre",
     "leur", "d", "de", "du"}
)  # fmt: skip
# "appealed", "j'ai fait appel": the person acted; only a refusal after it closes the appeal.
_APPEAL_VERBS = frozenset({"appealed", "appealing"})
_DID = frozenset({"fait", "faire", "fais", "fera", "filed", "made", "file", "make", "put"})
_CLAUSE_BREAK = re.compile(r"[.,;:!?()]+|\s(?:so|then|but|now|donc|alors|mais|pis|puis)\s")


def _events(tokens: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, kind) of the status words of one clause, in order."""
    found: set[tuple[int, int, str]] = set()
    for kind, phrases in (("appeal", _APPEAL), ("refusal", _REFUSAL), ("pending", _PENDING),
                          ("too", _TOO)):  # fmt: skip
        for phrase in phrases:
            size = len(phrase.split())
            for i in range(len(tokens) - size + 1):
                if " ".join(tokens[i : i + size]) == phrase:
                    found.add((i, i + size, kind))
    return sorted(found)


def _status_sequence(text: str) -> str | None:
    """refused / appeal_pending from the order of refusals, appeals and "waiting" words, the
    last one deciding: "refused, so I appealed" is pending, "I appealed and lost" refused."""
    plain = unicodedata.normalize("NFKD", str(text).lower().replace("’", "'"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).replace("n't", " not")
    status: str | None = None
    appeal = ""  # "open" or "acted" while an appeal mentioned is still open, else ""
    refused_any = False
    for clause in _CLAUSE_BREAK.split(f" {plain} "):
        tokens = re.sub(r"[^a-z0-9]+", " ", clause).split()
        events = _events(tokens)
        refusal_ends = {end for _, end, kind in events if kind == "refusal"}
        refused_here = False
        for start, _end, kind in events:
            negated = any(t in _NEGATION for t in tokens[max(0, start - 3) : start])
            if kind == "refusal":
                if negated and status is None:
                    continue  # "not refused yet"
                status, appeal, refused_here, refused_any = "refused", "", True, True
            elif kind == "appeal":
                back = start
                while back > 0 and tokens[back - 1] in _LINK:
                    back -= 1
                joined = {"and", "n", "et"} & set(tokens[back:start])
                acted = tokens[start] in _APPEAL_VERBS or (start > 0 and tokens[start - 1] in
                                                             _DID)  # fmt: skip
                if negated:  # "no appeal", "pas d'appel", "didn't appeal", "can't appeal"
                    status, appeal = "refused", ""
                elif not acted and (back in refusal_ends or (refused_here and joined)):
                    status, appeal = "refused", ""  # "lost my appeal", "the IRB and the RAD"
                else:
                    status, appeal = "appeal_pending", "acted" if acted else "open"
            elif kind == "pending":
                status, appeal = "appeal_pending", appeal or "open"
            elif kind == "too" and appeal == "open" and refused_any:
                status, appeal = "refused", ""  # "refused ... pis mon appel aussi"
    return status


def immigration_status(text: str) -> Values | None:
    choice = _choice_number(text, len(STATUSES))
    if choice:
        return {"immigration_status": STATUSES[choice - 1]}
    if is_skip(text):
        return {"immigration_status": UNKNOWN}
    key = _norm(text)
    if has_phrase(key, _WITHDRAWN):
        return {"immigration_status": "withdrawn"}
    if has_phrase(key, _REMOVAL) and not re.search(
        r"\b(no|not|pas|aucune?|sans|without)\b(\s\w+){0,2}\s(removal|renvoi|deport)", key
    ):
        return {"immigration_status": "removal_order"}
    status = _status_sequence(text)
    if status is not None:
        return {"immigration_status": status}
    if has_phrase(key, _OTHER):
        return {"immigration_status": "other"}
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
        "le meme pays", "mon pays", "chez moi", "idem", "same as before", "same thing",
        "same as my citizenship", "same as citizenship", "the same one", "same as the first",
        "la meme chose", "meme chose", "pareil que avant", "pareil qu avant", "le meme qu avant",
        "la meme qu avant", "pareil comme avant", "pareil que ma citoyennete", "c est pareil",
        "cest pareil", "c est le meme", "cest le meme", "same 1", "same pls", "ditto",
        "my home country", "mon pays d origine",
    }
)  # fmt: skip
_SAME_LEAD = re.compile(r"^(ok |oui |yes |yeah |ya |ouais )?(the same|same|pareil|idem|le meme|"
                        r"la meme|meme|c est pareil|cest pareil)\b")  # fmt: skip
_NOT_SAME = re.compile(r"\b(not|no|non|pas|different|differente|autre|another|other)\b")


def is_same(text: str) -> bool:
    """ "same", "la même chose", "pareil", "same as before": the country already given."""
    key = _norm(text).replace("'", " ")
    if key in _SAME:
        return True
    return bool(_SAME_LEAD.match(key)) and not _NOT_SAME.search(key) and len(key.split()) <= 6


def citizenship(text: str) -> Values | None:
    if is_skip(text):
        return {"citizenship": UNKNOWN}
    code = countries.resolve(text)
    return {"citizenship": code} if code else None


def return_country(text: str, citizenship_code: str | None = None) -> Values | None:
    if is_skip(text):
        return {"return_country": UNKNOWN}
    if is_same(text) or yes_no(text) == "yes":
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
        "personne", "nobody", "no one", "none", "just myself", "moi meme", "only myself",
        "solo", "just me myself", "no one else", "personne d autre", "juste moi seul",
        "juste moi seule", "moi tout seul", "moi toute seule", "tout seul", "toute seule",
        "no", "non", "i travel alone", "je voyage seul", "je voyage seule", "je suis seul",
        "je suis seule", "i am alone", "im alone", "i m alone", "just me alone",
    }
)  # fmt: skip
_MINOR_WORDS = re.compile(r"\b(under 18|moins de 18|mineur|mineure|minor|underage)\b")

# -- age ----------------------------------------------------------------------------------

ADULT_AGE = 18
_AGE_NUMBER_WORDS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16, "dix sept": 17, "dix huit": 18, "dix neuf": 19, "vingt": 20,
}  # fmt: skip
_AGE_NUMBER = r"(\d{1,3}|" + "|".join(sorted(_AGE_NUMBER_WORDS, key=len, reverse=True)) + ")"
_AGE_UNIT = r"(?:\s*(?:years? old|yrs? old|year old|ans|an|years?|yrs?|yo|y o)\b)"
# "i'm 16", "j'ai 34 ans", "je suis 17", "age 40", "16 ans", "16yo", "sixteen years old".
_AGE_SAID = re.compile(
    r"\b(i am|i m|im|iam|je suis|j ai|jai|my age is|mon age est|mon age c est|aged?|agee?|"
    r"age de|agee de|moi|me)\s+" + _AGE_NUMBER + r"(" + _AGE_UNIT + r")?"
    r"|\b" + _AGE_NUMBER + _AGE_UNIT
)
# Words that may follow an age said without a unit ("im 16 and alone", "j'ai 16 seule").
_AFTER_AGE = [[w] for w in ("and", "et", "alone", "seul", "seule", "only", "just", "juste", "so",
                            "but", "mais", "donc", "with", "avec", "me", "moi")]  # fmt: skip


def _age_number(token: str | None) -> int | None:
    if token is None:
        return None
    value = int(token) if token.isdigit() else _AGE_NUMBER_WORDS.get(token)
    return value if value is not None and 1 <= value <= 110 else None


def person_age(key: str) -> tuple[int | None, str]:
    """The age of the person writing, said in a party or age answer ("just me im 16", "moi et
    mes 2 enfants, j'ai 34 ans"), and the text without it. An age after a word that names
    children ("2 kids of 3 and 5 years") is theirs, not the person's."""
    key = key.replace("'", " ")
    for match in _AGE_SAID.finditer(key):
        marker, number, unit = match.group(1), match.group(2), match.group(3)
        if marker is None:  # "16 ans", "sixteen years old"
            number, unit = match.group(4), " "
            if re.search(_CHILD, key[: match.start()]):
                continue  # "mes enfants de 3 et 5 ans": their age, not the person's
        elif not unit and key[match.end() :].split()[:1] not in ([], *_AFTER_AGE):
            continue  # "j'ai 2 enfants", "i am 5 months pregnant": not an age
        age = _age_number(number)
        if age is not None:
            kept = marker if marker in ("me", "moi") else ""  # "just me 16" -> "just me"
            return age, f"{key[: match.start()]} {kept} {key[match.end() :]}".strip()
    return None, key


def age(text: str) -> Values | None:
    """The age in years of the person writing: "16", "j'ai 16 ans", "seize", "34 yo"."""
    if is_skip(text):
        return {"age": UNKNOWN}
    key = _norm(text)
    bare = re.fullmatch(_AGE_NUMBER + _AGE_UNIT + "?", key)
    value = _age_number(bare.group(1)) if bare else person_age(key)[0]
    return {"age": value} if value is not None else None


def is_minor(values: dict[str, Any]) -> bool:
    """The person is under 18: an age below 18, or words like "mineur" kept as written."""
    value = values.get("age")
    if isinstance(value, int):
        return value < ADULT_AGE
    written = str(values.get("age_as_written") or values.get("party_as_written") or "")
    return bool(_MINOR_WORDS.search(_norm(written)))


def with_age(party: Values, person: Values) -> Values:
    """The travel party with the person's age applied: a person under 18 counts as a child
    (as the party answers always did), and ``minor_alone`` is true when no adult travels with
    them. A numeric age is kept in the party (``age``), which makes this idempotent: applying
    a corrected age first undoes the previous one."""
    result = dict(party)
    adults, children = result.get("adults"), result.get("children")
    value = person.get("age")
    minor = is_minor(person)
    if not isinstance(adults, int) or not isinstance(children, int):
        # Who travels is unknown: a minor is treated as possibly alone (a caseworker checks).
        if isinstance(value, int):
            result["age"] = value
        result["minor_alone"] = minor
        return result
    previous = result.pop("age", None)
    if isinstance(previous, int) and previous < ADULT_AGE:
        adults, children = adults + 1, max(children - 1, 0)  # undo: the person was a child
    if isinstance(value, int):
        result["age"] = value
        if minor and adults >= 1:
            adults, children = adults - 1, children + 1
        others = adults
    else:  # "je suis mineur" without a number: counts stay as said, the flag is raised
        others = adults - 1
    result.update(adults=adults, children=children, minor_alone=minor and others <= 0)
    return result


def age_needed(party: Values | None) -> bool:
    """Ask the person's age unless it was given, or another adult travels with them (then a
    minor is not alone, and the caseworker collects every traveller's details later)."""
    if party is None or "age" in party:
        return False
    adults = party.get("adults")
    return not (isinstance(adults, int) and adults >= 2)


def _count(token: str) -> int | None:
    if token.isdigit():
        return int(token) if int(token) <= 30 else None
    return NUMBER_WORDS.get(token)


def travel_party(text: str) -> Values | None:
    """Who travels, counting the person: "2 kids" -> 1 adult + 2 children. An age said with
    it ("just me im 16") is kept; a person under 18 counts as a child (``with_age``)."""
    if is_skip(text):
        return {"adults": None, "children": None, "minor_alone": False}
    given_age, key = person_age(_norm(text))
    key = re.sub(r"\s+", " ", key.replace("'", " ")).strip(" ,.")
    alone_and_number = re.fullmatch(r"(?:(\D+?)\s*(\d{1,2})|(\d{1,2})\s*(\D+))", key)
    if given_age is None and alone_and_number:  # "alone, 17", "16 seule": the age
        words_part = alone_and_number.group(1) or alone_and_number.group(4) or ""
        number = int(alone_and_number.group(2) or alone_and_number.group(3))
        if words_part.strip(" ,.") in _ALONE and 10 <= number <= 110:
            given_age, key = number, words_part.strip(" ,.")
    person: Values = {"age": given_age} if given_age is not None else {}
    if given_age is None and _MINOR_WORDS.search(key):
        person = {"age_as_written": key}  # "je suis mineur, seul": flagged, age asked next
    key = re.sub(r"\s+", " ", key).strip(" ,.")
    trimmed = re.sub(r"^(just|only|juste|seulement)\s+|\s+(only|alone|seul|seule)$", "", key)
    core = re.sub(r"\b(and|et|i m|im|i am|je suis|j ai|jai)\b", " ", key)
    core = re.sub(r"\s+", " ", _MINOR_WORDS.sub(" ", core)).strip()
    if key in _ALONE or trimmed in _ALONE or core in _ALONE:
        party: Values = {"adults": 1, "children": 0, "minor_alone": False}
        return with_age(party, person)
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
        adults = 1 + (1 if partner else 0)
    return with_age({"adults": adults, "children": children, "minor_alone": False}, person)


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
    ("intake_age", frozenset({"age", "my age", "how old", "mon age"})),
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
        "go ahead", "go", "send them", "ok send", "send now", "envoie les", "envoyez les",
        "envoie le", "vas y", "allez y", "c est beau", "cest beau", "c'est correct",
        "cest correct", "all correct", "everything is correct", "its good", "it's good",
    }
)  # fmt: skip
# "ok envoie", "oui envoyez-les svp", "yes please send it now": a send verb, nothing negated.
_SEND_VERB = re.compile(r"\b(send|submit|envoie|envoyer|envoyez|envoi|soumets|soumettre)\b")
_FILLER = re.compile(
    r"^((ok|okay|k|oui|yes|yeah|ya|yep|ouais|bon|alors|alright|sure|go ahead|vas y|allez y|"
    r"c est bon|cest bon|parfait|perfect|great)\s+)+|(\s+(please|pls|plz|svp|stp|now|"
    r"maintenant|merci|thanks|thank you|them|it|les|le|la|moi|to them))+$"
)  # fmt: skip
_DONT = re.compile(r"\b(not|dont|don t|do not|pas|ne|n|never|jamais|wait|attends|attendez)\b")
_CHANGE = frozenset(
    {
        "change", "correct", "fix", "edit", "modify", "update", "wrong", "corriger", "changer",
        "modifier", "corrige", "change my", "erreur", "faux",
    }
)  # fmt: skip


# The payload of a "change this answer" button (the summary's choices): "change:intake_age".
CHANGE_PAYLOAD = "change:"


def confirmation(text: str) -> Values | None:
    """{"action": "submit"} or {"action": "change", "slot": "intake_x" | None}, else None."""
    button = re.fullmatch(rf"\s*{CHANGE_PAYLOAD}(intake_[a-z_]{{1,30}})\s*", str(text))
    if button:
        return {"action": "change", "slot": button.group(1)}
    key = _norm(text)
    choice = _choice_number(text, 2)
    wants_change = choice == 2 or has_phrase(key, _CHANGE - {"correct"}) or key.startswith("no")
    if wants_change or has_phrase(key, frozenset({"correct the", "correct my"})):
        for slot, phrases in FIELD_WORDS:
            if has_phrase(key, phrases):
                return {"action": "change", "slot": slot}
        return {"action": "change", "slot": None}
    core = _FILLER.sub("", key.replace("'", " ")).strip()
    if choice == 1 or key in _SUBMIT or core in _SUBMIT or yes_no(text) == "yes":
        return {"action": "submit"}
    if _SEND_VERB.search(key) and not _DONT.search(key.replace("'", " ")):
        return {"action": "submit"}
    for slot, phrases in FIELD_WORDS:  # "country" alone: they want to change it
        if key in phrases:
            return {"action": "change", "slot": slot}
    return None
