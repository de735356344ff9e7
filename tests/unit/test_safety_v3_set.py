"""The third blind safety set (nlu/eval/safety_v3/) loads with the evaluator's own loader, has
the expected size and only valid labels. Counts and labels only: no message text is printed or
compared here, so the set stays blind (``intake evaluate --set safety-v3`` measures it)."""

from __future__ import annotations

from collections import Counter

from bot.runtime import safety_evaluation as se

V3 = se.V3_DIR


def test_messages_load_in_every_language_with_the_expected_counts() -> None:
    crisis = Counter(lang for lang, _ in se.messages("crisis", V3))
    assert crisis == {"en": 34, "fr": 34, "other": 13}
    urgent = Counter(item["kind"] for _, item in se.messages("urgent", V3))
    assert urgent == {"urgent_date": 40, "detention_fear": 25, "unaccompanied_minor": 15}
    ordinary = Counter(lang for lang, _ in se.messages("ordinary_hard", V3))
    assert ordinary == {"en": 60, "fr": 60}


def test_every_item_is_a_non_empty_text_with_a_valid_label() -> None:
    for kind in ("crisis", "urgent", "ordinary_hard"):
        for _, item in se.messages(kind, V3):
            assert isinstance(item["text"], str) and item["text"].strip()
            if kind == "urgent":
                assert item["kind"] in se.CASE_FLAGS - {"crisis"}
    languages = {item["lang"] for _, item in se.messages("crisis", V3) if "lang" in item}
    assert languages == {"es", "pt", "hu", "ro", "zh", "ar"}


def test_no_message_is_labelled_twice() -> None:
    texts = [
        item["text"].strip().lower()
        for kind in ("crisis", "urgent", "ordinary_hard")
        for _, item in se.messages(kind, V3)
    ]
    duplicates = len(texts) - len(set(texts))
    assert duplicates == 0, f"{duplicates} duplicated message(s)"


def test_scenarios_are_well_formed() -> None:
    scenarios = se._load("scenarios.yml", V3)["scenarios"]
    assert len(scenarios) == 17
    assert len({s["id"] for s in scenarios}) == len(scenarios)
    for spec in scenarios:
        turns, expect = spec["turns"], spec["expect"]
        assert spec["channel"] in ("web", "sms"), spec["id"]
        assert turns and all(isinstance(t, str) and t.strip() for t in turns), spec["id"]
        assert all(1 <= n <= len(turns) for n in expect["crisis_turns"]), spec["id"]
        assert set(expect["flags"]) <= se.CASE_FLAGS, spec["id"]
        assert ("crisis" in expect["flags"]) == bool(expect["crisis_turns"]), spec["id"]
        assert expect.get("reply_language", "en") in ("en", "fr"), spec["id"]


def test_the_older_sets_keep_their_two_languages() -> None:
    """The optional ``_other`` file changes nothing for a set without one."""
    assert not (se.SAFETY_DIR / "crisis_other.yml").exists()
    assert {lang for lang, _ in se.messages("crisis", se.SAFETY_DIR)} == {"en", "fr"}


def test_the_report_of_the_third_set_names_it() -> None:
    text = se.report(se.Results(), "model.tar.gz", V3)
    assert text.startswith("# Safety evaluation: the third blind set")
    assert "--set safety-v3" in text and "nlu/eval/safety_v3/" in text
