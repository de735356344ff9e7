"""The screening rules engine and the default rules file (content/screening.yml)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import screening
from bot.settings import PROJECT_ROOT

RULES = screening.load_rules(PROJECT_ROOT / "content" / "screening.yml")
TODAY = date(2026, 11, 27)
BASE = {
    "area": "gta",
    "immigration_status": "refused",
    "safety_concerns": "no",
    "criminality": "no",
    "prior_return": "no",
    "health_needs": "no",
    "adults": 1,
    "children": 0,
    "minor_alone": False,
}


def outcome(**changes: object) -> screening.Result:
    return screening.evaluate(RULES, {**BASE, **changes}, TODAY)


def fired(result: screening.Result) -> list[str]:
    return [r["rule_id"] for r in result.reasons]


def test_failed_claimant_in_the_gta_is_likely_eligible() -> None:
    result = outcome()
    assert result.outcome == "likely_eligible"
    assert fired(result) == ["failed_claim_in_gta"]
    assert result.flags == [] and result.priority == 0
    assert outcome(immigration_status="removal_order").outcome == "likely_eligible"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"immigration_status": "appeal_pending"}, "appeal_or_review_pending"),
        ({"immigration_status": "unknown"}, "status_unclear"),
        ({"immigration_status": "other"}, "status_unclear"),
        ({"immigration_status": None}, "status_unclear"),
        ({"immigration_status": "withdrawn"}, "claim_withdrawn"),
        ({"area": "unclear"}, "location_unclear"),
        ({"prior_return": "yes"}, "prior_assisted_return"),
        ({"criminality": "yes"}, "criminality_mentioned"),
        ({"safety_concerns": "yes"}, "fears_return"),
        ({"minor_alone": True, "adults": 0, "children": 1}, "minor_alone"),
    ],
)
def test_needs_review(changes: dict, rule: str) -> None:
    result = outcome(**changes)
    assert result.outcome == "needs_review"
    assert fired(result)[0] == rule


def test_criminality_and_prior_return_are_never_an_automatic_refusal() -> None:
    for rule in RULES.rules:
        if "criminality" in rule.when.allowed or "prior_return" in rule.when.allowed:
            assert rule.outcome == "needs_review"
    assert outcome(criminality="prefer_not_to_say").outcome == "likely_eligible"


def test_outside_the_gta_is_likely_not_eligible_with_every_reason() -> None:
    result = outcome(area="outside", criminality="yes")
    assert result.outcome == "likely_not_eligible"
    assert fired(result) == ["lives_outside_gta", "criminality_mentioned"]
    assert all(r["en"] and r["fr"] and r["source"] for r in result.reasons)


def test_nothing_fires_means_a_caseworker_reviews() -> None:
    assert screening.evaluate(RULES, {}, TODAY).outcome == "needs_review"  # status unknown
    empty = screening.RuleSet(rules=(), flags=())
    assert screening.evaluate(empty, BASE, TODAY).outcome == screening.DEFAULT_OUTCOME


def test_flags_raise_priority() -> None:
    result = outcome(
        children=2,
        health_needs="yes",
        safety_concerns="yes",
        immigration_status="removal_order",
        decision_date="2026-12-10",
    )
    assert set(result.flags) == {"children_travelling", "health_needs", "safety_fears",
                                 "urgent_date"}  # fmt: skip
    assert result.priority == 1 + 1 + 2 + 10 and result.urgent


def test_safety_flags_raised_in_the_conversation_make_any_referral_urgent() -> None:
    rules = RULES
    ordinary = outcome(children=3, health_needs="yes", safety_concerns="yes")
    assert not ordinary.urgent
    for raised in ("crisis", "urgent_date", "detention_fear"):
        contact_request = screening.evaluate(rules, {}, raised=frozenset({raised}))
        assert contact_request.flags == [raised] and contact_request.urgent
        # Any urgent referral sorts above the most flagged ordinary one.
        assert contact_request.priority > ordinary.priority
    both = screening.evaluate(rules, {}, raised=frozenset({"crisis", "detention_fear"}))
    assert both.priority > screening.evaluate(rules, {}, raised=frozenset({"crisis"})).priority
    assert screening.urgent_flags(rules) >= {"crisis", "urgent_date", "detention_fear",
                                             "unaccompanied_minor"}  # fmt: skip


def test_safety_flags_survive_an_operator_removing_them_from_the_file() -> None:
    rules = screening.parse_rules({"rules": []})
    result = screening.evaluate(rules, {}, raised=frozenset({"crisis"}))
    assert result.flags == ["crisis"] and result.urgent and result.priority == 20
    assert "crisis" in screening.urgent_flags(rules)
    assert "urgent_date" not in outcome(decision_date="2026-01-10").flags
    assert "urgent_date" not in outcome(decision_date="not a date").flags
    minor = outcome(minor_alone=True, adults=0, children=1)
    assert "unaccompanied_minor" in minor.flags and minor.priority >= 3


def test_yaml_booleans_and_strings_are_the_same_value() -> None:
    rules = screening.parse_rules(yaml.safe_load("""
rules:
  - id: r
    when: {prior_return: [yes], has_children: [true]}
    outcome: needs_review
    reason: {en: "x", fr: "x"}
"""))  # fmt: skip
    assert screening.evaluate(rules, {"prior_return": "yes", "children": 1}).reasons


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "'rules' list"),
        ("rules: [{outcome: likely_eligible}]", "needs an 'id'"),
        ("rules: [{id: a, outcome: maybe, when: {area: [gta]}, reason: {en: x, fr: y}}]",
         "'outcome' must be one of"),
        ("rules: [{id: a, outcome: needs_review, when: {colour: [red]}, reason: {en: x, fr: y}}]",
         "unknown field 'colour'"),
        ("rules: [{id: a, outcome: needs_review, when: {area: [gta]}, reason: {en: x}}]",
         r"French \('fr'\)"),
        ("rules: [{id: a, outcome: needs_review, when: {area: [gta]}, reason: {en: x, fr: y}},"
         " {id: a, outcome: needs_review, when: {area: [gta]}, reason: {en: x, fr: y}}]",
         "used twice"),
        ("rules: []\nflags: [{id: f, when: {area: [gta]}, priority: -1, label: {en: a, fr: b}}]",
         "'priority' must be"),
        ("rules: []\nurgent_within_days: soon", "urgent_within_days"),
    ],
)  # fmt: skip
def test_invalid_rules_files_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(screening.RulesError, match=message):
        screening.parse_rules(yaml.safe_load(text))


def test_unreadable_rules_file(tmp_path: Path) -> None:
    with pytest.raises(screening.RulesError, match="cannot read"):
        screening.load_rules(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("rules: [", encoding="utf-8")
    with pytest.raises(screening.RulesError, match="not valid YAML"):
        screening.load_rules(bad)


WORDS = ["yes", "no", "gta", "outside", "refused", "unknown"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 50), st.text(max_size=20), st.sampled_from(WORDS)
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(screening.FIELDS | {"children", "decision_date"})),
                       VALUES))  # fmt: skip
def test_any_intake_gets_an_outcome(intake: dict) -> None:
    result = screening.evaluate(RULES, intake, TODAY)
    assert result.outcome in screening.OUTCOMES
    assert result.priority >= 0
