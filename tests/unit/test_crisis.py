"""The emergency guidance content (content/crisis.yml): valid, bilingual, within the SMS
budget, and no crisis line without a recorded verification."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import crisis
from bot.settings import Settings
from bot.sms import cost, to_gsm7


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("concern", ["self_harm", "violence", "medical", None])
def test_the_whole_reply_fits_the_sms_budget(language: str, concern: str | None) -> None:
    text = "\n\n".join(crisis.load().replies(concern, language))
    assert "911" in text
    assert cost(to_gsm7(text)).segments <= Settings.from_env().sms_max_segments


def test_the_988_line_is_for_thoughts_of_suicide_only() -> None:
    content = crisis.load()
    assert any("988" in t for t in content.replies("self_harm", "en"))
    assert not any("988" in t for t in content.replies("medical", "en"))


def test_a_crisis_line_without_verification_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(crisis.CRISIS_PATH.read_text(encoding="utf-8"))
    data["crisis_lines"].append({"id": "x", "en": "Call 555", "fr": "Appelez le 555"})
    with pytest.raises(crisis.CrisisContentError, match="verified"):
        crisis.parse(data)


def test_a_broken_edit_keeps_the_last_good_guidance(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yml"
    path.write_text(crisis.CRISIS_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    good = crisis.load(path)
    path.write_text("emergency: {en: only english}\n", encoding="utf-8")
    assert crisis.load(path) == good
    with pytest.raises(crisis.CrisisContentError, match="French"):
        crisis.parse(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("kind", ["check", "safe", "support"])
def test_the_check_and_the_follow_ups_fit_one_or_two_segments_and_say_911(
    language: str, kind: str
) -> None:
    text = crisis.load().text(kind, language)
    assert "911" in text
    assert cost(to_gsm7(text)).segments <= 2


def test_each_safety_reply_is_recognised_by_its_mark_or_its_text() -> None:
    content = crisis.load()
    for language in ("en", "fr"):
        # Rasa's actions send the crisis answer and the check as plain text.
        assert content.reply_kind("\n\n".join(content.replies(None, language))) == "crisis"
        assert content.reply_kind(content.text("check", language)) == "check"
        assert content.reply_kind(content.text("support", language)) == "support"
        assert content.reply_kind(content.text("safe", language), {"safety": "safe"}) is None
    assert content.reply_kind("anything", {"safety": "crisis", "always_send": True}) == "crisis"
    assert content.reply_kind("en: hello") is None
    assert content.reply_kind(content.text("check", "en"), {"buttons": []}) == "check"


def test_the_check_and_follow_ups_are_required_in_both_languages() -> None:
    data = yaml.safe_load(crisis.CRISIS_PATH.read_text(encoding="utf-8"))
    del data["support"]["fr"]
    with pytest.raises(crisis.CrisisContentError, match="support"):
        crisis.parse(data)
