"""SMS cost: which encoding a text needs (GSM-7 or UCS-2) and how many segments it takes.

One SMS segment holds 160 GSM-7 characters (153 when the message is split) or 70 UCS-2 units
(67 when split). A single character outside GSM-7 (for example "ê", "ç", "«", an emoji) turns
the whole message into UCS-2, which more than doubles its cost.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsCost:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def cost(text: str) -> SmsCost:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsCost(encoding, units, segments)


# SMS transliteration (docs/program-content.md): French accents outside GSM-7 (ê, â, î, ô, û,
# ç, ë, ï, «») would switch a whole reply to UCS-2 (70 instead of 160 characters a segment), so
# the SMS channel sends ``to_gsm7(text)``. é, è, à, ù and É are in GSM-7 and are kept, so French
# stays readable. Web, WhatsApp and Telegram send the original text.
_TRANSLITERATION = {
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "œ": "oe",
    "Œ": "OE",
}


def to_gsm7(text: str) -> str:
    """The text with every character outside GSM-7 replaced by its closest GSM-7 form."""
    out: list[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
        elif ch in _TRANSLITERATION:
            out.append(_TRANSLITERATION[ch])
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out.append(base if base and is_gsm7(base) else "?")
    return "".join(out)
