"""Every intake text exists in English and French and fits in 3 SMS segments."""

from __future__ import annotations

import pytest

from actions.intake import FIELDS
from actions.intake_texts import TEXTS, text
from bot.sms import cost

MAX_SEGMENTS = 3


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_both_languages_within_the_sms_budget(key: str) -> None:
    assert set(TEXTS[key]) == {"en", "fr"}
    for language in ("en", "fr"):
        message = text(key, language, count=15) if "{count}" in TEXTS[key][language] else (
            TEXTS[key][language])  # fmt: skip
        assert message.strip()
        assert cost(message).segments <= MAX_SEGMENTS, (key, language, cost(message))


def test_every_question_has_an_example_for_the_second_ask() -> None:
    for field in FIELDS:
        name = field.slot.removeprefix("intake_")
        if name in ("consent", "confirm"):
            continue
        assert f"ask_{name}" in TEXTS and f"ex_{name}" in TEXTS
        for language in ("en", "fr"):  # the second ask starts with: not understood + example
            second = " ".join(TEXTS[k][language] for k in ("not_understood", f"ex_{name}"))
            assert cost(second).segments <= MAX_SEGMENTS, (name, language)
        for key, _payload in field.buttons:
            assert key in TEXTS


def test_sms_summary_echoes_no_answer() -> None:
    for language in ("en", "fr"):
        summary = text("summary_sms", language, count=14)
        assert "14" in summary and cost(summary).segments <= MAX_SEGMENTS
