"""Keywords, numbered options and rendering for SMS and Telegram (pure functions)."""

from __future__ import annotations

import pytest

from bot import keywords
from bot.channels import sms, telegram
from bot.channels.base import split_text
from bot.conversation import Command, engine_input
from bot.engine import Button, Reply
from bot.i18n import MESSAGES, t
from bot.sms import cost

INTENTS = frozenset({"greet", "program_what", "human_handoff", "choose_language", "ask_language"})


def step(text: str, current: str | None = "en", **kw: object):  # type: ignore[no-untyped-def]
    return engine_input(text, current, None, "en", INTENTS, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "command", "language"),
    [
        ("STOP", Command.OPT_OUT, "en"),
        ("stop", Command.OPT_OUT, "en"),
        (" Stop! ", Command.OPT_OUT, "en"),
        ("/stop", Command.OPT_OUT, "en"),
        ("ARRET", Command.OPT_OUT, "fr"),
        ("Arrêt", Command.OPT_OUT, "fr"),
        ("arrêt.", Command.OPT_OUT, "fr"),
        ("UNSUBSCRIBE", Command.OPT_OUT, "en"),
        ("end", Command.OPT_OUT, "en"),
        ("Quit", Command.OPT_OUT, "en"),
        ("CANCEL", Command.OPT_OUT, "en"),
        ("START", Command.OPT_IN, "en"),
        ("unstop", Command.OPT_IN, "en"),
        ("Reprendre", Command.OPT_IN, "fr"),
        ("HELP", Command.HELP, "en"),
        ("aide", Command.HELP, "fr"),
        ("Info", Command.HELP, "en"),
        ("/delete", Command.DELETE_ASK, "en"),
        ("SUPPRIMER", Command.DELETE_ASK, "fr"),
        ("delete my data", Command.DELETE_ASK, "en"),
    ],
)
def test_keywords_are_whole_message_case_and_accent_insensitive(
    text: str, command: Command, language: str
) -> None:
    result = step(text, channel="sms")
    assert (result.command, result.language) == (command, language)


@pytest.mark.parametrize("text", ["cancel", "CANCEL", "end", "Quit", "optout", "revoke"])
@pytest.mark.parametrize("channel", ["web", "telegram"])
def test_twilio_opt_out_words_are_ordinary_words_off_sms(text: str, channel: str) -> None:
    # On SMS the carrier and Twilio opt the person out on these words, so the app agrees; on the
    # web chat and Telegram "cancel" inside a form means stop the form (Rasa handles it).
    result = step(text, channel=channel)
    assert result.command is None and result.text == text


@pytest.mark.parametrize("channel", ["sms", "web", "telegram"])
@pytest.mark.parametrize("text", ["STOP", "arret", "Arrêt", "unsubscribe", "stopall"])
def test_stop_and_arret_opt_out_everywhere(text: str, channel: str) -> None:
    assert step(text, channel=channel).command == Command.OPT_OUT


def test_shared_keywords_keep_the_conversation_language() -> None:
    assert step("STOP", "fr").language == "fr"
    assert step("info", "fr").language == "fr"


def test_keywords_inside_a_sentence_are_ordinary_text() -> None:
    for text in ("I want to stop my claim", "stop please", "arrêt de bus", "help me apply"):
        assert step(text).command is None


@pytest.mark.parametrize("text", ["HUMAN", "humain", "Agent", "/agent"])
def test_human_words_become_the_handoff_intent(text: str) -> None:
    assert step(text).text == "/human_handoff"
    assert step(text).command is None


def test_numbered_replies_map_to_payloads_only_where_numbered() -> None:
    options = ["/program_what", '/choose_language{"language":"fr"}']
    assert step("1", options=options, numbered=True).text == "/program_what"
    assert step(" 1. ", options=options, numbered=True).text == "/program_what"
    assert step("un", options=options, numbered=True).text == "/program_what"
    deux = step("deux", options=options, numbered=True)
    assert (deux.text, deux.language) == ("/choose_language", "fr")
    assert step("3", options=options, numbered=True).text == "3"  # no third option
    assert step("1", options=options, numbered=False).text == "1"  # web, Telegram: just text
    assert step("1", options=[], numbered=True).text == "1"


def test_delete_confirmation_only_right_after_the_question() -> None:
    asked = ["/delete_confirm", "/delete_cancel"]
    assert step("/delete_confirm", options=asked).command == Command.DELETE_CONFIRM
    assert step("1", options=asked, numbered=True).command == Command.DELETE_CONFIRM
    assert step("2", options=asked, numbered=True).command == Command.DELETE_CANCEL
    assert step("/delete_confirm", options=[]).command is None  # never without the question


def test_media_without_text_gets_the_text_only_answer() -> None:
    assert step("", "fr", media=True).command == Command.TEXT_ONLY
    assert step("", "fr", media=True).language == "fr"
    assert step("hello", media=True).command is None  # the caption is read


def test_option_numbers() -> None:
    assert [keywords.option_number(x) for x in ("1", "#2", "deux", "Trois", "12", "123", "a")] == [
        1,
        2,
        2,
        3,
        12,
        None,
        None,
    ]


def test_sms_numbered_options_in_both_languages() -> None:
    reply = Reply(
        "Choose.", (Button("What is it", "/program_what"), Button("A person", "/human_handoff"))
    )
    [en] = sms.render(reply, "en", 3)
    [fr] = sms.render(reply, "fr", 3)
    assert en.text == "Choose.\nReply 1 for What is it, 2 for A person."
    assert fr.text == "Choose.\nRépondez 1 pour What is it, 2 pour A person."


def test_sms_split_on_sentences_within_budget_and_nothing_lost() -> None:
    text = " ".join(f"Sentence number {i} says something useful." for i in range(40))
    for budget in (1, 2, 3):
        parts = sms.render(Reply(text), "en", budget)
        assert all(cost(p.text).segments <= budget for p in parts)
        assert " ".join(p.text for p in parts) == text
        assert all(p.text.endswith(".") for p in parts)
        print(f"budget {budget}: {len(parts)} SMS, {[cost(p.text).segments for p in parts]}")


def test_split_cuts_a_word_longer_than_the_budget() -> None:
    pieces = split_text("x" * 25, lambda s: len(s) <= 10)
    assert pieces == ["x" * 10, "x" * 10, "x" * 5]


def test_french_sms_is_transliterated_to_gsm7_and_split_in_gsm7_segments() -> None:
    text = "Être reçu à l'hôpital. " * 10
    assert cost(text).encoding == "UCS-2"
    parts = sms.render(Reply(text), "fr", 1)
    assert parts[0].text.startswith("Etre recu à l'hopital.")  # é è à ù stay: they are GSM-7
    assert all(cost(p.text).encoding == "GSM-7" and cost(p.text).segments == 1 for p in parts)
    assert len(parts) == 2  # 230 characters: 2 GSM-7 segments instead of 4 UCS-2 ones


def test_telegram_keyboard_and_long_text() -> None:
    reply = Reply("Hi", (Button("A", "/program_what"), Button("Too long", "/" + "x" * 80)))
    [part] = telegram.render(reply)
    assert part.extra == {"keyboard": [[{"text": "A", "callback_data": "/program_what"}]]}
    long = telegram.render(Reply("Word. " * 1500))
    assert len(long) == 3 and all(len(p.text) <= 4096 for p in long)
    assert telegram.render(Reply("")) == []


def test_every_keyword_answer_fits_one_sms_in_both_languages() -> None:
    report = []
    for key in ("opted_out", "opted_in", "help", "text_only", "delete_ask", "delete_kept"):
        for language in ("en", "fr"):
            c = cost(t(key, language))  # type: ignore[arg-type]
            report.append(f"{key}/{language}: {c.encoding} {c.segments} segment(s)")
            assert c.segments == 1, report[-1]
    print("\n".join(report))
    assert set(MESSAGES["help"]) == {"en", "fr"}


def test_telegram_commands_keep_the_conversation_language() -> None:
    for command in ("/help", "/delete", "/stop"):
        assert step(command, "fr").language == "fr"
    assert step("help", "fr").language == "en"  # the English word itself
