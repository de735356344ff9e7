"""Country names (English, French, common typos, demonyms) -> ISO 3166-1 alpha-2 codes.

English names come from ``pycountry`` (shipped data, no download); French names from the
French ISO 3166 translation that ``pycountry`` also ships. Demonyms and everyday aliases that
neither has ("hongroise", "mexican", "usa", "rdc") are in the tables below. Close typos are
matched with ``difflib`` on accent-free, lower-case names.
"""

from __future__ import annotations

import difflib
import gettext
import re
from functools import lru_cache

import pycountry

from bot.intake.text import fold

# Everyday names and abbreviations people type, English and French (folded form).
ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "u.s.": "US",
    "america": "US",
    "united states": "US",
    "etats unis": "US",
    "etats-unis": "US",
    "les etats unis": "US",
    "uk": "GB",
    "england": "GB",
    "britain": "GB",
    "great britain": "GB",
    "angleterre": "GB",
    "royaume uni": "GB",
    "royaume-uni": "GB",
    "russia": "RU",
    "russie": "RU",
    "iran": "IR",
    "syria": "SY",
    "syrie": "SY",
    "vietnam": "VN",
    "viet nam": "VN",
    "south korea": "KR",
    "coree du sud": "KR",
    "north korea": "KP",
    "coree du nord": "KP",
    "laos": "LA",
    "bolivia": "BO",
    "bolivie": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "tanzanie": "TZ",
    "moldova": "MD",
    "moldavie": "MD",
    "czech republic": "CZ",
    "czechia": "CZ",
    "republique tcheque": "CZ",
    "tchequie": "CZ",
    "slovakia": "SK",
    "slovaquie": "SK",
    "drc": "CD",
    "rdc": "CD",
    "dr congo": "CD",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "cote divoire": "CI",
    "palestine": "PS",
    "kosovo": "XK",
    "turkey": "TR",
    "turquie": "TR",
    "burma": "MM",
    "birmanie": "MM",
    "cape verde": "CV",
    "cap vert": "CV",
    "st lucia": "LC",
    "saint lucia": "LC",
    "sainte lucie": "LC",
    "st vincent": "VC",
    "saint vincent": "VC",
    "trinidad": "TT",
    "trinidad and tobago": "TT",
    "trinite et tobago": "TT",
    "macedonia": "MK",
    "macedoine": "MK",
    "bosnia": "BA",
    "bosnie": "BA",
    "taiwan": "TW",
    "hong kong": "HK",
    "micronesia": "FM",
}

# Demonyms (nationality words) people answer with, English and French, folded.
DEMONYMS: dict[str, str] = {
    "hungarian": "HU",
    "hongrois": "HU",
    "hongroise": "HU",
    "mexican": "MX",
    "mexicain": "MX",
    "mexicaine": "MX",
    "colombian": "CO",
    "colombien": "CO",
    "colombienne": "CO",
    "croatian": "HR",
    "croate": "HR",
    "czech": "CZ",
    "tcheque": "CZ",
    "slovak": "SK",
    "slovaque": "SK",
    "roma": "",
    "rom": "",
    "nigerian": "NG",
    "nigerian ne": "NG",
    "nigeriane": "NG",
    "nigerien": "NE",
    "haitian": "HT",
    "haitien": "HT",
    "haitienne": "HT",
    "indian": "IN",
    "indien": "IN",
    "indienne": "IN",
    "pakistani": "PK",
    "pakistanais": "PK",
    "pakistanaise": "PK",
    "chinese": "CN",
    "chinois": "CN",
    "chinoise": "CN",
    "iranian": "IR",
    "iranien": "IR",
    "iranienne": "IR",
    "afghan": "AF",
    "afghane": "AF",
    "syrian": "SY",
    "syrien": "SY",
    "syrienne": "SY",
    "iraqi": "IQ",
    "irakien": "IQ",
    "irakienne": "IQ",
    "turkish": "TR",
    "turc": "TR",
    "turque": "TR",
    "eritrean": "ER",
    "erythreen": "ER",
    "erythreenne": "ER",
    "ethiopian": "ET",
    "ethiopien": "ET",
    "ethiopienne": "ET",
    "somali": "SO",
    "somalien": "SO",
    "somalienne": "SO",
    "congolese": "CD",
    "congolais": "CD",
    "congolaise": "CD",
    "cameroonian": "CM",
    "camerounais": "CM",
    "camerounaise": "CM",
    "ivorian": "CI",
    "ivoirien": "CI",
    "ivoirienne": "CI",
    "senegalese": "SN",
    "senegalais": "SN",
    "senegalaise": "SN",
    "guinean": "GN",
    "guineen": "GN",
    "guineenne": "GN",
    "malian": "ML",
    "malien": "ML",
    "malienne": "ML",
    "burundian": "BI",
    "burundais": "BI",
    "burundaise": "BI",
    "rwandan": "RW",
    "rwandais": "RW",
    "rwandaise": "RW",
    "ghanaian": "GH",
    "ghaneen": "GH",
    "ghaneenne": "GH",
    "kenyan": "KE",
    "kenyan ne": "KE",
    "kenyane": "KE",
    "ugandan": "UG",
    "ougandais": "UG",
    "ougandaise": "UG",
    "sudanese": "SD",
    "soudanais": "SD",
    "soudanaise": "SD",
    "egyptian": "EG",
    "egyptien": "EG",
    "egyptienne": "EG",
    "moroccan": "MA",
    "marocain": "MA",
    "marocaine": "MA",
    "algerian": "DZ",
    "algerien": "DZ",
    "algerienne": "DZ",
    "tunisian": "TN",
    "tunisien": "TN",
    "tunisienne": "TN",
    "lebanese": "LB",
    "libanais": "LB",
    "libanaise": "LB",
    "sri lankan": "LK",
    "sri lankais": "LK",
    "sri lankaise": "LK",
    "bangladeshi": "BD",
    "bangladais": "BD",
    "bangladaise": "BD",
    "nepali": "NP",
    "nepalais": "NP",
    "nepalaise": "NP",
    "filipino": "PH",
    "philippin": "PH",
    "philippine": "PH",
    "vietnamese": "VN",
    "vietnamien": "VN",
    "vietnamienne": "VN",
    "russian": "RU",
    "russe": "RU",
    "ukrainian": "UA",
    "ukrainien": "UA",
    "ukrainienne": "UA",
    "polish": "PL",
    "polonais": "PL",
    "polonaise": "PL",
    "romanian": "RO",
    "roumain": "RO",
    "roumaine": "RO",
    "serbian": "RS",
    "serbe": "RS",
    "albanian": "AL",
    "albanais": "AL",
    "albanaise": "AL",
    "georgian": "GE",
    "georgien": "GE",
    "georgienne": "GE",
    "salvadoran": "SV",
    "salvadorien": "SV",
    "salvadorienne": "SV",
    "guatemalan": "GT",
    "guatemalteque": "GT",
    "honduran": "HN",
    "hondurien": "HN",
    "hondurienne": "HN",
    "venezuelan": "VE",
    "venezuelien": "VE",
    "venezuelienne": "VE",
    "peruvian": "PE",
    "peruvien": "PE",
    "peruvienne": "PE",
    "cuban": "CU",
    "cubain": "CU",
    "cubaine": "CU",
    "jamaican": "JM",
    "jamaicain": "JM",
    "jamaicaine": "JM",
    "brazilian": "BR",
    "bresilien": "BR",
    "bresilienne": "BR",
    "chilean": "CL",
    "chilien": "CL",
    "chilienne": "CL",
    "argentinian": "AR",
    "argentine": "AR",
    "argentin": "AR",
    "ecuadorian": "EC",
    "equatorien": "EC",
    "equatorienne": "EC",
    "american": "US",
    "americain": "US",
    "americaine": "US",
    "french": "FR",
    "francais": "FR",
    "francaise": "FR",
    "israeli": "IL",
    "israelien": "IL",
    "israelienne": "IL",
    "palestinian": "PS",
    "palestinien": "PS",
    "palestinienne": "PS",
    "yemeni": "YE",
    "yemenite": "YE",
    "saudi": "SA",
    "saoudien": "SA",
    "saoudienne": "SA",
    "zimbabwean": "ZW",
    "zimbabween": "ZW",
    "zimbabweenne": "ZW",
    "tamil": "",  # a people, not a country: ask again
}

# Words around a country name that say nothing about which one ("i am from", "je viens de").
_FILLER = re.compile(
    r"\b(i am|i m|im|i'm|from|my country is|country|citizen of|citizenship|nationality|"
    r"born in|je suis|je viens|viens|de|du|des|d'|en|au|aux|la|le|les|l'|the|of|a|an|"
    r"citoyen|citoyenne|ne|nee|pays|mon|ma|is|it|its|it's|c'est|origine|i)\b"
)

_ARTICLE = re.compile(r"^(the|la|le|les|l')\s*")


def _clean(name: str) -> str:
    return _ARTICLE.sub("", fold(name)).replace("-", " ").strip()


@lru_cache(maxsize=1)
def index() -> dict[str, str]:
    """Every known folded name -> alpha-2 code (built once from shipped data)."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if not value:
                continue
            names.setdefault(_clean(value), country.alpha_2)
            names.setdefault(_clean(french.gettext(value)), country.alpha_2)
            # "Bolivia, Plurinational State of" -> "bolivia"
            short = value.split(",")[0].split("(")[0]
            names.setdefault(_clean(short), country.alpha_2)
            names.setdefault(
                _clean(french.gettext(value).split(",")[0].split("(")[0]), country.alpha_2
            )
    for alias, code in ALIASES.items():
        names[_clean(alias)] = code
    for demonym, code in DEMONYMS.items():
        if code:
            names[_clean(demonym)] = code
    names.pop("", None)
    return names


def name_of(code: str, language: str = "en") -> str:
    """The display name of an alpha-2 code in English or French (the code if unknown)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    if language == "fr":
        french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
        return french.gettext(country.name)
    return name


def resolve(text: str) -> str | None:
    """An alpha-2 code for a typed country, or None when it is not clear which country."""
    names = index()
    whole = _clean(text)
    if not whole or len(whole) > 80:
        return None
    if whole in names:
        return names[whole]
    if len(whole) in (2, 3) and text.strip().isupper():  # "HU", "HUN" (not "no", "oui")
        country = pycountry.countries.get(**{f"alpha_{len(whole)}": whole.upper()})
        return country.alpha_2 if country else None
    core = re.sub(r"\s+", " ", _FILLER.sub(" ", whole.replace("'", "' "))).strip()
    if core in names:
        return names[core]
    tokens = core.split()
    # Exact match on a run of 1-4 words ("i live in toronto but im from sri lanka").
    for size in (4, 3, 2, 1):
        for start in range(len(tokens) - size + 1):
            chunk = " ".join(tokens[start : start + size])
            if len(chunk) >= 4 and chunk in names:
                return names[chunk]
    # Typos: the closest known name, only when it is close.
    candidates = [core] + [t for t in tokens if len(t) >= 5]
    for candidate in candidates:
        if len(candidate) < 4:
            continue
        match = difflib.get_close_matches(candidate, names.keys(), n=1, cutoff=0.82)
        if match:
            return names[match[0]]
    return None
