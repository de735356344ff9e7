"""SMS cost: which encoding a text needs (GSM-7 or UCS-2) and how many segments it takes.

One SMS segment holds 160 GSM-7 characters (153 when the message is split) or 70 UCS-2 units
(67 when split). A single character outside GSM-7 (for example "ê", "ç", "«", an emoji) turns
the whole message into UCS-2, which more than doubles its cost.
"""

from __future__ import annotations

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
