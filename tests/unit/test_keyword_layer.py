"""What the app sends to Rasa for a text: language buttons, menus, and no intent injection."""

from __future__ import annotations

from bot.conversation import engine_input

INTENTS = frozenset({"greet", "program_what", "choose_language", "ask_language"})


def step(text: str, current: str | None = "en") -> tuple[str, str]:
    result = engine_input(text, current, None, "en", INTENTS)  # type: ignore[arg-type]
    return result.language, result.text


def test_language_button_payload_switches_and_confirms() -> None:
    assert step('/choose_language{"language":"fr"}') == ("fr", "/choose_language")
    assert step('/choose_language{"language": "en"}', "fr") == ("en", "/choose_language")


def test_typed_language_name_switches() -> None:
    assert step("Français") == ("fr", "/choose_language")
    assert step("english pls", "fr") == ("en", "/choose_language")


def test_language_menu() -> None:
    assert step("/language", "fr") == ("fr", "/ask_language")
    assert step("langue", None) == ("en", "/ask_language")


def test_known_button_payload_is_passed_through() -> None:
    assert step("/program_what") == ("en", "/program_what")


def test_unknown_intent_or_entities_cannot_be_injected() -> None:
    assert step("/restart") == ("en", "restart")
    assert step('/greet{"language":"xx"}') == ("en", 'greet{"language":"xx"}')
    assert step('/choose_language{"language":"de"}')[1] == 'choose_language{"language":"de"}'
    assert step("//") == ("en", "?")  # only slashes: nothing Rasa could read as an intent


def test_plain_text_keeps_current_language_when_short() -> None:
    assert step("ok", "fr") == ("fr", "ok")
    assert step("  c quoi ce programme  ", "en") == ("fr", "c quoi ce programme")
