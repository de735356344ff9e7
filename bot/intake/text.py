"""Text normalisation shared by the intake parsers: lower case, no accents, no punctuation."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s'/.-]+")
_SPACES = re.compile(r"\s+")
_WORDS_ONLY = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """ "Hongrie!" -> "hongrie"; "  Côte d’Ivoire " -> "cote d'ivoire". Never raises."""
    text = unicodedata.normalize("NFKD", str(text)).replace("’", "'").replace("`", "'")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip(" .'-/")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def has_phrase(folded: str, phrases: frozenset[str]) -> bool:
    """True if one of ``phrases`` occurs in ``folded`` as whole words (punctuation and
    apostrophes count as spaces on both sides: "quelqu'un" matches "quelqu un")."""
    padded = f" {_WORDS_ONLY.sub(' ', folded)} "
    return any(f" {_WORDS_ONLY.sub(' ', p).strip()} " in padded for p in phrases)
