"""The intake vocabulary cannot drift from what the form and screening really produce.

The form's fields (actions/intake.py FIELDS), the values its parsers return for answers in both
languages, the screening rules file (fields, values, outcomes, flags) and the safety flags: each
has an English and a French label, and nothing is shown to a caseworker as a raw code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actions import intake as form
from actions.intake_texts import TEXTS
from bot.intake import parse, screening, vocabulary
from bot.settings import PROJECT_ROOT

RULES = screening.load_rules(PROJECT_ROOT / "content" / "screening.yml")
LANGUAGES = ("en", "fr")

# Answers a person could give to each question, in both languages, plus nonsense: whatever the
# form's parsers make of them is a value the vocabulary must know.
ANSWERS = [
    "yes", "no", "oui", "non", "skip", "passer", "je sais pas", "I don't know", "?",
    "prefer not to say", "je préfère ne pas le dire", "expired", "périmé", "lost",
    "1", "2", "3", "4", "5", "6", "Toronto", "Brampton", "no, Hamilton", "non", "Ottawa",
    "claim refused", "demande refusée", "appeal", "removal order", "withdrew", "other",
    "March 3", "3 mars", "last week", "Hungary", "hongroise", "same", "le même",
    "just me", "me and 2 kids", "2 adultes, 1 enfant", "just me im 16", "I use a wheelchair",
    "afraid", "anytime", "weekday evenings", "416 555 0123", "Ana", "asdf qwer", "",
]  # fmt: skip


def _parsed() -> list[tuple[str, dict[str, Any]]]:
    ctx = {lang: form.Context(lang, "web", "HU", date(2026, 11, 30)) for lang in LANGUAGES}
    found = []
    for field in form.FIELDS:
        if field.slot in ("intake_consent", "intake_confirm"):
            continue
        for text in ANSWERS:
            for language in LANGUAGES:
                values = field.parse(text, ctx[language])  # type: ignore[index]
                # What the form keeps after a re-ask (consent and the summary are asked again).
                kept = field.slot not in ("intake_consent", "intake_confirm")
                if values is None and kept:
                    values = {field.key: parse.UNKNOWN, f"{field.key}_as_written": text}
                if values is not None:
                    found.append((field.slot, values))
    return found


def _labelled(texts: dict[str, str]) -> None:
    assert set(texts) >= set(LANGUAGES), texts
    assert all(texts[lang].strip() for lang in LANGUAGES), texts


def test_every_label_of_the_vocabulary_is_in_english_and_french() -> None:
    for spec in vocabulary.FIELDS.values():
        _labelled(spec.label)
        for texts in spec.values.values():
            _labelled(texts)
        if spec.summary:
            _labelled(spec.summary)
    tables: list[dict[str, dict[str, str]]] = [
        vocabulary.DERIVED, vocabulary.OUTCOME_LABELS, vocabulary.KIND_LABELS,
        vocabulary.STATUS_LABELS, vocabulary.UNITS,
    ]  # fmt: skip
    for table in tables:
        for texts in table.values():
            _labelled(texts)
    for info in vocabulary.SAFETY_FLAGS.values():
        _labelled(info.label)
        assert info.urgent


def test_every_key_the_form_writes_is_in_the_vocabulary() -> None:
    for field in form.FIELDS:
        if field.slot == "intake_confirm":
            continue
        for key in (field.key, *field.keys):
            assert key in vocabulary.FIELDS, (field.slot, key)
    for slot, values in _parsed():
        for key in values:
            base = key.removesuffix(vocabulary.AS_WRITTEN)
            assert base in vocabulary.FIELDS, (slot, key)


def test_every_value_the_parsers_produce_has_a_label_in_both_languages() -> None:
    seen: set[tuple[str, str]] = set()
    for slot, values in _parsed():
        for key, value in values.items():
            spec = vocabulary.FIELDS.get(key)
            if spec is None or value is None:
                continue
            if spec.kind == "code":
                assert value in spec.values, (slot, key, value)
            if value == parse.UNKNOWN:  # any question can end "unknown": never shown raw
                assert value in spec.values, (slot, key)
            for language in LANGUAGES:
                shown = vocabulary.value_label(key, value, language)
                assert shown.strip(), (key, value)
                coded = spec.kind in ("code", "country", "bool") or value == parse.UNKNOWN
                if coded and (language == "fr" or spec.kind == "country"):
                    assert shown != value, (key, value, language)  # "yes" reads "yes" in English
            seen.add((key, str(value)))
    # The walk reached every coded value (so the answers above stay representative).
    for key in ("area", "immigration_status", "passport", "safety_concerns", "criminality",
                "prior_return", "health_needs"):  # fmt: skip
        for code in vocabulary.FIELDS[key].values:
            assert (key, code) in seen, (key, code)


def test_every_status_the_form_offers_is_a_labelled_code() -> None:
    assert set(parse.STATUSES) == set(vocabulary.FIELDS["immigration_status"].values)


def test_the_screening_rules_file_only_names_labelled_fields_values_and_outcomes() -> None:
    assert screening.OUTCOMES == vocabulary.OUTCOMES
    assert set(vocabulary.OUTCOME_LABELS) == set(vocabulary.OUTCOMES)
    for name in screening.FIELDS:
        assert name in vocabulary.FIELDS or name in vocabulary.DERIVED, name
    conditions = [(r.id, r.when) for r in RULES.rules] + [(f.id, f.when) for f in RULES.flags]
    for where, condition in conditions:
        for name, allowed in condition.allowed.items():
            spec = vocabulary.FIELDS.get(name)
            for code in allowed:
                if code is None:
                    continue
                if spec is None or spec.kind == "bool":
                    assert code in ("yes", "no"), (where, name, code)  # derived yes/no facts
                elif spec.kind == "code":
                    assert code in spec.values, (where, name, code)
    for rule in RULES.rules:
        assert rule.outcome in vocabulary.OUTCOMES
    for outcome in vocabulary.OUTCOMES:  # what the person is told after sending, per outcome
        assert f"sent_{outcome}" in TEXTS


def test_every_flag_has_labels_and_the_safety_flags_are_always_urgent() -> None:
    catalogue = vocabulary.flags(RULES)
    for flag in RULES.flags:
        _labelled(catalogue[flag.id].label)
        assert vocabulary.flag_label(catalogue, flag.id, "fr") == flag.label["fr"]
    for flag_id in ("crisis", "detention_fear", "urgent_date"):
        assert catalogue[flag_id].urgent
        assert vocabulary.flags(None)[flag_id].urgent  # even without a rules file
    assert vocabulary.urgent_flags(catalogue, ["health_needs", "crisis"]) == ["crisis"]


def test_screening_reasons_carry_a_rule_id() -> None:
    result = screening.evaluate(RULES, {"immigration_status": "refused", "area": "gta"})
    assert result.reasons and all(set(vocabulary.REASON_KEYS) <= set(r) for r in result.reasons)
    assert vocabulary.reason_rule_id(result.reasons[0]) == "failed_claim_in_gta"
    assert vocabulary.reason_rule_id({"rule": "old_key"}) == "old_key"  # stored before the rename
    assert vocabulary.reason_text(result.reasons[0], "fr").startswith("Demande d'asile refusée")


def test_a_french_intake_reads_in_french_with_no_code_and_the_decision_date_once() -> None:
    intake = {
        "first_name": "Marie", "area": "gta", "city": "Brampton",
        "immigration_status": "removal_order", "decision_date": "2026-03-03",
        "decision_date_text": "3 mars", "citizenship": "HU", "return_country": "RO",
        "adults": 1, "children": 2, "minor_alone": False, "passport": "expired",
        "health_needs": "no", "health_details": None, "safety_concerns": "prefer_not_to_say",
        "criminality": "no", "prior_return": "unknown", "contact_preference": "any",
        "notes": None, "party_as_written": "on verra",
    }  # fmt: skip
    rows = {row.key: row for row in vocabulary.rows(intake, "fr")}
    assert rows["decision_date"].value == "3 mars 2026"
    assert "decision_date_text" not in rows and "health_details" not in rows  # no detail: no line
    assert rows["citizenship"].value == "Hongrie" and rows["return_country"].value == "Roumanie"
    assert rows["immigration_status"].value == "Mesure de renvoi reçue"
    assert rows["area"].label == "Habite la RGT" and rows["area"].value == "Oui"
    assert rows["party"].as_written == "on verra" and rows["party"].value == "Ne sais pas"
    shown = " ".join(f"{r.label} {r.value}" for r in rows.values())
    for code in ("gta", "removal_order", "HU", "RO", "expired", "prefer_not_to_say", "any"):
        assert code not in shown.split(), code
    english = {pick["en"] for pick in (s.label for s in vocabulary.FIELDS.values())}
    french = {pick["fr"] for pick in (s.label for s in vocabulary.FIELDS.values())}
    assert not {r.label for r in rows.values()} & (english - french)


def test_a_date_that_was_not_understood_as_a_date_is_shown_as_said() -> None:
    rows = vocabulary.rows({"decision_date": None, "decision_date_text": "last week"}, "en")
    assert [(r.label, r.value, r.said) for r in rows] == [("Decision date", "last week", True)]
    rows = vocabulary.rows(
        {"decision_date_text": "unknown", "decision_date_text_as_written": "hmm"}, "en"
    )
    assert [(r.value, r.as_written) for r in rows] == [("Don't know", "hmm")]


def test_a_skipped_travel_party_and_an_age_read_as_words() -> None:
    skipped = vocabulary.rows({"adults": None, "children": None, "minor_alone": False}, "fr")
    assert [(r.key, r.value) for r in skipped] == [
        ("party", "Ne sais pas"), ("minor_alone", "Non")
    ]  # fmt: skip
    assert vocabulary.value_label("age", 16, "fr") == "16 ans"
    assert vocabulary.value_label("age", "unknown", "en") == "don't know"


@pytest.mark.parametrize("language", LANGUAGES)
def test_labels_block_has_every_field_and_outcome(language: str) -> None:
    block = vocabulary.labels(language)
    assert set(block["fields"]) == set(vocabulary.FIELDS)
    assert set(block["outcomes"]) == set(vocabulary.OUTCOMES)
    assert block["values"]["area"]["gta"] == ("yes" if language == "en" else "oui")


def test_a_contact_detail_kept_as_typed_is_still_a_contact_detail() -> None:
    # Two numbers the form could not read are kept as typed: masked like the phone itself.
    from bot.caseworker.service import split_intake

    answers, contact = split_intake(
        {"phone": "unknown", "phone_as_written": "416 555 01", "citizenship": "KE"}
    )
    assert contact == {"phone": "unknown", "phone_as_written": "416 555 01"}
    assert answers == {"citizenship": "KE"}
