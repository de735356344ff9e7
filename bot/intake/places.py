"""Places in Canada, to tell the GTA from elsewhere in an answer like "non, je suis à Montréal".

The program served people "in or around the Greater Toronto Area" (facts §1.2, §1.4). Three
groups, all folded (lower case, no accents):

- ``GTA_PLACES``: the City of Toronto, its former boroughs and the municipalities of the
  regions of Peel, York, Durham and Halton -> ``gta``.
- ``OUTSIDE_GTA``: provinces and territories other than Ontario (English and French names from
  ``pycountry``'s shipped ISO 3166-2 data, plus everyday short forms), and a reviewed list of
  Canadian cities that are clearly not "around" the GTA: the large cities of the other
  provinces and the Ontario cities two hours or more away -> ``outside``.
- Everything else, including the cities next to the GTA (Hamilton, Guelph, Kitchener, Barrie,
  St. Catharines, ...) and "Ontario" itself -> ``unclear``: whether they count as "around the
  GTA" is for a caseworker to judge, so they are deliberately in neither list.

No maintained list of Canadian municipalities ships with the installed packages (``pycountry``
stops at provinces), hence the reviewed table below; the names are those on the provinces'
own municipal lists. ``tests/unit/test_intake_parse.py`` keeps the groups disjoint.
"""

from __future__ import annotations

import gettext
import re
from functools import lru_cache

import pycountry

from bot.intake.text import fold, has_phrase

GTA_PLACES = frozenset(
    {
        "toronto", "north york", "scarborough", "etobicoke", "york", "east york", "downtown",
        "mississauga", "brampton", "caledon", "markham", "vaughan", "richmond hill", "aurora",
        "newmarket", "king city", "stouffville", "whitchurch stouffville", "east gwillimbury",
        "georgina", "pickering", "ajax", "whitby", "oshawa", "clarington", "uxbridge", "scugog",
        "oakville", "burlington", "milton", "halton hills", "georgetown", "woodbridge",
        "thornhill", "concord", "maple", "bolton", "gta", "the gta", "grand toronto",
        "region du grand toronto", "rgt", "greater toronto", "greater toronto area",
    }
)  # fmt: skip
# Names that say "the GTA" without naming a municipality (no city is kept for them).
GTA_REGION_NAMES = frozenset(
    {"gta", "the gta", "grand toronto", "region du grand toronto", "rgt", "greater toronto",
     "greater toronto area"}
)  # fmt: skip

# Reviewed: cities clearly outside the GTA and its surroundings (folded name -> display name).
OUTSIDE_CITIES: dict[str, str] = {
    # Quebec
    "montreal": "Montréal", "laval": "Laval", "longueuil": "Longueuil", "gatineau": "Gatineau",
    "quebec city": "Québec", "ville de quebec": "Québec", "sherbrooke": "Sherbrooke",
    "trois rivieres": "Trois-Rivières", "saguenay": "Saguenay", "chicoutimi": "Saguenay",
    "levis": "Lévis", "terrebonne": "Terrebonne", "brossard": "Brossard",
    "saint jean sur richelieu": "Saint-Jean-sur-Richelieu", "drummondville": "Drummondville",
    "granby": "Granby", "repentigny": "Repentigny", "rimouski": "Rimouski",
    "saint jerome": "Saint-Jérôme", "st jerome": "Saint-Jérôme", "mtl": "Montréal",
    # British Columbia
    "vancouver": "Vancouver", "surrey": "Surrey", "burnaby": "Burnaby",
    "victoria": "Victoria", "kelowna": "Kelowna", "abbotsford": "Abbotsford",
    "coquitlam": "Coquitlam", "kamloops": "Kamloops", "nanaimo": "Nanaimo",
    "prince george": "Prince George", "langley": "Langley", "delta": "Delta",
    "north vancouver": "North Vancouver", "new westminster": "New Westminster",
    # Prairies
    "calgary": "Calgary", "edmonton": "Edmonton", "red deer": "Red Deer",
    "lethbridge": "Lethbridge", "fort mcmurray": "Fort McMurray", "saskatoon": "Saskatoon",
    "regina": "Regina", "winnipeg": "Winnipeg", "brandon": "Brandon",
    # Atlantic provinces and the North
    "halifax": "Halifax", "dartmouth": "Dartmouth", "moncton": "Moncton",
    "saint john": "Saint John", "fredericton": "Fredericton", "dieppe": "Dieppe",
    "charlottetown": "Charlottetown", "st john's": "St. John's", "st johns": "St. John's",
    "saint john's": "St. John's", "whitehorse": "Whitehorse", "yellowknife": "Yellowknife",
    "iqaluit": "Iqaluit",
    # Not in Canada, but it contains a GTA name ("york")
    "new york": "New York",
    # Ontario, two hours or more from Toronto
    "ottawa": "Ottawa", "kanata": "Ottawa", "nepean": "Ottawa", "orleans": "Ottawa",
    "kingston": "Kingston", "london": "London", "windsor": "Windsor", "sudbury": "Sudbury",
    "greater sudbury": "Sudbury", "thunder bay": "Thunder Bay",
    "sault ste marie": "Sault Ste. Marie", "north bay": "North Bay", "timmins": "Timmins",
    "cornwall": "Cornwall", "sarnia": "Sarnia", "belleville": "Belleville",
}  # fmt: skip
# Everyday short forms of provinces (two-letter codes other than these collide with words).
PROVINCE_SHORT: dict[str, str] = {
    "qc": "Québec", "bc": "British Columbia", "b c": "British Columbia", "pei": "PEI",
    "newfoundland": "Newfoundland and Labrador", "terre neuve": "Terre-Neuve-et-Labrador",
    "nouveau brunswick": "Nouveau-Brunswick", "ile du prince edouard": "Île-du-Prince-Édouard",
    "la belle province": "Québec",
}  # fmt: skip


def _key(name: str) -> str:
    """The form ``has_phrase`` compares: "St. John's" -> "st john s"."""
    return re.sub(r"[^a-z0-9]+", " ", fold(name)).strip()


@lru_cache(maxsize=1)
def outside_places() -> dict[str, str]:
    """Folded name -> display name, for every place known to be outside the GTA."""
    french = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["fr"])
    places: dict[str, str] = {}
    for province in pycountry.subdivisions.get(country_code="CA") or []:
        if province.code == "CA-ON":  # Toronto is in Ontario: "Ontario" alone is unclear
            continue
        for name in (province.name, french.gettext(province.name)):
            places[_key(name)] = name
    for table in (PROVINCE_SHORT, OUTSIDE_CITIES):
        places.update({_key(name): display for name, display in table.items()})
    return places


def _found(key: str, names: frozenset[str] | set[str]) -> list[str]:
    return [name for name in names if has_phrase(key, frozenset({_key(name)}))]


def _longest(found: list[str]) -> list[str]:
    """Drop names inside a longer name found too ("york" in "north york")."""
    return [n for n in found if not any(n != m and f" {n} " in f" {m} " for m in found)]


def classify(text: str) -> tuple[str, str | None] | None:
    """("gta", municipality or None) or ("outside", display name) for the places named in
    ``text``; ("unclear", None) when it names both a GTA place and one outside it ("moved from
    Toronto to Ottawa": a caseworker reads it); None when it names no known place."""
    key = _key(text)
    outside = outside_places()
    gta = _longest(_found(key, GTA_PLACES))
    far = _longest(_found(key, set(outside)))
    both = _longest(gta + far)
    gta, far = [n for n in both if n in gta], [n for n in both if n in far]
    if gta and far:
        return "unclear", None
    if far:
        return "outside", outside[max(far, key=len)]
    if gta:
        place = max(gta, key=len)
        return "gta", None if place in GTA_REGION_NAMES else place.title()
    return None
