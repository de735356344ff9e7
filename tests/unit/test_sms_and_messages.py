"""App-level messages exist in both languages and fit the SMS budget."""

from __future__ import annotations

import pytest

from bot.i18n import MESSAGES, t
from bot.sms import cost, to_gsm7

# A notice the app sends on its own must stay within this many SMS segments.
APP_MESSAGE_SEGMENT_BUDGET = 2


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2),
        ("é à è ù", "GSM-7", 1),  # these accents are in GSM-7
        ("ê" + "a" * 69, "UCS-2", 1),  # this one is not
        ("ê" + "a" * 70, "UCS-2", 2),
        ("👍" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
        ("👍" * 36, "UCS-2", 2),
    ],
)
def test_sms_cost(text: str, encoding: str, segments: int) -> None:
    result = cost(text)
    assert (result.encoding, result.segments) == (encoding, segments)


def test_every_app_message_is_bilingual_and_within_budget() -> None:
    report = []
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "fr"}, key
        for language in ("en", "fr"):
            text = t(key, language)
            assert text.strip(), (key, language)
            c = cost(to_gsm7(text))  # what the SMS channel sends (bot/channels/sms.py)
            report.append(f"{key}/{language}: {c.encoding} {c.segments} segment(s)")
            assert c.segments <= APP_MESSAGE_SEGMENT_BUDGET, report[-1]
    print("\n".join(report))
