"""Every intake validator: what people type (EN/FR, typos, SMS style) -> normalised values.

Property tests (hypothesis) check that no input crashes a validator or the whole form check.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import countries, parse

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True), ("ya", True), ("Oui", True), ("ouais", True), ("1", True),
        ("ok", True), ("no", False), ("nah", False), ("non merci", False), ("2", False),
    ],
)  # fmt: skip
def test_consent(text: str, expected: bool) -> None:
    assert parse.consent(text) == {"consent": expected}


@pytest.mark.parametrize("text", ["maybe", "what is this", "peut-être", "3", ""])
def test_consent_needs_an_explicit_answer(text: str) -> None:
    assert parse.consent(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ana", "Ana"), ("my name is Jean-Paul", "Jean-Paul"), ("je m'appelle Marie", "Marie"),
        ("Zoë", "Zoë"), ("skip", parse.UNKNOWN), ("passer", parse.UNKNOWN),
    ],
)  # fmt: skip
def test_first_name(text: str, expected: str) -> None:
    assert parse.first_name(text) == {"first_name": expected}


@pytest.mark.parametrize("text", ["123", "a" * 60, "call me at 4165550123", "<script>"])
def test_first_name_rejects(text: str) -> None:
    assert parse.first_name(text) is None


@pytest.mark.parametrize(
    ("text", "area", "city"),
    [
        ("yes", "gta", None), ("ya", "gta", None), ("oui", "gta", None),
        ("Brampton", "gta", "Brampton"), ("i live in mississauga", "gta", "Mississauga"),
        ("north york", "gta", "North York"), ("no", "outside", None),
        ("non, je vis à Ottawa", "unclear", "ottawa"), ("Hamilton", "unclear", "Hamilton"),
        ("idk", parse.UNKNOWN, None),
    ],
)  # fmt: skip
def test_location(text: str, area: str, city: str | None) -> None:
    assert parse.location(text) == {"area": area, "city": city}


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("1", "refused"), ("my claim was rejected", "refused"), ("refusé", "refused"),
        ("demande rejetée", "refused"), ("i appealed", "appeal_pending"),
        ("j'ai fait appel", "appeal_pending"), ("waiting for PRRA", "appeal_pending"),
        ("I got a removal order", "removal_order"), ("mesure de renvoi", "removal_order"),
        ("i withdrew my claim", "withdrawn"), ("retirée", "withdrawn"), ("5", "other"),
        ("autre", "other"), ("idk", parse.UNKNOWN), ("jsp", parse.UNKNOWN),
    ],
)  # fmt: skip
def test_immigration_status(text: str, status: str) -> None:
    assert parse.immigration_status(text) == {"immigration_status": status}


def test_immigration_status_unclear() -> None:
    assert parse.immigration_status("blue") is None
    assert parse.immigration_status("9") is None


@pytest.mark.parametrize(
    ("text", "language", "iso"),
    [
        ("March 3", "en", "2026-03-03"), ("march 3rd, 2026", "en", "2026-03-03"),
        ("3 mars", "fr", "2026-03-03"), ("le 1er mars 2026", "fr", "2026-03-01"),
        ("03/03/2026", "en", "2026-03-03"), ("2026-02-10", "en", "2026-02-10"),
        ("15/02/2026", "en", "2026-02-15"), ("03/04/2026", "fr", "2026-04-03"),
        ("12 dec", "en", "2026-12-12"), ("5 janvier", "fr", "2027-01-05"),
        ("5 juillet", "fr", "2026-07-05"),
    ],
)  # fmt: skip
def test_dates(text: str, language: str, iso: str) -> None:
    assert parse.decision_date(text, language, TODAY) == {
        "decision_date": iso,
        "decision_date_text": text,
    }


@pytest.mark.parametrize("text", ["last week", "il y a 2 semaines", "03/04/2026", "in March"])
def test_dates_kept_as_written(text: str) -> None:
    assert parse.decision_date(text, "en", TODAY) == {
        "decision_date": None,
        "decision_date_text": text,
    }


def test_dates_unknown_and_invalid() -> None:
    assert parse.decision_date("idk", "en", TODAY) == {
        "decision_date": None,
        "decision_date_text": parse.UNKNOWN,
    }
    assert parse.decision_date("banana", "en", TODAY) is None
    assert parse.decision_date("31/02/2026", "fr", TODAY) == {
        "decision_date": None,
        "decision_date_text": "31/02/2026",
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hungary", "HU"), ("hongrie", "HU"), ("Hongrie", "HU"), ("hongroise", "HU"),
        ("hungarian", "HU"), ("hungray", "HU"), ("Mexique", "MX"), ("mexicain", "MX"),
        ("Columbia", "CO"), ("je viens de la Colombie", "CO"), ("i am from croatia", "HR"),
        ("République tchèque", "CZ"), ("czech republic", "CZ"), ("Haïti", "HT"),
        ("Côte d'Ivoire", "CI"), ("RDC", "CD"), ("Nigéria", "NG"), ("Etats-Unis", "US"),
        ("USA", "US"), ("Sri Lanka", "LK"), ("HU", "HU"), ("Inde", "IN"),
    ],
)  # fmt: skip
def test_countries(text: str, code: str) -> None:
    assert countries.resolve(text) == code
    assert parse.citizenship(text) == {"citizenship": code}


@pytest.mark.parametrize("text", ["toronto", "blah", "no", "yes", "oui", "1234", "tamil"])
def test_not_countries(text: str) -> None:
    assert parse.citizenship(text) is None


def test_return_country_same_and_other() -> None:
    assert parse.return_country("same", "HU") == {"return_country": "HU"}
    assert parse.return_country("le même", "HU") == {"return_country": "HU"}
    assert parse.return_country("Mexique", "HU") == {"return_country": "MX"}
    assert parse.return_country("same", None) is None  # nothing to be the same as
    assert parse.return_country("idk", "HU") == {"return_country": parse.UNKNOWN}


def test_country_names_in_both_languages() -> None:
    assert countries.name_of("HU", "fr") == "Hongrie"
    assert countries.name_of("HU", "en") == "Hungary"


@pytest.mark.parametrize(
    ("text", "adults", "children"),
    [
        ("2 kids", 1, 2), ("just me", 1, 0), ("seul", 1, 0), ("alone", 1, 0),
        ("me and my wife and 3 children", 2, 3), ("moi et mes 2 enfants", 1, 2),
        ("2 adults 1 child", 2, 1), ("deux adultes et trois enfants", 2, 3),
        ("me and my son", 1, 1), ("ma femme et moi", 2, 0),
    ],
)  # fmt: skip
def test_travel_party(text: str, adults: int, children: int) -> None:
    result = parse.travel_party(text)
    assert result is not None
    assert (result["adults"], result["children"]) == (adults, children)


def test_travel_party_ambiguous_and_minor() -> None:
    assert parse.travel_party("3") is None  # three what? asked again with an example
    minor = parse.travel_party("i am 16, just me and my 2 kids")
    assert minor is not None
    assert parse.travel_party("idk") == {"adults": None, "children": None, "minor_alone": False}


@pytest.mark.parametrize(
    ("func", "text", "expected"),
    [
        (parse.passport, "yes", "yes"), (parse.passport, "expired", "expired"),
        (parse.passport, "périmé", "expired"), (parse.passport, "lost it", "no"),
        (parse.passport, "jsp", parse.UNKNOWN), (parse.safety, "i am afraid", "yes"),
        (parse.safety, "j'ai peur", "yes"), (parse.safety, "non", "no"),
        (parse.safety, "prefer not to say", "prefer_not_to_say"),
        (parse.criminality, "no", "no"), (parse.criminality, "3", "prefer_not_to_say"),
        (parse.criminality, "je préfère ne pas répondre", "prefer_not_to_say"),
        (parse.criminality, "idk", "prefer_not_to_say"), (parse.prior_return, "never", "no"),
        (parse.prior_return, "oui", "yes"), (parse.prior_return, "idk", parse.UNKNOWN),
    ],
)  # fmt: skip
def test_choice_questions(func, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    result = func(text)
    assert result is not None
    assert expected in result.values()


def test_health_contact_notes_phone() -> None:
    assert parse.health("no") == {"health_needs": "no", "health_details": None}
    assert parse.health("I use a wheelchair") == {
        "health_needs": "yes",
        "health_details": "I use a wheelchair",
    }
    assert parse.contact_preference("here, evenings") == {"contact_preference": "here, evenings"}
    assert parse.contact_preference("idk") == {"contact_preference": "any"}
    assert parse.notes("non") == {"notes": None}
    assert parse.notes("my son is sick") == {"notes": "my son is sick"}
    assert parse.phone("416 555 0199") == {"phone": "+14165550199"}
    assert parse.phone("+33 6 12 34 56 78") == {"phone": "+33612345678"}
    assert parse.phone("skip") == {"phone": None}
    assert parse.phone("12345") is None
    assert parse.phone("call me maybe") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send", {"action": "submit"}), ("envoyer", {"action": "submit"}),
        ("yes", {"action": "submit"}), ("1", {"action": "submit"}),
        ("change my country", {"action": "change", "slot": "intake_citizenship"}),
        ("corriger le pays", {"action": "change", "slot": "intake_citizenship"}),
        ("change the return country", {"action": "change", "slot": "intake_return_country"}),
        ("modifier la date", {"action": "change", "slot": "intake_decision_date"}),
        ("fix my name", {"action": "change", "slot": "intake_first_name"}),
        ("change", {"action": "change", "slot": None}), ("2", {"action": "change", "slot": None}),
    ],
)  # fmt: skip
def test_confirmation(text: str, expected: dict) -> None:
    assert parse.confirmation(text) == expected


VALIDATORS = [
    parse.consent, parse.first_name, parse.location, parse.immigration_status,
    parse.citizenship, parse.travel_party, parse.passport, parse.health, parse.safety,
    parse.criminality, parse.prior_return, parse.contact_preference, parse.phone, parse.notes,
    parse.confirmation,
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_input_crashes_a_validator(text: str) -> None:
    for validator in VALIDATORS:
        result = validator(text)
        assert result is None or isinstance(result, dict)
    assert parse.decision_date(text, "fr", TODAY) is None or isinstance(
        parse.decision_date(text, "en", TODAY), dict
    )
    assert parse.return_country(text, "HU") is None or isinstance(
        parse.return_country(text, "HU"), dict
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 40).map(str), st.sampled_from(list(parse.MONTHS))),
        max_size=4,
    ).map(lambda parts: " / ".join(parts)),
    st.sampled_from(["en", "fr"]),
)
def test_date_like_input_never_crashes(text: str, language: str) -> None:
    result = parse.decision_date(text, language, TODAY)
    assert result is None or set(result) == {"decision_date", "decision_date_text"}
