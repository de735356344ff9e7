"""The content check: the program pack is complete in both languages, rests on facts that exist,
stays within the SMS budget, and matches the Rasa domain, rules, training and held-out data."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot import knowledge
from bot.runtime import evaluation
from bot.settings import PROJECT_ROOT
from bot.sms import cost, is_gsm7, to_gsm7

SHARED_FACTS = Path("/work/shared/reference/program-avrr-gta.md")
NLU = PROJECT_ROOT / "nlu"


@pytest.fixture(scope="module")
def pack() -> knowledge.Pack:
    return knowledge.load_pack()


@pytest.fixture(scope="module")
def facts() -> dict[str, knowledge.Fact]:
    return knowledge.load_facts()


def _intents_with_examples(pattern: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in (NLU / "data").glob(pattern):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            counts[block["intent"]] += sum(
                1 for line in block["examples"].splitlines() if line.strip()
            )
    return counts


def test_pack_has_at_least_30_topics_all_bilingual(pack: knowledge.Pack) -> None:
    assert len(pack.topics) >= 30
    for topic in pack.topics.values():
        for lang in knowledge.LANGUAGES:
            assert topic.answer[lang].strip() and topic.title[lang].strip(), topic.id


def test_pack_has_no_problems(pack: knowledge.Pack, facts: dict[str, knowledge.Fact]) -> None:
    """Every fact id exists, every bank question is answered, no reply over 3 SMS segments."""
    assert knowledge.problems(pack, facts) == []


def test_facts_file_is_parsed_with_source_and_confidence(
    facts: dict[str, knowledge.Fact],
) -> None:
    assert facts["3.1"].confidence == "[V]"
    assert "CBSA program page" in facts["3.1"].source
    assert facts["3.6"].confidence == "[S]"
    assert {"0", "3A", "7", "10"} <= facts.keys()  # sections
    assert {f"Q{i}" for i in range(1, 39)} <= facts.keys()  # the question bank


@pytest.mark.skipif(not SHARED_FACTS.exists(), reason="shared reference not on this machine")
def test_facts_copy_matches_the_shared_reference() -> None:
    assert knowledge.FACTS_PATH.read_bytes() == SHARED_FACTS.read_bytes()


def test_unknown_fact_id_and_long_reply_are_reported(facts: dict[str, knowledge.Fact]) -> None:
    data = yaml.safe_load(knowledge.PACK_PATH.read_text(encoding="utf-8"))
    data["topics"]["amount"]["facts"] = ["3A", "99.9"]
    data["topics"]["costs"]["answer"]["fr"] = "Déjà payé. " * 60
    found = knowledge.problems(knowledge.parse_pack(data), facts)
    assert "topic amount: fact id '99.9' is not in the facts file" in found
    assert any(p.startswith("topic costs (fr): ") and "SMS segments" in p for p in found)


def test_missing_translation_is_a_clear_error() -> None:
    data = yaml.safe_load(knowledge.PACK_PATH.read_text(encoding="utf-8"))
    del data["topics"]["arc"]["answer"]["fr"]
    with pytest.raises(knowledge.ContentError, match=r"topic arc\.answer: the 'fr' text"):
        knowledge.parse_pack(data)


def test_terminology_each_language_uses_its_own_names(pack: knowledge.Pack) -> None:
    english_only = re.compile(r"\b(CBSA|IOM|PRRA|AVRR|GTA|caseworker)\b")
    french_only = re.compile(r"\b(ASFC|OIM|ERAR|ARVR|RGT|intervenant)\b")
    for topic in pack.topics.values():
        assert not english_only.search(topic.answer["fr"]), topic.id
        assert not french_only.search(topic.answer["en"]), topic.id
    assert not english_only.search(pack.status.notice["fr"])


def test_sms_cost_report_is_committed_and_current(
    pack: knowledge.Pack, facts: dict[str, knowledge.Fact], capsys: pytest.CaptureFixture[str]
) -> None:
    """The report of every reply's encoding and segments (docs/program-content.md)."""
    costs = knowledge.reply_costs(pack)
    with capsys.disabled():
        for lang in knowledge.LANGUAGES:
            mine = [c for c in costs if c.language == lang]
            print(
                f"\n[content] {lang}: {len(mine)} replies, SMS segments "
                f"{sum(c.sms.segments for c in mine)} (max {max(c.sms.segments for c in mine)}); "
                f"with accents kept {sum(c.kept.segments for c in mine)} "
                f"({sum(c.kept.encoding == 'UCS-2' for c in mine)} in UCS-2)"
            )
    committed = (PROJECT_ROOT / "docs" / "program-content.md").read_text(encoding="utf-8")
    assert committed == knowledge.report(pack, facts), "run `intake content` and commit"


def test_every_topic_is_an_intent_with_a_rule_and_data(pack: knowledge.Pack) -> None:
    domain = yaml.safe_load((NLU / "domain" / "program.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((NLU / "data" / "program_rules.yml").read_text(encoding="utf-8"))
    answered = {
        rule["steps"][0]["intent"]
        for rule in rules["rules"]
        if rule["steps"][1] == {"action": "action_answer_topic"}
    }
    assert set(pack.topics) == answered
    assert set(pack.topics) <= set(domain["intents"])
    for lang in knowledge.LANGUAGES:
        trained = _intents_with_examples(f"nlu_*{lang}.yml")
        thin = {t: trained[t] for t in pack.topics if trained[t] < 8}
        assert not thin, f"{lang}: topics with fewer than 8 training examples: {thin}"


@pytest.mark.parametrize("set_name", evaluation.SETS)
def test_evaluation_set_has_ten_messages_per_topic(pack: knowledge.Pack, set_name: str) -> None:
    counts = Counter(ex.intent for ex in evaluation.load_set(set_name))
    assert {t: counts[t] for t in pack.topics if counts[t] < 10} == {}


def test_unknown_evaluation_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown evaluation set"):
        evaluation.load_set("heldout")


def test_sms_transliteration_keeps_gsm7_accents() -> None:
    text = "« Être » : ça coûte 500 $, déjà payé, où? Île, Noël"
    sms = to_gsm7(text)
    assert sms == '" Etre " : ca coute 500 $, déjà payé, où? Ile, Noel'
    assert is_gsm7(sms)
    assert cost(text).encoding == "UCS-2" and cost(sms).encoding == "GSM-7"


def test_no_answer_opens_with_a_bare_yes_or_no(pack: knowledge.Pack) -> None:
    """The classifier may map another question to a topic: "Yes." then reads as wrong or
    frightening ("will they detain me" -> "Yes. ..."). Every answer stands on its own."""
    opening = {
        (tid, lang): topic.answer[lang][:40]
        for tid, topic in pack.topics.items()
        for lang in knowledge.LANGUAGES
        if knowledge.opens_with_bare_yes_no(topic.answer[lang])
    }
    assert opening == {}


@pytest.mark.parametrize(
    "text",
    [
        "Yes. IOM helped",
        "No, it was not",
        "Yes, in general.",
        "Generally, yes. The",
        "Nope.",
        "Oui. Au besoin",
        "Non. Le projet",
        "En général, oui. Selon",
        "Oui, en général : le",
        "OUI !",
        "Non",
    ],
)
def test_bare_yes_no_openings_are_recognised(text: str) -> None:
    assert knowledge.opens_with_bare_yes_no(text)


@pytest.mark.parametrize(
    "text",
    [
        "No one should feel pressured.",
        "Nobody should feel pressured.",
        "Non seulement l'OIM",
        "Yesterday's rule",
        "Nothing has to be decided",
        "Ouvert de 2012 à 2015",
    ],
)
def test_sentences_starting_like_yes_or_no_are_not_bare_openings(text: str) -> None:
    assert not knowledge.opens_with_bare_yes_no(text)


def test_benefit_answers_say_the_pilot_is_closed(pack: knowledge.Pack) -> None:
    """Amounts and benefits (facts of section 3) are never read as an open offer."""
    benefits = [t for t in pack.topics.values() if knowledge.rests_on_benefits(t)]
    assert {
        "program_benefits",
        "amount",
        "amount_appeal",
        "program_in_kind",
        "costs",
        "reintegration_uses",
        "designated_countries",
        "family",
    } <= {t.id for t in benefits}
    for topic in benefits:
        assert "2012-2015" in topic.answer["en"] and "closed" in topic.answer["en"], topic.id
        assert "2012-2015" in topic.answer["fr"] and "terminé" in topic.answer["fr"], topic.id


def test_a_planted_yes_opening_and_a_missing_closed_notice_are_reported(
    facts: dict[str, knowledge.Fact],
) -> None:
    data = yaml.safe_load(knowledge.PACK_PATH.read_text(encoding="utf-8"))
    data["topics"]["arc"]["answer"]["en"] = "Yes. You need one."
    data["topics"]["amount"]["answer"]["fr"] = "Jusqu'à 2 000 $CAN en aide en nature."
    found = knowledge.problems(knowledge.parse_pack(data), facts)
    assert "topic arc (en): opens with a bare yes or no" in found
    assert any(
        p.startswith("topic amount (fr): rests on what participants received") for p in found
    )


HARD_QUESTIONS = ("detention_fear", "removal_imminent", "response_time", "missed_removal")


def test_hard_questions_offer_a_person_and_never_reassure_falsely(pack: knowledge.Pack) -> None:
    """Issue 10: detention, a close removal date, waiting for a person, not showing up."""
    for tid in HARD_QUESTIONS:
        topic = pack.topics[tid]
        assert topic.offer_caseworker, tid
        en, fr = topic.answer["en"], topic.answer["fr"]
        assert "32 days" not in en and "32 jours" not in fr, tid  # no average timelines
    for tid in ("detention_fear", "removal_imminent", "missed_removal"):
        assert "lawyer or legal clinic" in pack.topics[tid].answer["en"], tid
        assert "avocat ou une clinique juridique" in pack.topics[tid].answer["fr"], tid
    for tid in ("detention_fear", "response_time"):
        assert "911" in pack.topics[tid].answer["en"] and "911" in pack.topics[tid].answer["fr"]
    # What is not known is said, not guessed.
    assert "can't tell you whether CBSA will detain" in pack.topics["detention_fear"].answer["en"]
    assert "no reliable information" in pack.topics["missed_removal"].answer["en"]
    assert "can't promise a time" in pack.topics["response_time"].answer["en"]
