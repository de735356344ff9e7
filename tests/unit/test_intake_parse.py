"""Every intake validator: what people type (EN/FR, typos, SMS style) -> normalised values.

Property tests (hypothesis) check that no input crashes a validator or the whole form check.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import control, countries, parse, places

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
        ("non, je vis à Ottawa", "outside", "Ottawa"), ("Hamilton", "unclear", "Hamilton"),
        ("idk", parse.UNKNOWN, None),
        # A named place outside the GTA is outside, in either language, however written.
        ("non, je suis a Montreal", "outside", "Montréal"), ("im in ottawa", "outside", "Ottawa"),
        ("Montréal", "outside", "Montréal"), ("no, vancouver", "outside", "Vancouver"),
        ("i live in calgary", "outside", "Calgary"), ("quebec", "outside", "Québec"),
        ("je reste à Québec", "outside", "Québec"), ("winnipeg mb", "outside", "Winnipeg"),
        ("halifax", "outside", "Halifax"), ("edmonton", "outside", "Edmonton"),
        ("non jhabite a gatineau", "outside", "Gatineau"),
        ("nope, in BC", "outside", "British Columbia"),
        ("Colombie-Britannique", "outside", "Colombie-Britannique"),
        ("st. john's", "outside", "St. John's"), ("i live in new york", "outside", "New York"),
        # GTA municipalities stay GTA; a GTA name inside a longer one counts once.
        ("oui, à Mississauga", "gta", "Mississauga"),
        ("im in scarborough", "gta", "Scarborough"),
        ("richmond hill", "gta", "Richmond Hill"), ("to", "gta", "Toronto"),
        ("yes the gta", "gta", None),
        # Unknown places, places next to the GTA and "Ontario" stay for a caseworker.
        ("Guelph", "unclear", "Guelph"), ("ontario", "unclear", "Ontario"),
        ("non, je vis à Kitchener", "unclear", "Kitchener"),
        ("moved from toronto to ottawa", "unclear", "Moved From Toronto To Ottawa"),
    ],
)  # fmt: skip
def test_location(text: str, area: str, city: str | None) -> None:
    assert parse.location(text) == {"area": area, "city": city}


def test_place_lists_are_disjoint() -> None:
    outside = set(places.outside_places())
    assert outside and places.GTA_PLACES
    assert not outside & {places._key(p) for p in places.GTA_PLACES}
    for near in ("hamilton", "guelph", "kitchener", "barrie", "ontario"):
        assert near not in outside  # "around the GTA" is a caseworker's call


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


# Status answers as people write them: negation ("no appeal", "pas d'appel") and sequence
# ("refused ... and my appeal too", "refused, so I appealed") decide between refused and
# appeal pending.
STATUS_EN = [
    ("got rejected by irb in august, no appeal", "refused"),
    ("appeal refused too", "refused"),
    ("my appeal was denied", "refused"),
    ("i appealed and waiting", "appeal_pending"),
    ("refused. appealed to RAD, lost", "refused"),
    ("claim refused and the appeal also got refused", "refused"),
    ("they said no and no to my appeal too", "refused"),
    ("refused, didnt appeal", "refused"),
    ("refused, i didn't appeal", "refused"),
    ("refused, never appealed", "refused"),
    ("i lost my appeal", "refused"),
    ("RAD dismissed my appeal", "refused"),
    ("negative at irb and negative at rad", "refused"),
    ("rejected, appeal still pending", "appeal_pending"),
    ("waiting for my appeal", "appeal_pending"),
    ("appeal in process", "appeal_pending"),
    ("i have a hearing at federal court next month", "appeal_pending"),
    ("prra refused", "refused"),
    ("claim denied, PRRA pending", "appeal_pending"),
    ("refused, cant appeal anymore", "refused"),
    ("refugee claim rejected, appeal rejected, JR denied", "refused"),
    ("appeal lost", "refused"),
    ("my appeal got turned down", "refused"),
    ("denied twice", "refused"),
    ("refused, filed an appeal last week", "appeal_pending"),
    ("rejected, no appeal possible", "refused"),
    ("i was refused and my appeal was refused as well", "refused"),
    ("refused by irb and rad", "refused"),
    ("my claim was refused so i appealed", "appeal_pending"),
    ("my claim got denied n my appeal 2", "refused"),
    ("no answer yet on my appeal", "appeal_pending"),
    ("appeal refused, now waiting for PRRA", "appeal_pending"),
]
STATUS_FR = [
    ("ma demande a ete refusee ... pis mon appel aussi", "refused"),
    ("pas d'appel", "refused"),
    ("refusée, pas d'appel", "refused"),
    ("j'ai fait appel, j'attends", "appeal_pending"),
    ("refusé à la CISR et à la SAR", "refused"),
    ("mon appel a été rejeté", "refused"),
    ("j'ai perdu mon appel", "refused"),
    ("je n'ai pas fait appel", "refused"),
    ("refusee, jai pas fait appel", "refused"),
    ("appel refusé aussi", "refused"),
    ("en attente de la SAR", "appeal_pending"),
    ("refusé, appel en cours", "appeal_pending"),
    ("demande rejetée en aout, aucun recours", "refused"),
    ("la SAR a dit non", "refused"),
    ("j'ai fait une demande d'appel, pas encore de réponse", "appeal_pending"),
    ("négatif partout", "refused"),
    ("refusé deux fois", "refused"),
    ("ERAR refusé", "refused"),
    ("refusé, ERAR en attente", "appeal_pending"),
    ("ma demande d'asile est refusee et l'appel aussi", "refused"),
    ("appel rejeté, contrôle judiciaire refusé aussi", "refused"),
    ("j'ai fait appel à la cour fédérale", "appeal_pending"),
    ("refusé, je peux plus faire appel", "refused"),
    ("refusée sans appel", "refused"),
    ("j attend la reponse de mon appel", "appeal_pending"),
    ("jai recu un refus pis jai pas fait dappel", "refused"),
    ("ils ont dit non a mon appel", "refused"),
    ("déboutée à la CISR, j'ai fait appel à la SAR", "appeal_pending"),
    ("refusé pis la SAR aussi", "refused"),
]


@pytest.mark.parametrize(("text", "status"), STATUS_EN + STATUS_FR)
def test_status_with_negation_and_sequence(text: str, status: str) -> None:
    assert parse.immigration_status(text) == {"immigration_status": status}


def test_status_tables_cover_both_languages() -> None:
    assert len(STATUS_EN) >= 20 and len(STATUS_FR) >= 20


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


@pytest.mark.parametrize(
    "text",
    ["same", "le même", "la meme chose", "la même chose", "pareil", "same as before", "Same.",
     "same thing", "pareil que ma citoyenneté", "same as my citizenship pls", "idem",
     "c'est pareil", "ok same", "same country as before"],
)  # fmt: skip
def test_return_country_same(text: str) -> None:
    assert parse.return_country(text, "HU") == {"return_country": "HU"}


def test_return_country_same_and_other() -> None:
    assert parse.return_country("not the same, mexico", "HU") == {"return_country": "MX"}
    assert parse.return_country("pas pareil, Colombie", "HU") == {"return_country": "CO"}
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
    assert parse.travel_party("im 16") is None  # an age, but who travels?
    assert parse.travel_party("idk") == {"adults": None, "children": None, "minor_alone": False}


@pytest.mark.parametrize(
    ("text", "adults", "children", "minor_alone", "age"),
    [
        # The age of the person writing, said with the party: a person under 18 counts as a
        # child, and is a minor alone when no adult travels with them.
        ("just me im 16", 0, 1, True, 16), ("just me, im 16", 0, 1, True, 16),
        ("juste moi jai 16 ans", 0, 1, True, 16), ("juste moi j'ai 16 ans", 0, 1, True, 16),
        ("moi et mes 2 enfants, j'ai 34 ans", 1, 2, False, 34),
        ("me and my 2 kids, im 34", 1, 2, False, 34), ("alone, 17", 0, 1, True, 17),
        ("16 ans, seule", 0, 1, True, 16), ("me (16)", 0, 1, True, 16),
        ("just me 16yo", 0, 1, True, 16), ("moi seul jai seize ans", 0, 1, True, 16),
        ("just me, i am seventeen", 0, 1, True, 17), ("alone im 45 years old", 1, 0, False, 45),
        ("i am 16, just me and my 2 kids", 0, 3, True, 16),
        ("me and my mom, im 15", 1, 1, False, 15), ("seul, 18 ans", 1, 0, False, 18),
    ],
)  # fmt: skip
def test_travel_party_with_the_age(
    text: str, adults: int, children: int, minor_alone: bool, age: int
) -> None:
    assert parse.travel_party(text) == {
        "adults": adults, "children": children, "minor_alone": minor_alone, "age": age,
    }  # fmt: skip


@pytest.mark.parametrize(
    "text", ["j'ai 2 enfants", "me and 2 kids", "moi et mes 2 enfants de 3 et 5 ans"]
)
def test_a_count_or_a_childs_age_is_not_the_persons_age(text: str) -> None:
    result = parse.travel_party(text)
    assert result is not None and "age" not in result and result["adults"] == 1


@pytest.mark.parametrize(
    "text", ["just me, i am 5 months pregnant", "j'ai 3 semaines pour partir", "im 2 hours away"]
)
def test_a_number_after_i_am_is_not_always_an_age(text: str) -> None:
    assert parse.person_age(text.replace(",", ""))[0] is None


def test_minor_in_words_raises_the_flag_and_the_age_is_still_asked() -> None:
    party = parse.travel_party("je suis mineur, seul")
    assert party is not None and party["minor_alone"] is True
    assert parse.age_needed(party)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16", 16), ("16 ans", 16), ("im 16", 16), ("j'ai 16 ans", 16), ("seize", 16),
        ("sixteen", 16), ("dix-sept ans", 17), ("34 yo", 34), ("I am 34 years old", 34),
        ("skip", parse.UNKNOWN), ("je sais pas", parse.UNKNOWN),
        ("prefere pas dire", parse.UNKNOWN), ("rather not say", parse.UNKNOWN),
    ],
)  # fmt: skip
def test_age(text: str, expected: int | str) -> None:
    assert parse.age(text) == {"age": expected}


@pytest.mark.parametrize("text", ["old", "150", "mineur", "0", ""])
def test_age_not_understood(text: str) -> None:
    assert parse.age(text) is None


def test_age_applied_later_and_corrected() -> None:
    alone = parse.travel_party("just me")
    assert alone == {"adults": 1, "children": 0, "minor_alone": False}
    assert parse.age_needed(alone)
    minor = parse.with_age(alone, {"age": 16})
    assert minor == {"adults": 0, "children": 1, "minor_alone": True, "age": 16}
    assert parse.with_age(minor, {"age": 16}) == minor  # idempotent
    corrected = parse.with_age(minor, {"age": 30})  # "change my age": undone, then applied
    assert corrected == {"adults": 1, "children": 0, "minor_alone": False, "age": 30}
    written = parse.with_age(alone, {"age": "unknown", "age_as_written": "je suis mineur"})
    assert written["minor_alone"] is True and written["adults"] == 1
    couple = parse.travel_party("me and my wife")
    assert couple is not None and not parse.age_needed(couple)  # another adult travels
    assert parse.with_age(couple, {"age": 17})["minor_alone"] is False
    unknown = {"party": "unknown", "party_as_written": "euh"}
    assert parse.age_needed(unknown)
    assert parse.with_age(unknown, {"age": 15})["minor_alone"] is True  # cautious


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
        # "prefer not to say", as typed: prefer_not_to_say where it is an answer, else skipped.
        (parse.safety, "prefere pas dire", "prefer_not_to_say"),
        (parse.safety, "pref pas dire", "prefer_not_to_say"),
        (parse.safety, "rather not say", "prefer_not_to_say"),
        (parse.safety, "i'd rather not", "prefer_not_to_say"),
        (parse.safety, "j'aime mieux pas le dire", "prefer_not_to_say"),
        (parse.criminality, "prefere pas dire", "prefer_not_to_say"),
        (parse.criminality, "pref pas dire", "prefer_not_to_say"),
        (parse.criminality, "rather not say", "prefer_not_to_say"),
        (parse.prior_return, "prefere pas dire", parse.UNKNOWN),
        (parse.passport, "rather not say", parse.UNKNOWN),
        (parse.health, "pref pas dire", parse.UNKNOWN),
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
        ("ok envoie", {"action": "submit"}), ("envoie", {"action": "submit"}),
        ("send it", {"action": "submit"}), ("go ahead", {"action": "submit"}),
        ("ok send", {"action": "submit"}), ("oui envoyez-les svp", {"action": "submit"}),
        ("yes please send it now", {"action": "submit"}), ("vas-y", {"action": "submit"}),
        ("c'est beau, envoie", {"action": "submit"}),
        ("change my age", {"action": "change", "slot": "intake_age"}),
        ("change:intake_party", {"action": "change", "slot": "intake_party"}),
    ],
)  # fmt: skip
def test_confirmation(text: str, expected: dict) -> None:
    assert parse.confirmation(text) == expected


@pytest.mark.parametrize("text", ["dont send yet", "n'envoie pas", "wait", "hmm"])
def test_confirmation_never_sends_on_a_negation(text: str) -> None:
    assert parse.confirmation(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Pause or cancel the form: the same words work in both languages.
        ("cancel", control.Control.PAUSE), ("Cancel!", control.Control.PAUSE),
        ("nevermind", control.Control.PAUSE), ("never mind", control.Control.PAUSE),
        ("forget it", control.Control.PAUSE), ("laisse faire", control.Control.PAUSE),
        ("laisse tomber", control.Control.PAUSE), ("annuler", control.Control.PAUSE),
        ("oublie ça", control.Control.PAUSE), ("later", control.Control.PAUSE),
        ("plus tard", control.Control.PAUSE), ("ok cancel please", control.Control.PAUSE),
        ("annuler svp", control.Control.PAUSE), ("i'll continue later", control.Control.PAUSE),
        # Restart the form.
        ("restart", control.Control.RESTART), ("start over", control.Control.RESTART),
        ("recommencer", control.Control.RESTART), ("on recommence", control.Control.RESTART),
        ("je veux recommencer", control.Control.RESTART),
        ("can we start over", control.Control.RESTART),
        ("/intake_restart", control.Control.RESTART),
        # Skip only the question.
        ("wait no i just meant cancel the question", control.Control.SKIP),
        ("non je voulais juste passer la question", control.Control.SKIP),
        ("skip this one", control.Control.SKIP), ("next question", control.Control.SKIP),
        ("passer cette question svp", control.Control.SKIP),
        ("/intake_continue", control.Control.CONTINUE),
        # Answers are answers, even with a control word inside.
        ("I cancelled my appeal", None), ("skip", None), ("passer", None), ("no", None),
        ("Ana", None), ("j'ai annulé ma demande", None),
    ],
)  # fmt: skip
def test_control_words(text: str, expected: control.Control | None) -> None:
    assert control.control_word(text) is expected


VALIDATORS = [
    parse.consent, parse.first_name, parse.location, parse.immigration_status,
    parse.citizenship, parse.travel_party, parse.passport, parse.health, parse.safety,
    parse.criminality, parse.prior_return, parse.contact_preference, parse.phone, parse.notes,
    parse.confirmation, parse.age, control.control_word,
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_input_crashes_a_validator(text: str) -> None:
    for validator in VALIDATORS:
        result = validator(text)
        assert result is None or isinstance(result, dict | control.Control)
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
