"""Dates inside a sentence, in English and French: "next week", "vendredi", "le 5 decembre",
"in 3 days", "dans deux semaines", "tomorrow", "12/05".

Used by the safety layer (a removal or departure date that is close makes a conversation
urgent). Relative expressions are resolved against ``today``; a weekday means the next such day
(today excluded). Absolute dates use the intake's own parser (``bot.intake.parse.parse_date``),
so both read "3 mars" and "March 3" the same way.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

from bot.intake.parse import NUMBER_WORDS, parse_date
from bot.intake.text import fold

WEEKDAYS: dict[str, int] = {
    "monday": 0,
    "lundi": 0,
    "tuesday": 1,
    "mardi": 1,
    "wednesday": 2,
    "mercredi": 2,
    "thursday": 3,
    "jeudi": 3,
    "friday": 4,
    "vendredi": 4,
    "saturday": 5,
    "samedi": 5,
    "sunday": 6,
    "dimanche": 6,
}  # fmt: skip  (no short forms: "mon", "sat", "tue" are ordinary words in one language)

# Phrase -> days from today (the earliest day the phrase can mean).
_FIXED: tuple[tuple[str, int], ...] = (
    (r"today|tonight|this evening|aujourd ?hui|ce soir|auj|ajd", 0),
    (r"tomorrow|tmrw|tmr|tomorow|tommorow|demain|dmain", 1),
    (r"day after tomorrow|apres demain|apres-demain", 2),
    (r"this week|cette semaine|this weekend|ce weekend|ce week end|ce w-?e", 0),
    (r"next week|la semaine prochaine|semaine prochaine|la semaine pro|sem prochaine", 7),
    (r"next weekend|le weekend prochain|le week end prochain", 7),
    (r"next month|le mois prochain|mois prochain", 28),
    (r"in a week|dans une semaine|dans 1 semaine|in one week", 7),
    (r"in a few days|dans quelques jours|dans qq jours|in a couple of days|soon|bientot", 2),
    (
        r"within (?:the|a|this|one) week|end of (?:the|this) week|by the weekend|"
        r"(?:d ?ici )?(?:la )?fin de (?:la )?semaine|d ici une semaine|dans la semaine",
        6,
    ),
)
_FIXED_RE = [(re.compile(rf"\b(?:{p})\b"), days) for p, days in _FIXED]
_NUMBER = r"(\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
_IN_N = re.compile(
    rf"\b(?:in|within|dans|d ?ici) {_NUMBER} (days?|jours?|weeks?|semaines?|months?|mois)\b"
)
# "the 8th of this month", "le 8 de ce mois", "le 8 du mois"
_DAY_OF_MONTH = re.compile(
    r"\b(?:the )?(\d{1,2})(?:st|nd|rd|th|er|e)? (?:of (?:this|the) month|de ce mois|du mois)\b"
)
_WEEKDAY = re.compile(r"\b(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\b")


def _count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word) if word not in ("a", "my", "mon", "ma", "no") else None


def _next_month(today: date, day: int) -> date:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


def dates_in(text: str, language: str, today: date) -> list[date]:
    """Every date the sentence names, earliest first (may be empty)."""
    key = fold(text)
    found: list[date] = []
    for pattern, days in _FIXED_RE:
        if pattern.search(key):
            found.append(today + timedelta(days=days))
    for match in _IN_N.finditer(key):
        n = _count(match.group(1))
        if n is None:
            continue
        unit = match.group(2)
        per = 1 if unit.startswith(("day", "jour")) else 30 if unit.startswith("mo") else 7
        found.append(today + timedelta(days=n * per))
    for match in _WEEKDAY.finditer(key):
        ahead = (WEEKDAYS[match.group(1)] - today.weekday()) % 7 or 7
        found.append(today + timedelta(days=ahead))
    for match in _DAY_OF_MONTH.finditer(key):
        day = int(match.group(1))
        with contextlib.suppress(ValueError):
            when = today.replace(day=day)
            found.append(when if when >= today else _next_month(today, day))
    # "December 4." / "le 5 décembre?": the date parser reads whole words, not "4."
    absolute = parse_date(re.sub(r"(?<=\d)[.?!,;:]+(?=\s|$)", " ", text), language, today)
    if absolute is not None:
        found.append(absolute)
    return sorted(set(found))
